//! Inputs that once misbehaved (found by the property tests or the fuzzer),
//! kept so they stay fixed.
use horde_activesync::wbxml::{self, xml, Limits, Reason};

fn decode(body: &[u8]) -> Result<wbxml::Element, wbxml::DecodeError> {
    let bytes = [&[0x03, 0x01, 0x6A, 0x00][..], body].concat();
    wbxml::decode(&bytes, &Limits::default())
}

#[test]
fn content_flag_without_content_normalises_to_an_empty_tag() {
    // proptest: `45 01` decodes to an element without children, which the
    // tree (and so the encoder) writes as `05`; the tree is unchanged.
    let t = decode(&[0x45, 0x01]).unwrap();
    assert!(t.children.is_empty());
    assert_eq!(&wbxml::encode(&t)[4..], &[0x05]);
}

#[test]
fn largest_multi_byte_integer_is_a_length_not_an_overflow() {
    let e = decode(&[0x45, 0xC3, 0x8F, 0xFF, 0xFF, 0xFF, 0x7F]).unwrap_err();
    assert_eq!(e.reason, Reason::LengthPastEnd { length: u32::MAX });
}

#[test]
fn adjacent_strings_stay_separate_and_exact() {
    let body = [0x45, 0x03, b'a', 0x00, 0x03, 0x00, 0x03, b' ', 0x00, 0x01];
    let t = decode(&body).unwrap();
    assert_eq!(t.children.len(), 3);
    assert_eq!(&wbxml::encode(&t)[4..], &body);
    let text = xml::to_xml(&t);
    assert_eq!(xml::from_xml(&text).unwrap(), t, "{text}");
}
