//! Users of the embedded store: names with salted argon2id password hashes,
//! kept in the same SQLite file as their data (removing a user removes the
//! data through the schema's cascades).
//!
//! Hashes are PHC strings, so each one carries its own parameters and a
//! later change of parameters keeps old passwords working. The parameters
//! are argon2's defaults (argon2id, 19 MiB, 2 passes, OWASP's minimum), which
//! verify in about 20-30 ms on one core: cheap enough for a CGI process per
//! request, dear enough for an offline guesser.

use super::{db, random};
use crate::backend::{BackendError, Result as BackendResult};
use anyhow::{bail, Context, Result};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::sync::OnceLock;

/// One line of `users list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    /// Unix seconds.
    pub created: i64,
    /// Items in all of the user's collections.
    pub items: u64,
}

/// The user management side of one store file (the `users` verbs).
pub struct Users {
    conn: Connection,
}

impl Users {
    pub fn open(db: &Path) -> Result<Users> {
        Ok(Users {
            conn: db::open(db)?,
        })
    }

    /// Add a user; an existing name is an error (use `set_password`).
    pub fn add(&mut self, name: &str, password: &str) -> Result<()> {
        check_name(name)?;
        let hash = hash(password)?;
        let added = self.conn.execute(
            "INSERT INTO users (name, password_hash, created) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO NOTHING",
            params![name, hash, now()],
        )?;
        if added == 0 {
            bail!("user {name:?} already exists");
        }
        Ok(())
    }

    pub fn set_password(&mut self, name: &str, password: &str) -> Result<()> {
        let hash = hash(password)?;
        let changed = self.conn.execute(
            "UPDATE users SET password_hash = ?2 WHERE name = ?1",
            params![name, hash],
        )?;
        if changed == 0 {
            bail!("no user {name:?}");
        }
        Ok(())
    }

    /// Remove a user with all their collections, items and change log.
    pub fn remove(&mut self, name: &str) -> Result<()> {
        let removed = self
            .conn
            .execute("DELETE FROM users WHERE name = ?1", [name])?;
        if removed == 0 {
            bail!("no user {name:?}");
        }
        Ok(())
    }

    /// Every user, by name.
    pub fn list(&self) -> Result<Vec<UserInfo>> {
        let mut stmt = self.conn.prepare(
            "SELECT u.name, u.created,
                    (SELECT COUNT(*) FROM items i JOIN collections c ON c.id = i.collection
                      WHERE c.user = u.name)
               FROM users u ORDER BY u.name",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(UserInfo {
                name: r.get(0)?,
                created: r.get(1)?,
                items: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Check a user's password (see [`verify`]).
    pub fn verify(&self, name: &str, password: &str) -> BackendResult<()> {
        verify(&self.conn, name, password)
    }
}

/// When the store has no users at all, create `demo` with a random password
/// and return that password (for `serve` to print once); otherwise `None`.
/// Safe against two processes doing it at once: only one creates the user.
pub fn ensure_demo_user(db: &Path) -> Result<Option<String>> {
    let mut conn = db::open(db)?;
    if user_count(&conn)? > 0 {
        return Ok(None);
    }
    let password = random::password()?;
    let hash = hash(&password)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if user_count(&tx)? > 0 {
        return Ok(None);
    }
    tx.execute(
        "INSERT INTO users (name, password_hash, created) VALUES ('demo', ?1, ?2)",
        params![hash, now()],
    )?;
    tx.commit()?;
    Ok(Some(password))
}

/// A random password for a new user (see `random::password`).
pub fn generate_password() -> Result<String> {
    random::password()
}

/// Check `password` against the stored hash of `name` (see [`check_password`]).
pub(crate) fn verify(conn: &Connection, name: &str, password: &str) -> BackendResult<()> {
    check_password(stored_hash(conn, name)?.as_deref(), password)
}

/// The PHC string stored for `name`, if the user exists.
pub(crate) fn stored_hash(conn: &Connection, name: &str) -> BackendResult<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT password_hash FROM users WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?)
}

/// Check `password` against a stored hash (`None`: no such user). An unknown
/// user costs the same hash computation as a known one, so response times do
/// not tell which names exist; the hash comparison itself is constant-time.
pub(crate) fn check_password(stored: Option<&str>, password: &str) -> BackendResult<()> {
    let matches = match stored {
        Some(phc) => password_matches(phc, password),
        None => {
            password_matches(unknown_user_hash(), password);
            false
        }
    };
    if matches {
        Ok(())
    } else {
        Err(BackendError::AuthFailed)
    }
}

