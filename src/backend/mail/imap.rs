//! A small blocking IMAP4rev1 client (RFC 3501 + CONDSTORE/QRESYNC RFC 7162,
//! MOVE RFC 6851, UIDPLUS RFC 4315, SPECIAL-USE RFC 6154): just the commands
//! the mail backend uses, over one connection per ActiveSync request.
//!
//! Responses are read whole (literals included) and parsed into [`Value`]s
//! by a tokenizer that is tested on its own below.

use super::tls::{Endpoint, Stream, Tls};
use std::io::{BufRead, BufReader, Read, Write};

/// Why an IMAP exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("IMAP connection: {0}")]
    Io(#[from] std::io::Error),
    /// The server answered NO (or BAD) to a command.
    #[error("IMAP {command}: {text}")]
    No { command: String, text: String },
    #[error("IMAP login refused")]
    LoginFailed,
    #[error("IMAP protocol: {0}")]
    Protocol(String),
}

pub type Result<T> = std::result::Result<T, ImapError>;

/// One parsed IMAP data item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Atom(String),
    Number(u64),
    /// Quoted string or literal, as bytes.
    Str(Vec<u8>),
    List(Vec<Value>),
    Nil,
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Atom(a) => Some(a),
            Value::Str(s) => std::str::from_utf8(s).ok(),
            _ => None,
        }
    }
    pub fn as_number(&self) -> Option<u64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }
    pub fn as_list(&self) -> &[Value] {
        match self {
            Value::List(l) => l,
            _ => &[],
        }
    }
}

/// Tokenize one response (literals inline as `{n}\r\n<bytes>`).
pub fn parse_values(input: &[u8]) -> Result<Vec<Value>> {
    let mut pos = 0;
    let mut stack: Vec<Vec<Value>> = vec![Vec::new()];
    let bad = |what: &str| ImapError::Protocol(what.to_string());
    while pos < input.len() {
        let c = input[pos];
        match c {
            b' ' | b'\r' | b'\n' => pos += 1,
            b'(' => {
                stack.push(Vec::new());
                pos += 1;
            }
            b')' => {
                let list = stack.pop().ok_or_else(|| bad("unbalanced )"))?;
                stack
                    .last_mut()
                    .ok_or_else(|| bad("unbalanced )"))?
                    .push(Value::List(list));
                pos += 1;
            }
            b'"' => {
                let mut s = Vec::new();
                pos += 1;
                loop {
                    match input.get(pos) {
                        None => return Err(bad("unterminated string")),
                        Some(b'"') => break,
                        Some(b'\\') => {
                            s.push(*input.get(pos + 1).ok_or_else(|| bad("bad escape"))?);
                            pos += 2;
                        }
                        Some(b) => {
                            s.push(*b);
                            pos += 1;
                        }
                    }
                }
                pos += 1;
                stack.last_mut().unwrap().push(Value::Str(s));
            }
            b'{' => {
                let close = input[pos..]
                    .iter()
                    .position(|b| *b == b'}')
                    .ok_or_else(|| bad("bad literal"))?
                    + pos;
                let n: usize = std::str::from_utf8(&input[pos + 1..close])
                    .ok()
                    .and_then(|s| s.trim_end_matches('+').parse().ok())
                    .ok_or_else(|| bad("bad literal length"))?;
                let start = close + 3; // "}\r\n"
                let end = start + n;
                if end > input.len() {
                    return Err(bad("short literal"));
                }
                stack
                    .last_mut()
                    .unwrap()
                    .push(Value::Str(input[start..end].to_vec()));
                pos = end;
            }
            _ => {
                let mut end = pos;
                let mut depth = 0;
                while end < input.len() {
                    match input[end] {
                        b'[' => depth += 1,
                        b']' => depth -= 1,
                        b' ' | b'(' | b')' | b'\r' | b'\n' if depth <= 0 => break,
                        _ => {}
                    }
                    end += 1;
                }
                let word = String::from_utf8_lossy(&input[pos..end]).into_owned();
                let v = if word.eq_ignore_ascii_case("NIL") {
                    Value::Nil
                } else if !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()) {
                    word.parse().map(Value::Number).unwrap_or(Value::Atom(word))
                } else {
                    Value::Atom(word)
                };
                stack.last_mut().unwrap().push(v);
                pos = end;
            }
        }
    }
    if stack.len() != 1 {
        return Err(bad("unbalanced ("));
    }
    Ok(stack.pop().unwrap_or_default())
}

