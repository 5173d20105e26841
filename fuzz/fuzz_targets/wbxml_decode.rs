//! Any bytes: decode never panics; whatever decodes re-encodes to bytes that
//! decode to the same tree, and survives the XML form unchanged.
#![no_main]
use horde_activesync::wbxml::{self, xml, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(tree) = wbxml::decode(data, &Limits::default()) else {
        return;
    };
    let bytes = wbxml::encode(&tree);
    let again = wbxml::decode(&bytes, &Limits::default()).expect("our own output decodes");
    assert_eq!(again, tree, "decode(encode(t)) != t");
    assert_eq!(wbxml::encode(&again), bytes, "encode is not stable");
    let text = xml::to_xml(&tree);
    let back = xml::from_xml(&text).expect("our own XML parses");
    assert_eq!(wbxml::encode(&back), bytes, "XML form lost something:\n{text}");
});
