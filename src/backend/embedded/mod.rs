//! The embedded SQLite store: the default backend when no Horde is configured.
pub mod users;
