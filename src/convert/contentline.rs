//! RFC 5545 / RFC 6350 content lines, shared by the vCard and iCalendar
//! conversions: unfolding, `NAME;PARAM=a,b:value` splitting, text escaping,
//! a component tree (`BEGIN:X` .. `END:X`) and writing back with folding at
//! 75 octets.
//!
//! Parsing is lenient about what real producers emit (bare LF, lower-case
//! names, quoted parameter values) but never panics: a line without a colon
//! is an error the caller reports, not a crash.

use std::fmt::Write as _;

/// One unfolded content line. Names and parameter names are upper-cased;
/// values are kept raw (still escaped), because only the caller knows whether
/// a value is TEXT (escaped) or e.g. a RRULE (not escaped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContentLine {
    pub name: String,
    pub params: Vec<(String, Vec<String>)>,
    pub value: String,
}

impl ContentLine {
    pub fn new(name: &str, value: impl Into<String>) -> ContentLine {
        ContentLine {
            name: name.to_ascii_uppercase(),
            params: Vec::new(),
            value: value.into(),
        }
    }

    /// A line whose value is TEXT: the value is escaped here.
    pub fn text(name: &str, value: &str) -> ContentLine {
        ContentLine::new(name, escape_text(value))
    }

    /// Builder: add a parameter with one value.
    pub fn param(mut self, name: &str, value: impl Into<String>) -> ContentLine {
        self.params
            .push((name.to_ascii_uppercase(), vec![value.into()]));
        self
    }

    /// The first value of a parameter (names compare case-insensitively).
    pub fn param_value(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.first())
            .map(String::as_str)
    }

    /// The value unescaped as TEXT.
    pub fn text_value(&self) -> String {
        unescape_text(&self.value)
    }

    /// Parse one unfolded line.
    pub fn parse(line: &str) -> Result<ContentLine, ContentLineError> {
        let (head, value) = split_unquoted(line, ':')
            .ok_or_else(|| ContentLineError(format!("no ':' in line {line:?}")))?;
        let mut parts = split_all_unquoted(head, ';').into_iter();
        let name = parts.next().unwrap_or_default().trim();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(ContentLineError(format!("bad property name in {line:?}")));
        }
        let mut params = Vec::new();
        for p in parts {
            let (pname, pvalue) = match p.split_once('=') {
                Some((n, v)) => (n, v),
                // vCard 2.1 style bare parameter (`TEL;CELL:`): a TYPE value.
                None => ("TYPE", p),
            };
            let values = split_all_unquoted(pvalue, ',')
                .into_iter()
                .map(|v| v.trim_matches('"').to_string())
                .collect();
            params.push((pname.trim().to_ascii_uppercase(), values));
        }
        Ok(ContentLine {
            name: name.to_ascii_uppercase(),
            params,
            value: value.to_string(),
        })
    }

    /// The line folded at 75 octets (never inside a UTF-8 sequence), CRLF-terminated.
    pub fn to_folded(&self) -> String {
        let mut raw = self.name.clone();
        for (n, values) in &self.params {
            raw.push(';');
            raw.push_str(n);
            raw.push('=');
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    raw.push(',');
                }
                if v.contains([':', ';', ',']) {
                    let _ = write!(raw, "\"{}\"", v.replace('"', ""));
                } else {
                    raw.push_str(v);
                }
            }
        }
        raw.push(':');
        raw.push_str(&self.value);
        fold(&raw)
    }
}

/// Why a text could not be read as content lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentLineError(pub String);

impl std::fmt::Display for ContentLineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ContentLineError {}

/// A `BEGIN:NAME` .. `END:NAME` block with its properties and sub-components.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Component {
    pub name: String,
    pub properties: Vec<ContentLine>,
    pub components: Vec<Component>,
}

impl Component {
    pub fn new(name: &str) -> Component {
        Component {
            name: name.to_ascii_uppercase(),
            ..Component::default()
        }
    }

    /// Parse every top-level component of a text (usually one VCALENDAR or
    /// several VCARDs).
    pub fn parse_all(text: &str) -> Result<Vec<Component>, ContentLineError> {
        let mut stack: Vec<Component> = Vec::new();
        let mut done = Vec::new();
        for line in unfold(text) {
            if line.trim().is_empty() {
                continue;
            }
            let cl = ContentLine::parse(&line)?;
            match cl.name.as_str() {
                "BEGIN" => {
                    if stack.len() >= 16 {
                        return Err(ContentLineError("components nested too deeply".into()));
                    }
                    stack.push(Component::new(cl.value.trim()));
                }
                "END" => {
                    let c = stack.pop().ok_or_else(|| {
                        ContentLineError(format!("END:{} without BEGIN", cl.value))
                    })?;
                    if !c.name.eq_ignore_ascii_case(cl.value.trim()) {
                        return Err(ContentLineError(format!(
                            "END:{} closes BEGIN:{}",
                            cl.value, c.name
                        )));
                    }
                    match stack.last_mut() {
                        Some(parent) => parent.components.push(c),
                        None => done.push(c),
                    }
                }
                _ => match stack.last_mut() {
                    Some(c) => c.properties.push(cl),
                    None => {
                        return Err(ContentLineError(format!("{} outside a component", cl.name)))
                    }
                },
            }
        }
        if let Some(open) = stack.last() {
            return Err(ContentLineError(format!("BEGIN:{} without END", open.name)));
        }
        Ok(done)
    }

