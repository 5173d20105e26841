//! Undoing a Content-Transfer-Encoding (RFC 2045) piece by piece: a large
//! attachment arrives from IMAP in pieces cut anywhere (inside a base64
//! quad, between `=` and its hex digits, inside a soft line break), and
//! each piece is decoded as it comes, with the undecidable tail carried to
//! the next. Whole-buffer decoding ([`super::decode_transfer`]) is the same
//! decoder fed once.

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

/// Standard alphabet; padding optional and stray trailing bits accepted,
/// as mail in the wild needs.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Trailing white space longer than this is not transport padding (RFC
/// 2045 6.7 rule 3) but content; it is written out rather than held.
const MAX_PENDING_SPACE: usize = 4096;

/// A decoder for one transfer encoding: `feed` the encoded bytes in any
/// pieces, then `finish`; the output is the same however the input was cut.
#[derive(Debug)]
pub enum TransferDecoder {
    Base64(Base64),
    QuotedPrintable(QuotedPrintable),
    /// 7bit, 8bit, binary and unknown encodings: bytes as they are.
    Identity,
}

impl TransferDecoder {
    pub fn new(encoding: &str) -> TransferDecoder {
        match encoding.trim().to_ascii_lowercase().as_str() {
            "base64" => TransferDecoder::Base64(Base64::default()),
            "quoted-printable" => TransferDecoder::QuotedPrintable(QuotedPrintable::default()),
            _ => TransferDecoder::Identity,
        }
    }

    /// Decode `input`, appending to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        match self {
            TransferDecoder::Base64(d) => d.feed(input, out),
            TransferDecoder::QuotedPrintable(d) => d.feed(input, out),
            TransferDecoder::Identity => out.extend_from_slice(input),
        }
    }

    /// The end of the input: decode what was carried.
    pub fn finish(self, out: &mut Vec<u8>) {
        match self {
            TransferDecoder::Base64(d) => d.finish(out),
            TransferDecoder::QuotedPrintable(d) => d.finish(out),
            TransferDecoder::Identity => {}
        }
    }
}

/// Base64: characters outside the alphabet (line breaks, white space) are
/// skipped (RFC 2045 6.8), `=` ends the data, and up to three characters
/// of an unfinished quad are carried.
#[derive(Debug, Default)]
pub struct Base64 {
    carry: Vec<u8>,
    ended: bool,
}

impl Base64 {
    fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        let mut clean = std::mem::take(&mut self.carry);
        clean.reserve(input.len());
        for &b in input {
            if b.is_ascii_alphanumeric() || b == b'+' || b == b'/' {
                clean.push(b);
            } else if b == b'=' {
                self.ended = true;
                break;
            }
        }
        let whole = clean.len() / 4 * 4;
        decode_base64(&clean[..whole], out);
        self.carry = clean[whole..].to_vec();
        if self.ended {
            decode_base64(&std::mem::take(&mut self.carry), out);
        }
    }

    fn finish(self, out: &mut Vec<u8>) {
        decode_base64(&self.carry, out);
    }
}

/// Alphabet characters only; a last quad of one character (6 bits, not a
/// byte) is dropped.
fn decode_base64(clean: &[u8], out: &mut Vec<u8>) {
    let usable = if clean.len() % 4 == 1 {
        clean.len() - 1
    } else {
        clean.len()
    };
    // Cannot fail: alphabet characters, a length that is not 1 mod 4.
    let _ = LENIENT.decode_vec(&clean[..usable], out);
}

/// Quoted-printable (RFC 2045 6.7): `=XX` is a byte, `=` before a line
/// break (white space between allowed) is a soft break and vanishes, white
/// space at the end of a line is transport padding and vanishes, a line
/// break stays (`\r\n` or `\n` as sent), a malformed `=` stays as it is.
#[derive(Debug, Default)]
pub struct QuotedPrintable {
    state: QpState,
    /// Spaces and tabs not yet known to be content (they are unless a line
    /// break follows).
    pending_space: Vec<u8>,
    /// The previous byte was a CR.
    after_cr: bool,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum QpState {
    #[default]
    Text,
    /// After `=` (and maybe white space).
    Equals,
    /// After `=` and one hex digit.
    Hex(u8),
}

impl QuotedPrintable {
    fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        for &b in input {
            self.byte(b, out);
        }
    }

