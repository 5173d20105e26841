//! The per-device debug log: every decoded request and response of the
//! devices listed in `[log] debug_devices`, as readable XML, appended to
//! `<debug_dir>/<user>-<deviceid>.log`. This is what an admin asks for when a
//! phone misbehaves; it contains the user's data, so the files are 0600.

use crate::config::LogConfig;
use crate::wbxml::codepages::{itemoperations, search, settings};
use crate::wbxml::{Element, Node, Tag};
use std::io::Write;
use std::path::PathBuf;

pub struct DebugLog {
    dir: PathBuf,
    devices: Vec<String>,
}

impl DebugLog {
    pub fn new(config: &LogConfig) -> DebugLog {
        DebugLog {
            dir: config.debug_dir.clone(),
            devices: config.debug_devices.clone(),
        }
    }

    /// Device ids compare case-insensitively: clients are not consistent.
    pub fn wants(&self, device_id: &str) -> bool {
        self.devices
            .iter()
            .any(|d| d.eq_ignore_ascii_case(device_id))
    }

    /// The log file of one user's device. `user` may be an e-mail address;
    /// anything that is not a safe file-name character becomes `_`.
    pub fn path(&self, user: &str, device_id: &str) -> PathBuf {
        let safe = |s: &str| -> String {
            s.chars()
                .map(|c| match c {
                    'a'..='z' | 'A'..='Z' | '0'..='9' | '@' | '-' | '_' => c,
                    _ => '_',
                })
                .collect()
        };
        self.dir
            .join(format!("{}-{}.log", safe(user), safe(device_id)))
    }

    /// Append one entry in a single write, so concurrent CGI processes do not
    /// interleave inside an entry. Failures are logged, never fatal.
    pub fn append(&self, user: &str, device_id: &str, entry: &str) {
        let path = self.path(user, device_id);
        let result = std::fs::create_dir_all(&self.dir).and_then(|()| {
            let mut f = open_private_append(&path)?;
            f.write_all(entry.as_bytes())
        });
        if let Err(e) = result {
            log::warn!("debug log {}: {e}", path.display());
        }
    }
}

/// Elements whose content is a password (Settings DevicePassword, Search and
/// ItemOperations document-library credentials).
const SECRETS: [Tag; 3] = [
    settings::Password,
    search::Password,
    itemoperations::Password,
];

/// A copy of a request for the debug log with every password replaced by
/// `***`: a recovery password must not end up in a readable file.
pub fn redacted(e: &Element) -> Element {
    if SECRETS.contains(&e.tag) {
        return Element::text_element(e.tag, "***");
    }
    Element {
        tag: e.tag,
        children: e
            .children
            .iter()
            .map(|n| match n {
                Node::Element(child) => Node::Element(redacted(child)),
                other => other.clone(),
            })
            .collect(),
    }
}

fn open_private_append(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        let e = Element::new(settings::Settings).with(
            Element::new(settings::DevicePassword)
                .with(Element::new(settings::Set).with_text(settings::Password, "s3cret")),
        );
        let xml = crate::wbxml::xml::to_xml(&redacted(&e));
        assert!(!xml.contains("s3cret") && xml.contains("***"), "{xml}");
    }

    #[test]
    fn appends_to_a_per_device_file() {
        let dir = tempfile::tempdir().unwrap();
        let log = DebugLog::new(&LogConfig {
            debug_dir: dir.path().join("debug"),
            debug_devices: vec!["ABC".into()],
            ..LogConfig::default()
        });
        assert!(log.wants("abc") && !log.wants("other"));
        log.append("bob@example.com", "ABC", "one\n");
        log.append("bob@example.com", "ABC", "two\n");
        let path = log.path("bob@example.com", "ABC");
        assert!(path.ends_with("bob@example_com-ABC.log"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\ntwo\n");
        assert_eq!(
            log.path("../x", "d").parent(),
            Some(dir.path().join("debug").as_path())
        );
    }
}
