//! Provisioning and remote wipe through the real CGI front end: the built
//! binary run as a CGI program, with the embedded user store and real state
//! files, for protocol versions 2.5, 12.1, 14.1 and 16.1.

mod state_support;

use horde_activesync::wbxml::codepages::provision as p;
use serde_json::json;
use state_support::*;

#[test]
fn handshake_in_each_mode_and_version() {
    for mode in ["none", "allow", "force"] {
        let cgi = Cgi::new(mode);
        for version in VERSIONS {
            let device = format!("DEV{}", version.replace('.', ""));
            let before = folder_sync(&cgi, &device, version, None);
            let expected = (mode == "force").then(|| demand(version, 142)).flatten();
            assert_eq!(provisioning_demand(&before), expected, "{mode} {version}");

            let key = handshake(&cgi, &device, version);
            let info = cgi.info(&device);
            assert_eq!(info["policykey"], json!(key), "{mode} {version}");
            assert_eq!(info["rwstatus"], json!(1));
            assert_eq!(info["protocol_version"], json!(version));
            if version == "14.1" || version == "16.1" {
                assert_eq!(
                    info["model"],
                    json!("TestPhone 3"),
                    "DeviceInformation kept"
                );
            }
            let after = folder_sync(&cgi, &device, version, Some(key));
            assert_eq!(provisioning_demand(&after), None, "{mode} {version}");
            let wrong = folder_sync(&cgi, &device, version, Some(key ^ 0x5a5a));
            let expected = (mode != "none").then(|| demand(version, 144)).flatten();
            assert_eq!(provisioning_demand(&wrong), expected, "{mode} {version}");
        }
    }
}

#[test]
fn policy_documents_follow_the_version() {
    let cgi = Cgi::new("force");
    for version in VERSIONS {
        let reply =
            cgi.send(&Req::new("Provision", "DOCS", version).xml(&provision_initial(version)));
        let tree = reply.tree();
        assert_eq!(tree.u32_of(p::Status), Some(1));
        let policy = tree.path(&[p::Policies, p::Policy]).unwrap();
        let data = policy.child(p::Data).unwrap();
        if version == "2.5" {
            assert_eq!(
                policy.text_of(p::PolicyType),
                Some("MS-WAP-Provisioning-XML")
            );
            assert!(data
                .text()
                .unwrap()
                .contains("<characteristic type=\"SecurityPolicy\">"));
        } else {
            assert_eq!(
                policy.text_of(p::PolicyType),
                Some("MS-EAS-Provisioning-WBXML")
            );
            let doc = data.child(p::EASProvisionDoc).unwrap();
            assert_eq!(doc.text_of(p::MinDevicePasswordLength), Some("4"));
            assert!(doc.has(p::AllowCamera), "12.1+ get the full document");
        }
    }
    // 16.1 without DeviceInformation: Status 165.
    let bare = "<Provision xmlns=\"Provision\"><Policies><Policy>\
        <PolicyType>MS-EAS-Provisioning-WBXML</PolicyType></Policy></Policies></Provision>";
    let reply = cgi.send(&Req::new("Provision", "BARE", "16.1").xml(bare));
    assert_eq!(reply.tree().u32_of(p::Status), Some(165));
}

#[test]
fn wipe_by_editing_the_info_file() {
    let cgi = Cgi::new("allow");
    for version in VERSIONS {
        let device = format!("LOST{}", version.replace('.', ""));
        let key = handshake(&cgi, &device, version);
        cgi.edit_info(&device, |v| {
            v["rwstatus"] = json!(2);
            v["policykey"] = json!(0);
        });
        wipe_flow(&cgi, &cgi, &device, version, key);
        // Setting rwstatus back to 0 lets the device provision and sync.
        cgi.edit_info(&device, |v| v["rwstatus"] = json!(0));
        let key = handshake(&cgi, &device, version);
        assert_eq!(
            provisioning_demand(&folder_sync(&cgi, &device, version, Some(key))),
            None
        );
    }
}

