//! horde-activesync: an Exchange ActiveSync server for Horde.
//!
//! Layers, from the wire inwards (see `docs/ARCHITECTURE.md`):
//! - [`front`]: CGI, FastCGI and standalone HTTP; they only move bytes.
//! - [`eas`]: the MS-ASHTTP request form, versions, statuses, dispatch.
//! - [`wbxml`]: the MS-ASWBXML codec; knows nothing of HTTP or commands.
//! - [`command`]: one module per ActiveSync command (MS-ASCMD).
//! - [`state`]: per-device state files, locks, sync keys.
//! - [`backend`]: Horde JSON-RPC and the embedded SQLite store behind one trait.
//! - [`convert`] and [`model`]: items and their EAS / vCard / iCalendar forms.
//! - [`admin`]: the operator's `devices` and `users` verbs.
//! - [`blob`]: content in memory or in an unnamed spool file (large attachments).

pub mod admin;
pub mod backend;
pub mod blob;
pub mod command;
pub mod config;
pub mod convert;
pub mod eas;
pub mod engine;
pub mod front;
pub mod http;
pub mod model;
pub mod state;
pub mod wbxml;
