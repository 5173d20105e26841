//! The provisioning gate: before a command runs, decide from the device's
//! state, the policy key it sent and `[provisioning] mode` whether it may
//! proceed or must provision first (MS-ASPROV 3.1.5.1, 3.2.5.1).
//!
//! Rules, in order:
//! 1. Provision and Ping always pass (Ping never needs a policy key; the
//!    request layer never gates OPTIONS).
//! 2. A requested remote wipe (rwstatus 2/3, or 4/5 for the 16.1 account-only
//!    wipe) stops every other command in every mode — the device is sent to
//!    Provision, which delivers the wipe. An account-only wipe cannot be
//!    delivered below 16.1, so such a device is blocked instead.
//! 3. `none`: everything else passes.
//! 4. `allow`: a device that sends no policy key (or 0) passes — devices that
//!    cannot provision, like the seed's Android 2.x phones, keep syncing; a
//!    device that sends a key must send the current one.
//! 5. `force`: the current key is required.
//!
//! "Current" means the device's final `policykey`, issued for the policy set
//! configured now (see `policy_doc::fingerprint`). A missing key is
//! DeviceNotProvisioned (142), the right key for changed policies is
//! PolicyRefresh (143), any other key InvalidPolicyKey (144), a wipe
//! RemoteWipeRequested (140). Below 14.0 each of these is HTTP 449; from 14.0
//! it is the status in the command's own response, except for commands that
//! have no WBXML response (GetAttachment), which get 449 in every version.

use super::policy_doc::fingerprint;
use crate::config::{Config, ProvisioningMode};
use crate::eas::request::EasRequest;
use crate::eas::status::{command_status, common};
use crate::eas::version::Version;
use crate::state::{Device, DeviceInfo, WipeKind};
use chrono::Utc;

/// What the request layer does before running a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Run the command.
    Pass,
    /// Answer HTTP 449 "Retry after sending a Provision command".
    Http449,
    /// Answer the command's own response carrying this Status
    /// (`crate::eas::status::command_status`).
    Status(u32),
    /// The device may not use this account (HTTP 403 below 14.0; 14.0+ gets
    /// `Status(129)` instead).
    Forbidden,
}

/// Commands that never need a policy key.
const UNGATED: &[&str] = &["Provision", "Ping"];

/// Decide for this request. Also records the request's device type, user
/// agent, version and time in `device.info` (the caller saves).
pub fn gate(req: &EasRequest, device: &mut Device, config: &Config) -> Gate {
    device.note_request(
        &req.device_type,
        req.user_agent.as_deref().unwrap_or(""),
        req.version.as_str(),
        Utc::now(),
    );
    if UNGATED.contains(&req.cmd.as_str()) {
        return Gate::Pass;
    }
    let current = fingerprint(&config.policies);
    let verdict = verdict(
        &device.info,
        req.policy_key,
        config.provisioning.mode,
        &current,
        req.version,
    );
    if verdict != Verdict::Pass {
        log::info!(
            "user {} device {}: {} refused until it provisions ({verdict:?}, rwstatus {}, sent key {:?})",
            req.user,
            req.device_id,
            req.cmd,
            device.info.rwstatus.code(),
            req.policy_key
        );
    }
    to_gate(verdict, &req.cmd, req.version)
}

/// Why a device must not run its command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Pass,
    /// Must provision; the 14.0+ status code says why (140, 142, 143, 144).
    Provision(u32),
    /// An account-only wipe is pending but the version cannot receive it.
    Blocked,
}

pub(super) fn verdict(
    info: &DeviceInfo,
    sent_key: Option<u32>,
    mode: ProvisioningMode,
    current_fingerprint: &str,
    version: Version,
) -> Verdict {
    match info.rwstatus.wipe_requested() {
        Some(WipeKind::AccountOnly) if !version.account_only_remote_wipe() => {
            return Verdict::Blocked
        }
        Some(_) => return Verdict::Provision(common::REMOTE_WIPE_REQUESTED),
        None => {}
    }
    let sent = sent_key.filter(|&k| k != 0);
    match (mode, sent) {
        (ProvisioningMode::None, _) | (ProvisioningMode::Allow, None) => Verdict::Pass,
        (ProvisioningMode::Force, None) => Verdict::Provision(common::DEVICE_NOT_PROVISIONED),
        (_, Some(key)) if key != info.policykey => Verdict::Provision(common::INVALID_POLICY_KEY),
        (_, Some(_)) if info.policy_fingerprint != current_fingerprint => {
            Verdict::Provision(common::POLICY_REFRESH)
        }
        (_, Some(_)) => Verdict::Pass,
    }
}

