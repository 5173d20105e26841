//! The embedded SQLite store: the default backend when no Horde is
//! configured, so a fresh machine syncs with nothing else installed.
//! One file holds the users (`users`) and their collections, items and
//! change log (`store`); `db` opens it the same way for every process.

mod db;
mod login_cache;
mod random;
pub mod store;
pub mod users;

pub use store::{EmbeddedBackend, EmbeddedSession};
