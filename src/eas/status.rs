//! Status codes: the common status values of MS-ASCMD 2.2.2 (shared by every
//! command from 14.0 on) and how a request-level failure becomes a command
//! response carrying one of them.

use crate::wbxml::{codepages, Element};

/// Common status values (MS-ASCMD 2.2.2), named as in the specification.
pub mod common {
    pub const INVALID_CONTENT: u32 = 101;
    pub const INVALID_WBXML: u32 = 102;
    pub const INVALID_XML: u32 = 103;
    pub const DEVICE_ID_MISSING_OR_INVALID: u32 = 108;
    pub const DEVICE_TYPE_MISSING_OR_INVALID: u32 = 109;
    pub const SERVER_ERROR: u32 = 110;
    pub const SERVER_ERROR_RETRY_LATER: u32 = 111;
    pub const DEVICE_IS_BLOCKED_FOR_THIS_USER: u32 = 129;
    pub const ACCESS_DENIED: u32 = 130;
    pub const COMMAND_NOT_SUPPORTED: u32 = 137;
    pub const VERSION_NOT_SUPPORTED: u32 = 138;
    pub const DEVICE_NOT_FULLY_PROVISIONABLE: u32 = 139;
    pub const REMOTE_WIPE_REQUESTED: u32 = 140;
    pub const LEGACY_DEVICE_ON_STRICT_POLICY: u32 = 141;
    pub const DEVICE_NOT_PROVISIONED: u32 = 142;
    pub const POLICY_REFRESH: u32 = 143;
    pub const INVALID_POLICY_KEY: u32 = 144;
    pub const DEVICE_INFORMATION_REQUIRED: u32 = 165;
}

/// (command, code page namespace, top-level element) of every command whose
/// response is a WBXML document with a top-level `Status` in the same page.
/// SendMail/SmartReply/SmartForward answer in ComposeMail from 14.0.
const RESPONSE_ROOTS: &[(&str, &str, &str)] = &[
    ("Sync", "AirSync", "Sync"),
    ("FolderSync", "FolderHierarchy", "FolderSync"),
    ("FolderCreate", "FolderHierarchy", "FolderCreate"),
    ("FolderDelete", "FolderHierarchy", "FolderDelete"),
    ("FolderUpdate", "FolderHierarchy", "FolderUpdate"),
    ("MoveItems", "Move", "MoveItems"),
    ("GetItemEstimate", "GetItemEstimate", "GetItemEstimate"),
    ("MeetingResponse", "MeetingResponse", "MeetingResponse"),
    ("Search", "Search", "Search"),
    ("Settings", "Settings", "Settings"),
    ("Ping", "Ping", "Ping"),
    ("ItemOperations", "ItemOperations", "ItemOperations"),
    ("Provision", "Provision", "Provision"),
    (
        "ResolveRecipients",
        "ResolveRecipients",
        "ResolveRecipients",
    ),
    ("ValidateCert", "ValidateCert", "ValidateCert"),
    ("SendMail", "ComposeMail", "SendMail"),
    ("SmartForward", "ComposeMail", "SmartForward"),
    ("SmartReply", "ComposeMail", "SmartReply"),
    ("Find", "Find", "Find"),
];

/// `<Command><Status>code</Status></Command>` in the command's own code page
/// (PROTOCOL-NOTES: a status from another page is unreadable to a strict
/// client). `None` for commands without a WBXML response (GetAttachment) or
/// unknown ones; the caller then answers with an HTTP status.
pub fn command_status(cmd: &str, code: u32) -> Option<Element> {
    let (_, namespace, root) = RESPONSE_ROOTS.iter().find(|(c, _, _)| *c == cmd)?;
    let root = codepages::tag_of(namespace, root)?;
    let status = codepages::tag_of(namespace, "Status")?;
    Some(Element::new(root).with_text(status, code.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lives_in_the_commands_page() {
        let e = command_status("FolderSync", common::INVALID_WBXML).unwrap();
        assert_eq!(
            Some(("FolderHierarchy", "FolderSync")),
            codepages::name_of(e.tag)
        );
        let status = e.elements().next().unwrap();
        assert_eq!(
            Some(("FolderHierarchy", "Status")),
            codepages::name_of(status.tag)
        );
        assert_eq!(status.text(), Some("102"));
        for (cmd, _, _) in RESPONSE_ROOTS {
            assert!(command_status(cmd, 110).is_some(), "{cmd}");
        }
        assert!(command_status("GetAttachment", 110).is_none());
    }
}
