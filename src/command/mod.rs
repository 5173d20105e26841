//! ActiveSync commands (MS-ASCMD), one module each. A command sees only its
//! [`Ctx`] and the decoded request body; it never touches sockets, headers or
//! paths. The registry at the end of this file is the single list of
//! implemented commands: dispatch and the OPTIONS header both read it.

pub mod options;

use crate::backend::{BackendError, Session};
use crate::config::Config;
use crate::eas::request::EasRequest;
use crate::wbxml::Element;
use std::time::SystemTime;

/// Everything a command may use.
pub struct Ctx<'a> {
    pub req: &'a EasRequest,
    pub config: &'a Config,
    pub session: &'a mut dyn Session,
    pub device: &'a mut crate::state::Device,
    pub now: SystemTime,
    /// The request body as sent, for commands whose body is not WBXML
    /// (SendMail before 14.0 carries the RFC 822 message itself).
    pub raw_body: &'a [u8],
}

/// Commands whose body is a MIME message, not WBXML, in this version.
pub fn takes_mime_body(cmd: &str, version: crate::eas::version::Version) -> bool {
    matches!(cmd, "SendMail" | "SmartReply" | "SmartForward") && !version.compose_mail_wbxml()
}

/// What a command answers.
#[derive(Debug)]
pub enum Outcome {
    /// A WBXML document (HTTP 200, `application/vnd.ms-sync.wbxml`).
    Wbxml(Element),
    /// HTTP 200 with an empty body (e.g. SendMail success, Ping in some cases).
    Empty,
    /// A response the command builds itself (GetAttachment's raw bytes, 449).
    Http(crate::http::Response),
}

/// Failures a command cannot express in its own Status element.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The request body is missing or does not have the required form (HTTP 400).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The backend failed; auth failure maps to 401, unavailable to 503.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// A bug or an unexpected local failure (HTTP 500, logged).
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

/// The signature every command module exports as `run`.
pub type Run = fn(&mut Ctx, Option<&Element>) -> Result<Outcome, CommandError>;

/// Declares the command modules and builds [`IMPLEMENTED`] and [`dispatch`]
/// from one list, so the two cannot disagree.
macro_rules! registry {
    ($($name:literal => $module:ident),* $(,)?) => {
        $(pub mod $module;)*

        /// Names of the implemented commands, as OPTIONS announces them.
        pub const IMPLEMENTED: &[&str] = &[$($name),*];

        /// The `run` function of a command, `None` when it is not implemented.
        pub fn lookup(name: &str) -> Option<Run> {
            match name {
                $($name => Some($module::run as Run),)*
                _ => None,
            }
        }
    };
}

// One line per command: `"Name" => module,` (module in src/command/).
registry! {
    "Find" => find,
    "FolderCreate" => folder_create,
    "FolderDelete" => folder_delete,
    "FolderSync" => folder_sync,
    "FolderUpdate" => folder_update,
    "GetAttachment" => get_attachment,
    "GetItemEstimate" => get_item_estimate,
    "ItemOperations" => item_operations,
    "MoveItems" => move_items,
    "Ping" => ping,
    "Provision" => provision,
    "ResolveRecipients" => resolve_recipients,
    "Search" => search,
    "SendMail" => send_mail,
    "Settings" => settings,
    "SmartForward" => smart_forward,
    "SmartReply" => smart_reply,
    "Sync" => sync,
    "ValidateCert" => validate_cert,
}

mod folder_edit;
pub mod identity;
mod search_mailbox;

/// Run a command by name; `None` when it is not implemented (HTTP 501).
pub fn dispatch(
    name: &str,
    ctx: &mut Ctx,
    body: Option<&Element>,
) -> Option<Result<Outcome, CommandError>> {
    lookup(name).map(|run| run(ctx, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_consistent() {
        for name in IMPLEMENTED {
            assert!(lookup(name).is_some(), "{name}");
        }
        assert!(lookup("NoSuchCommand").is_none());
    }
}
