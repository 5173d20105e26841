//! MS-ASHTTP: the request form, protocol versions, status codes and the
//! request handler that ties auth, device state and commands together.
pub mod autodiscover;
pub mod debug_log;
pub mod request;
pub mod server;
pub mod status;
pub mod version;

pub use server::Server;
