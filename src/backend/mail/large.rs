//! Large messages without reading them whole. Above [`LARGE_MESSAGE`]
//! octets a message is shown from its header, its BODYSTRUCTURE, its text
//! parts and the beginning of its raw form (each read up to [`HELD_LIMIT`],
//! their full sizes kept in `EmailBody::partial`); its attachments are
//! listed from the structure with FileReferences that name their IMAP
//! section (`<uid>:s<section>@<mailbox>`) and are read one at a time when
//! the device asks. So a Sync window costs memory for its text, not for the
//! files attached to it. The whole raw message is section "" of the same
//! scheme (`<uid>:s@<mailbox>`, no transfer decoding): ItemOperations reads
//! it that way, into a spool file, when a device fetches the MIME form.
//! S/MIME messages are no exception: their MIME is their content, and it
//! is cut and fetched like any other.

use super::imap::{fetch_items, Reply, Value};
use super::structure::{self, Part};
use super::{imap_error, MailSession};
use crate::backend::{BackendError, Result};
use crate::blob::{Blob, Spool};
use crate::convert::mime::{self, TransferDecoder};
use crate::model::email::{Attachment, Email, Partial};
use std::borrow::Cow;
use std::io::Write;

/// Messages bigger than this (RFC822.SIZE) are read part by part. It is
/// well above ordinary mail, because the body forms of such a message are
/// held only in part (the backend does not know how much of which form the
/// device wants).
pub const LARGE_MESSAGE: u64 = 4 << 20;

/// At most this much of each body form of a large message (a text part,
/// the raw message) is read with it: what a Sync or Search response can
/// carry of it. The device gets the whole MIME form from ItemOperations.
const HELD_LIMIT: u64 = 1 << 20;

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

    /// One large message of `size` octets (the mailbox is selected); `None`
    /// when it is gone or has no structure (then the caller reads it whole).
    pub(super) fn fetch_large(
        &mut self,
        mailbox: &str,
        uid: u32,
        size: u64,
    ) -> Result<Option<LargeMessage>> {
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
        if parts.is_empty() {
            return Ok(None);
        }
        let is_body =
            |p: &&Part, subtype: &str| p.is("text", subtype) && !p.is_attachment_disposition();
        let plain = parts.iter().find(|p| is_body(p, "plain")).cloned();
        let html = parts.iter().find(|p| is_body(p, "html")).cloned();
        // A part larger than what is read of it is held in part.
        let cut_size = |p: &Option<Part>| {
            p.as_ref()
                .filter(|p| p.octets > HELD_LIMIT)
                .map(Part::decoded_size)
        };
        email.body.partial = Partial {
            plain: cut_size(&plain),
            html: cut_size(&html),
            mime: (size > HELD_LIMIT).then_some(size),
            mime_reference: Some(format!("{uid}:s@{mailbox}")),
        };
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
            // As mail-parser does for whole messages: the HTML as text
            // (about as long as the HTML, for its estimated size).
            email.body.plain = email
                .body
                .html
                .as_deref()
                .map(mail_parser::decoders::html::html_to_text);
            email.body.partial.plain = email.body.partial.html;
        }
        email.body.mime = Some(self.read_piece(uid, "", 0, HELD_LIMIT)?);
        let body_sections = [&plain, &html].map(|p| p.as_ref().map(|p| p.section.clone()));
        email.attachments = parts
            .iter()
            .filter(|p| !body_sections.contains(&Some(p.section.clone())))
            .enumerate()
            .map(|(n, p)| attachment(p, n, &format!("{uid}:s{}@{mailbox}", p.section)))
            .collect();
        Ok(Some(LargeMessage { email, attributes }))
    }

    /// The decoded text of one part, at most HELD_LIMIT octets of it.
    fn part_text(&mut self, uid: u32, part: &Part) -> Result<Option<String>> {
        let bytes = self.read_piece(uid, &part.section, 0, HELD_LIMIT)?;
        let charset = part.param("charset").unwrap_or("us-ascii");
        let content_type = format!("{}; charset=\"{charset}\"", part.content_type());
        Ok(mime::part_text(&content_type, &part.encoding, &bytes))
    }

    /// Octets `offset..offset + len` of `section` of message `uid` (the
    /// mailbox is selected; section "" is the whole message), fewer at its
    /// end: an IMAP partial fetch (RFC 3501 6.4.5).
    fn read_piece(&mut self, uid: u32, section: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let reply = self
            .conn
            .run(&format!(
                "UID FETCH {uid} (BODY.PEEK[{section}]<{offset}.{len}>)"
            ))
            .map_err(imap_error)?;
        Ok(piece_of(&reply).into_owned())
    }

    /// Attachment `section` of message `uid` in `mailbox`: content type
    /// and content, spooled to a file; section "" is the raw message
    /// (`message/rfc822`, as it is). The section is read in pieces of
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
        let Ok(uid) = uid.parse::<u32>() else {
            return Err(BackendError::Invalid(format!("bad message {uid}")));
        };
        let numbers_ok = section.split('.').all(|n| n.parse::<u32>().is_ok());
        if !section.is_empty() && !numbers_ok {
            return Err(BackendError::Invalid(format!(
                "bad part {section} of {uid}"
            )));
        }
        self.select(mailbox)?;
        if section.is_empty() {
            if self.sizes(&uid.to_string())?.is_empty() {
                return Err(not_found());
            }
            let blob = self.spool_section(uid, section, TransferDecoder::new("binary"), spool)?;
            return Ok(("message/rfc822".into(), blob));
        }
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
        let decoder = TransferDecoder::new(&part.encoding);
        let blob = self.spool_section(uid, section, decoder, spool)?;
        Ok((part.content_type(), blob))
    }

    /// `section` of message `uid` (selected) read piece by piece through
    /// `decoder` into a spool file.
    fn spool_section(
        &mut self,
        uid: u32,
        section: &str,
        mut decoder: TransferDecoder,
        spool: &Spool,
    ) -> Result<Blob> {
        let spool_error = |e: std::io::Error| BackendError::Other(anyhow::anyhow!("spool: {e}"));
        let mut file = spool.create().map_err(spool_error)?;
        let mut decoded = Vec::new();
        let mut offset = 0u64;
        loop {
            let piece = self.read_piece(uid, section, offset, SECTION_PIECE)?;
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
        file.finish().map_err(spool_error)
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
