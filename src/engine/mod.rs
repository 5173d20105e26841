//! The sync engine: what the device has, what changed since, and what to send
//! next. Pure bookkeeping over the [`crate::backend::Session`] trait; the
//! commands (FolderSync, Sync, GetItemEstimate, Ping) translate it to WBXML.
pub mod collection;
pub mod filter;
pub mod hierarchy;
pub mod poll_hub;
pub mod push;
pub mod store;