/// Whether a string can be sent as an IMAP quoted string.
fn quotable(s: &str) -> bool {
    !s.bytes().any(|b| b == b'\r' || b == b'\n' || b >= 0x80)
}

/// LOGIN with quoted strings; credentials that cannot be quoted (UTF-8
/// passwords) go as AUTHENTICATE PLAIN with an initial response (RFC 4959).
fn login_command(user: &str, password: &str) -> String {
    use base64::Engine;
    if quotable(user) && quotable(password) {
        format!("LOGIN {} {}", quote(user), quote(password))
    } else {
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
        format!("AUTHENTICATE PLAIN {token}")
    }
}

/// An IMAP quoted string; one that cannot be quoted (CR, LF, 8-bit) becomes
/// the empty string, which no mailbox is called, so the command fails cleanly.
pub fn quote(s: &str) -> String {
    if !quotable(s) {
        return "\"\"".into();
    }
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Value of a response code `[NAME value]` in a status line, e.g. `UIDVALIDITY`.
pub fn response_code<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let start = line.find(&format!("[{name} "))? + name.len() + 2;
    let rest = &line[start..];
    Some(&rest[..rest.find(']')?])
}

/// The words of a `[CAPABILITY ...]` response code, upper case.
fn parse_capabilities(list: &str) -> Vec<String> {
    list.split_ascii_whitespace()
        .map(str::to_ascii_uppercase)
        .collect()
}

/// Expand a UID set (`1:3,7`) into UIDs; `*` and ranges over 100000 are cut.
pub fn expand_set(set: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for part in set.split(',') {
        match part.split_once(':') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) {
                    let (lo, hi) = (a.min(b), a.max(b));
                    out.extend(lo..=hi.min(lo.saturating_add(100_000)));
                }
            }
            None => out.extend(part.parse::<u32>().ok()),
        }
    }
    out
}

/// A logged-in connection.
pub struct Connection {
    stream: BufReader<Stream>,
    next_tag: u32,
    /// Round trips so far (for the debug log).
    pub commands: u32,
    /// What the server offers once logged in (upper case), e.g. `CONDSTORE`.
    capabilities: Vec<String>,
}

/// What a command returned: untagged responses and the tagged status text.
pub struct Reply {
    pub untagged: Vec<Vec<u8>>,
    pub status: String,
}

impl Connection {
    /// Plain-text login (tests and tools on loopback).
    pub fn login(host: &str, port: u16, user: &str, password: &str) -> Result<Connection> {
        let endpoint = Endpoint {
            host: host.to_string(),
            port,
            tls: Tls::None,
            config: None,
        };
        Connection::open(&endpoint, user, password)
    }

    /// Connect (TLS as configured, STARTTLS before anything else is sent),
    /// read the greeting and log in.
    pub fn open(endpoint: &Endpoint, user: &str, password: &str) -> Result<Connection> {
        let mut c = Connection {
            stream: BufReader::new(endpoint.connect()?),
            next_tag: 1,
            commands: 0,
            capabilities: Vec::new(),
        };
        let greeting = c.read_response()?;
        if !greeting.starts_with(b"* OK") && !greeting.starts_with(b"* PREAUTH") {
            return Err(ImapError::Protocol("no greeting".into()));
        }
        if endpoint.tls == Tls::Starttls {
            c.run("STARTTLS")?;
            let Connection {
                stream,
                next_tag,
                commands,
                capabilities,
            } = c;
            c = Connection {
                stream: BufReader::new(endpoint.secure(stream.into_inner())?),
                next_tag,
                commands,
                capabilities,
            };
        }
        let login = match c.run(&login_command(user, password)) {
            Ok(reply) => reply,
            Err(ImapError::No { .. }) => return Err(ImapError::LoginFailed),
            Err(e) => return Err(e),
        };
        // Most servers name their capabilities in the login answer; the
        // others are asked (RFC 3501 6.1.1: they may differ from before login).
        c.capabilities = match login.code("CAPABILITY") {
            Some(list) => parse_capabilities(&list),
            None => {
                let reply = c.run("CAPABILITY")?;
                let line = reply
                    .data("CAPABILITY")
                    .into_iter()
                    .next()
                    .unwrap_or_default();
                line.iter()
                    .filter_map(|v| v.as_str().map(str::to_ascii_uppercase))
                    .collect()
            }
        };
        Ok(c)
    }

