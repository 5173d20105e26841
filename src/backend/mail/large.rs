//! Large messages without reading them whole. Above [`LARGE_MESSAGE`]
//! octets a message is shown from its header, its BODYSTRUCTURE and its
//! text parts (each read up to [`TEXT_PART_LIMIT`]); its attachments are
//! listed from the structure with FileReferences that name their IMAP
//! section (`<uid>:s<section>@<mailbox>`) and are read one at a time when
//! the device asks. So a Sync window costs memory for its text, not for the
//! files attached to it. Such a message has no MIME body on offer, except
//! S/MIME messages, which are read whole: their MIME is their content.

use super::imap::{fetch_items, Reply, Value};
use super::structure::{self, Part};
use super::{imap_error, MailSession};
use crate::backend::{BackendError, Result};
use crate::blob::{Blob, Spool};
use crate::convert::mime::{self, TransferDecoder};
use crate::model::email::{Attachment, Email};
use std::borrow::Cow;
use std::io::Write;

/// Messages bigger than this (RFC822.SIZE) are read part by part. It is
/// well above ordinary mail, because such a message has no MIME body on
/// offer (the backend does not know whether the device wants one).
pub const LARGE_MESSAGE: u64 = 4 << 20;

/// At most this much of each text part of a large message is read.
const TEXT_PART_LIMIT: u64 = 1 << 20;

/// An attachment of a large message is read in pieces of this many octets.
const SECTION_PIECE: u64 = 1 << 20;

/// A large message as read: its email (flags not applied yet) and the raw
/// FETCH attributes (FLAGS, INTERNALDATE).
pub struct LargeMessage {
    pub email: Email,
    pub attributes: Vec<(String, Value)>,
}

impl MailSession {
    /// RFC822.SIZE of each UID in `set` (the mailbox is selected).
    pub(super) fn sizes(&mut self, set: &str) -> Result<Vec<(u32, u64)>> {
        let reply = self
            .conn
            .run(&format!("UID FETCH {set} (UID RFC822.SIZE)"))
            .map_err(imap_error)?;
        Ok(reply
            .data("FETCH")
            .into_iter()
            .filter_map(|v| {
                let items = fetch_items(v.first()?.as_list());
                let get = |k: &str| items.iter().find(|(n, _)| n == k)?.1.as_number();
                Some((get("UID")? as u32, get("RFC822.SIZE")?))
            })
            .collect())
    }

    /// One large message (the mailbox is selected); `None` when it is gone
    /// or is S/MIME (then the caller reads it whole).
    pub(super) fn fetch_large(&mut self, mailbox: &str, uid: u32) -> Result<Option<LargeMessage>> {
        let reply = self
            .conn
            .run(&format!(
                "UID FETCH {uid} (UID FLAGS INTERNALDATE BODYSTRUCTURE BODY.PEEK[HEADER])"
            ))
            .map_err(imap_error)?;
        let Some(attributes) = reply
            .data("FETCH")
            .into_iter()
            .find_map(|v| Some(fetch_items(v.first()?.as_list())))
        else {
            return Ok(None);
        };
        let get = |k: &str| attributes.iter().find(|(n, _)| n == k).map(|(_, v)| v);
        let (Some(Value::Str(header)), Some(body)) = (get("BODY[HEADER]"), get("BODYSTRUCTURE"))
        else {
            return Ok(None);
        };
        let Some(mut email) = mime::from_header(header) else {
            return Ok(None);
        };
        let parts = structure::leaves(body).unwrap_or_default();
        let smime = email
            .message_class
            .as_deref()
            .is_some_and(|c| c.starts_with("IPM.Note.SMIME"));
        if smime || parts.is_empty() {
            return Ok(None);
        }
        let is_body =
            |p: &&Part, subtype: &str| p.is("text", subtype) && !p.is_attachment_disposition();
        let plain = parts.iter().find(|p| is_body(p, "plain")).cloned();
        let html = parts.iter().find(|p| is_body(p, "html")).cloned();
        for (part, html_part) in [(&plain, false), (&html, true)] {
            let Some(part) = part else { continue };
            let text = self.part_text(uid, part)?;
            if html_part {
                email.body.html = text;
            } else {
                email.body.plain = text;
            }
        }
        if email.body.plain.is_none() {
            // As mail-parser does for whole messages: the HTML as text.
            email.body.plain = email
                .body
                .html
                .as_deref()
                .map(mail_parser::decoders::html::html_to_text);
        }
        let body_sections = [&plain, &html].map(|p| p.as_ref().map(|p| p.section.clone()));
        email.attachments = parts
            .iter()
            .filter(|p| !body_sections.contains(&Some(p.section.clone())))
            .enumerate()
            .map(|(n, p)| attachment(p, n, &format!("{uid}:s{}@{mailbox}", p.section)))
            .collect();
        Ok(Some(LargeMessage { email, attributes }))
    }

    /// The decoded text of one part, at most TEXT_PART_LIMIT octets of it.
    fn part_text(&mut self, uid: u32, part: &Part) -> Result<Option<String>> {
        let reply = self
            .conn
            .run(&format!(
                "UID FETCH {uid} (BODY.PEEK[{}]<0.{TEXT_PART_LIMIT}>)",
                part.section
            ))
            .map_err(imap_error)?;
        let Some(bytes) = reply.first_literal() else {
            return Ok(None);
        };
        let charset = part.param("charset").unwrap_or("us-ascii");
        let content_type = format!("{}; charset=\"{charset}\"", part.content_type());
        Ok(mime::part_text(&content_type, &part.encoding, bytes))
    }

