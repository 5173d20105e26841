//! Opening the SQLite file the same way from every process and thread:
//! private file, WAL, a generous busy timeout, foreign keys on, and the
//! schema brought up to date by `PRAGMA user_version` migrations.
//!
//! CGI starts one process per request and FastCGI runs requests on threads,
//! so many connections write at once. WAL lets readers run beside the one
//! writer; the busy timeout makes a writer wait for the lock instead of
//! failing with `SQLITE_BUSY`; and every write transaction starts with
//! `BEGIN IMMEDIATE` (see `store`), because a read transaction that later
//! upgrades to a write can fail with `SQLITE_BUSY` at once, timeout or not.

use anyhow::{bail, Context, Result};
use rusqlite::{Connection, TransactionBehavior};
use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

/// How long a connection waits for another one's write lock. Writes are a few
/// statements each, so reaching this means something is stuck.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Schema versions, in order; `PRAGMA user_version` is the number applied.
/// Never edit a released step: append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: users with their change counter, collections, items, change log.
    "CREATE TABLE users (
        name          TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,            -- PHC string (argon2id)
        created       INTEGER NOT NULL,         -- unix seconds
        modseq        INTEGER NOT NULL DEFAULT 0 -- the user's change counter
     );
     CREATE TABLE collections (
        id         INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused
        user       TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        class      TEXT NOT NULL,               -- model::Class::as_str
        name       TEXT NOT NULL,
        is_default INTEGER NOT NULL,
        parent     INTEGER REFERENCES collections(id) ON DELETE CASCADE
     );
     CREATE INDEX collections_user ON collections(user);
     CREATE INDEX collections_parent ON collections(parent);
     CREATE TABLE items (
        collection INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
        id         TEXT NOT NULL,
        data       TEXT NOT NULL,               -- model::Item as JSON
        start      INTEGER,                     -- unix seconds, NULL = unknown
        end        INTEGER,
        PRIMARY KEY (collection, id)
     );
     -- Latest change of each item of each collection; deleted = tombstone.
     CREATE TABLE changes (
        collection INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
        id         TEXT NOT NULL,
        seq        INTEGER NOT NULL,
        deleted    INTEGER NOT NULL,
        PRIMARY KEY (collection, id)
     );
     CREATE INDEX changes_seq ON changes(collection, seq);",
];

/// Open (creating it and its folder if needed) and migrate the database.
pub fn open(path: &Path) -> Result<Connection> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // Create the file ourselves so that it is private from the first byte;
    // SQLite gives its -wal and -shm files the same mode.
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    let mut conn = Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
    configure(&conn).with_context(|| format!("configuring {}", path.display()))?;
    migrate(&mut conn).with_context(|| format!("migrating {}", path.display()))?;
    Ok(conn)
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        bail!("the database refused WAL mode (got {mode})");
    }
    // FULL: a commit is on disk before the device is told its change is
    // stored, matching the fsync'ed device state files.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(())
}

fn user_version(conn: &Connection) -> Result<usize> {
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    Ok(usize::try_from(v).unwrap_or(usize::MAX))
}

/// Apply the missing migrations in one write transaction. The common case
/// (up to date) costs one read and takes no write lock.
fn migrate(conn: &mut Connection) -> Result<()> {
    if user_version(conn)? == MIGRATIONS.len() {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current = user_version(&tx)?;
    if current > MIGRATIONS.len() {
        bail!(
            "schema version {current} is newer than this program knows ({}); upgrade horde-activesync",
            MIGRATIONS.len()
        );
    }
    for step in &MIGRATIONS[current..] {
        tx.execute_batch(step)?;
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len())?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn creates_folder_private_file_and_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/dir/store.sqlite");
        let conn = open(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(user_version(&conn).unwrap(), MIGRATIONS.len());
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        drop(conn);
        // Reopening an up-to-date file changes nothing.
        let conn = open(&path).unwrap();
        assert_eq!(user_version(&conn).unwrap(), MIGRATIONS.len());
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite");
        let conn = open(&path).unwrap();
        conn.pragma_update(None, "user_version", MIGRATIONS.len() + 1)
            .unwrap();
        drop(conn);
        let err = open(&path).unwrap_err();
        assert!(format!("{err:#}").contains("newer"), "{err:#}");
    }
}