    /// Whether the server offers this capability (`CONDSTORE`, `QRESYNC`, ...).
    pub fn has_capability(&self, name: &str) -> bool {
        self.capabilities
            .iter()
            .any(|c| c.eq_ignore_ascii_case(name))
    }

    /// Read one response: a line, plus any literals it announces.
    fn read_response(&mut self) -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        loop {
            let start = buf.len();
            if self.stream.read_until(b'\n', &mut buf)? == 0 {
                return Err(ImapError::Protocol("connection closed".into()));
            }
            let line = &buf[start..];
            let literal = line
                .strip_suffix(b"}\r\n")
                .and_then(|l| l.iter().rposition(|b| *b == b'{').map(|p| &l[p + 1..]))
                .and_then(|n| std::str::from_utf8(n).ok()?.parse::<usize>().ok());
            match literal {
                Some(n) => {
                    let at = buf.len();
                    buf.resize(at + n, 0);
                    self.stream.read_exact(&mut buf[at..])?;
                }
                None => return Ok(buf),
            }
        }
    }

    /// Send a command and collect everything up to its tagged answer.
    pub fn run(&mut self, command: &str) -> Result<Reply> {
        self.run_with_literal(command, None)
    }

    /// Like `run`; `literal` is sent as a synchronizing literal after the
    /// command text (APPEND).
    pub fn run_with_literal(&mut self, command: &str, literal: Option<&[u8]>) -> Result<Reply> {
        let tag = format!("a{}", self.next_tag);
        self.next_tag += 1;
        self.commands += 1;
        match literal {
            None => write!(self.stream.get_mut(), "{tag} {command}\r\n")?,
            Some(bytes) => {
                write!(
                    self.stream.get_mut(),
                    "{tag} {command} {{{}}}\r\n",
                    bytes.len()
                )?;
                self.stream.get_mut().flush()?;
                let cont = self.read_response()?;
                if !cont.starts_with(b"+") {
                    return Err(self.failure(command, &cont));
                }
                self.stream.get_mut().write_all(bytes)?;
                self.stream.get_mut().write_all(b"\r\n")?;
            }
        }
        self.stream.get_mut().flush()?;
        let mut untagged = Vec::new();
        loop {
            let resp = self.read_response()?;
            if resp.starts_with(tag.as_bytes()) && resp.get(tag.len()) == Some(&b' ') {
                let rest = String::from_utf8_lossy(&resp[tag.len() + 1..])
                    .trim_end()
                    .to_string();
                if rest.starts_with("OK") {
                    return Ok(Reply {
                        untagged,
                        status: rest,
                    });
                }
                return Err(self.failure(command, &resp));
            }
            untagged.push(resp);
        }
    }

    fn failure(&self, command: &str, resp: &[u8]) -> ImapError {
        let verb = command.split(' ').take(2).collect::<Vec<_>>().join(" ");
        ImapError::No {
            command: if verb.starts_with("LOGIN") {
                "LOGIN".into()
            } else {
                verb
            },
            text: String::from_utf8_lossy(resp).trim_end().to_string(),
        }
    }
}

impl Reply {
    /// The untagged responses `* <name> ...`, parsed, without the `*` and name.
    pub fn data(&self, name: &str) -> Vec<Vec<Value>> {
        self.untagged
            .iter()
            .filter_map(|r| {
                let v = parse_values(r).ok()?;
                match v.as_slice() {
                    [Value::Atom(star), Value::Atom(n), ..]
                        if star == "*" && n.eq_ignore_ascii_case(name) =>
                    {
                        Some(v[2..].to_vec())
                    }
                    // "* 12 FETCH (...)": the number comes first.
                    [Value::Atom(star), Value::Number(_), Value::Atom(n), ..]
                        if star == "*" && n.eq_ignore_ascii_case(name) =>
                    {
                        Some(v[3..].to_vec())
                    }
                    _ => None,
                }
            })
            .collect()
    }

