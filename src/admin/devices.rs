//! `horde-activesync devices ...`: the administrator's view of device state.
//!
//! Every verb works on the same files as the server and, when it changes
//! anything, under the same per-device lock, so it is safe while devices are
//! syncing. `wipe` does what the seed's manual procedure does (rwstatus 2,
//! policykey 0); `unwipe` sets both back to 0 so the device provisions anew.

use crate::config::Config;
use crate::state::{Device, RwStatus, Store, WipeKind};
use anyhow::{bail, Context, Result};

const USAGE: &str = "\
usage: horde-activesync devices list [--user USER]
       horde-activesync devices show USER DEVICEID
       horde-activesync devices wipe USER DEVICEID [--account-only]
       horde-activesync devices unwipe USER DEVICEID
       horde-activesync devices remove USER DEVICEID";

pub fn run(config: &Config, args: &[String]) -> Result<()> {
    let store = Store::new(config.server.state_dir.clone());
    print!("{}", execute(&store, args)?);
    Ok(())
}

/// Run one verb and return what it prints.
pub fn execute(store: &Store, args: &[String]) -> Result<String> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["list"] => list(store, None),
        ["list", "--user", user] => list(store, Some(user)),
        ["show", user, device] => show(store, user, device),
        ["wipe", user, device] => wipe(store, user, device, WipeKind::Full),
        ["wipe", user, device, "--account-only"] | ["wipe", "--account-only", user, device] => {
            wipe(store, user, device, WipeKind::AccountOnly)
        }
        ["unwipe", user, device] => unwipe(store, user, device),
        ["remove", user, device] => remove(store, user, device),
        _ => bail!("{USAGE}"),
    }
}

fn list(store: &Store, user: Option<&str>) -> Result<String> {
    let mut rows = vec![[
        "USER",
        "DEVICE ID",
        "TYPE",
        "VERSION",
        "POLICY KEY",
        "RWSTATUS",
        "LAST REQUEST",
    ]
    .map(String::from)];
    for entry in store.list(user)? {
        let row = match &entry.info {
            Ok(info) => [
                entry.user.clone(),
                entry.device_id.clone(),
                info.device_type.clone(),
                info.protocol_version.clone(),
                info.policykey.to_string(),
                rwstatus_cell(info.rwstatus),
                info.last_request.clone(),
            ],
            Err(e) => [
                entry.user.clone(),
                entry.device_id.clone(),
                format!("unreadable: {e}"),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ],
        };
        rows.push(row);
    }
    if rows.len() == 1 {
        return Ok("no devices\n".into());
    }
    Ok(table(&rows))
}

fn show(store: &Store, user: &str, device_id: &str) -> Result<String> {
    let device = store.open_shared(user, device_id)?;
    if device.is_new() {
        bail!("user {user} has no device {device_id}");
    }
    let i = &device.info;
    let ping = match &i.ping {
        serde_json::Value::Null => String::new(),
        v => v.to_string(),
    };
    let mut states: Vec<String> = Vec::new();
    for (name, n) in device.folder_states()? {
        match states.last_mut() {
            Some(last) if last.starts_with(&format!("{name} ")) => last.push_str(&format!(",{n}")),
            _ => states.push(format!("{name} {n}")),
        }
    }
    let rows: Vec<[String; 2]> = [
        ("user", i.user.clone()),
        ("device id", i.device_id.clone()),
        ("device type", i.device_type.clone()),
        ("user agent", i.user_agent.clone()),
        ("model", i.model.clone()),
        ("friendly name", i.friendly_name.clone()),
        ("IMEI", i.imei.clone()),
        ("OS", i.os.clone()),
        ("OS language", i.os_language.clone()),
        ("phone number", i.phone_number.clone()),
        ("mobile operator", i.mobile_operator.clone()),
        ("recovery pwd set", i.recovery_password_set.clone()),
        ("protocol version", i.protocol_version.clone()),
        ("first seen", i.first_seen.clone()),
        ("last request", i.last_request.clone()),
        ("policy key", i.policykey.to_string()),
        ("rwstatus", rwstatus_cell(i.rwstatus)),
        ("folder sync key", i.hierarchy_synckey.to_string()),
        ("last ping", ping),
        ("sync states", states.join("; ")),
    ]
    .into_iter()
    .map(|(k, v)| [format!("{k}:"), v])
    .collect();
    Ok(table(&rows))
}

