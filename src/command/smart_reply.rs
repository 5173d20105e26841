//! SmartReply (MS-ASCMD 2.2.1.18): send a reply; the server attaches the
//! original (unless ReplaceMime) and marks it \Answered. See `send_mail`.

use super::send_mail::{compose, Compose};
use super::{CommandError, Ctx, Outcome};
use crate::wbxml::Element;

pub fn run(ctx: &mut Ctx, body: Option<&Element>) -> Result<Outcome, CommandError> {
    compose(ctx, body, Compose::Reply)
}
