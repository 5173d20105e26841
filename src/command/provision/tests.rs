//! Provision flows against real state files (a temporary state folder); the
//! backend session is a stub because Provision never uses it.

use super::*;
use crate::backend::{ChangeSet, Collection, Cursor, Result as BResult, Session, Window};
use crate::config::Config;
use crate::eas::request::{EasRequest, Params};
use crate::model::{Class, Item};
use crate::state::{RwStatus, Store};
use crate::wbxml::xml::from_xml;
use std::time::SystemTime;

/// Provision never touches the backend: every call fails.
struct NoBackend;

fn unused<T>() -> BResult<T> {
    Err(crate::backend::BackendError::NotFound(
        "Provision uses no backend".into(),
    ))
}

impl Session for NoBackend {
    fn collections(&mut self) -> BResult<Vec<Collection>> {
        unused()
    }
    fn create_collection(&mut self, _: Class, _: &str, _: Option<&str>) -> BResult<Collection> {
        unused()
    }
    fn rename_collection(&mut self, _: &str, _: &str) -> BResult<()> {
        unused()
    }
    fn delete_collection(&mut self, _: &str) -> BResult<()> {
        unused()
    }
    fn cursor(&mut self, _: &Collection) -> BResult<Cursor> {
        unused()
    }
    fn list(&mut self, _: &Collection, _: Window) -> BResult<Vec<String>> {
        unused()
    }
    fn changes(&mut self, _: &Collection, _: &Cursor) -> BResult<ChangeSet> {
        unused()
    }
    fn fetch(&mut self, _: &Collection, _: &[String]) -> BResult<Vec<(String, Item)>> {
        unused()
    }
    fn add(&mut self, _: &Collection, _: &Item) -> BResult<String> {
        unused()
    }
    fn replace(&mut self, _: &Collection, _: &str, _: &Item) -> BResult<()> {
        unused()
    }
    fn delete(&mut self, _: &Collection, _: &str) -> BResult<()> {
        unused()
    }
    fn move_item(&mut self, _: &Collection, _: &str, _: &Collection) -> BResult<String> {
        unused()
    }
}

struct Fixture {
    _tmp: tempfile::TempDir,
    store: Store,
    config: Config,
}

fn fixture(mode: ProvisioningMode) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.server.state_dir = tmp.path().join("state");
    config.provisioning.mode = mode;
    Fixture {
        store: Store::new(config.server.state_dir.clone()),
        _tmp: tmp,
        config,
    }
}

fn request(cmd: &str, version: Version, policy_key: Option<u32>) -> EasRequest {
    EasRequest {
        cmd: cmd.into(),
        user: "jane".into(),
        device_id: "DEV1".into(),
        device_type: "TestPhone".into(),
        version,
        policy_key,
        user_agent: Some("test/1".into()),
        params: Params::default(),
        credentials: None,
    }
}

impl Fixture {
    /// Run Provision with this body (XML form) and return the outcome.
    fn provision(&self, version: Version, xml: &str) -> Outcome {
        let req = request("Provision", version, None);
        let mut device = self.store.open("jane", "DEV1").unwrap();
        let body = from_xml(xml).unwrap();
        let mut session = NoBackend;
        let mut ctx = Ctx {
            req: &req,
            config: &self.config,
            session: &mut session,
            device: &mut device,
            now: SystemTime::now(),
            raw_body: &[],
        };
        run(&mut ctx, Some(&body)).unwrap()
    }

    fn provision_xml(&self, version: Version, xml: &str) -> Element {
        match self.provision(version, xml) {
            Outcome::Wbxml(e) => e,
            other => panic!("expected WBXML, got {other:?}"),
        }
    }

    fn gate(&self, cmd: &str, version: Version, key: Option<u32>) -> Gate {
        let mut device = self.store.open("jane", "DEV1").unwrap();
        gate(&request(cmd, version, key), &mut device, &self.config)
    }

    fn info(&self) -> DeviceInfo {
        self.store.open_shared("jane", "DEV1").unwrap().info
    }

    fn edit(&self, f: impl FnOnce(&mut DeviceInfo)) {
        let mut device = self.store.open("jane", "DEV1").unwrap();
        f(&mut device.info);
        device.save_info().unwrap();
    }

    /// Both phases; returns the final key.
    fn handshake(&self, version: Version) -> u32 {
        let first = self.provision_xml(version, &initial(version));
        let temp = policy_key(&first).unwrap();
        let ack = self.provision_xml(version, &acknowledge(version, temp, 1));
        policy_key(&ack).unwrap()
    }
}

