//! RFC 5322 / MIME message -> `model::Email`.
//!
//! Parsing is `mail-parser`'s: it decodes RFC 2047 encoded words, RFC 2231
//! parameters, every common charset and nested multiparts, which a device
//! needs right on every message and which is far too much to redo here.
//! This module only decides what ActiveSync shows: message class, importance,
//! the attachment list and the body forms.

mod transfer;

pub use transfer::TransferDecoder;

use crate::model::email::{Attachment, Email, EmailBody};
use mail_parser::{Address, HeaderValue, Message, MessageParser, MimeHeaders, PartType};

/// The email of a raw message. Attachments get `FileReference`s
/// `<reference_prefix><part number>`, so the backend can find them again.
/// `None` when the bytes are not a message at all.
pub fn parse(raw: &[u8], reference_prefix: &str) -> Option<Email> {
    let msg = MessageParser::default().parse(raw)?;
    let to = msg.to().map(address_list);
    Some(Email {
        display_to: msg.to().map(display_names),
        to,
        cc: msg.cc().map(address_list),
        from: msg.from().map(address_list),
        reply_to: msg.reply_to().map(address_list),
        subject: msg.subject().map(str::to_string),
        date_received: msg.date().map(|d| d.to_timestamp()),
        thread_topic: msg.thread_name().map(str::to_string),
        importance: importance(&msg),
        message_class: Some(message_class(&msg).to_string()),
        internet_cpid: Some(65001),
        content_class: Some("urn:content-classes:message".into()),
        attachments: attachments(&msg, reference_prefix),
        conversation_id: conversation_id(&msg),
        conversation_index: conversation_index(&msg),
        body: EmailBody {
            plain: msg.body_text(0).map(|t| t.into_owned()),
            html: html_body(&msg),
            mime: Some(raw.to_vec()),
            ..EmailBody::default()
        },
        ..Email::default()
    })
}

/// Email2:ConversationId (16 bytes): a hash of the thread's first
/// Message-ID (the first of References, else In-Reply-To, else the message's
/// own, else the subject without Re:/Fwd:), so a reply lands in the
/// conversation of the message it answers, whichever client wrote it.
fn conversation_id(msg: &Message) -> Option<Vec<u8>> {
    use blake2::digest::{Update, VariableOutput};
    let first = |v: &HeaderValue| match v {
        HeaderValue::Text(t) => Some(t.to_string()),
        HeaderValue::TextList(l) => l.first().map(|t| t.to_string()),
        _ => None,
    };
    let root = first(msg.references())
        .or_else(|| first(msg.in_reply_to()))
        .or_else(|| msg.message_id().map(str::to_string))
        .or_else(|| msg.thread_name().map(|t| format!("subject:{t}")))?;
    let mut hasher = blake2::Blake2bVar::new(16).ok()?;
    hasher.update(root.as_bytes());
    let mut out = vec![0; 16];
    hasher.finalize_variable(&mut out).ok()?;
    Some(out)
}

/// Email2:ConversationIndex (MS-ASCON 2.2.2.4): a 5-byte header from the
/// time the conversation started and a 5-byte response level per reply.
/// An Outlook `Thread-Index` header carries exactly that (after its reserved
/// byte, and around its 16-byte GUID); otherwise the header is the message's
/// Date and each message it references adds a level.
fn conversation_index(msg: &Message) -> Option<Vec<u8>> {
    use base64::Engine;
    let thread_index = msg
        .header("Thread-Index")
        .and_then(HeaderValue::as_text)
        .map(|t| t.split_ascii_whitespace().collect::<String>())
        .and_then(|t| base64::engine::general_purpose::STANDARD.decode(t).ok())
        .filter(|b| b.len() >= 22 && (b.len() - 22) % 5 == 0);
    if let Some(b) = thread_index {
        let mut out = b[1..6].to_vec();
        out.extend_from_slice(&b[22..]);
        return Some(out);
    }
    let date = msg.date()?.to_timestamp();
    // FILETIME: 100 ns steps since 1601; the header is its top 40 bits.
    let filetime = (date.checked_add(11_644_473_600)? as u64).checked_mul(10_000_000)?;
    let mut out = filetime.to_be_bytes()[..5].to_vec();
    let depth = match msg.references() {
        HeaderValue::Text(_) => 1,
        HeaderValue::TextList(l) => l.len(),
        _ => usize::from(msg.in_reply_to().as_text().is_some()),
    };
    out.resize(5 + 5 * depth.min(50), 0);
    Some(out)
}

