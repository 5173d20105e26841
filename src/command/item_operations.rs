//! ItemOperations (MS-ASCMD 2.2.1.10), the Fetch operation from the
//! mailbox: an attachment by its FileReference, or a whole item by
//! CollectionId + ServerId with the device's BodyPreference (how a device
//! gets the rest of a truncated email). Data is inline (base64), also when
//! the device would accept a multipart response. EmptyFolderContents and
//! Move are answered with a protocol-error status.

use super::{CommandError, Ctx, Outcome};
use crate::backend::BackendError;
use crate::convert::{self, BodyPreference};
use crate::engine::store;
use crate::wbxml::codepages::{airsync as a, airsyncbase as asb, itemoperations as io};
use crate::wbxml::Element;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// ItemOperations Status values (MS-ASCMD 2.2.3.177.7).
mod status {
    pub const SUCCESS: u32 = 1;
    pub const PROTOCOL_ERROR: u32 = 2;
    pub const SERVER_ERROR: u32 = 3;
    pub const NOT_FOUND: u32 = 6;
    pub const STORE_UNKNOWN: u32 = 9;
    pub const INVALID_ATTACHMENT: u32 = 15;
}

pub fn run(ctx: &mut Ctx, body: Option<&Element>) -> Result<Outcome, CommandError> {
    let Some(body) = body else {
        return Ok(Outcome::Wbxml(
            Element::new(io::ItemOperations).with_text(io::Status, status::PROTOCOL_ERROR.to_string()),
        ));
    };
    let mut response = Element::new(io::Response);
    for op in body.elements() {
        let r = if op.tag == io::Fetch {
            fetch(ctx, op)?
        } else {
            Element::new(op.tag).with_text(io::Status, status::PROTOCOL_ERROR.to_string())
        };
        response.push(r);
    }
    Ok(Outcome::Wbxml(
        Element::new(io::ItemOperations)
            .with_text(io::Status, status::SUCCESS.to_string())
            .with(response),
    ))
}

fn fetch(ctx: &mut Ctx, op: &Element) -> Result<Element, CommandError> {
    let mut out = Element::new(io::Fetch);
    if !op.text_of(io::Store).unwrap_or("Mailbox").eq_ignore_ascii_case("Mailbox") {
        out.push_text(io::Status, status::STORE_UNKNOWN.to_string());
        return Ok(out);
    }
    if let Some(reference) = op.text_of(asb::FileReference) {
        let fetched = ctx.session.fetch_attachment(reference);
        let code = match &fetched {
            Ok(_) => status::SUCCESS,
            Err(e) => failure(e)?,
        };
        out.push_text(io::Status, code.to_string());
        out.push_text(asb::FileReference, reference);
        if let Ok((content_type, bytes)) = fetched {
            out.push(
                Element::new(io::Properties)
                    .with_text(asb::ContentType, content_type)
                    .with_text(io::Data, STANDARD.encode(bytes)),
            );
        }
        return Ok(out);
    }
    let (Some(folder_id), Some(server_id)) = (op.text_of(a::CollectionId), op.text_of(a::ServerId)) else {
        out.push_text(io::Status, status::PROTOCOL_ERROR.to_string());
        return Ok(out);
    };
    let folders = store::hierarchy(ctx.device);
    let Some(folder) = folders.iter().find(|f| f.server_id == folder_id) else {
        out.push_text(io::Status, status::NOT_FOUND.to_string());
        return Ok(out);
    };
    let prefs: Vec<BodyPreference> = op
        .child(io::Options)
        .map(|o| o.children_with(asb::BodyPreference).map(BodyPreference::parse).collect())
        .unwrap_or_default();
    let found = ctx
        .session
        .fetch(&folder.collection(), &[server_id.to_string()])
        .map_err(CommandError::from)?;
    match found.into_iter().next() {
        None => out.push_text(io::Status, status::NOT_FOUND.to_string()),
        Some((_, item)) => {
            out.push_text(io::Status, status::SUCCESS.to_string());
            out.push_text(a::CollectionId, folder_id);
            out.push_text(a::ServerId, server_id);
            out.push_text(a::Class, folder.class.as_str());
            let mut props = Element::new(io::Properties);
            for c in convert::to_app_data(&item, ctx.req.version, &prefs).elements() {
                props.push(c.clone());
            }
            out.push(props);
        }
    }
    Ok(out)
}

/// The status of a failed fetch; a backend outage fails the whole request.
fn failure(e: &BackendError) -> Result<u32, CommandError> {
    match e {
        BackendError::NotFound(_) => Ok(status::NOT_FOUND),
        BackendError::Invalid(_) => Ok(status::INVALID_ATTACHMENT),
        BackendError::Unavailable(why) => Err(BackendError::Unavailable(why.clone()).into()),
        _ => Ok(status::SERVER_ERROR),
    }
}
