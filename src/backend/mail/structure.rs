//! IMAP BODYSTRUCTURE (RFC 3501 7.4.2) as a tree of parts with their IMAP
//! section numbers, so a large message can be shown without reading it
//! whole: its text parts are fetched alone (`BODY.PEEK[1]<0.n>`), its
//! attachments are listed from here and fetched one by one later.

use super::imap::Value;

/// One leaf part (an embedded message counts as one leaf).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Part {
    /// IMAP section, e.g. `2` or `1.2`.
    pub section: String,
    /// Lower case, e.g. `text` / `plain`.
    pub media_type: String,
    pub subtype: String,
    /// Content-Type parameters, names lower case.
    pub params: Vec<(String, String)>,
    pub content_id: Option<String>,
    /// Content-Transfer-Encoding, lower case.
    pub encoding: String,
    /// Size of the encoded content in octets.
    pub octets: u64,
    /// Content-Disposition type (lower case) and parameters.
    pub disposition: Option<(String, Vec<(String, String)>)>,
}

impl Part {
    pub fn is(&self, media_type: &str, subtype: &str) -> bool {
        self.media_type == media_type && self.subtype == subtype
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn disposition_param(&self, name: &str) -> Option<&str> {
        self.disposition
            .as_ref()?
            .1
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn is_attachment_disposition(&self) -> bool {
        self.disposition
            .as_ref()
            .is_some_and(|(d, _)| d == "attachment")
    }

    /// The decoded size: base64 carries 57 bytes per 78-octet line.
    pub fn decoded_size(&self) -> u64 {
        if self.encoding == "base64" {
            self.octets * 57 / 78
        } else {
            self.octets
        }
    }

    /// `type/subtype`.
    pub fn content_type(&self) -> String {
        format!("{}/{}", self.media_type, self.subtype)
    }
}

/// The leaf parts of a BODYSTRUCTURE, in order; `None` when it is malformed.
pub fn leaves(body: &Value) -> Option<Vec<Part>> {
    let mut out = Vec::new();
    walk(body.as_list(), "", &mut out)?;
    Some(out)
}

fn walk(list: &[Value], prefix: &str, out: &mut Vec<Part>) -> Option<()> {
    if list.first().is_some_and(|v| matches!(v, Value::List(_))) {
        // Multipart: the parts, then the subtype and extension data.
        let parts = list.iter().take_while(|v| matches!(v, Value::List(_)));
        for (n, part) in parts.enumerate() {
            let section = if prefix.is_empty() {
                (n + 1).to_string()
            } else {
                format!("{prefix}.{}", n + 1)
            };
            walk(part.as_list(), &section, out)?;
        }
        return Some(());
    }
    let text = |i: usize| {
        list.get(i)
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
    };
    let media_type = text(0)?;
    let subtype = text(1)?;
    // Text parts have a line count after the octets, messages an envelope,
    // a body and a line count: the extension data starts after them.
    let extension = match (media_type.as_str(), subtype.as_str()) {
        ("text", _) => 8,
        ("message", "rfc822") => 10,
        _ => 7,
    };
    let disposition = list.get(extension + 1).and_then(|d| {
        let d = d.as_list();
        Some((d.first()?.as_str()?.to_ascii_lowercase(), params(d.get(1)?)))
    });
    out.push(Part {
        section: if prefix.is_empty() {
            "1".into()
        } else {
            prefix.into()
        },
        media_type,
        subtype,
        params: list.get(2).map(params).unwrap_or_default(),
        content_id: list.get(3).and_then(Value::as_str).map(str::to_string),
        encoding: text(5).unwrap_or_else(|| "7bit".into()),
        octets: list.get(6).and_then(Value::as_number).unwrap_or(0),
        disposition,
    });
    Some(())
}

/// `("name" "value" ...)` -> pairs with lower-case names.
fn params(v: &Value) -> Vec<(String, String)> {
    v.as_list()
        .chunks(2)
        .filter_map(|kv| match kv {
            [k, v] => Some((k.as_str()?.to_ascii_lowercase(), v.as_str()?.to_string())),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::mail::imap::parse_values;

    fn parse(s: &str) -> Value {
        parse_values(s.as_bytes()).unwrap().remove(0)
    }

    #[test]
    fn sections_types_and_dispositions_of_a_nested_message() {
        let body = parse(
            "(((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 18 1 NIL NIL NIL NIL)\
             (\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 40 2 NIL NIL NIL NIL) \"alternative\" (\"boundary\" \"A\") NIL NIL NIL)\
             (\"application\" \"octet-stream\" (\"name\" \"big.bin\") NIL NIL \"base64\" 7800 NIL (\"attachment\" (\"filename\" \"big.bin\")) NIL NIL)\
             (\"image\" \"png\" NIL \"<img1@x>\" NIL \"base64\" 78 NIL (\"inline\" NIL) NIL NIL)\
             (\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 300 (NIL \"inner\" NIL NIL NIL NIL NIL NIL NIL NIL) (\"text\" \"plain\" NIL NIL NIL \"7bit\" 5 1 NIL NIL NIL NIL) 9 NIL (\"attachment\" NIL) NIL NIL) \
             \"mixed\" (\"boundary\" \"M\") NIL NIL NIL)",
        );
        let parts = leaves(&body).unwrap();
        let sections: Vec<&str> = parts.iter().map(|p| p.section.as_str()).collect();
        assert_eq!(sections, vec!["1.1", "1.2", "2", "3", "4"]);
        assert!(parts[0].is("text", "plain") && parts[0].param("charset") == Some("utf-8"));
        assert_eq!(parts[1].encoding, "quoted-printable");
        assert!(parts[2].is_attachment_disposition());
        assert_eq!(parts[2].disposition_param("filename"), Some("big.bin"));
        assert_eq!(parts[2].decoded_size(), 5700);
        assert_eq!(parts[3].content_id.as_deref(), Some("<img1@x>"));
        assert_eq!(parts[3].disposition.as_ref().unwrap().0, "inline");
        assert!(parts[4].is("message", "rfc822") && parts[4].is_attachment_disposition());
        // A single-part message is section 1.
        let single = parse("(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 3 1 NIL NIL NIL NIL)");
        let parts = leaves(&single).unwrap();
        assert_eq!(
            (parts[0].section.as_str(), parts[0].subtype.as_str()),
            ("1", "plain")
        );
        assert!(leaves(&parse("(NIL)")).is_none());
    }
}
