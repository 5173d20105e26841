//! `serve --tls-cert --tls-key` through real TLS clients (curl and
//! openssl s_client): a self-signed certificate made with openssl for
//! 127.0.0.1, OPTIONS over HTTPS, and a plain-HTTP client refused.

mod support;

use std::path::Path;
use std::process::Command;
use support::serve::Served;

/// A self-signed certificate for 127.0.0.1 (as the README shows).
fn make_certificate(dir: &Path) -> (String, String) {
    let cert = dir.join("cert.pem").display().to_string();
    let key = dir.join("key.pem").display().to_string();
    let st = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .args(["-keyout", &key, "-out", &cert])
        .output()
        .expect("openssl");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    (cert, key)
}

#[test]
fn options_over_https_with_a_verified_certificate() {
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = make_certificate(certs.path());
    let served = Served::start_with_args(
        "",
        &[("alice", "alicepw")],
        &["--tls-cert", &cert, "--tls-key", &key],
    );
    let url = served.url.replacen("http://", "https://", 1);
    let out = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "20",
            "-X",
            "OPTIONS",
            "-D",
            "-",
            "-o",
            "/dev/null",
        ])
        .args(["--cacert", &cert, "-u", "alice:alicepw", &url])
        .output()
        .expect("curl");
    let head = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{head}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let commands = horde_activesync::command::IMPLEMENTED.join(",");
    assert!(
        head.contains(&format!("MS-ASProtocolCommands: {commands}")),
        "{head}"
    );
    // The certificate is checked: without --cacert curl refuses it.
    let st = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "20",
            "-X",
            "OPTIONS",
            "-o",
            "/dev/null",
            &url,
        ])
        .output()
        .unwrap();
    assert!(!st.status.success());

    // openssl s_client sees the certificate and gets an answer.
    let host = served
        .url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let mut child = Command::new("openssl")
        .args([
            "s_client",
            "-quiet",
            "-verify_return_error",
            "-CAfile",
            &cert,
            "-connect",
            &host,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"OPTIONS /Microsoft-Server-ActiveSync HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("HTTP/1.1 401"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A plain-HTTP client gets no HTTP answer from the TLS port.
    let st = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "20",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &served.url,
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&st.stdout), "000");
}
