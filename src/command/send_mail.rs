//! SendMail (MS-ASCMD 2.2.1.16): the device hands over a complete RFC 5322
//! message; the server submits it as the user, unchanged (only a Bcc header
//! is removed), and keeps a copy in Sent Items when asked.
//!
//! 14.0+: a ComposeMail:SendMail document (ClientId, SaveInSentItems, Mime).
//! 2.5–12.1: the body is the message itself (`message/rfc822`) and
//! `SaveInSent=T` is a query parameter.

use super::{CommandError, Ctx, Outcome};
use crate::backend::BackendError;
use crate::wbxml::codepages::composemail as cm;
use crate::wbxml::Element;

/// ComposeMail Status values (MS-ASCMD 2.2.3.177.14, common status codes).
mod status {
    pub const INVALID_CONTENT: u32 = 101;
    pub const SERVER_ERROR_RETRY_LATER: u32 = 111;
    pub const MESSAGE_HAS_NO_RECIPIENT: u32 = 119;
    pub const MAIL_SUBMISSION_FAILED: u32 = 120;
}

pub fn run(ctx: &mut Ctx, body: Option<&Element>) -> Result<Outcome, CommandError> {
    let wbxml = ctx.req.version.compose_mail_wbxml();
    let (message, save_in_sent) = match body {
        Some(b) if wbxml => {
            let mime = b.child(cm::Mime).and_then(|m| {
                m.bytes()
                    .map(<[u8]>::to_vec)
                    .or_else(|| m.text().map(|t| t.as_bytes().to_vec()))
            });
            (mime.unwrap_or_default(), b.has(cm::SaveInSentItems))
        }
        _ if !wbxml => (ctx.raw_body.to_vec(), ctx.req.params.save_in_sent),
        _ => (Vec::new(), false),
    };
    if message.is_empty() {
        return failed(wbxml, status::INVALID_CONTENT, "no message");
    }
    match ctx.session.send_mail(&message, save_in_sent) {
        Ok(()) => Ok(Outcome::Empty),
        Err(BackendError::Invalid(why)) if why.contains("no recipients") => {
            failed(wbxml, status::MESSAGE_HAS_NO_RECIPIENT, &why)
        }
        Err(BackendError::Invalid(why)) => failed(wbxml, status::MAIL_SUBMISSION_FAILED, &why),
        Err(BackendError::Unavailable(why)) if wbxml => {
            log::warn!("SendMail: {why}");
            Ok(Outcome::Wbxml(reply(status::SERVER_ERROR_RETRY_LATER)))
        }
        Err(e) => Err(e.into()),
    }
}

fn reply(code: u32) -> Element {
    Element::new(cm::SendMail).with_text(cm::Status, code.to_string())
}

/// 14.0+ says why in the Status element; earlier versions only have HTTP
/// (400 for a message that cannot be sent as given).
fn failed(wbxml: bool, code: u32, why: &str) -> Result<Outcome, CommandError> {
    log::info!("SendMail refused ({code}): {why}");
    if wbxml {
        Ok(Outcome::Wbxml(reply(code)))
    } else {
        Err(CommandError::BadRequest(why.to_string()))
    }
}