    /// The bytes of the first literal among the untagged responses, without
    /// copying them (one large `BODY[section]` is read this way).
    pub fn first_literal(&self) -> Option<&[u8]> {
        self.untagged.iter().find_map(|r| {
            let mut from = 0;
            while let Some(open) = r[from..].iter().position(|b| *b == b'{').map(|p| p + from) {
                let digits = r[open + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                let close = open + 1 + digits;
                if digits > 0 && r[close..].starts_with(b"}\r\n") {
                    let n: usize = std::str::from_utf8(&r[open + 1..close])
                        .ok()?
                        .parse()
                        .ok()?;
                    return r.get(close + 3..close + 3 + n);
                }
                from = open + 1;
            }
            None
        })
    }

    /// A response code from any untagged OK or the tagged status.
    pub fn code(&self, name: &str) -> Option<String> {
        self.untagged
            .iter()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .chain(std::iter::once(self.status.clone()))
            .find_map(|l| response_code(&l, name).map(str::to_string))
    }
}

/// The attributes of a FETCH response as name -> value.
pub fn fetch_items(list: &[Value]) -> Vec<(String, Value)> {
    list.chunks(2)
        .filter_map(|kv| match kv {
            [Value::Atom(k), v] => Some((k.to_ascii_uppercase(), v.clone())),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_reads_lists_strings_literals_and_sections() {
        let v = parse_values(
            b"* 3 FETCH (UID 17 FLAGS (\\Seen \\Flagged) INTERNALDATE \"24-Nov-2026 10:00:00 +0100\" BODY[] {5}\r\nab\r\nc)\r\n",
        )
        .unwrap();
        assert_eq!(v[0], Value::Atom("*".into()));
        assert_eq!(v[1], Value::Number(3));
        let items = fetch_items(v[3].as_list());
        assert_eq!(items[0], ("UID".into(), Value::Number(17)));
        assert_eq!(items[1].1.as_list().len(), 2);
        assert_eq!(items[2].1.as_str(), Some("24-Nov-2026 10:00:00 +0100"));
        assert_eq!(items[3], ("BODY[]".into(), Value::Str(b"ab\r\nc".to_vec())));
        let v =
            parse_values(b"* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent \\\"x\\\"\"\r\n").unwrap();
        assert_eq!(v[4].as_str(), Some("Sent \"x\""));
        assert_eq!(parse_values(b"* LIST () NIL INBOX").unwrap()[3], Value::Nil);
        assert!(parse_values(b"(a (b)").is_err());
        assert!(parse_values(b"{9}\r\nab").is_err());
    }

    #[test]
    fn the_first_literal_is_borrowed_from_the_response() {
        let reply = Reply {
            untagged: vec![
                b"* 2 EXISTS\r\n".to_vec(),
                b"* 1 FETCH (UID 9 BODY[2] {5}\r\nab{1}c)\r\n".to_vec(),
            ],
            status: "OK".into(),
        };
        assert_eq!(reply.first_literal(), Some(&b"ab{1}"[..]));
        let none = Reply {
            untagged: vec![b"* 1 FETCH (UID 9 FLAGS ({x}))\r\n".to_vec()],
            status: "OK".into(),
        };
        assert_eq!(none.first_literal(), None);
    }

    #[test]
    fn codes_sets_and_quoting() {
        assert_eq!(
            response_code("* OK [UIDVALIDITY 1764] UIDs valid", "UIDVALIDITY"),
            Some("1764")
        );
        assert_eq!(
            response_code("a5 OK [COPYUID 9 3:4 10:11] Moved", "COPYUID"),
            Some("9 3:4 10:11")
        );
        assert_eq!(
            parse_capabilities("IMAP4rev1 condstore  QRESYNC"),
            vec!["IMAP4REV1", "CONDSTORE", "QRESYNC"]
        );
        assert_eq!(expand_set("3:5,9"), vec![3, 4, 5, 9]);
        assert_eq!(expand_set("7:6"), vec![6, 7]);
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(quote("a\r\nb"), "\"\"");
        assert_eq!(login_command("alice", "pw\""), "LOGIN \"alice\" \"pw\\\"\"");
        assert_eq!(
            login_command("alice", "pässword"),
            "AUTHENTICATE PLAIN AGFsaWNlAHDDpHNzd29yZA=="
        );
    }
}