fn to_gate(verdict: Verdict, cmd: &str, version: Version) -> Gate {
    let in_body = version.provision_status_in_body() && command_status(cmd, 0).is_some();
    match verdict {
        Verdict::Pass => Gate::Pass,
        Verdict::Provision(code) if in_body => Gate::Status(code),
        Verdict::Provision(_) => Gate::Http449,
        Verdict::Blocked if in_body => Gate::Status(common::DEVICE_IS_BLOCKED_FOR_THIS_USER),
        Verdict::Blocked => Gate::Forbidden,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::RwStatus;
    use ProvisioningMode::{Allow, Force, None as Off};

    const FP: &str = "0123456789abcdef";

    fn provisioned(key: u32) -> DeviceInfo {
        DeviceInfo {
            policykey: key,
            policy_fingerprint: FP.into(),
            rwstatus: RwStatus::Ok,
            ..Default::default()
        }
    }

    #[test]
    fn mode_none_passes_everything_but_a_wipe() {
        let fresh = DeviceInfo::default();
        for key in [None, Some(0), Some(5)] {
            assert_eq!(verdict(&fresh, key, Off, FP, Version::V14_1), Verdict::Pass);
        }
        let wipe = DeviceInfo {
            rwstatus: RwStatus::Pending,
            ..Default::default()
        };
        assert_eq!(
            verdict(&wipe, None, Off, FP, Version::V14_1),
            Verdict::Provision(140)
        );
    }

    #[test]
    fn mode_allow_lets_keyless_devices_through() {
        let fresh = DeviceInfo::default();
        assert_eq!(
            verdict(&fresh, None, Allow, FP, Version::V2_5),
            Verdict::Pass
        );
        assert_eq!(
            verdict(&fresh, Some(0), Allow, FP, Version::V12_1),
            Verdict::Pass
        );
        assert_eq!(
            verdict(&fresh, Some(9), Allow, FP, Version::V14_1),
            Verdict::Provision(144)
        );
        let dev = provisioned(77);
        assert_eq!(
            verdict(&dev, Some(77), Allow, FP, Version::V14_1),
            Verdict::Pass
        );
        assert_eq!(
            verdict(&dev, Some(77), Allow, "changed", Version::V14_1),
            Verdict::Provision(143)
        );
    }

    #[test]
    fn mode_force_needs_the_current_key() {
        let dev = provisioned(77);
        assert_eq!(
            verdict(&dev, None, Force, FP, Version::V14_1),
            Verdict::Provision(142)
        );
        assert_eq!(
            verdict(&dev, Some(0), Force, FP, Version::V14_1),
            Verdict::Provision(142)
        );
        assert_eq!(
            verdict(&dev, Some(78), Force, FP, Version::V14_1),
            Verdict::Provision(144)
        );
        assert_eq!(
            verdict(&dev, Some(77), Force, "other", Version::V14_1),
            Verdict::Provision(143)
        );
        assert_eq!(
            verdict(&dev, Some(77), Force, FP, Version::V14_1),
            Verdict::Pass
        );
        // A temporary key (first phase only) is not enough.
        let half = DeviceInfo {
            pending_policykey: 5,
            ..provisioned(0)
        };
        assert_eq!(
            verdict(&half, Some(5), Force, FP, Version::V14_1),
            Verdict::Provision(144)
        );
    }

    #[test]
    fn wipes_win_over_valid_keys_and_repeat_after_the_wipe() {
        for rw in [RwStatus::Pending, RwStatus::Wiped] {
            let dev = DeviceInfo {
                rwstatus: rw,
                ..provisioned(77)
            };
            for mode in [Off, Allow, Force] {
                assert_eq!(
                    verdict(&dev, Some(77), mode, FP, Version::V12_1),
                    Verdict::Provision(140)
                );
            }
        }
        let account = DeviceInfo {
            rwstatus: RwStatus::AccountOnlyPending,
            ..provisioned(77)
        };
        assert_eq!(
            verdict(&account, Some(77), Force, FP, Version::V16_1),
            Verdict::Provision(140)
        );
        assert_eq!(
            verdict(&account, Some(77), Force, FP, Version::V16_0),
            Verdict::Blocked
        );
    }

    #[test]
    fn version_decides_between_449_and_a_status() {
        let v = Verdict::Provision(142);
        assert_eq!(to_gate(v, "FolderSync", Version::V2_5), Gate::Http449);
        assert_eq!(to_gate(v, "Sync", Version::V12_1), Gate::Http449);
        assert_eq!(to_gate(v, "FolderSync", Version::V14_0), Gate::Status(142));
        assert_eq!(to_gate(v, "Sync", Version::V16_1), Gate::Status(142));
        assert_eq!(to_gate(v, "GetAttachment", Version::V14_1), Gate::Http449);
        assert_eq!(
            to_gate(Verdict::Blocked, "Sync", Version::V14_1),
            Gate::Status(129)
        );
        assert_eq!(
            to_gate(Verdict::Blocked, "Sync", Version::V12_1),
            Gate::Forbidden
        );
        assert_eq!(to_gate(Verdict::Pass, "Sync", Version::V2_5), Gate::Pass);
    }
}