const DEVICE_INFORMATION: &str = r#"<settings:DeviceInformation><settings:Set>
    <settings:Model>Pixel 7</settings:Model><settings:IMEI>3520990012345</settings:IMEI>
    <settings:FriendlyName>Jane's phone</settings:FriendlyName><settings:OS>Android 14</settings:OS>
    <settings:OSLanguage>German</settings:OSLanguage><settings:PhoneNumber>+4930123</settings:PhoneNumber>
    <settings:MobileOperator>Telekom</settings:MobileOperator>
    </settings:Set></settings:DeviceInformation>"#;

fn initial(version: Version) -> String {
    let info = if version.has_device_information_in_provision() {
        DEVICE_INFORMATION
    } else {
        ""
    };
    format!(
        r#"<Provision xmlns="Provision" xmlns:settings="Settings">{info}<Policies><Policy>
        <PolicyType>{}</PolicyType></Policy></Policies></Provision>"#,
        version.policy_type()
    )
}

fn acknowledge(version: Version, key: u32, status: u32) -> String {
    format!(
        r#"<Provision xmlns="Provision"><Policies><Policy><PolicyType>{}</PolicyType>
        <PolicyKey>{key}</PolicyKey><Status>{status}</Status></Policy></Policies></Provision>"#,
        version.policy_type()
    )
}

const EMPTY: &str = r#"<Provision xmlns="Provision"/>"#;

fn policy(e: &Element) -> Option<&Element> {
    e.path(&[p::Policies, p::Policy])
}

fn policy_key(e: &Element) -> Option<u32> {
    policy(e)?.u32_of(p::PolicyKey)
}

#[test]
fn two_phases_in_every_version() {
    for version in [
        Version::V2_5,
        Version::V12_0,
        Version::V12_1,
        Version::V14_1,
        Version::V16_1,
    ] {
        let f = fixture(ProvisioningMode::Force);
        let first = f.provision_xml(version, &initial(version));
        assert_eq!(first.u32_of(p::Status), Some(1), "{version}");
        let pol = policy(&first).unwrap();
        assert_eq!(pol.text_of(p::PolicyType), Some(version.policy_type()));
        assert_eq!(pol.u32_of(p::Status), Some(1));
        let temp = pol.u32_of(p::PolicyKey).unwrap();
        let data = pol.child(p::Data).unwrap();
        match version {
            Version::V2_5 => assert!(data.text().unwrap().starts_with("<wap-provisioningdoc>")),
            Version::V12_0 => assert_eq!(
                data.child(p::EASProvisionDoc).unwrap().elements().count(),
                12
            ),
            _ => assert_eq!(
                data.child(p::EASProvisionDoc).unwrap().elements().count(),
                40
            ),
        }
        assert_eq!(f.info().pending_policykey, temp);
        assert_eq!(
            f.info().policykey,
            0,
            "the temporary key is not the final one"
        );
        // The temporary key does not open the gate.
        assert_ne!(f.gate("FolderSync", version, Some(temp)), Gate::Pass);

        let ack = f.provision_xml(version, &acknowledge(version, temp, 1));
        let pol = policy(&ack).unwrap();
        assert_eq!(pol.u32_of(p::Status), Some(1));
        assert!(
            !pol.has(p::Data),
            "no policy document in the acknowledgement answer"
        );
        let key = pol.u32_of(p::PolicyKey).unwrap();
        assert_ne!(key, temp);
        let info = f.info();
        assert_eq!(info.policykey, key);
        assert_eq!(info.rwstatus, RwStatus::Ok);
        assert_eq!(info.policy_fingerprint, fingerprint(&f.config.policies));
        assert_eq!(
            f.gate("FolderSync", version, Some(key)),
            Gate::Pass,
            "{version}"
        );
        // A repeated acknowledgement (lost response) gets the same key.
        let again = f.provision_xml(version, &acknowledge(version, temp, 1));
        assert_eq!(policy_key(&again), Some(key));
    }
}

#[test]
fn device_information_is_recorded_from_14_1_and_required_from_16_0() {
    let f = fixture(ProvisioningMode::Force);
    let first = f.provision_xml(Version::V14_1, &initial(Version::V14_1));
    let ack = first.child(s::DeviceInformation).unwrap();
    assert_eq!(ack.u32_of(s::Status), Some(1));
    let order: Vec<_> = first.elements().map(|e| e.tag).collect();
    assert_eq!(
        order,
        [s::DeviceInformation, p::Status, p::Policies],
        "schema order"
    );
    let info = f.info();
    assert_eq!(info.model, "Pixel 7");
    assert_eq!(info.imei, "3520990012345");
    assert_eq!(info.friendly_name, "Jane's phone");
    assert_eq!(info.os_language, "German");
    assert_eq!(info.mobile_operator, "Telekom");

    let f = fixture(ProvisioningMode::Force);
    let bare = r#"<Provision xmlns="Provision"><Policies><Policy>
        <PolicyType>MS-EAS-Provisioning-WBXML</PolicyType></Policy></Policies></Provision>"#;
    let refused = f.provision_xml(Version::V16_1, bare);
    assert_eq!(refused.u32_of(p::Status), Some(165));
    assert!(!refused.has(p::Policies));
    assert_eq!(f.info().pending_policykey, 0, "nothing was handed out");
    // 14.1 without it is still served (the requirement starts with 16.0).
    assert!(policy_key(&f.provision_xml(Version::V14_1, bare)).is_some());
}