    /// Attachment `section` of message `uid` in `mailbox`: content type
    /// and content, spooled to a file. The section is read in pieces of
    /// [`SECTION_PIECE`] octets (IMAP partial fetch, RFC 3501 6.4.5) and
    /// each piece decoded as it arrives, so memory stays bounded by the
    /// piece size whatever the size of the file.
    pub(super) fn fetch_section(
        &mut self,
        mailbox: &str,
        uid: &str,
        section: &str,
        spool: &Spool,
    ) -> Result<(String, Blob)> {
        let not_found = || BackendError::NotFound(format!("part {section} of {uid} in {mailbox}"));
        if uid.parse::<u32>().is_err() || !section.split('.').all(|n| n.parse::<u32>().is_ok()) {
            return Err(BackendError::Invalid(format!(
                "bad part {section} of {uid}"
            )));
        }
        self.select(mailbox)?;
        let reply = self
            .conn
            .run(&format!("UID FETCH {uid} (BODYSTRUCTURE)"))
            .map_err(imap_error)?;
        let part = reply
            .data("FETCH")
            .into_iter()
            .find_map(|v| {
                let items = fetch_items(v.first()?.as_list());
                let body = items.into_iter().find(|(k, _)| k == "BODYSTRUCTURE")?.1;
                structure::leaves(&body)?
                    .into_iter()
                    .find(|p| p.section == section)
            })
            .ok_or_else(not_found)?;
        let spool_error = |e: std::io::Error| BackendError::Other(anyhow::anyhow!("spool: {e}"));
        let mut file = spool.create().map_err(spool_error)?;
        let mut decoder = TransferDecoder::new(&part.encoding);
        let mut decoded = Vec::new();
        let mut offset = 0u64;
        loop {
            let reply = self
                .conn
                .run(&format!(
                    "UID FETCH {uid} (BODY.PEEK[{section}]<{offset}.{SECTION_PIECE}>)"
                ))
                .map_err(imap_error)?;
            let piece = piece_of(&reply);
            decoded.clear();
            decoder.feed(&piece, &mut decoded);
            file.write_all(&decoded).map_err(spool_error)?;
            offset += piece.len() as u64;
            if (piece.len() as u64) < SECTION_PIECE {
                break;
            }
        }
        decoded.clear();
        decoder.finish(&mut decoded);
        file.write_all(&decoded).map_err(spool_error)?;
        Ok((part.content_type(), file.finish().map_err(spool_error)?))
    }
}

/// The content of a partial `BODY[section]<offset>` answer: a literal,
/// borrowed; or, as servers may send short content and send an empty
/// piece past the end, a quoted string.
fn piece_of(reply: &Reply) -> Cow<'_, [u8]> {
    if let Some(literal) = reply.first_literal() {
        return Cow::Borrowed(literal);
    }
    let quoted = reply.data("FETCH").into_iter().find_map(|v| {
        fetch_items(v.first()?.as_list())
            .into_iter()
            .find_map(|(name, value)| match value {
                Value::Str(s) if name.starts_with("BODY[") => Some(s),
                _ => None,
            })
    });
    Cow::Owned(quoted.unwrap_or_default())
}

/// The attachment entry of a part (MS-ASAIRS 2.2.2.7).
fn attachment(p: &Part, n: usize, file_reference: &str) -> Attachment {
    let name = p
        .disposition_param("filename*")
        .map(|v| mime::decode_param(v, true))
        .or_else(|| {
            p.disposition_param("filename")
                .map(|v| mime::decode_param(v, false))
        })
        .or_else(|| p.param("name*").map(|v| mime::decode_param(v, true)))
        .or_else(|| p.param("name").map(|v| mime::decode_param(v, false)));
    Attachment {
        file_reference: file_reference.to_string(),
        display_name: name.unwrap_or_else(|| format!("attachment-{}", n + 1)),
        estimated_data_size: p.decoded_size(),
        method: if p.is("message", "rfc822") { 5 } else { 1 },
        content_id: p
            .content_id
            .as_ref()
            .map(|c| c.trim_matches(['<', '>']).to_string()),
        is_inline: p.disposition.as_ref().is_some_and(|(d, _)| d == "inline"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_entries_from_the_structure() {
        let p = Part {
            section: "2".into(),
            media_type: "application".into(),
            subtype: "pdf".into(),
            params: vec![("name".into(), "x.pdf".into())],
            encoding: "base64".into(),
            octets: 780,
            disposition: Some((
                "attachment".into(),
                vec![("filename*".into(), "UTF-8''R%C3%A9sum%C3%A9.pdf".into())],
            )),
            ..Part::default()
        };
        let a = attachment(&p, 0, "5:s2@INBOX");
        assert_eq!(a.display_name, "Résumé.pdf");
        assert_eq!(
            (a.estimated_data_size, a.method, a.is_inline),
            (570, 1, false)
        );
    }

    #[test]
    fn pieces_come_as_literals_or_quoted_strings() {
        let reply = |line: &[u8]| Reply {
            untagged: vec![line.to_vec()],
            status: "OK".into(),
        };
        let literal = reply(b"* 1 FETCH (UID 9 BODY[2]<0> {5}\r\nab\r\nc)\r\n");
        assert_eq!(&*piece_of(&literal), b"ab\r\nc");
        let quoted = reply(b"* 1 FETCH (UID 9 BODY[2]<1048576> \"QUJD\")\r\n");
        assert_eq!(&*piece_of(&quoted), b"QUJD");
        let past_the_end = reply(b"* 1 FETCH (UID 9 BODY[2]<2097152> \"\")\r\n");
        assert_eq!(&*piece_of(&past_the_end), b"");
    }
}
