//! `horde-activesync wbxml decode|encode` on files and on stdin/stdout.
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn cli(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_horde-activesync"))
        .arg("wbxml")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/wbxml")
        .join(name)
}

#[test]
fn decode_and_encode_through_pipes_restore_the_bytes() {
    let wire = std::fs::read(corpus("sendmail-request.wbxml")).unwrap();
    let decoded = cli(&["decode"], &wire);
    assert!(decoded.status.success());
    let text = String::from_utf8(decoded.stdout).unwrap();
    assert!(
        text.contains("<Mime opaque=\"text\">From: alice@example.org&#13;"),
        "{text}"
    );
    let encoded = cli(&["encode", "-"], text.as_bytes());
    assert!(encoded.status.success());
    assert_eq!(encoded.stdout, wire);
}

#[test]
fn decode_reads_a_file_argument() {
    let file = corpus("ping-request.wbxml");
    let out = cli(&["decode", file.to_str().unwrap()], b"");
    assert!(out.status.success());
    let expected = std::fs::read_to_string(corpus("ping-request.xml")).unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
}

#[test]
fn bad_input_fails_with_the_reason_and_no_output() {
    let out = cli(&["decode"], &[0x03, 0x01, 0x6A, 0x00, 0x45, 0x03, b'x']);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("byte 6") && err.contains("terminating NUL"),
        "{err}"
    );
    let out = cli(&["encode"], b"<Sync xmlns=\"AirSync\"><Bogus/></Sync>");
    assert!(!out.status.success());
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("unknown tag AirSync:Bogus"));
    let out = cli(&["transcode"], b"");
    assert!(!out.status.success());
    assert!(String::from_utf8(out.stderr).unwrap().contains("usage"));
}
