//! The provisioning handshake and the remote wipe through the standalone
//! HTTP front end (`horde-activesync serve`), as through CGI in
//! `tests/provision.rs`.

mod state_support;

use serde_json::json;
use state_support::*;

#[test]
fn handshake_and_wipe_through_serve() {
    let install = Cgi::new("force");
    let server = install.serve();
    for version in VERSIONS {
        let device = format!("HTTP{}", version.replace('.', ""));
        let before = folder_sync(&server, &device, version, None);
        assert_eq!(
            provisioning_demand(&before),
            demand(version, 142),
            "{version}"
        );
        let key = handshake(&server, &device, version);
        assert_eq!(install.info(&device)["policykey"], json!(key));
        let after = folder_sync(&server, &device, version, Some(key));
        assert_eq!(provisioning_demand(&after), None, "{version}");

        let out = install.cli(&["devices", "wipe", USER, &device]);
        assert!(out.status.success());
        wipe_flow(&install, &server, &device, version, key);
    }
}