fn password_matches(phc: &str, password: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(e) => {
            log::error!("embedded store: unreadable password hash ({e}); login refused");
            false
        }
    }
}

/// A fixed hash with the current parameters to verify against when the user
/// does not exist.
fn unknown_user_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let salt = SaltString::from_b64("bm8tc3VjaC11c2VyLXNhbHQ").expect("valid constant salt");
        Argon2::default()
            .hash_password(b"no such user", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

fn hash(password: &str) -> Result<String> {
    if password.is_empty() {
        bail!("the password must not be empty");
    }
    let salt = SaltString::encode_b64(&random::random_bytes::<16>()?)
        .map_err(|e| anyhow::anyhow!("encoding salt: {e}"))?;
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))?;
    Ok(hash.to_string())
}

/// User names travel in URLs, Basic credentials and state folder names:
/// keep them to a plain, path-safe set.
fn check_name(name: &str) -> Result<()> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "._@+-".contains(c);
    if name.is_empty() || name.len() > 64 || name.starts_with('.') || !name.chars().all(plain) {
        bail!("invalid user name {name:?}: use 1-64 letters, digits and . _ @ + - (not starting with .)");
    }
    Ok(())
}

fn user_count(conn: &Connection) -> Result<i64> {
    conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))
        .context("counting users")
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> (tempfile::TempDir, Users) {
        let dir = tempfile::tempdir().unwrap();
        let u = Users::open(&dir.path().join("s.sqlite")).unwrap();
        (dir, u)
    }

    #[test]
    fn stores_salted_hashes_not_passwords() {
        let (_d, mut u) = users();
        u.add("alice", "secret").unwrap();
        u.add("bob", "secret").unwrap();
        let hashes: Vec<String> = u
            .conn
            .prepare("SELECT password_hash FROM users ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(hashes[0].starts_with("$argon2id$"), "{}", hashes[0]);
        assert!(!hashes[0].contains("secret"));
        assert_ne!(hashes[0], hashes[1], "same password, different salts");
    }

    #[test]
    fn verify_accepts_only_the_right_password() {
        let (_d, mut u) = users();
        u.add("alice", "secret").unwrap();
        u.verify("alice", "secret").unwrap();
        assert!(matches!(
            u.verify("alice", "Secret"),
            Err(BackendError::AuthFailed)
        ));
        assert!(matches!(
            u.verify("alice", ""),
            Err(BackendError::AuthFailed)
        ));
        assert!(matches!(
            u.verify("mallory", "secret"),
            Err(BackendError::AuthFailed)
        ));
    }

    #[test]
    fn add_twice_passwd_and_remove() {
        let (_d, mut u) = users();
        u.add("alice", "one").unwrap();
        assert!(u.add("alice", "two").is_err());
        u.verify("alice", "one").unwrap();
        u.set_password("alice", "two").unwrap();
        assert!(u.verify("alice", "one").is_err());
        u.verify("alice", "two").unwrap();
        assert!(u.set_password("nobody", "x").is_err());
        u.remove("alice").unwrap();
        assert!(u.remove("alice").is_err());
        assert!(u.list().unwrap().is_empty());
    }

    #[test]
    fn rejects_bad_names_and_empty_passwords() {
        let (_d, mut u) = users();
        for bad in ["", ".hidden", "a/b", "a b", "a:b", &"x".repeat(65)] {
            assert!(u.add(bad, "pw").is_err(), "{bad:?} accepted");
        }
        assert!(u.add("alice", "").is_err());
        u.add("first.last@example.org", "pw").unwrap();
    }

    #[test]
    fn demo_user_only_on_an_empty_store() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.sqlite");
        let pw = ensure_demo_user(&db)
            .unwrap()
            .expect("created on empty store");
        assert_eq!(pw.len(), 20);
        let u = Users::open(&db).unwrap();
        u.verify("demo", &pw).unwrap();
        assert_eq!(ensure_demo_user(&db).unwrap(), None);

        let other = dir.path().join("t.sqlite");
        Users::open(&other).unwrap().add("alice", "pw").unwrap();
        assert_eq!(ensure_demo_user(&other).unwrap(), None);
        assert_eq!(Users::open(&other).unwrap().list().unwrap().len(), 1);
    }
}