#[test]
fn wrong_type_and_wrong_key_are_policy_statuses() {
    let f = fixture(ProvisioningMode::Force);
    let wap = initial(Version::V2_5);
    let r = f.provision_xml(Version::V14_0, &wap);
    assert_eq!(policy(&r).unwrap().u32_of(p::Status), Some(3));
    assert_eq!(f.info().pending_policykey, 0);
    f.provision_xml(Version::V14_0, &initial(Version::V14_0));
    let temp = f.info().pending_policykey;
    let r = f.provision_xml(Version::V14_0, &acknowledge(Version::V14_0, temp ^ 1, 1));
    assert_eq!(policy(&r).unwrap().u32_of(p::Status), Some(5));
    assert_eq!(f.info().policykey, 0);
}

#[test]
fn policy_change_refreshes_and_stale_keys_are_invalid() {
    let mut f = fixture(ProvisioningMode::Force);
    let key = f.handshake(Version::V14_1);
    assert_eq!(f.gate("Sync", Version::V14_1, Some(key)), Gate::Pass);
    assert_eq!(
        f.gate("Sync", Version::V14_1, Some(key ^ 1)),
        Gate::Status(144)
    );
    assert_eq!(f.gate("Sync", Version::V14_1, None), Gate::Status(142));
    f.config.policies.min_device_password_length += 2;
    assert_eq!(f.gate("Sync", Version::V14_1, Some(key)), Gate::Status(143));
    assert_eq!(f.gate("Sync", Version::V12_1, Some(key)), Gate::Http449);
    let fresh = f.handshake(Version::V14_1);
    assert_ne!(fresh, key, "a new policy set gives a new key");
    assert_eq!(f.gate("Sync", Version::V14_1, Some(fresh)), Gate::Pass);
}

#[test]
fn modes_decide_who_must_provision() {
    let none = fixture(ProvisioningMode::None);
    assert_eq!(none.gate("Sync", Version::V14_1, None), Gate::Pass);
    assert_eq!(none.gate("Sync", Version::V14_1, Some(1234)), Gate::Pass);
    let allow = fixture(ProvisioningMode::Allow);
    assert_eq!(allow.gate("Sync", Version::V2_5, None), Gate::Pass);
    assert_eq!(
        allow.gate("FolderSync", Version::V14_1, Some(1234)),
        Gate::Status(144)
    );
    let force = fixture(ProvisioningMode::Force);
    assert_eq!(force.gate("Sync", Version::V2_5, None), Gate::Http449);
    assert_eq!(
        force.gate("FolderSync", Version::V16_1, None),
        Gate::Status(142)
    );
    for cmd in ["Ping", "Provision"] {
        assert_eq!(force.gate(cmd, Version::V14_1, None), Gate::Pass, "{cmd}");
    }
}

#[test]
fn force_refuses_a_device_that_cannot_apply_the_policies() {
    for (mode, version) in [
        (ProvisioningMode::Force, Version::V14_1),
        (ProvisioningMode::Force, Version::V12_1),
        (ProvisioningMode::Allow, Version::V14_1),
    ] {
        let f = fixture(mode);
        let first = f.provision_xml(version, &initial(version));
        let temp = policy_key(&first).unwrap();
        let outcome = f.provision(version, &acknowledge(version, temp, 2));
        match (mode, outcome) {
            (ProvisioningMode::Force, Outcome::Wbxml(e)) => {
                assert_eq!(e.u32_of(p::Status), Some(139));
                assert_eq!(f.info().policykey, 0);
            }
            (ProvisioningMode::Force, Outcome::Http(r)) => assert_eq!(r.status, 403),
            (_, Outcome::Wbxml(e)) => {
                assert!(policy_key(&e).is_some(), "allow gives the key anyway");
                assert_ne!(f.info().policykey, 0);
            }
            (_, other) => panic!("{other:?}"),
        }
    }
}

