//! SmartForward (MS-ASCMD 2.2.1.17): forward a message; the server attaches
//! the original (unless ReplaceMime) and marks it $Forwarded. See `send_mail`.

use super::send_mail::{compose, Compose};
use super::{CommandError, Ctx, Outcome};
use crate::wbxml::Element;

pub fn run(ctx: &mut Ctx, body: Option<&Element>) -> Result<Outcome, CommandError> {
    compose(ctx, body, Compose::Forward)
}