    fn byte(&mut self, b: u8, out: &mut Vec<u8>) {
        let after_cr = std::mem::replace(&mut self.after_cr, b == b'\r');
        match (self.state, b) {
            (_, b'\r') => {}
            (QpState::Equals, b'\n') => self.state = QpState::Text,
            (state, b'\n') => {
                if let QpState::Hex(h) = state {
                    out.extend_from_slice(&[b'=', h]);
                }
                self.state = QpState::Text;
                self.pending_space.clear();
                out.extend_from_slice(if after_cr { b"\r\n" } else { b"\n" });
            }
            (QpState::Text, b' ' | b'\t') => {
                self.pending_space.push(b);
                if self.pending_space.len() > MAX_PENDING_SPACE {
                    out.append(&mut self.pending_space);
                }
            }
            (QpState::Text, b'=') => {
                out.append(&mut self.pending_space);
                self.state = QpState::Equals;
            }
            (QpState::Text, _) => {
                out.append(&mut self.pending_space);
                out.push(b);
            }
            (QpState::Equals, b' ' | b'\t') => {}
            (QpState::Equals, _) if b.is_ascii_hexdigit() => self.state = QpState::Hex(b),
            (QpState::Equals, b'=') => out.push(b'='),
            (QpState::Equals, _) => {
                out.extend_from_slice(&[b'=', b]);
                self.state = QpState::Text;
            }
            (QpState::Hex(h), _) if b.is_ascii_hexdigit() => {
                out.push(hex(h) << 4 | hex(b));
                self.state = QpState::Text;
            }
            (QpState::Hex(h), b'=') => {
                out.extend_from_slice(&[b'=', h]);
                self.state = QpState::Equals;
            }
            (QpState::Hex(h), _) => {
                out.extend_from_slice(&[b'=', h, b]);
                self.state = QpState::Text;
            }
        }
    }

    /// White space at the very end is padding; a soft break at the end is
    /// nothing; `=X` at the end stays as it is.
    fn finish(self, out: &mut Vec<u8>) {
        if let QpState::Hex(h) = self.state {
            out.extend_from_slice(&[b'=', h]);
        }
    }
}