/// `"Name" <a@b>, c@d`: names quoted so a comma inside one stays inside.
fn address_list(a: &Address) -> String {
    a.iter()
        .filter_map(|addr| {
            let email = addr.address()?;
            Some(match addr.name() {
                Some(n) if !n.is_empty() => format!("\"{}\" <{email}>", n.replace('"', "'")),
                _ => email.to_string(),
            })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// MS-ASEMAIL DisplayTo: the recipients' names (addresses when nameless), `;`-separated.
pub fn display_names(a: &Address) -> String {
    a.iter()
        .filter_map(|addr| addr.name().or(addr.address()).map(str::to_string))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Importance / X-Priority -> 0 low, 1 normal, 2 high.
fn importance(msg: &Message) -> Option<u32> {
    let text = |name: &str| {
        msg.header(name)
            .and_then(HeaderValue::as_text)
            .map(|s| s.trim().to_ascii_lowercase())
    };
    if let Some(i) = text("Importance") {
        return Some(match i.as_str() {
            "high" => 2,
            "low" => 0,
            _ => 1,
        });
    }
    match text("X-Priority").and_then(|p| p.chars().next()) {
        Some('1') | Some('2') => Some(2),
        Some('4') | Some('5') => Some(0),
        _ => Some(1),
    }
}

/// MS-ASEMAIL 2.2.2.47 MessageClass: S/MIME messages must be marked so a
/// device asks for the MIME body instead of showing an empty one.
fn message_class(msg: &Message) -> &'static str {
    let root = msg.root_part();
    let ct = root.content_type();
    let is = |t: &str, s: &str| root.is_content_type(t, s);
    let protocol = ct
        .and_then(|c| c.attribute("protocol"))
        .unwrap_or_default()
        .to_ascii_lowercase();
    if is("multipart", "signed") && protocol.contains("pkcs7-signature") {
        "IPM.Note.SMIME.MultipartSigned"
    } else if is("application", "pkcs7-mime") || is("application", "x-pkcs7-mime") {
        "IPM.Note.SMIME"
    } else {
        "IPM.Note"
    }
}

/// The HTML body when the message has a real one (not text converted by the parser).
fn html_body(msg: &Message) -> Option<String> {
    let part = msg.html_part(0)?;
    if part.is_content_type("text", "html") {
        msg.body_html(0).map(|h| h.into_owned())
    } else {
        None
    }
}

/// The attachment list (MS-ASAIRS 2.2.2.7): every part the parser counts as
/// an attachment, inline images included (IsInline + ContentId for `cid:`).
fn attachments(msg: &Message, prefix: &str) -> Vec<Attachment> {
    msg.attachments()
        .enumerate()
        .map(|(n, part)| {
            let embedded = matches!(part.body, PartType::Message(_));
            let is_inline = part
                .content_disposition()
                .is_some_and(|d| d.ctype().eq_ignore_ascii_case("inline"));
            Attachment {
                file_reference: format!("{prefix}{n}"),
                display_name: part
                    .attachment_name()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("attachment-{}", n + 1)),
                estimated_data_size: part.contents().len() as u64,
                method: if embedded { 5 } else { 1 },
                content_id: part
                    .content_id()
                    .map(|c| c.trim_matches(['<', '>']).to_string()),
                is_inline,
            }
        })
        .collect()
}

/// The decoded content of attachment `n` (as numbered by `parse`): name,
/// content type and bytes, for ItemOperations Fetch.
pub fn attachment(raw: &[u8], n: usize) -> Option<(String, String, Vec<u8>)> {
    let msg = MessageParser::default().parse(raw)?;
    let part = msg.attachments().nth(n)?;
    let ct = part
        .content_type()
        .map(|c| match c.subtype() {
            Some(s) => format!("{}/{}", c.ctype(), s),
            None => c.ctype().to_string(),
        })
        .unwrap_or_else(|| "application/octet-stream".into());
    let name = part.attachment_name().unwrap_or_default().to_string();
    Some((name, ct, part.contents().to_vec()))
}

/// The email of a message known by its header alone (a large message whose
/// parts are read one by one): no body, no attachments yet.
pub fn from_header(header: &[u8]) -> Option<Email> {
    let mut email = parse(header, "")?;
    email.body = EmailBody::default();
    email.attachments.clear();
    Some(email)
}

/// The decoded text of one body part fetched alone, given its Content-Type
/// (with charset) and Content-Transfer-Encoding.
pub fn part_text(content_type: &str, encoding: &str, bytes: &[u8]) -> Option<String> {
    let mut mini =
        format!("Content-Type: {content_type}\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n")
            .into_bytes();
    mini.extend_from_slice(bytes);
    let msg = MessageParser::default().parse(&mini)?;
    if content_type.to_ascii_lowercase().starts_with("text/html") {
        msg.body_html(0).map(|h| h.into_owned())
    } else {
        msg.body_text(0).map(|t| t.into_owned())
    }
}

/// The content of a part fetched alone, transfer encoding undone (a part
/// too large to hold is fed to a [`TransferDecoder`] piece by piece).
pub fn decode_transfer(encoding: &str, bytes: &[u8]) -> Vec<u8> {
    let mut decoder = TransferDecoder::new(encoding);
    let mut out = Vec::with_capacity(bytes.len());
    decoder.feed(bytes, &mut out);
    decoder.finish(&mut out);
    out
}

/// A header parameter value as a person reads it: RFC 2047 encoded words
/// decoded; an RFC 2231 value (`UTF-8''R%C3%A9sum%C3%A9.txt`) when `extended`.
pub fn decode_param(value: &str, extended: bool) -> String {
    if extended {
        if let Some((_, text)) = value.split_once("''") {
            let mut bytes = Vec::new();
            let mut it = text.bytes();
            while let Some(b) = it.next() {
                let hex = |it: &mut std::str::Bytes| {
                    let pair = [it.next()?, it.next()?];
                    u8::from_str_radix(std::str::from_utf8(&pair).ok()?, 16).ok()
                };
                match b {
                    b'%' => bytes.extend(hex(&mut it)),
                    other => bytes.push(other),
                }
            }
            return String::from_utf8_lossy(&bytes).into_owned();
        }
    }
    let header = format!("Subject: {value}\r\n\r\n");
    MessageParser::default()
        .parse_headers(header.as_bytes())
        .and_then(|m| m.subject().map(str::to_string))
        .unwrap_or_else(|| value.to_string())
}

/// The envelope recipients of a message a device sends: To, Cc and Bcc.
pub fn recipients(raw: &[u8]) -> Vec<String> {
    let Some(msg) = MessageParser::default().parse_headers(raw) else {
        return Vec::new();
    };
    let mut out: Vec<String> = [msg.to(), msg.cc(), msg.bcc()]
        .into_iter()
        .flatten()
        .flat_map(|a| a.iter().filter_map(|x| x.address().map(str::to_string)))
        .collect();
    out.dedup();
    out
}

/// The From address, for the envelope sender.
pub fn sender(raw: &[u8]) -> Option<String> {
    let msg = MessageParser::default().parse_headers(raw)?;
    msg.from()?.first()?.address().map(str::to_string)
}

/// The message without its top-level Bcc header (and its folded lines), every
/// other byte as it was: Bcc recipients must not see each other.
pub fn without_bcc(raw: &[u8]) -> Vec<u8> {
    let header_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 2)
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|p| p + 1))
        .unwrap_or(raw.len());
    let mut out = Vec::with_capacity(raw.len());
    let mut skipping = false;
    for line in raw[..header_end].split_inclusive(|b| *b == b'\n') {
        let folded = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if !folded {
            skipping = line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"bcc:");
        }
        if !skipping {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(&raw[header_end..]);
    out
}

