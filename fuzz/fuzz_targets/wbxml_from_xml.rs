//! Any text: the XML reader never panics, and what it accepts encodes to
//! WBXML that decodes again.
#![no_main]
use horde_activesync::wbxml::{self, xml, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(tree) = xml::from_xml(text) else {
        return;
    };
    let bytes = wbxml::encode(&tree);
    wbxml::decode(&bytes, &Limits::default()).expect("encoded XML decodes");
});
