//! Remembers the logins this process has verified, so that a device's every
//! request (it sends Basic credentials each time) does not pay a full argon2
//! verification of tens of milliseconds. Matters for `serve` and FastCGI,
//! which live long; a CGI process answers one request and starts empty.
//!
//! An entry is a keyed BLAKE2b MAC of user and password under a key drawn
//! when the process starts, together with the stored hash it was checked
//! against: a changed password or removed user no longer matches, and
//! nothing in memory can be checked against guesses without the key. Wrong
//! passwords are never remembered and always cost a full verification.

use super::{random, users};
use crate::backend::Result as BackendResult;
use blake2::digest::{KeyInit, Mac};
use blake2::Blake2bMac512;
use rusqlite::Connection;
use std::collections::HashMap;
use std::sync::Mutex;

/// Enough for every device of a sizeable installation; when full the cache
/// starts over (costing one full verification per user).
const MAX_ENTRIES: usize = 4096;

pub struct LoginCache {
    key: [u8; 64],
    entries: Mutex<HashMap<String, Remembered>>,
}

struct Remembered {
    /// The PHC string the password was verified against.
    phc: String,
    mac: Vec<u8>,
}

impl LoginCache {
    pub fn new() -> anyhow::Result<LoginCache> {
        Ok(LoginCache {
            key: random::random_bytes::<64>()?,
            entries: Mutex::new(HashMap::new()),
        })
    }

    /// `users::verify`, answered from memory when this user last logged in
    /// with this same password against the same stored hash.
    pub fn verify(&self, conn: &Connection, user: &str, password: &str) -> BackendResult<()> {
        let stored = users::stored_hash(conn, user)?;
        if let Some(phc) = &stored {
            if self.remembers(user, phc, password) {
                return Ok(());
            }
        }
        users::check_password(stored.as_deref(), password)?;
        if let Some(phc) = stored {
            self.remember(user, phc, password);
        }
        Ok(())
    }

    fn mac(&self, user: &str, password: &str) -> Blake2bMac512 {
        let mut mac = <Blake2bMac512 as KeyInit>::new_from_slice(&self.key)
            .expect("64 bytes is a valid BLAKE2b key length");
        // Length prefix: ("ab", "c") and ("a", "bc") must differ.
        mac.update(&(user.len() as u64).to_le_bytes());
        mac.update(user.as_bytes());
        mac.update(password.as_bytes());
        mac
    }

    fn remembers(&self, user: &str, phc: &str, password: &str) -> bool {
        let Ok(entries) = self.entries.lock() else {
            return false;
        };
        match entries.get(user) {
            // verify_slice compares in constant time.
            Some(r) if r.phc == phc => self.mac(user, password).verify_slice(&r.mac).is_ok(),
            _ => false,
        }
    }

    fn remember(&self, user: &str, phc: String, password: &str) {
        let mac = self.mac(user, password).finalize().into_bytes().to_vec();
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES && !entries.contains_key(user) {
                entries.clear();
            }
            entries.insert(user.to_string(), Remembered { phc, mac });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::embedded::users::Users;
    use crate::backend::BackendError;

    #[test]
    fn remembers_only_the_verified_password_of_the_current_hash() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.sqlite");
        let mut users = Users::open(&db).unwrap();
        users.add("alice", "one").unwrap();
        let conn = super::super::db::open(&db).unwrap();
        let cache = LoginCache::new().unwrap();
        let phc = users::stored_hash(&conn, "alice").unwrap().unwrap();

        assert!(!cache.remembers("alice", &phc, "one"));
        cache.verify(&conn, "alice", "one").unwrap();
        assert!(cache.remembers("alice", &phc, "one"));
        assert!(!cache.remembers("alice", &phc, "two"));
        assert!(!cache.remembers("alicex", &phc, "one"));
        assert!(matches!(
            cache.verify(&conn, "alice", "two"),
            Err(BackendError::AuthFailed)
        ));

        // A new password makes the remembered login stale at once.
        users.set_password("alice", "two").unwrap();
        assert!(cache.verify(&conn, "alice", "one").is_err());
        cache.verify(&conn, "alice", "two").unwrap();
        users.remove("alice").unwrap();
        assert!(cache.verify(&conn, "alice", "two").is_err());
    }
}
