//! Validation of the names that become path components under `state_dir`.
//!
//! User, DeviceId and folder-state names come from the network (the query
//! string, the Basic credentials, the WBXML body). Each is checked against a
//! short allow-list of characters before it is joined to a path, so nothing a
//! client sends can name a file outside its own folder: `/`, `\`, NUL, `..`
//! and absolute paths cannot pass, and neither can a leading dot (which would
//! also collide with our `.tmp-*` files).

use super::StateError;

/// Longest accepted DeviceId. MS-ASHTTP allows 32 characters; real clients
/// (some Android builds) send longer ones, so we accept twice that.
pub const MAX_DEVICE_ID: usize = 64;
/// Longest accepted user name (e-mail style names included).
pub const MAX_USER: usize = 128;
/// Longest accepted per-folder state name.
pub const MAX_FOLDER: usize = 64;

/// Which kind of name is being validated; decides the allowed characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    User,
    DeviceId,
    Folder,
}

impl IdKind {
    fn max_len(self) -> usize {
        match self {
            IdKind::User => MAX_USER,
            IdKind::DeviceId => MAX_DEVICE_ID,
            IdKind::Folder => MAX_FOLDER,
        }
    }

    /// Allowed characters besides ASCII letters and digits. A user name may
    /// be an address (`jane.doe+eas@example.com`); folder names never contain
    /// a dot because the dot separates the name from the key counter.
    fn allows(self, c: char) -> bool {
        c.is_ascii_alphanumeric()
            || match self {
                IdKind::User => matches!(c, '.' | '_' | '-' | '@' | '+'),
                IdKind::DeviceId => matches!(c, '.' | '_' | '-'),
                IdKind::Folder => matches!(c, '_' | '-'),
            }
    }

    fn label(self) -> &'static str {
        match self {
            IdKind::User => "user",
            IdKind::DeviceId => "device id",
            IdKind::Folder => "folder state name",
        }
    }
}

/// Check `value` as a name of `kind`; `Err(StateError::InvalidId)` says why.
pub fn validate(kind: IdKind, value: &str) -> Result<(), StateError> {
    let reason = if value.is_empty() {
        Some("is empty")
    } else if value.len() > kind.max_len() {
        Some("is too long")
    } else if value.starts_with('.') {
        Some("starts with a dot")
    } else if !value.chars().all(|c| kind.allows(c)) {
        Some("contains a character that is not allowed")
    } else if kind == IdKind::DeviceId && value.starts_with("info-") {
        // Its folder would take the name of another device's info file.
        Some("starts with \"info-\"")
    } else {
        None
    };
    match reason {
        None => Ok(()),
        Some(why) => Err(StateError::InvalidId(format!(
            "{} {:?} {why}",
            kind.label(),
            value.escape_debug().to_string()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_pass() {
        for (kind, v) in [
            (IdKind::User, "jane"),
            (IdKind::User, "jane.doe+eas@example.com"),
            (IdKind::DeviceId, "ApplDNPGH1234ABCD"),
            (IdKind::DeviceId, "androidc259148960"),
            (IdKind::DeviceId, "mztb-1234_5.x"),
            (IdKind::Folder, "hierarchy"),
            (IdKind::Folder, "contacts-1_2"),
        ] {
            assert!(validate(kind, v).is_ok(), "{kind:?} {v}");
        }
    }

    #[test]
    fn escaping_names_are_refused() {
        let bad = [
            "", ".", "..", "../x", "a/b", "/etc", "a\\b", "..\\x", "a\0b", ".hidden", "a b", "é",
            "a:b", "a\nb",
        ];
        for kind in [IdKind::User, IdKind::DeviceId, IdKind::Folder] {
            for v in bad {
                assert!(
                    matches!(validate(kind, v), Err(StateError::InvalidId(_))),
                    "{kind:?} {v:?} passed"
                );
            }
        }
    }

    #[test]
    fn length_limits_hold() {
        assert!(validate(IdKind::DeviceId, &"a".repeat(MAX_DEVICE_ID)).is_ok());
        assert!(validate(IdKind::DeviceId, &"a".repeat(MAX_DEVICE_ID + 1)).is_err());
        assert!(validate(IdKind::User, &"a".repeat(MAX_USER + 1)).is_err());
    }

    #[test]
    fn device_folders_cannot_shadow_info_files() {
        assert!(validate(IdKind::DeviceId, "info-ABC").is_err());
        assert!(validate(IdKind::DeviceId, "myinfo-ABC").is_ok());
    }

    #[test]
    fn folder_names_have_no_dot() {
        assert!(validate(IdKind::Folder, "a.1").is_err());
        assert!(validate(IdKind::DeviceId, "a.1").is_ok());
    }
}