#[test]
fn remote_wipe_by_editing_the_info_file() {
    for version in [
        Version::V2_5,
        Version::V12_1,
        Version::V14_1,
        Version::V16_1,
    ] {
        let f = fixture(ProvisioningMode::Allow);
        let key = f.handshake(version);
        // The seed's procedure: rwstatus 0 -> 2, policykey -> 0.
        let path = f.store.state_dir().join("jane/info-DEV1");
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text
            .replace("\"rwstatus\": 1", "\"rwstatus\": 2")
            .replace(&format!("\"policykey\": {key}"), "\"policykey\": 0");
        std::fs::write(&path, text).unwrap();

        let expected = if version.provision_status_in_body() {
            Gate::Status(140)
        } else {
            Gate::Http449
        };
        assert_eq!(
            f.gate("FolderSync", version, Some(key)),
            expected,
            "{version}"
        );
        assert_eq!(f.gate("Ping", version, Some(key)), Gate::Pass);
        // Empty <Provision/> after 140, and a normal initial Provision, both
        // get the directive and no policy.
        for body in [EMPTY.to_string(), initial(version)] {
            let r = f.provision_xml(version, &body);
            assert_eq!(r.u32_of(p::Status), Some(1));
            assert!(r.has(p::RemoteWipe), "{version}: {body}");
            assert!(!r.has(p::Policies));
        }
        assert_eq!(
            f.info().rwstatus,
            RwStatus::Pending,
            "not wiped before the ack"
        );
        let ack = r#"<Provision xmlns="Provision"><RemoteWipe><Status>1</Status></RemoteWipe></Provision>"#;
        let r = f.provision_xml(version, ack);
        assert_eq!(r.u32_of(p::Status), Some(1));
        assert_eq!(r.elements().count(), 1, "Status only, no policy");
        assert_eq!(f.info().rwstatus, RwStatus::Wiped);
        // Still wiped on every reconnect while the file says so.
        assert_eq!(f.gate("Sync", version, Some(key)), expected);
        assert!(f.provision_xml(version, EMPTY).has(p::RemoteWipe));
        // Setting rwstatus back to 0 lets it provision and sync again.
        f.edit(|i| i.rwstatus = RwStatus::None);
        let key = f.handshake(version);
        assert_eq!(f.gate("Sync", version, Some(key)), Gate::Pass);
    }
}

#[test]
fn failed_wipe_stays_pending() {
    let f = fixture(ProvisioningMode::Allow);
    f.edit(|i| i.rwstatus = RwStatus::Pending);
    let ack =
        r#"<Provision xmlns="Provision"><RemoteWipe><Status>2</Status></RemoteWipe></Provision>"#;
    let r = f.provision_xml(Version::V14_1, ack);
    assert_eq!(r.u32_of(p::Status), Some(2), "MS-ASPROV 3.2.5.1.2.2");
    assert!(r.has(p::RemoteWipe), "the directive again");
    assert_eq!(f.info().rwstatus, RwStatus::Pending);
    // An acknowledgement nobody asked for changes nothing.
    f.edit(|i| i.rwstatus = RwStatus::Ok);
    assert_eq!(
        f.provision_xml(Version::V14_1, ack).u32_of(p::Status),
        Some(1)
    );
    assert_eq!(f.info().rwstatus, RwStatus::Ok);
}

#[test]
fn account_only_wipe_needs_16_1() {
    let f = fixture(ProvisioningMode::Allow);
    f.edit(|i| i.rwstatus = RwStatus::AccountOnlyPending);
    let r = f.provision_xml(Version::V16_1, EMPTY);
    assert!(r.has(p::AccountOnlyRemoteWipe));
    assert!(!r.has(p::RemoteWipe));
    // A lower version cannot receive it: blocked, not fully wiped.
    let r = f.provision_xml(Version::V14_1, EMPTY);
    assert_eq!(r.u32_of(p::Status), Some(129));
    match f.provision(Version::V12_1, EMPTY) {
        Outcome::Http(r) => assert_eq!(r.status, 403),
        other => panic!("{other:?}"),
    }
    assert_eq!(f.gate("Sync", Version::V14_1, None), Gate::Status(129));
    assert_eq!(f.gate("Sync", Version::V12_1, None), Gate::Forbidden);
    let ack = r#"<Provision xmlns="Provision"><AccountOnlyRemoteWipe><Status>1</Status></AccountOnlyRemoteWipe></Provision>"#;
    f.provision_xml(Version::V16_1, ack);
    assert_eq!(f.info().rwstatus, RwStatus::AccountOnlyWiped);
}

#[test]
fn an_empty_provision_without_a_wipe_is_a_protocol_error() {
    let f = fixture(ProvisioningMode::Force);
    let untyped = r#"<Provision xmlns="Provision"><Policies><Policy/></Policies></Provision>"#;
    let r = f.provision_xml(Version::V14_1, untyped);
    assert_eq!(r.u32_of(p::Status), Some(2));
    assert!(!r.has(p::Policies));
    assert_eq!(
        f.provision_xml(Version::V14_1, EMPTY).u32_of(p::Status),
        Some(2)
    );
}
