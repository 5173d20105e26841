//! A minimal SMTP submission client (RFC 5321, AUTH PLAIN RFC 4616): the
//! device's MIME goes out byte for byte (only dot-stuffed, RFC 5321 4.5.2),
//! never re-encoded.

use super::tls::{Endpoint, Stream, Tls};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::io::{BufRead, BufReader, Write};

#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("SMTP connection: {0}")]
    Io(#[from] std::io::Error),
    /// The server refused a step; `code` is its reply code.
    #[error("SMTP {step}: {code} {text}")]
    Refused {
        step: String,
        code: u16,
        text: String,
    },
}

/// Who sends: envelope sender, recipients and the login.
pub struct Envelope<'a> {
    pub from: &'a str,
    pub to: &'a [String],
}

pub struct Submission<'a> {
    pub endpoint: &'a Endpoint,
    /// `None`: no AUTH.
    pub login: Option<(&'a str, &'a str)>,
}

impl Submission<'_> {
    /// Deliver `message` to the envelope recipients.
    pub fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<(), SmtpError> {
        let mut c = BufReader::new(self.endpoint.connect()?);
        expect(&mut c, "greeting", 220)?;
        command(&mut c, "EHLO horde-activesync", 250)?;
        if self.endpoint.tls == Tls::Starttls {
            command(&mut c, "STARTTLS", 220)?;
            c = BufReader::new(self.endpoint.secure(c.into_inner())?);
            command(&mut c, "EHLO horde-activesync", 250)?;
        }
        if let Some((user, password)) = self.login {
            let token = STANDARD.encode(format!("\0{user}\0{password}"));
            command(&mut c, &format!("AUTH PLAIN {token}"), 235)
                .map_err(|e| hide_token(e, "AUTH PLAIN"))?;
        }
        command(&mut c, &format!("MAIL FROM:<{}>", envelope.from), 250)?;
        for rcpt in envelope.to {
            command(&mut c, &format!("RCPT TO:<{rcpt}>"), 250)?;
        }
        command(&mut c, "DATA", 354)?;
        c.get_mut().write_all(&dot_stuff(message))?;
        c.get_mut().flush()?;
        expect(&mut c, "end of DATA", 250)?;
        let _ = command(&mut c, "QUIT", 221);
        Ok(())
    }
}

fn hide_token(e: SmtpError, step: &str) -> SmtpError {
    match e {
        SmtpError::Refused { code, text, .. } => SmtpError::Refused {
            step: step.into(),
            code,
            text,
        },
        other => other,
    }
}

fn command(c: &mut BufReader<Stream>, line: &str, want: u16) -> Result<(), SmtpError> {
    let w = c.get_mut();
    w.write_all(line.as_bytes())?;
    w.write_all(b"\r\n")?;
    w.flush()?;
    expect(c, line, want)
}

/// Read a (multi-line) reply and check its code.
fn expect(r: &mut BufReader<Stream>, step: &str, want: u16) -> Result<(), SmtpError> {
    let mut text = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
        }
        let code: u16 = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
        text.push_str(line.get(4..).unwrap_or("").trim_end());
        if line.as_bytes().get(3) != Some(&b'-') {
            return if code == want {
                Ok(())
            } else {
                Err(SmtpError::Refused {
                    step: step.split(':').next().unwrap_or(step).to_string(),
                    code,
                    text,
                })
            };
        }
        text.push(' ');
    }
}

/// The DATA payload: CRLF line ends kept as sent (bare LF becomes CRLF, as
/// SMTP requires), lines starting with `.` doubled, then `.` CRLF.
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 64);
    let mut at_line_start = true;
    for (i, &b) in message.iter().enumerate() {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        if b == b'\n' && (i == 0 || message[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
        at_line_start = b == b'\n';
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_stuffing_keeps_bytes_and_fixes_bare_lf() {
        assert_eq!(dot_stuff(b"a\r\n.b\r\n"), b"a\r\n..b\r\n.\r\n");
        assert_eq!(dot_stuff(b".x\n\xe9"), b"..x\r\n\xe9\r\n.\r\n");
    }
}
