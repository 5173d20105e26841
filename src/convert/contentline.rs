//! The content-line syntax shared by vCard (RFC 2425/2426/6350) and
//! iCalendar (RFC 5545): `[group.]NAME;PARAM=a,b;FLAG:value`, folded at 75
//! octets with a leading space or tab on continuation lines.
//!
//! This layer only splits lines, parameters and values. It does not decode the
//! value: escapes, QUOTED-PRINTABLE and base64 depend on the property and the
//! format, so [`unescape`] and [`split_escaped`] are separate helpers.

use std::fmt::Write as _;

/// One parameter. A vCard 2.1 bare flag (`TEL;HOME:`) has a name and no values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Upper-cased.
    pub name: String,
    /// Unquoted values, in order, case kept.
    pub values: Vec<String>,
}

/// One unfolded content line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentLine {
    /// The `group.` prefix (Apple's `item1.`), if any.
    pub group: Option<String>,
    /// Upper-cased property name.
    pub name: String,
    pub params: Vec<Param>,
    /// The raw value, still escaped / encoded.
    pub value: String,
}

impl ContentLine {
    /// A line without group or parameters.
    pub fn new(name: &str, value: impl Into<String>) -> ContentLine {
        ContentLine {
            group: None,
            name: name.to_ascii_uppercase(),
            params: Vec::new(),
            value: value.into(),
        }
    }

    /// Builder: add a parameter with these values.
    pub fn with_param(mut self, name: &str, values: &[&str]) -> ContentLine {
        self.params.push(Param {
            name: name.to_ascii_uppercase(),
            values: values.iter().map(|v| v.to_string()).collect(),
        });
        self
    }

    /// All values of the parameters with this name (case-insensitive).
    pub fn param_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.params
            .iter()
            .filter(move |p| p.name.eq_ignore_ascii_case(name))
            .flat_map(|p| p.values.iter().map(String::as_str))
    }

    /// The first value of the parameter with this name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .filter(|p| p.name.eq_ignore_ascii_case(name))
            .find_map(|p| p.values.first().map(String::as_str))
    }
}

/// Split text into logical lines: unfold continuation lines (RFC 5545 3.1),
/// join vCard 2.1 QUOTED-PRINTABLE soft line breaks (a line ending in `=`),
/// and drop empty lines.
pub fn unfold(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut soft_break = false;
    for raw in text.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if soft_break {
            if let Some(last) = out.last_mut() {
                last.pop(); // the '='
                last.push_str(line.trim_start_matches([' ', '\t']));
                soft_break = is_qp_soft_break(last);
                continue;
            }
        }
        if let (Some(rest), Some(last)) = (
            line.strip_prefix(' ').or_else(|| line.strip_prefix('\t')),
            out.last_mut(),
        ) {
            last.push_str(rest);
        } else if !line.is_empty() {
            out.push(line.to_string());
        }
        soft_break = out.last().is_some_and(|l| is_qp_soft_break(l));
    }
    out
}

/// A QUOTED-PRINTABLE line whose value ends in `=` continues on the next line.
fn is_qp_soft_break(line: &str) -> bool {
    if !line.ends_with('=') {
        return false;
    }
    let head = match find_value_colon(line) {
        Some(i) => &line[..i],
        None => return false,
    };
    head.to_ascii_uppercase().contains("QUOTED-PRINTABLE")
}

/// The index of the colon that ends the name and parameters (colons inside
/// quoted parameter values do not count).
fn find_value_colon(line: &str) -> Option<usize> {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ':' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

/// Why a line is not a content line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("content line without ':': {0:?}")]
    NoColon(String),
    #[error("content line without a property name: {0:?}")]
    NoName(String),
}

/// Parse one unfolded line.
pub fn parse_line(line: &str) -> Result<ContentLine, LineError> {
    let colon = find_value_colon(line).ok_or_else(|| LineError::NoColon(shorten(line)))?;
    let (head, value) = (&line[..colon], &line[colon + 1..]);
    let mut parts = split_params(head).into_iter();
    let full_name = parts.next().unwrap_or_default();
    let (group, name) = match full_name.rsplit_once('.') {
        Some((g, n)) => (Some(g.to_string()), n),
        None => (None, full_name.as_str()),
    };
    let name = name.trim();
    if name.is_empty() {
        return Err(LineError::NoName(shorten(line)));
    }
    let params = parts
        .filter(|p| !p.trim().is_empty())
        .map(|p| match p.split_once('=') {
            Some((n, v)) => Param {
                name: n.trim().to_ascii_uppercase(),
                values: split_param_values(v),
            },
            None => Param {
                name: p.trim().to_ascii_uppercase(),
                values: Vec::new(),
            },
        })
        .collect();
    Ok(ContentLine {
        group,
        name: name.to_ascii_uppercase(),
        params,
        value: value.to_string(),
    })
}

fn shorten(line: &str) -> String {
    line.chars().take(60).collect()
}

/// Split `NAME;A=1;B="x;y"` on the semicolons outside quotes.
fn split_params(head: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    for c in head.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                out.last_mut().expect("never empty").push(c);
            }
            ';' if !quoted => out.push(String::new()),
            _ => out.last_mut().expect("never empty").push(c),
        }
    }
    out
}

/// `a,"b,c",d` -> `a`, `b,c`, `d`.
fn split_param_values(v: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    for c in v.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(String::new()),
            _ => out.last_mut().expect("never empty").push(c),
        }
    }
    out.into_iter().map(|s| s.trim().to_string()).collect()
}

