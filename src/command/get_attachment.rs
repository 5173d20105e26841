//! GetAttachment (MS-ASCMD 2.2.1.8, protocol 2.5–12.1; later versions use
//! ItemOperations Fetch): the attachment named by the `AttachmentName`
//! query parameter (the FileReference/AttName the server gave), as the raw
//! HTTP body with its content type.

use super::{CommandError, Ctx, Outcome};
use crate::backend::BackendError;
use crate::blob::Spool;
use crate::http::Response;
use crate::wbxml::Element;

pub fn run(ctx: &mut Ctx, _body: Option<&Element>) -> Result<Outcome, CommandError> {
    let Some(name) = ctx.req.params.attachment_name.clone() else {
        return Err(CommandError::BadRequest("GetAttachment without AttachmentName".into()));
    };
    // A large attachment comes as a spool file, copied out by the front end.
    let spool = Spool::in_state_dir(&ctx.config.server.state_dir);
    match ctx.session.fetch_attachment(&name, &spool) {
        Ok((content_type, blob)) => Ok(Outcome::Http(
            Response::new(200).with_body(&content_type, blob),
        )),
        // MS-ASCMD: an attachment that cannot be found or read is HTTP 500.
        Err(BackendError::NotFound(_) | BackendError::Invalid(_)) => {
            log::info!("GetAttachment: no attachment {name:?}");
            Ok(Outcome::Http(Response::new(500)))
        }
        Err(e) => Err(e.into()),
    }
}