fn hex(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit.wrapping_sub(b'A').wrapping_add(10),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Decode `input` fed in the pieces that `cuts` (positions) make.
    fn decode_in_pieces(encoding: &str, input: &[u8], cuts: &[usize]) -> Vec<u8> {
        let mut positions: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        positions.sort_unstable();
        let mut decoder = TransferDecoder::new(encoding);
        let mut out = Vec::new();
        let mut from = 0;
        for at in positions.into_iter().chain([input.len()]) {
            decoder.feed(&input[from..at], &mut out);
            from = at;
        }
        decoder.finish(&mut out);
        out
    }

    fn one_shot(encoding: &str, input: &[u8]) -> Vec<u8> {
        decode_in_pieces(encoding, input, &[])
    }

    /// Base64 with a line break every `width` characters.
    fn base64_lines(bytes: &[u8], width: usize) -> Vec<u8> {
        let text = base64::engine::general_purpose::STANDARD.encode(bytes);
        let mut out = Vec::new();
        for line in text.as_bytes().chunks(width.max(1)) {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    /// Quoted-printable of `text` whose `\r\n` are hard line breaks: bytes
    /// outside printable ASCII and `=` escaped (in upper or lower case hex),
    /// space before a break escaped, soft breaks with transport padding
    /// after every `soft`-th character, padding before hard breaks too.
    fn qp(text: &[u8], soft: usize, lower: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        let mut since_soft = 0;
        while i < text.len() {
            if text[i..].starts_with(b"\r\n") {
                out.extend_from_slice(b" \t\r\n");
                i += 2;
                continue;
            }
            let b = text[i];
            let before_break = text[i + 1..].starts_with(b"\r\n") || i + 1 == text.len();
            let literal = (b'!'..=b'~').contains(&b) && b != b'=' || (b == b' ' && !before_break);
            if literal {
                out.push(b);
            } else if lower {
                out.extend_from_slice(format!("={b:02x}").as_bytes());
            } else {
                out.extend_from_slice(format!("={b:02X}").as_bytes());
            }
            i += 1;
            since_soft += 1;
            if since_soft == soft.max(1) {
                out.extend_from_slice(b"= \r\n");
                since_soft = 0;
            }
        }
        out
    }

    proptest! {
        #[test]
        fn base64_in_pieces_equals_one_shot(
            bytes in prop::collection::vec(any::<u8>(), 0..600),
            width in 1usize..100,
            cuts in prop::collection::vec(any::<usize>(), 0..12),
        ) {
            let encoded = base64_lines(&bytes, width);
            let whole = one_shot("base64", &encoded);
            prop_assert_eq!(&whole, &bytes);
            prop_assert_eq!(decode_in_pieces("base64", &encoded, &cuts), whole);
        }

        #[test]
        fn quoted_printable_in_pieces_equals_one_shot(
            text in prop::collection::vec(
                prop_oneof![any::<u8>(), Just(b' '), Just(b'='), Just(b'\t')], 0..400),
            breaks in prop::collection::vec(any::<usize>(), 0..6),
            soft in 1usize..90,
            lower in any::<bool>(),
            cuts in prop::collection::vec(any::<usize>(), 0..12),
        ) {
            // Hard line breaks at some places; lone CR and LF are escaped.
            let mut text = text;
            for at in breaks {
                let at = at % (text.len() + 1);
                text.splice(at..at, *b"\r\n");
            }
            let encoded = qp(&text, soft, lower);
            let whole = one_shot("quoted-printable", &encoded);
            prop_assert_eq!(&whole, &text, "{}", String::from_utf8_lossy(&encoded));
            prop_assert_eq!(decode_in_pieces("quoted-printable", &encoded, &cuts), whole);
        }

        /// Arbitrary input, cut anywhere, decodes as it does whole.
        #[test]
        fn any_input_decodes_the_same_in_pieces(
            input in prop::collection::vec(
                prop_oneof![any::<u8>(), Just(b'='), Just(b'\r'), Just(b'\n'), Just(b' ')], 0..300),
            cuts in prop::collection::vec(any::<usize>(), 0..12),
        ) {
            for encoding in ["base64", "quoted-printable", "8bit"] {
                prop_assert_eq!(
                    decode_in_pieces(encoding, &input, &cuts),
                    one_shot(encoding, &input)
                );
            }
        }
    }

    #[test]
    fn malformed_quoted_printable_stays_as_it_is() {
        for (input, expected) in [
            (&b"a=3Db"[..], &b"a=b"[..]),
            (b"a=zz", b"a=zz"),
            (b"a=3", b"a=3"),
            (b"a=3\r\nb", b"a=3\r\nb"),
            (b"a==3D", b"a=="),
            (b"x  \r\ny\t\n", b"x\r\ny\n"),
            (b"soft=\r\nbreak=  \nend=", b"softbreakend"),
            (b"a = b", b"a =b"),
        ] {
            assert_eq!(
                one_shot("quoted-printable", input),
                expected,
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn base64_ends_at_padding_and_skips_noise() {
        assert_eq!(one_shot("base64", b"aGk=\r\nIGlnbm9yZWQ="), b"hi");
        assert_eq!(one_shot("base64", b"aG\r\n k*"), b"hi");
        assert_eq!(one_shot("base64", b"aGkx\r\nQ"), b"hi1");
        assert_eq!(one_shot("BINARY", b"=\r\n"), b"=\r\n");
    }
}