/// The addresses a reply to this message goes to by default: Reply-To, else From.
pub fn reply_addresses(raw: &[u8]) -> Vec<String> {
    let Some(msg) = MessageParser::default().parse_headers(raw) else {
        return Vec::new();
    };
    msg.reply_to()
        .or(msg.from())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.address().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A message's top-level headers split into the envelope part (From, To,
/// Subject, ...) and its content headers (Content-*), MIME-Version dropped;
/// folded lines stay with their header.
fn split_top_headers(head: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut top = Vec::new();
    let mut content = Vec::new();
    let mut into_content = false;
    let mut skipping = false;
    for line in head.split_inclusive(|b| *b == b'\n') {
        let folded = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if !folded {
            let lower = line.to_ascii_lowercase();
            into_content = lower.starts_with(b"content-");
            skipping = lower.starts_with(b"mime-version:");
        }
        if skipping {
            continue;
        }
        if into_content {
            content.extend_from_slice(line);
        } else {
            top.extend_from_slice(line);
        }
    }
    (top, content)
}

/// A MIME boundary that occurs in none of `contents`.
fn unique_boundary(base: &str, contents: &[&[u8]]) -> String {
    let mut boundary = base.to_string();
    let mut n = 0u32;
    while contents.iter().any(|c| contains(c, boundary.as_bytes())) {
        n += 1;
        boundary = format!("{base}-{n}");
    }
    boundary
}

/// SmartReply without ReplaceMime (MS-ASCMD 2.2.3.148): the device wrote
/// only its new text, the server adds the original below it — quoted with
/// `> ` in the plain text, in a `<blockquote type="cite">` in the HTML —
/// under an "On <date>, <sender> wrote:" line. The device's attachments
/// are kept byte for byte. A signed or encrypted reply cannot be changed
/// without breaking it: the original is attached to it instead
/// ([`with_original`]), as it is when either message cannot be parsed.
pub fn reply_with_quote(message: &[u8], original: &[u8]) -> Vec<u8> {
    let parser = MessageParser::default();
    let (Some(msg), Some(orig)) = (parser.parse(message), parser.parse(original)) else {
        return with_original(message, original);
    };
    if message_class(&msg) != "IPM.Note" {
        return with_original(message, original);
    }
    let sender = orig
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.name().or(a.address()))
        .unwrap_or("the sender");
    let attribution = match orig.date() {
        Some(d) => format!("On {}, {sender} wrote:", d.to_rfc822()),
        None => format!("{sender} wrote:"),
    };
    let orig_text = orig.body_text(0).unwrap_or_default();
    let own_text = msg.body_text(0).unwrap_or_default();
    let plain = format!(
        "{}\r\n\r\n{attribution}\r\n{}",
        own_text.trim_end(),
        quote_lines(&orig_text)
    );
    let html = html_body(&msg).map(|own| {
        let quoted = html_body(&orig)
            .map(|h| html_inner(&h).to_string())
            .unwrap_or_else(|| format!("<pre>{}</pre>", escape_html(&orig_text)));
        let block = format!(
            "<div>{}</div><blockquote type=\"cite\" style=\"margin:0 0 0 .8ex;border-left:1px solid #ccc;padding-left:1ex\">{quoted}</blockquote>",
            escape_html(&attribution)
        );
        match own.to_ascii_lowercase().rfind("</body>") {
            Some(at) => format!("{}{block}{}", &own[..at], &own[at..]),
            None => format!("{own}{block}"),
        }
    });
    let (head, _) = split_header(message);
    let (top, _) = split_top_headers(head);
    let attachments: Vec<&[u8]> = msg
        .attachments()
        .map(|p| &message[p.offset_header as usize..(p.offset_end as usize).min(message.len())])
        .collect();
    let boundary = unique_boundary("=_eas-reply", &[message, original]);
    let text_part = |subtype: &str, text: &str| {
        let mut part =
            format!("Content-Type: text/{subtype}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n")
                .into_bytes();
        part.extend_from_slice(&base64_lines(text.as_bytes()));
        part
    };
    let body = match &html {
        Some(h) => multipart(
            "alternative",
            &format!("{boundary}-alt"),
            &[&text_part("plain", &plain), &text_part("html", h)],
        ),
        None => text_part("plain", &plain),
    };
    let body = if attachments.is_empty() {
        body
    } else {
        let mut parts: Vec<&[u8]> = vec![&body];
        parts.extend(attachments);
        multipart("mixed", &boundary, &parts)
    };
    let mut out = top;
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    out.extend_from_slice(&body);
    out
}

