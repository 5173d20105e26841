//! Front ends: they move bytes between a web server or socket and
//! [`crate::eas::Server`], and nothing else.
pub mod cgi;
pub mod fastcgi;
pub mod http_server;
