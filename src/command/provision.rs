//! Provision (MS-ASPROV): policies in two phases, device information, and
//! remote wipe.
//!
//! - Initial request (`Policy` with a `PolicyType`, no key): the policy
//!   document for the version and a temporary key, remembered as
//!   `pending_policykey`.
//! - Acknowledgement (`Policy` with that temporary key and the client's
//!   status): the final key, stored as `policykey` with the fingerprint of
//!   the policy set; repeating the same acknowledgement (lost response) gets
//!   the same final key. In `force` mode a client that could not apply every
//!   policy is refused (139 from 14.0, HTTP 403 before); `allow`/`none` give
//!   it the key.
//! - While a wipe is requested (rwstatus 2/3, 4/5) every Provision, also the
//!   empty `<Provision/>` a device sends after Status 140, gets `RemoteWipe`
//!   (or 16.1 `AccountOnlyRemoteWipe`); the device's acknowledgement records
//!   rwstatus 3 (5) and is answered with Status 1 and no policy.
//! - From 14.1 a `settings:DeviceInformation` in the request is recorded and
//!   acknowledged; from 16.0 an initial request without it gets Status 165.
//!
//! The provisioning gate that sends devices here lives in [`gate`].

mod gate;
mod policy_doc;

pub use gate::{gate, Gate};
pub use policy_doc::{eas_provision_doc, fingerprint, wap_provisioning_xml};

/// The command's status response in its own code page (the request layer's
/// helper, under the name the provisioning contract uses).
pub use crate::eas::status::command_status as status_response;

use super::{CommandError, Ctx, Outcome};
use crate::config::ProvisioningMode;
use crate::eas::status::common;
use crate::eas::version::Version;
use crate::http::Response;
use crate::state::{DeviceInfo, RwStatus, StateError, WipeKind};
use crate::wbxml::codepages::{provision as p, settings as s};
use crate::wbxml::Element;

/// Provision:Status values (MS-ASPROV 2.2.2.54.2).
mod status {
    pub const SUCCESS: u32 = 1;
    pub const PROTOCOL_ERROR: u32 = 2;
}

/// Policy:Status values (MS-ASPROV 2.2.2.54.1).
mod policy_status {
    pub const SUCCESS: u32 = 1;
    pub const UNKNOWN_POLICY_TYPE: u32 = 3;
    pub const WRONG_POLICY_KEY: u32 = 5;
}

/// Run Provision; `body` is the decoded request (`None` for an empty body,
/// treated like `<Provision/>`).
pub fn run(ctx: &mut Ctx, body: Option<&Element>) -> Result<Outcome, CommandError> {
    let empty = Element::new(p::Provision);
    let body = body.unwrap_or(&empty);
    if body.tag != p::Provision {
        return Err(CommandError::BadRequest(
            "the root element is not Provision".into(),
        ));
    }
    let version = ctx.req.version;
    let mut response = Element::new(p::Provision);

    let device_information = body.child(s::DeviceInformation);
    if let Some(set) = device_information.and_then(|d| d.child(s::Set)) {
        record_device_information(&mut ctx.device.info, set);
    }
    let policy = body.path(&[p::Policies, p::Policy]);
    let initial = policy.is_some_and(|p| !p.has(p::PolicyKey));
    if initial && device_information.is_none() && version.device_information_required_in_provision()
    {
        return Ok(Outcome::Wbxml(response.with_text(
            p::Status,
            common::DEVICE_INFORMATION_REQUIRED.to_string(),
        )));
    }

    let outcome = if let Some((kind, ack)) = wipe_acknowledgement(body) {
        acknowledge_wipe(ctx, kind, ack, &mut response)?
    } else if let Some(kind) = ctx.device.info.rwstatus.wipe_requested() {
        request_wipe(kind, version, status::SUCCESS, &mut response)
    } else if let Some(policy) = policy {
        provision_policy(ctx, policy, &mut response)?
    } else {
        response.push_text(p::Status, status::PROTOCOL_ERROR.to_string());
        Step::Answer
    };
    if let Step::Refuse(code) = outcome {
        return Ok(refusal(code, version));
    }
    if device_information.is_some() && version.has_device_information_in_provision() {
        // First child, before Status (MS-ASPROV 6.3 ProvisionResponse.xsd).
        let ack =
            Element::new(s::DeviceInformation).with_text(s::Status, status::SUCCESS.to_string());
        response
            .children
            .insert(0, crate::wbxml::Node::Element(ack));
    }
    ctx.device.save_info().map_err(internal)?;
    Ok(Outcome::Wbxml(response))
}

/// What a Provision step decided.
enum Step {
    /// `response` is complete.
    Answer,
    /// Refuse the device with this 14.0+ status (HTTP 403 before 14.0).
    Refuse(u32),
}

/// `RemoteWipe` or `AccountOnlyRemoteWipe` with a `Status` child: the
/// device reports the outcome of a wipe (1 = done).
fn wipe_acknowledgement(body: &Element) -> Option<(WipeKind, u32)> {
    [
        (p::RemoteWipe, WipeKind::Full),
        (p::AccountOnlyRemoteWipe, WipeKind::AccountOnly),
    ]
    .into_iter()
    .find_map(|(tag, kind)| Some((kind, body.child(tag)?.u32_of(p::Status)?)))
}