    /// The first property with this name.
    pub fn property(&self, name: &str) -> Option<&ContentLine> {
        self.properties
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// All properties with this name.
    pub fn properties_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a ContentLine> {
        self.properties
            .iter()
            .filter(move |p| p.name.eq_ignore_ascii_case(name))
    }

    /// Sub-components with this name.
    pub fn components_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Component> {
        self.components
            .iter()
            .filter(move |c| c.name.eq_ignore_ascii_case(name))
    }

    /// Append a property.
    pub fn push(&mut self, line: ContentLine) {
        self.properties.push(line);
    }

    /// The component as folded CRLF text.
    pub fn to_text(&self) -> String {
        let mut out = ContentLine::new("BEGIN", self.name.clone()).to_folded();
        for p in &self.properties {
            out.push_str(&p.to_folded());
        }
        for c in &self.components {
            out.push_str(&c.to_text());
        }
        out.push_str(&ContentLine::new("END", self.name.clone()).to_folded());
        out
    }
}

/// Join folded lines (a line starting with space or tab continues the
/// previous one); accepts CRLF and bare LF.
pub fn unfold(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        match (raw.strip_prefix([' ', '\t']), lines.last_mut()) {
            (Some(rest), Some(prev)) => prev.push_str(rest),
            _ => lines.push(raw.to_string()),
        }
    }
    lines
}

/// Fold a logical line at 75 octets, CRLF-terminated.
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 70 * 3 + 2);
    let mut width = 0;
    for ch in line.chars() {
        let len = ch.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(ch);
        width += len;
    }
    out.push_str("\r\n");
    out
}

/// Escape a TEXT value (`\\`, `\;`, `\,`, `\n`).
pub fn escape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out
}

/// Undo [`escape_text`]; unknown escapes keep the escaped character.
pub fn unescape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
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

/// Split a TEXT list value (`a,b\,c`) at unescaped commas and unescape each part.
pub fn split_text_list(value: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in value.chars() {
        if escaped {
            current.push('\\');
            current.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            parts.push(unescape_text(&current));
            current.clear();
        } else {
            current.push(c);
        }
    }
    parts.push(unescape_text(&current));
    parts.retain(|p| !p.is_empty());
    parts
}

fn split_unquoted(s: &str, sep: char) -> Option<(&str, &str)> {
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c == sep && !quoted => return Some((&s[..i], &s[i + 1..])),
            _ => {}
        }
    }
    None
}

fn split_all_unquoted(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = s;
    while let Some((head, tail)) = split_unquoted(rest, sep) {
        parts.push(head);
        rest = tail;
    }
    parts.push(rest);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_params_and_quoted_colons() {
        let l = ContentLine::parse("ATTENDEE;CN=\"Doe, Jane\";ROLE=REQ-PARTICIPANT:mailto:j@x.org")
            .unwrap();
        assert_eq!(l.name, "ATTENDEE");
        assert_eq!(l.param_value("cn"), Some("Doe, Jane"));
        assert_eq!(l.value, "mailto:j@x.org");
    }

    #[test]
    fn folds_at_75_octets_without_splitting_utf8() {
        let line = ContentLine::text("SUMMARY", &"é".repeat(100));
        let folded = line.to_folded();
        assert!(folded.split("\r\n").all(|l| l.len() <= 75));
        let back = ContentLine::parse(&unfold(&folded)[0]).unwrap();
        assert_eq!(back.text_value(), "é".repeat(100));
    }

    #[test]
    fn text_escaping_round_trips() {
        let s = "a;b,c\\d\nnext";
        assert_eq!(unescape_text(&escape_text(s)), s);
        assert_eq!(split_text_list("a\\,b,c"), vec!["a,b", "c"]);
    }

    #[test]
    fn unbalanced_components_are_errors() {
        assert!(
            Component::parse_all("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VCALENDAR\r\n").is_err()
        );
        assert!(Component::parse_all("SUMMARY:x\r\n").is_err());
        assert!(Component::parse_all("BEGIN:A\r\nnocolon\r\nEND:A").is_err());
    }
}