fn wipe(store: &Store, user: &str, device_id: &str, kind: WipeKind) -> Result<String> {
    let mut device = open_known(store, user, device_id)?;
    if kind == WipeKind::AccountOnly && device.info.protocol_version != "16.1" {
        bail!(
            "an account-only wipe needs protocol 16.1; {device_id} last used {:?} (use a full wipe)",
            device.info.protocol_version
        );
    }
    device.info.rwstatus = kind.pending();
    device.info.policykey = 0;
    device.save_info().context("saving the device state")?;
    let what = match kind {
        WipeKind::Full => "remote wipe",
        WipeKind::AccountOnly => "account-only remote wipe",
    };
    Ok(format!(
        "{what} requested for {user}/{device_id}: sent with its next request (rwstatus {})\n",
        device.info.rwstatus.code()
    ))
}

fn unwipe(store: &Store, user: &str, device_id: &str) -> Result<String> {
    let mut device = open_known(store, user, device_id)?;
    let before = device.info.rwstatus;
    device.info.rwstatus = RwStatus::None;
    device.info.policykey = 0;
    device.save_info().context("saving the device state")?;
    Ok(format!(
        "{user}/{device_id}: rwstatus {} -> 0; the device provisions again on its next request\n",
        before.code()
    ))
}

fn remove(store: &Store, user: &str, device_id: &str) -> Result<String> {
    if !store.remove(user, device_id)? {
        bail!("user {user} has no device {device_id}");
    }
    Ok(format!(
        "removed {user}/{device_id}: its next request starts from scratch\n"
    ))
}

/// Lock a device that has an info file; an unknown device is an error and
/// no folder is created for it.
fn open_known(store: &Store, user: &str, device_id: &str) -> Result<Device> {
    if store.open_shared(user, device_id)?.is_new() {
        bail!("user {user} has no device {device_id}");
    }
    let device = store.open(user, device_id)?;
    if device.is_new() {
        bail!("user {user} has no device {device_id} (removed meanwhile)");
    }
    Ok(device)
}

/// `2 (wipe pending)`: the number an administrator edits, and its meaning.
fn rwstatus_cell(s: RwStatus) -> String {
    format!("{} ({})", s.code(), s.label())
}

