//! IMAP mailbox names are "modified UTF-7" (RFC 3501 5.1.3): `&` starts a
//! base64 run of UTF-16 (with `,` for `/`), `&-` is a literal `&`.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;

/// Decode a mailbox name; a malformed run is kept as it was.
pub fn decode(name: &str) -> String {
    let mut out = String::new();
    let mut rest = name;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('-') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let run = &after[..end];
        if run.is_empty() {
            out.push('&');
        } else {
            let decoded = STANDARD_NO_PAD
                .decode(run.replace(',', "/"))
                .ok()
                .filter(|b| b.len() % 2 == 0)
                .and_then(|b| {
                    let units: Vec<u16> = b
                        .chunks(2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]]))
                        .collect();
                    String::from_utf16(&units).ok()
                });
            match decoded {
                Some(s) => out.push_str(&s),
                None => out.push_str(&rest[start..start + end + 2]),
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Encode a display name as a mailbox name.
pub fn encode(name: &str) -> String {
    encode_with(name, |c| (' '..='~').contains(&c))
}

/// Modified UTF-7 where `keep` says which characters stay as they are;
/// every other one goes into a base64 run (`&` is always `&-`).
pub fn encode_with(name: &str, keep: impl Fn(char) -> bool) -> String {
    let mut out = String::new();
    let mut run: Vec<u16> = Vec::new();
    let flush = |run: &mut Vec<u16>, out: &mut String| {
        if !run.is_empty() {
            let bytes: Vec<u8> = run.iter().flat_map(|u| u.to_be_bytes()).collect();
            out.push('&');
            out.push_str(&STANDARD_NO_PAD.encode(bytes).replace('/', ","));
            out.push('-');
            run.clear();
        }
    };
    for c in name.chars() {
        if c == '&' || keep(c) {
            flush(&mut run, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            run.extend(c.encode_utf16(&mut [0; 2]).iter());
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_rfc3501_examples() {
        assert_eq!(
            decode("~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
            "~peter/mail/台北/日本語"
        );
        assert_eq!(encode("台北"), "&U,BTFw-");
        assert_eq!(decode("Tom &- Jerry"), "Tom & Jerry");
        assert_eq!(encode("Tom & Jerry"), "Tom &- Jerry");
        assert_eq!(decode(&encode("Entwürfe 📁")), "Entwürfe 📁");
        assert_eq!(decode("bad &%%-"), "bad &%%-");
    }
}
