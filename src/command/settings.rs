//! Settings (MS-ASCMD 2.2.1.18): out-of-office, device information, the
//! device's recovery password, the user's addresses and the rights
//! management templates, each answered in its own element with its own
//! Status (MS-ASCMD 2.2.3.177.15), all in the Settings code page.
//!
//! - `Oof` Get/Set: see [`oof`]; stored per user, shared by the user's devices.
//! - `DeviceInformation` Set: recorded in the device's info file.
//! - `DevicePassword` Set: only the time it was set is recorded; the
//!   password is neither stored nor logged.
//! - `UserInformation` Get: the user's address ([`super::identity`]), as a
//!   bare list before 14.1 and as one `Account` from 14.1.
//! - `RightsManagementInformation` Get (14.1+): no templates (there is no
//!   rights management server), so an empty list.

mod oof;

use super::provision::record_device_information;
use super::{identity, CommandError, Ctx, Outcome};
use crate::wbxml::codepages::{rightsmanagement as rm, settings as s};
use crate::wbxml::{Element, Tag};
use chrono::{DateTime, SecondsFormat, Utc};

/// Settings:Status values (MS-ASCMD 2.2.3.177.15).
pub mod status {
    pub const SUCCESS: u32 = 1;
    pub const PROTOCOL_ERROR: u32 = 2;
    pub const SERVER_UNAVAILABLE: u32 = 4;
    pub const INVALID_ARGUMENTS: u32 = 5;
    pub const CONFLICTING_ARGUMENTS: u32 = 6;
}

pub fn run(ctx: &mut Ctx, body: Option<&Element>) -> Result<Outcome, CommandError> {
    let Some(body) = body.filter(|b| b.tag == s::Settings && b.elements().next().is_some()) else {
        return Ok(Outcome::Wbxml(status_only(s::Settings, status::PROTOCOL_ERROR)));
    };
    let mut response = Element::new(s::Settings).with_text(s::Status, status::SUCCESS.to_string());
    let mut info_changed = false;
    for request in body.elements() {
        let answer = match request.tag {
            s::Oof => oof::run(ctx, request),
            s::DeviceInformation => match request.child(s::Set) {
                Some(set) => {
                    record_device_information(&mut ctx.device.info, set);
                    info_changed = true;
                    status_only(s::DeviceInformation, status::SUCCESS)
                }
                None => status_only(s::DeviceInformation, status::PROTOCOL_ERROR),
            },
            s::DevicePassword => device_password(ctx, request, &mut info_changed),
            s::UserInformation => user_information(ctx, request),
            s::RightsManagementInformation => rights_management(ctx, request),
            _ => return Ok(Outcome::Wbxml(status_only(s::Settings, status::PROTOCOL_ERROR))),
        };
        response.push(answer);
    }
    if info_changed {
        ctx.device
            .save_info()
            .map_err(|e| CommandError::Internal(e.into()))?;
    }
    Ok(Outcome::Wbxml(response))
}

/// `<tag><Status>code</Status></tag>`.
fn status_only(tag: Tag, code: u32) -> Element {
    Element::new(tag).with_text(s::Status, code.to_string())
}

/// The time of the request in the form the info file and the spec use.
fn timestamp(ctx: &Ctx) -> String {
    DateTime::<Utc>::from(ctx.now).to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn device_password(ctx: &mut Ctx, request: &Element, changed: &mut bool) -> Element {
    if request.path(&[s::Set, s::Password]).is_none() {
        return status_only(s::DevicePassword, status::PROTOCOL_ERROR);
    }
    ctx.device.info.recovery_password_set = timestamp(ctx);
    *changed = true;
    status_only(s::DevicePassword, status::SUCCESS)
}

fn user_information(ctx: &Ctx, request: &Element) -> Element {
    if !request.has(s::Get) {
        return status_only(s::UserInformation, status::PROTOCOL_ERROR);
    }
    let user = ctx.req.user.as_str();
    let address = identity::email_address(ctx.config, user);
    let mut addresses = Element::new(s::EmailAddresses);
    if let Some(a) = &address {
        addresses.push_text(s::SMTPAddress, a.clone());
    }
    let get = if ctx.req.version.user_information_has_accounts() {
        if let Some(a) = address {
            addresses.push_text(s::PrimarySmtpAddress, a);
        }
        let account = Element::new(s::Account)
            .with_text(s::UserDisplayName, identity::display_name(user))
            .with(addresses);
        Element::new(s::Get).with(Element::new(s::Accounts).with(account))
    } else {
        Element::new(s::Get).with(addresses)
    };
    status_only(s::UserInformation, status::SUCCESS).with(get)
}

fn rights_management(ctx: &Ctx, request: &Element) -> Element {
    if !request.has(s::Get) || !ctx.req.version.has_rights_management() {
        return status_only(s::RightsManagementInformation, status::PROTOCOL_ERROR);
    }
    status_only(s::RightsManagementInformation, status::SUCCESS)
        .with(Element::new(s::Get).with(Element::new(rm::RightsManagementTemplates)))
}