/// The device reports the outcome of a wipe (MS-ASPROV 3.2.5.1.2.2):
/// success is recorded (rwstatus 3 or 5) and answered with Status 1 and no
/// policy; a failure is answered with Status 2 and the directive again.
fn acknowledge_wipe(
    ctx: &mut Ctx,
    kind: WipeKind,
    ack: u32,
    response: &mut Element,
) -> Result<Step, CommandError> {
    let info = &mut ctx.device.info;
    let requested = info.rwstatus.wipe_requested() == Some(kind);
    log::warn!(
        "user {} device {}: wipe acknowledgement with status {ack} (rwstatus {})",
        info.user,
        info.device_id,
        info.rwstatus.code()
    );
    if !requested || ack == status::SUCCESS {
        if requested {
            info.rwstatus = kind.done();
        }
        response.push_text(p::Status, status::SUCCESS.to_string());
        return Ok(Step::Answer);
    }
    Ok(request_wipe(
        kind,
        ctx.req.version,
        status::PROTOCOL_ERROR,
        response,
    ))
}

/// Send the wipe directive with this Provision status (MS-ASPROV 3.2.5.1.2.1).
fn request_wipe(kind: WipeKind, version: Version, code: u32, response: &mut Element) -> Step {
    let directive = match kind {
        WipeKind::Full => p::RemoteWipe,
        WipeKind::AccountOnly if version.account_only_remote_wipe() => p::AccountOnlyRemoteWipe,
        WipeKind::AccountOnly => return Step::Refuse(common::DEVICE_IS_BLOCKED_FOR_THIS_USER),
    };
    response.push_text(p::Status, code.to_string());
    response.push(Element::new(directive));
    Step::Answer
}

/// The two policy phases.
fn provision_policy(
    ctx: &mut Ctx,
    policy: &Element,
    response: &mut Element,
) -> Result<Step, CommandError> {
    let version = ctx.req.version;
    let policy_type = version.policy_type();
    let Some(sent_type) = policy.text_of(p::PolicyType) else {
        // MS-ASCMD 3.1.5.1: no PolicyType is a Provision Status 2.
        response.push_text(p::Status, status::PROTOCOL_ERROR.to_string());
        return Ok(Step::Answer);
    };
    let mut answer = Element::new(p::Policy).with_text(p::PolicyType, policy_type);
    if sent_type.trim() != policy_type {
        answer.push_text(p::Status, policy_status::UNKNOWN_POLICY_TYPE.to_string());
    } else if let Some(sent) = policy.text_of(p::PolicyKey) {
        let client_status = policy.u32_of(p::Status).unwrap_or(status::SUCCESS);
        let info = &mut ctx.device.info;
        let matches = sent.trim().parse::<u32>().ok() == Some(info.pending_policykey)
            && info.pending_policykey != 0;
        if !matches {
            answer.push_text(p::Status, policy_status::WRONG_POLICY_KEY.to_string());
        } else if client_status != status::SUCCESS
            && ctx.config.provisioning.mode == ProvisioningMode::Force
        {
            log::warn!(
                "user {} device {}: could not apply the policies (status {client_status}); refused in force mode",
                info.user,
                info.device_id
            );
            return Ok(Step::Refuse(common::DEVICE_NOT_FULLY_PROVISIONABLE));
        } else {
            let fingerprint = fingerprint(&ctx.config.policies);
            if info.policykey == 0 || info.policy_fingerprint != fingerprint {
                info.policykey = new_key(&[info.policykey, info.pending_policykey]);
                info.policy_fingerprint = fingerprint;
            }
            if info.rwstatus == RwStatus::None {
                info.rwstatus = RwStatus::Ok;
            }
            answer.push_text(p::Status, policy_status::SUCCESS.to_string());
            answer.push_text(p::PolicyKey, info.policykey.to_string());
        }
    } else {
        let info = &mut ctx.device.info;
        info.pending_policykey = new_key(&[info.policykey, info.pending_policykey]);
        answer.push_text(p::Status, policy_status::SUCCESS.to_string());
        answer.push_text(p::PolicyKey, info.pending_policykey.to_string());
        answer.push(policy_doc::data(&ctx.config.policies, version));
    }
    response.push_text(p::Status, status::SUCCESS.to_string());
    response.push(Element::new(p::Policies).with(answer));
    Ok(Step::Answer)
}

/// A refused device: the common status in Provision from 14.0, else 403.
fn refusal(code: u32, version: Version) -> Outcome {
    if version.provision_status_in_body() {
        Outcome::Wbxml(Element::new(p::Provision).with_text(p::Status, code.to_string()))
    } else {
        Outcome::Http(Response::new(403))
    }
}

/// A random policy key that is not 0 and none of `avoid`.
fn new_key(avoid: &[u32]) -> u32 {
    loop {
        let key = crate::state::random_u32();
        if key != 0 && !avoid.contains(&key) {
            return key;
        }
    }
}

/// Copy the `settings:Set` children of DeviceInformation (from Provision,
/// or the Settings command) into the device's info.
pub fn record_device_information(info: &mut DeviceInfo, set: &Element) {
    let fields: [(crate::wbxml::Tag, &mut String); 8] = [
        (s::Model, &mut info.model),
        (s::IMEI, &mut info.imei),
        (s::FriendlyName, &mut info.friendly_name),
        (s::OS, &mut info.os),
        (s::OSLanguage, &mut info.os_language),
        (s::PhoneNumber, &mut info.phone_number),
        (s::UserAgent, &mut info.user_agent),
        (s::MobileOperator, &mut info.mobile_operator),
    ];
    for (tag, field) in fields {
        if let Some(value) = set.text_of(tag) {
            *field = value.trim().to_string();
        }
    }
}

fn internal(e: StateError) -> CommandError {
    CommandError::Internal(e.into())
}

#[cfg(test)]
mod tests;