/// Parse a whole text into lines; lines that are not content lines are
/// skipped (devices send stray junk) and returned separately.
pub fn parse(text: &str) -> (Vec<ContentLine>, Vec<LineError>) {
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for l in unfold(text) {
        match parse_line(&l) {
            Ok(cl) => lines.push(cl),
            Err(e) => errors.push(e),
        }
    }
    (lines, errors)
}

/// Undo text escapes: `\\`, `\;`, `\,`, `\:`, `\n`/`\N`. An unknown escape
/// keeps the character after the backslash.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') | Some('N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Escape a text value: backslash, semicolon, comma and newline (CRLF and CR
/// become one `\n`).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out
}

/// Split a structured or list value on unescaped `sep` and unescape each part
/// (`N`, `ADR`, `ORG` with `;`; `CATEGORIES` with `,`).
pub fn split_escaped(s: &str, sep: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let cur = parts.last_mut().expect("never empty");
            cur.push('\\');
            if let Some(n) = chars.next() {
                cur.push(n);
            }
        } else if c == sep {
            parts.push(String::new());
        } else {
            parts.last_mut().expect("never empty").push(c);
        }
    }
    parts.iter().map(|p| unescape(p)).collect()
}

/// Join already-unescaped parts with `sep`, escaping each part.
pub fn join_escaped<S: AsRef<str>>(parts: &[S], sep: char) -> String {
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push(sep);
        }
        out.push_str(&escape(p.as_ref()));
    }
    out
}

/// Largest number of octets on one physical line, CRLF excluded (RFC 5545 3.1).
pub const FOLD_AT: usize = 75;

/// Append the line to `out`, folded at [`FOLD_AT`] octets without splitting a
/// UTF-8 sequence, and terminated by CRLF. The value is written as is (escape
/// it first); parameter values with `:`, `;` or `,` are quoted.
pub fn write_line(out: &mut String, line: &ContentLine) {
    let mut text = String::new();
    if let Some(g) = &line.group {
        text.push_str(g);
        text.push('.');
    }
    text.push_str(&line.name);
    for p in &line.params {
        text.push(';');
        text.push_str(&p.name);
        if !p.values.is_empty() {
            text.push('=');
            for (i, v) in p.values.iter().enumerate() {
                if i > 0 {
                    text.push(',');
                }
                if v.contains([':', ';', ',']) {
                    let _ = write!(text, "\"{}\"", v.replace('"', ""));
                } else {
                    text.push_str(v);
                }
            }
        }
    }
    text.push(':');
    text.push_str(&line.value);
    fold_into(out, &text);
}

fn fold_into(out: &mut String, text: &str) {
    let mut used = 0;
    for c in text.chars() {
        let len = c.len_utf8();
        if used + len > FOLD_AT {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += len;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfolds_continuations_and_qp_soft_breaks() {
        let text = "NOTE:abc\r\n def\r\n\tghi\r\nX;ENCODING=QUOTED-PRINTABLE:a=\r\n=3Db\r\nEND:X\r\n";
        assert_eq!(
            unfold(text),
            vec!["NOTE:abcdefghi", "X;ENCODING=QUOTED-PRINTABLE:a=3Db", "END:X"]
        );
    }

    #[test]
    fn parses_group_params_and_quoted_values() {
        let l = parse_line("item1.TEL;TYPE=work,voice;PREF;X-L=\"a:b;c\":+1 555").unwrap();
        assert_eq!(l.group.as_deref(), Some("item1"));
        assert_eq!(l.name, "TEL");
        assert_eq!(l.param_values("type").collect::<Vec<_>>(), vec!["work", "voice"]);
        assert_eq!(l.params[1].name, "PREF");
        assert!(l.params[1].values.is_empty());
        assert_eq!(l.param("X-L"), Some("a:b;c"));
        assert_eq!(l.value, "+1 555");
    }

    #[test]
    fn rejects_lines_without_colon_or_name() {
        assert!(matches!(parse_line("garbage"), Err(LineError::NoColon(_))));
        assert!(matches!(parse_line(":value"), Err(LineError::NoName(_))));
    }

    #[test]
    fn escapes_round_trip() {
        let s = "a\\b;c,d\ne";
        assert_eq!(escape(s), "a\\\\b\\;c\\,d\\ne");
        assert_eq!(unescape(&escape(s)), s);
        assert_eq!(
            split_escaped("Doe;Jane\\;x;;Dr.", ';'),
            vec!["Doe", "Jane;x", "", "Dr."]
        );
        assert_eq!(join_escaped(&["a,b", "c"], ','), "a\\,b,c");
    }

    #[test]
    fn folds_at_75_octets_without_splitting_utf8() {
        let mut out = String::new();
        let value = "é".repeat(100);
        write_line(&mut out, &ContentLine::new("NOTE", value.clone()));
        for physical in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(physical.len() <= FOLD_AT, "{} octets", physical.len());
        }
        assert_eq!(unfold(&out), vec![format!("NOTE:{value}")]);
    }

    #[test]
    fn quotes_parameter_values_with_separators() {
        let mut out = String::new();
        write_line(
            &mut out,
            &ContentLine::new("X", "v").with_param("LABEL", &["a:b"]),
        );
        assert_eq!(out, "X;LABEL=\"a:b\":v\r\n");
    }
}
