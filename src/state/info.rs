//! The device info file `state/<user>/info-<deviceid>`: pretty JSON that an
//! administrator may edit by hand (the seed's wipe procedure does exactly
//! that), so every field has a default and unknown rwstatus values are
//! reported rather than guessed.

use super::SyncKey;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Remote-wipe state of a device (`rwstatus` in the info file).
///
/// Values 0-3 are the ones of the original Horde/Z-Push design; 4 and 5 are
/// the MS-ASPROV 16.1 account-only wipe (`AccountOnlyRemoteWipe`), which
/// removes only this account's data from the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RwStatus {
    /// 0: the device never provisioned.
    #[default]
    None,
    /// 1: the device provisioned; no wipe requested.
    Ok,
    /// 2: a full wipe is requested; sent with the next Provision.
    Pending,
    /// 3: the device acknowledged the full wipe.
    Wiped,
    /// 4: an account-only wipe (16.1) is requested.
    AccountOnlyPending,
    /// 5: the device acknowledged the account-only wipe.
    AccountOnlyWiped,
}

impl RwStatus {
    pub fn code(self) -> u8 {
        match self {
            RwStatus::None => 0,
            RwStatus::Ok => 1,
            RwStatus::Pending => 2,
            RwStatus::Wiped => 3,
            RwStatus::AccountOnlyPending => 4,
            RwStatus::AccountOnlyWiped => 5,
        }
    }

    pub fn from_code(code: u8) -> Option<RwStatus> {
        Some(match code {
            0 => RwStatus::None,
            1 => RwStatus::Ok,
            2 => RwStatus::Pending,
            3 => RwStatus::Wiped,
            4 => RwStatus::AccountOnlyPending,
            5 => RwStatus::AccountOnlyWiped,
            _ => return None,
        })
    }

    /// The wipe this status asks the device to perform on every connection
    /// until an administrator resets it: a wiped device that comes back is
    /// wiped again (seed procedure, step 4).
    pub fn wipe_requested(self) -> Option<WipeKind> {
        match self {
            RwStatus::Pending | RwStatus::Wiped => Some(WipeKind::Full),
            RwStatus::AccountOnlyPending | RwStatus::AccountOnlyWiped => {
                Some(WipeKind::AccountOnly)
            }
            RwStatus::None | RwStatus::Ok => None,
        }
    }

    /// Short words for the `devices` tables.
    pub fn label(self) -> &'static str {
        match self {
            RwStatus::None => "none",
            RwStatus::Ok => "ok",
            RwStatus::Pending => "wipe pending",
            RwStatus::Wiped => "wiped",
            RwStatus::AccountOnlyPending => "account wipe pending",
            RwStatus::AccountOnlyWiped => "account wiped",
        }
    }
}

/// Which remote wipe a device is asked to perform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WipeKind {
    /// `RemoteWipe`: the whole device.
    Full,
    /// `AccountOnlyRemoteWipe` (16.1): only this account's data.
    AccountOnly,
}

impl WipeKind {
    /// The status to record once the device acknowledged this wipe.
    pub fn done(self) -> RwStatus {
        match self {
            WipeKind::Full => RwStatus::Wiped,
            WipeKind::AccountOnly => RwStatus::AccountOnlyWiped,
        }
    }

    /// The status that requests this wipe.
    pub fn pending(self) -> RwStatus {
        match self {
            WipeKind::Full => RwStatus::Pending,
            WipeKind::AccountOnly => RwStatus::AccountOnlyPending,
        }
    }
}

impl Serialize for RwStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.code())
    }
}

impl<'de> Deserialize<'de> for RwStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RwStatus, D::Error> {
        let code = u8::deserialize(d)?;
        RwStatus::from_code(code).ok_or_else(|| {
            serde::de::Error::custom(format!("rwstatus {code} is not one of 0, 1, 2, 3, 4, 5"))
        })
    }
}

/// Everything the server remembers about one device of one user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct DeviceInfo {
    pub user: String,
    pub device_id: String,
    pub device_type: String,
    pub user_agent: String,
    /// From `settings:DeviceInformation` (Settings, or Provision from 14.1).
    pub model: String,
    pub imei: String,
    pub os: String,
    pub os_language: String,
    pub friendly_name: String,
    pub phone_number: String,
    pub mobile_operator: String,
    /// When the device last sent its recovery password (Settings
    /// DevicePassword Set), RFC 3339 UTC; the password itself is not kept.
    pub recovery_password_set: String,
    /// RFC 3339, UTC.
    pub first_seen: String,
    /// RFC 3339, UTC.
    pub last_request: String,
    /// Protocol version of the last request, e.g. `"14.1"`.
    pub protocol_version: String,
    /// The final policy key the device must send; 0 = none (must provision).
    pub policykey: u32,
    /// The temporary key handed out in the first Provision phase; the
    /// acknowledgement must quote it (MS-ASPROV 3.1.5.1). 0 = none.
    pub pending_policykey: u32,
    /// Fingerprint of the `[policies]` the current `policykey` was issued
    /// for; when the configured policies change, the key is stale and the
    /// device is asked to provision again (PolicyRefresh).
    pub policy_fingerprint: String,
    /// Remote wipe state, see [`RwStatus`] (0-5 in the file).
    pub rwstatus: RwStatus,
    /// SyncKey of the FolderSync state.
    pub hierarchy_synckey: SyncKey,
    /// FolderSync state, owned by the FolderSync command.
    pub hierarchy: Value,
    /// Folders and heartbeat of the last Ping, owned by the Ping command.
    pub ping: Value,
    /// Options of the last Sync request (for the 12.1+ empty and Partial
    /// Sync), owned by the Sync command.
    pub sync_cache: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rwstatus_codes_round_trip() {
        for code in 0..=5u8 {
            let s = RwStatus::from_code(code).unwrap();
            assert_eq!(s.code(), code);
        }
        assert_eq!(RwStatus::from_code(6), None);
    }

    #[test]
    fn wiped_devices_are_wiped_again() {
        assert_eq!(RwStatus::Wiped.wipe_requested(), Some(WipeKind::Full));
        assert_eq!(RwStatus::Pending.wipe_requested(), Some(WipeKind::Full));
        assert_eq!(
            RwStatus::AccountOnlyWiped.wipe_requested(),
            Some(WipeKind::AccountOnly)
        );
        assert_eq!(RwStatus::Ok.wipe_requested(), None);
        assert_eq!(WipeKind::Full.done(), RwStatus::Wiped);
    }

    #[test]
    fn hand_edited_minimal_file_parses() {
        let info: DeviceInfo =
            serde_json::from_str(r#"{"user":"jane","rwstatus":2,"policykey":0}"#).unwrap();
        assert_eq!(info.rwstatus, RwStatus::Pending);
        assert!(info.hierarchy_synckey.is_initial());
        assert!(serde_json::from_str::<DeviceInfo>(r#"{"rwstatus":9}"#).is_err());
    }

    #[test]
    fn file_form_is_pretty_with_plain_numbers() {
        let info = DeviceInfo {
            rwstatus: RwStatus::Wiped,
            policykey: 12345,
            ..Default::default()
        };
        let text = serde_json::to_string_pretty(&info).unwrap();
        assert!(text.contains("\n  \"rwstatus\": 3,"), "{text}");
        assert!(text.contains("\"policykey\": 12345,"), "{text}");
        assert!(text.contains("\"hierarchy_synckey\": \"0\""), "{text}");
    }
}
