//! The HTTP OPTIONS answer (MS-ASHTTP 2.2.4 and 3.2.5.2): which protocol
//! versions and which commands this server speaks. It is not a command with
//! a body, so it has no `run`; the server calls [`response`] after auth.

use crate::config::Config;
use crate::eas::request::enabled_versions;
use crate::http::Response;

/// Reported in `MS-Server-ActiveSync`. Clients do not trigger on it
/// (MS-ASHTTP recommends they do not); it names the server build for logs.
pub const SERVER_VERSION: &str = concat!("horde-activesync ", env!("CARGO_PKG_VERSION"));

/// The `MS-ASProtocolVersions` value: the enabled versions, oldest first.
pub fn versions_header(config: &Config) -> String {
    let versions: Vec<&str> = enabled_versions(config)
        .iter()
        .map(|v| v.as_str())
        .collect();
    versions.join(",")
}

pub fn response(config: &Config) -> Response {
    Response::new(200)
        .with_header("Allow", "OPTIONS,POST")
        .with_header("Public", "OPTIONS,POST")
        .with_header("MS-Server-ActiveSync", SERVER_VERSION)
        .with_header("MS-ASProtocolVersions", versions_header(config))
        .with_header("MS-ASProtocolCommands", super::IMPLEMENTED.join(","))
        .with_header("Cache-Control", "private")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_follow_config_and_registry() {
        let mut config = Config::default();
        config.server.protocol_versions = vec!["16.1".into(), "14.1".into(), "bogus".into()];
        let r = response(&config);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("MS-ASProtocolVersions"), Some("14.1,16.1"));
        assert_eq!(r.header("Allow"), Some("OPTIONS,POST"));
        assert_eq!(
            r.header("MS-ASProtocolCommands"),
            Some(super::super::IMPLEMENTED.join(",").as_str())
        );
        let all = response(&Config::default());
        assert_eq!(
            all.header("MS-ASProtocolVersions"),
            Some("2.5,12.0,12.1,14.0,14.1,16.0,16.1")
        );
    }
}