/// Left-aligned columns separated by two spaces.
fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::DeviceInfo;

    fn info_of(store: &Store, user: &str, device_id: &str) -> DeviceInfo {
        store.open_shared(user, device_id).unwrap().info
    }

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn store_with_devices() -> (tempfile::TempDir, Store) {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path().join("state"));
        for (user, id, version) in [
            ("jane", "PHONE1", "14.1"),
            ("jane", "TAB2", "16.1"),
            ("bob", "PHONE1", "2.5"),
        ] {
            let mut d = store.open(user, id).unwrap();
            d.info.protocol_version = version.into();
            d.info.device_type = "TestPhone".into();
            d.info.policykey = 4242;
            d.info.rwstatus = RwStatus::Ok;
            d.save_info().unwrap();
        }
        (tmp, store)
    }

    #[test]
    fn list_prints_a_table_per_user() {
        let (_tmp, store) = store_with_devices();
        let all = execute(&store, &args("list")).unwrap();
        let lines: Vec<&str> = all.lines().collect();
        assert_eq!(lines.len(), 4, "{all}");
        assert!(lines[0].starts_with("USER  DEVICE ID  TYPE"), "{all}");
        assert!(lines[1].starts_with("bob   PHONE1"), "{all}");
        assert!(
            lines[2].contains("4242") && lines[2].contains("1 (ok)"),
            "{all}"
        );
        let jane = execute(&store, &args("list --user jane")).unwrap();
        assert_eq!(jane.lines().count(), 3);
        assert!(!jane.contains("bob"));
        assert_eq!(
            execute(&store, &args("list --user nobody")).unwrap(),
            "no devices\n"
        );
        assert!(execute(&store, &args("list --user ../etc")).is_err());
    }

    #[test]
    fn a_broken_hand_edit_is_listed_not_hidden() {
        let (_tmp, store) = store_with_devices();
        let path = store.state_dir().join("jane/info-TAB2");
        std::fs::write(&path, "{ \"rwstatus\": 7 }").unwrap();
        let out = execute(&store, &args("list --user jane")).unwrap();
        let row = out.lines().find(|l| l.contains("TAB2")).unwrap();
        assert!(
            row.contains("unreadable") && row.contains("rwstatus 7"),
            "{out}"
        );
        assert!(out.contains("PHONE1"), "other devices still listed");
        assert!(
            execute(&store, &args("wipe jane TAB2")).is_err(),
            "no blind overwrite"
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{ \"rwstatus\": 7 }"
        );
    }

    #[test]
    fn show_prints_the_fields() {
        let (_tmp, store) = store_with_devices();
        let out = execute(&store, &args("show jane TAB2")).unwrap();
        assert!(out.contains("protocol version:  16.1"), "{out}");
        assert!(out.contains("policy key:        4242"), "{out}");
        assert!(out.lines().any(|l| l == "sync states:"), "{out}");
        let mut d = store.open("jane", "TAB2").unwrap();
        let k = crate::state::SyncKey::first();
        d.save_folder_state("hierarchy", &k, b"h").unwrap();
        d.save_folder_state("hierarchy", &k.next(), b"h").unwrap();
        d.save_folder_state("contacts", &k, b"c").unwrap();
        drop(d);
        let out = execute(&store, &args("show jane TAB2")).unwrap();
        assert!(
            out.contains("sync states:       contacts 1; hierarchy 1,2"),
            "{out}"
        );
        assert!(execute(&store, &args("show jane NOPE")).is_err());
    }

    #[test]
    fn wipe_and_unwipe_edit_the_same_fields_as_the_manual_procedure() {
        let (_tmp, store) = store_with_devices();
        execute(&store, &args("wipe jane PHONE1")).unwrap();
        let info = info_of(&store, "jane", "PHONE1");
        assert_eq!((info.rwstatus, info.policykey), (RwStatus::Pending, 0));
        assert_eq!(
            info_of(&store, "bob", "PHONE1").rwstatus,
            RwStatus::Ok,
            "other user untouched"
        );
        assert!(execute(&store, &args("list"))
            .unwrap()
            .contains("2 (wipe pending)"));
        execute(&store, &args("unwipe jane PHONE1")).unwrap();
        let info = info_of(&store, "jane", "PHONE1");
        assert_eq!((info.rwstatus, info.policykey), (RwStatus::None, 0));
    }

    #[test]
    fn account_only_wipe_only_for_16_1() {
        let (_tmp, store) = store_with_devices();
        assert!(execute(&store, &args("wipe jane PHONE1 --account-only")).is_err());
        assert_eq!(info_of(&store, "jane", "PHONE1").rwstatus, RwStatus::Ok);
        execute(&store, &args("wipe jane TAB2 --account-only")).unwrap();
        assert_eq!(
            info_of(&store, "jane", "TAB2").rwstatus,
            RwStatus::AccountOnlyPending
        );
    }

    #[test]
    fn remove_forgets_the_device() {
        let (_tmp, store) = store_with_devices();
        execute(&store, &args("remove jane PHONE1")).unwrap();
        assert!(execute(&store, &args("show jane PHONE1")).is_err());
        assert!(execute(&store, &args("remove jane PHONE1")).is_err());
        assert_eq!(execute(&store, &args("list")).unwrap().lines().count(), 3);
    }

    #[test]
    fn unknown_devices_and_bad_usage_are_errors_that_create_nothing() {
        let (_tmp, store) = store_with_devices();
        for bad in [
            "wipe jane GHOST",
            "unwipe jane GHOST",
            "bogus",
            "wipe jane",
            "show ../x y",
        ] {
            assert!(execute(&store, &args(bad)).is_err(), "{bad}");
        }
        assert!(!store.state_dir().join("jane/info-GHOST").exists());
        assert!(!store.state_dir().join("jane/GHOST").exists());
    }
}