fn cli_ok(cgi: &Cgi, args: &[&str]) -> String {
    let out = cgi.cli(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn wipe_by_the_devices_cli() {
    let cgi = Cgi::new("force");
    for version in VERSIONS {
        let device = format!("CLI{}", version.replace('.', ""));
        let key = handshake(&cgi, &device, version);
        let out = cli_ok(&cgi, &["devices", "wipe", USER, &device]);
        assert!(out.contains("remote wipe requested"), "{out}");
        let list = cli_ok(&cgi, &["devices", "list", "--user", USER]);
        assert!(
            list.contains(&device) && list.contains("2 (wipe pending)"),
            "{list}"
        );
        wipe_flow(&cgi, &cgi, &device, version, key);
        let show = cli_ok(&cgi, &["devices", "show", USER, &device]);
        assert!(show.contains("3 (wiped)"), "{show}");
        cli_ok(&cgi, &["devices", "unwipe", USER, &device]);
        let key = handshake(&cgi, &device, version);
        assert_eq!(
            provisioning_demand(&folder_sync(&cgi, &device, version, Some(key))),
            None
        );
        cli_ok(&cgi, &["devices", "remove", USER, &device]);
        assert!(!cgi.info_path(USER, &device).exists());
        let fresh = folder_sync(&cgi, &device, version, Some(key));
        assert_eq!(
            provisioning_demand(&fresh),
            demand(version, 144),
            "a removed device starts over"
        );
    }
}

#[test]
fn account_only_wipe_for_16_1() {
    let cgi = Cgi::new("allow");
    handshake(&cgi, "TAB", "16.1");
    cli_ok(&cgi, &["devices", "wipe", USER, "TAB", "--account-only"]);
    let tree = cgi
        .send(&Req::new("Provision", "TAB", "16.1").xml("<Provision xmlns=\"Provision\"/>"))
        .tree();
    assert!(tree.has(p::AccountOnlyRemoteWipe));
    assert!(!tree.has(p::RemoteWipe), "only the account, not the device");
    let ack = "<Provision xmlns=\"Provision\"><AccountOnlyRemoteWipe><Status>1</Status>\
        </AccountOnlyRemoteWipe></Provision>";
    cgi.send(&Req::new("Provision", "TAB", "16.1").xml(ack))
        .tree();
    assert_eq!(cgi.info("TAB")["rwstatus"], json!(5));
    // A 14.1 device cannot get an account-only wipe.
    handshake(&cgi, "OLD", "14.1");
    assert!(!cgi
        .cli(&["devices", "wipe", USER, "OLD", "--account-only"])
        .status
        .success());
    assert_eq!(cgi.info("OLD")["rwstatus"], json!(1));
}

#[test]
fn path_traversal_and_other_users_are_refused() {
    let cgi = Cgi::new("force");
    for device in [
        "..",
        "..%2F..%2Fetc",
        "a%2Fb",
        "a%5Cb",
        "%2Fabs",
        "a%00b",
        ".hidden",
    ] {
        let reply =
            cgi.send(&Req::new("Provision", device, "14.1").xml(&provision_initial("14.1")));
        assert_eq!(reply.status, 400, "{device}");
    }
    let entries: Vec<_> = std::fs::read_dir(cgi.state_dir())
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(entries.is_empty(), "no state written: {entries:?}");
    assert_eq!(
        std::fs::read_dir(cgi.dir.path()).unwrap().count(),
        2,
        "only config and user db"
    );

    // Two users with the same DeviceId share nothing.
    let out = cgi.cli(&["users", "add", "bob", "--password", "bobs-pw"]);
    assert!(out.status.success());
    let jane_key = handshake(&cgi, "SHARED", "14.1");
    let mut bob = Req::new("FolderSync", "SHARED", "14.1").key(jane_key);
    bob.user = "bob";
    bob.password = "bobs-pw";
    bob.xml = Some("<FolderSync xmlns=\"FolderHierarchy\"><SyncKey>0</SyncKey></FolderSync>");
    assert_eq!(
        provisioning_demand(&cgi.send(&bob)),
        Some(144),
        "jane's key is not bob's"
    );
    cli_ok(&cgi, &["devices", "wipe", USER, "SHARED"]);
    bob.policy_key = None;
    assert_eq!(
        provisioning_demand(&cgi.send(&bob)),
        Some(142),
        "bob's device is not wiped"
    );
    // The query's User cannot select another user's state: the Basic user wins.
    let bob_info = cgi.info_path("bob", "SHARED");
    let bob_before = std::fs::read(&bob_info).unwrap();
    let mut spoof = Req::new("Provision", "SHARED", "14.1").xml("<Provision xmlns=\"Provision\"/>");
    spoof.query_user = Some("bob");
    let tree = cgi.send(&spoof).tree();
    assert!(tree.has(p::RemoteWipe), "jane's own (wiped) state answered");
    let ack =
        "<Provision xmlns=\"Provision\"><RemoteWipe><Status>1</Status></RemoteWipe></Provision>";
    spoof.xml = Some(ack);
    cgi.send(&spoof).tree();
    assert_eq!(cgi.info("SHARED")["rwstatus"], json!(3));
    let bob_after: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&bob_info).unwrap()).unwrap();
    let bob_before: serde_json::Value = serde_json::from_slice(&bob_before).unwrap();
    assert_eq!(
        bob_after["rwstatus"], bob_before["rwstatus"],
        "bob's file untouched"
    );
    assert_eq!(bob_after["policykey"], bob_before["policykey"]);
}