/// `Content-Type: multipart/<subtype>` header and body of these parts (each
/// with its own headers).
fn multipart(subtype: &str, boundary: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut out =
        format!("Content-Type: multipart/{subtype}; boundary=\"{boundary}\"\r\n\r\n").into_bytes();
    for part in parts {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        out.extend_from_slice(part);
        if !part.ends_with(b"\n") {
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

/// Base64 in lines of 76 characters (RFC 2045 6.8).
fn base64_lines(bytes: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = Vec::with_capacity(text.len() + text.len() / 76 * 2 + 2);
    for line in text.as_bytes().chunks(76) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Every line with `> ` in front (`>` alone before a line that is quoted already).
fn quote_lines(text: &str) -> String {
    text.trim_end()
        .lines()
        .map(|l| {
            if l.starts_with('>') {
                format!(">{l}\r\n")
            } else {
                format!("> {l}\r\n")
            }
        })
        .collect()
}

/// What is inside `<body ...>` and `</body>` (the whole text without them).
fn html_inner(html: &str) -> &str {
    let lower = html.to_ascii_lowercase();
    let start = lower
        .find("<body")
        .and_then(|b| lower[b..].find('>').map(|e| b + e + 1))
        .unwrap_or(0);
    let end = lower
        .rfind("</body>")
        .filter(|e| *e >= start)
        .unwrap_or(html.len());
    &html[start..end]
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// SmartForward (and SmartReply of a signed reply) without ReplaceMime: the
/// device's message with the original attached as `message/rfc822`. The
/// device's top-level headers stay on top; its own content (headers
/// Content-* and body) becomes the first part byte for byte, so nothing the
/// device wrote is re-encoded.
pub fn with_original(message: &[u8], original: &[u8]) -> Vec<u8> {
    with_part(
        message,
        "Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n",
        original,
    )
}

/// The device's message with one more part (`part_header`, lines ending in
/// CRLF, then `part_body`) in a multipart/mixed, kept byte for byte as
/// [`with_original`] says.
pub fn with_part(message: &[u8], part_header: &str, part_body: &[u8]) -> Vec<u8> {
    let (head, body) = split_header(message);
    let (top, mut content) = split_top_headers(head);
    if content.is_empty() {
        content.extend_from_slice(b"Content-Type: text/plain; charset=us-ascii\r\n");
    }
    let boundary = unique_boundary("=_eas-original", &[message, part_body]);
    let mut out = top;
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    out.extend_from_slice(
        format!("Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n").as_bytes(),
    );
    out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    out.extend_from_slice(&content);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
    out.extend_from_slice(part_header.as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(part_body);
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Header block (with its last line break) and body of a message.
fn split_header(raw: &[u8]) -> (&[u8], &[u8]) {
    let crlf = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| (p + 2, p + 4));
    let lf = raw
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|p| (p + 1, p + 2));
    match (crlf, lf) {
        (Some(c), Some(l)) if l.0 < c.0 => (&raw[..l.0], &raw[l.1..]),
        (Some(c), _) => (&raw[..c.0], &raw[c.1..]),
        (None, Some(l)) => (&raw[..l.0], &raw[l.1..]),
        (None, None) => (raw, b""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LATIN1: &[u8] = b"From: =?ISO-8859-1?Q?J=F6rg_M=FCller?= <joerg@example.org>\r\n\
To: Alice <alice@example.test>, bob@example.test\r\n\
Subject: =?ISO-8859-1?Q?Gr=FC=DFe?=\r\n\
Date: Tue, 24 Nov 2026 10:00:00 +0100\r\n\
X-Priority: 1\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=ISO-8859-1\r\n\
Content-Transfer-Encoding: 8bit\r\n\r\n\
Sch\xf6ne Gr\xfc\xdfe\r\n";

    #[test]
    fn headers_charsets_and_bodies_decode() {
        let e = parse(LATIN1, "5:").unwrap();
        assert_eq!(e.subject.as_deref(), Some("Grüße"));
        assert_eq!(
            e.from.as_deref(),
            Some("\"Jörg Müller\" <joerg@example.org>")
        );
        assert_eq!(
            e.to.as_deref(),
            Some("\"Alice\" <alice@example.test>, bob@example.test")
        );
        assert_eq!(e.display_to.as_deref(), Some("Alice; bob@example.test"));
        assert_eq!(e.date_received, Some(1_795_510_800));
        assert_eq!(e.importance, Some(2));
        assert_eq!(e.message_class.as_deref(), Some("IPM.Note"));
        assert_eq!(
            e.body.plain.as_deref().map(str::trim_end),
            Some("Schöne Grüße")
        );
        assert_eq!(e.body.html, None);
        assert_eq!(e.body.mime.as_deref(), Some(LATIN1));
    }

    #[test]
    fn attachments_are_listed_with_rfc2231_names_and_fetched_by_number() {
        let raw = b"From: a@example.test\r\nSubject: att\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n\
Content-Type: text/plain\r\n\r\nsee attached\r\n--XX\r\n\
Content-Type: text/plain\r\n\
Content-Disposition: attachment; filename*=UTF-8''R%C3%A9sum%C3%A9.txt\r\n\r\nhello\r\n\
--XX\r\nContent-Type: image/png\r\nContent-ID: <img1@x>\r\nContent-Disposition: inline\r\n\
Content-Transfer-Encoding: base64\r\n\r\niVBORw==\r\n--XX--\r\n";
        let e = parse(raw, "7:").unwrap();
        assert_eq!(e.attachments.len(), 2);
        assert_eq!(e.attachments[0].display_name, "Résumé.txt");
        assert_eq!(e.attachments[0].file_reference, "7:0");
        assert!(!e.attachments[0].is_inline);
        assert_eq!(e.attachments[1].content_id.as_deref(), Some("img1@x"));
        assert!(e.attachments[1].is_inline);
        let (name, ct, bytes) = attachment(raw, 1).unwrap();
        assert_eq!((name.as_str(), ct.as_str()), ("", "image/png"));
        assert_eq!(bytes, b"\x89PNG");
        assert!(attachment(raw, 2).is_none());
    }

    #[test]
    fn parts_fetched_alone_decode() {
        assert_eq!(
            part_text(
                "text/plain; charset=iso-8859-1",
                "quoted-printable",
                b"Gr=FC=DFe"
            )
            .as_deref(),
            Some("Grüße")
        );
        assert_eq!(
            part_text("text/html; charset=utf-8", "base64", b"PHA+aGk8L3A+").as_deref(),
            Some("<p>hi</p>")
        );
        assert_eq!(
            decode_transfer("BASE64", b"aGVs\r\nbG8g\r\nd29y\r\nbGQ=\r\n"),
            b"hello world"
        );
        assert_eq!(
            decode_transfer("base64", b"aGVsbG8\r\ngd29ybGQ\r\n"),
            b"hello world"
        );
        assert_eq!(decode_transfer("quoted-printable", b"a=3Db"), b"a=b");
        assert_eq!(decode_transfer("8bit", b"raw"), b"raw");
        assert_eq!(
            decode_param("UTF-8''R%C3%A9sum%C3%A9.txt", true),
            "Résumé.txt"
        );
        assert_eq!(
            decode_param("=?UTF-8?Q?R=C3=A9sum=C3=A9.txt?=", false),
            "Résumé.txt"
        );
        let e = from_header(b"Subject: big\r\nFrom: a@b.c\r\n\r\n").unwrap();
        assert_eq!(
            (e.subject.as_deref(), e.body.mime.as_ref()),
            (Some("big"), None)
        );
    }

    #[test]
    fn recipients_sender_and_bcc_removal() {
        let raw = b"From: Alice <alice@example.test>\r\nTo: bob@example.test\r\nBcc: carol@example.org,\r\n dave@example.org\r\nCc: \"E\" <e@example.test>\r\nSubject: x\r\n\r\nBcc: body stays\r\n";
        assert_eq!(
            recipients(raw),
            vec![
                "bob@example.test",
                "e@example.test",
                "carol@example.org",
                "dave@example.org"
            ]
        );
        assert_eq!(sender(raw).as_deref(), Some("alice@example.test"));
        assert_eq!(
            without_bcc(raw),
            b"From: Alice <alice@example.test>\r\nTo: bob@example.test\r\nCc: \"E\" <e@example.test>\r\nSubject: x\r\n\r\nBcc: body stays\r\n".to_vec()
        );
    }

    #[test]
    fn the_original_is_attached_and_the_device_part_kept_byte_for_byte() {
        let reply = b"From: a@example.test\r\nTo: b@example.test\r\nSubject: Re: x\r\nMIME-Version: 1.0\r\nContent-Type: text/plain;\r\n charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\xfc\xdfe\r\n";
        let original = b"Subject: x\r\nMessage-ID: <o@x>\r\n\r\nfirst\r\n";
        let out = with_original(reply, original);
        assert!(contains(&out, b"Content-Type: text/plain;\r\n charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\xfc\xdfe\r\n"));
        let msg = MessageParser::default().parse(&out).unwrap();
        assert_eq!(msg.subject(), Some("Re: x"));
        assert_eq!(
            msg.body_text(0).as_deref().map(str::trim_end),
            Some("Grüße")
        );
        let inner = msg.attachment(0).unwrap().message().unwrap();
        assert_eq!(inner.message_id(), Some("o@x"));
        assert_eq!(recipients(&out), vec!["b@example.test"]);
    }

    const ORIGINAL: &[u8] = b"From: Bob <bob@example.test>\r\nTo: alice@example.test\r\n\
Subject: plan\r\nDate: Tue, 24 Nov 2026 10:00:00 +0100\r\nMessage-ID: <o@x>\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=A\r\n\r\n\
--A\r\nContent-Type: text/plain\r\n\r\nline one\r\n> older\r\n\
--A\r\nContent-Type: text/html\r\n\r\n<html><body><p>line one</p></body></html>\r\n--A--\r\n";

    #[test]
    fn a_plain_reply_quotes_the_original_below_the_new_text() {
        let reply = b"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: Re: plan\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\n\r\nJa, gern \xfcbermorgen.\r\n";
        let out = reply_with_quote(reply, ORIGINAL);
        let msg = MessageParser::default().parse(&out).unwrap();
        assert_eq!(msg.subject(), Some("Re: plan"));
        assert_eq!(recipients(&out), vec!["bob@example.test"]);
        let text = msg.body_text(0).unwrap();
        assert!(
            text.starts_with("Ja, gern übermorgen.\r\n\r\nOn "),
            "{text}"
        );
        assert!(
            text.contains("Bob wrote:\r\n> line one\r\n>> older"),
            "{text}"
        );
        assert!(msg.html_part(0).unwrap().is_content_type("text", "plain"));
    }

    #[test]
    fn an_html_reply_gets_a_blockquote_and_keeps_its_attachments() {
        let reply = b"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: Re: plan\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=M\r\n\r\n--M\r\n\
Content-Type: multipart/alternative; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nok\r\n\
--B\r\nContent-Type: text/html\r\n\r\n<html><body><b>ok</b></body></html>\r\n--B--\r\n\
--M\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\n\
Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--M--\r\n";
        let out = reply_with_quote(reply, ORIGINAL);
        let msg = MessageParser::default().parse(&out).unwrap();
        let html = msg.body_html(0).unwrap();
        assert!(
            html.contains("<b>ok</b><div>On ")
                && html.contains("<blockquote type=\"cite\"")
                && html.contains("<p>line one</p></blockquote></body>"),
            "{html}"
        );
        assert!(msg.body_text(0).unwrap().contains("> line one"));
        assert_eq!(msg.attachments().count(), 1);
        assert_eq!(attachment(&out, 0).unwrap().2, b"%PDF-");
    }

    #[test]
    fn a_signed_reply_is_not_touched_and_gets_the_original_attached() {
        let signed = b"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: s\r\n\
Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=S\r\n\r\n\
--S\r\nContent-Type: text/plain\r\n\r\nsigned\r\n--S--\r\n";
        let out = reply_with_quote(signed, ORIGINAL);
        assert!(contains(
            &out,
            b"--S\r\nContent-Type: text/plain\r\n\r\nsigned\r\n--S--"
        ));
        assert!(contains(&out, b"Content-Type: message/rfc822"));
    }

    #[test]
    fn the_conversation_index_comes_from_thread_index_or_the_date() {
        // Outlook: reserved byte, 5 time bytes, 16-byte GUID, one 5-byte level.
        let mut raw = vec![1u8, 0xCA, 0x2C, 0xFA, 0x8A, 0x23];
        raw.extend([7u8; 16]);
        raw.extend([0x80, 0, 0, 0x12, 0x34]);
        use base64::Engine;
        let header = base64::engine::general_purpose::STANDARD.encode(&raw);
        let msg = format!("Thread-Index: {header}\r\nSubject: x\r\n\r\n.\r\n");
        let e = parse(msg.as_bytes(), "").unwrap();
        assert_eq!(
            e.conversation_index,
            Some(vec![0xCA, 0x2C, 0xFA, 0x8A, 0x23, 0x80, 0, 0, 0x12, 0x34])
        );
        let reply = parse(
            b"Date: Tue, 24 Nov 2026 10:00:00 +0100\r\nReferences: <a@x> <b@x>\r\n\r\n.\r\n",
            "",
        )
        .unwrap();
        let ix = reply.conversation_index.unwrap();
        assert_eq!(ix.len(), 15, "header and one level per reference");
        let root = parse(b"Date: Tue, 24 Nov 2026 10:00:00 +0100\r\n\r\n.\r\n", "").unwrap();
        assert_eq!(root.conversation_index.as_deref(), Some(&ix[..5]));
        // No ids at all: the subject without Re: ties the thread.
        let a = parse(b"Subject: Lunch\r\n\r\n.\r\n", "").unwrap();
        let b = parse(b"Subject: Re: Lunch\r\n\r\n.\r\n", "").unwrap();
        assert!(a.conversation_id.is_some());
        assert_eq!(a.conversation_id, b.conversation_id);
    }

    #[test]
    fn a_reply_joins_the_conversation_of_its_root() {
        let root = parse(b"Message-ID: <root@x>\r\nSubject: a\r\n\r\nhi\r\n", "").unwrap();
        let reply = parse(
            b"Message-ID: <r2@x>\r\nIn-Reply-To: <r1@x>\r\nReferences: <root@x> <r1@x>\r\nSubject: Re: a\r\n\r\nyo\r\n",
            "",
        )
        .unwrap();
        let other = parse(b"Message-ID: <other@x>\r\n\r\n.\r\n", "").unwrap();
        assert_eq!(root.conversation_id.as_ref().map(Vec::len), Some(16));
        assert_eq!(root.conversation_id, reply.conversation_id);
        assert_ne!(root.conversation_id, other.conversation_id);
        assert_eq!(
            parse(b"X-None: 1\r\n\r\n", "").unwrap().conversation_id,
            None
        );
    }

    #[test]
    fn smime_messages_get_their_message_class() {
        let signed = b"Subject: s\r\nContent-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nhi\r\n--B--\r\n";
        assert_eq!(
            parse(signed, "").unwrap().message_class.as_deref(),
            Some("IPM.Note.SMIME.MultipartSigned")
        );
        let enveloped = b"Subject: e\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n";
        assert_eq!(
            parse(enveloped, "").unwrap().message_class.as_deref(),
            Some("IPM.Note.SMIME")
        );
    }
}
