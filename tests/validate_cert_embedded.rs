//! ValidateCert through a real `serve`: certificates made with openssl (a
//! test root trusted through `[validate_cert] ca_files`, an intermediate
//! passed as CertificateChain, good, expired, foreign, TLS-only and broken
//! leaves) each get the spec's status; CheckCRL is answered honestly.

mod support;

use base64::Engine;
use horde_activesync::wbxml::codepages::validatecert as v;
use horde_activesync::wbxml::Element;
use std::path::Path;
use std::process::Command;
use support::client::Client;
use support::serve::Served;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A self-signed root `name` (CA:TRUE).
fn root(dir: &Path, name: &str) {
    self_signed(dir, name, &[]);
}

/// A self-signed certificate `name` with the extra `-addext` arguments in `ext`.
fn self_signed(dir: &Path, name: &str, ext: &[&str]) {
    let subject = format!("/CN={name}");
    let (key, pem) = (format!("{name}.key"), format!("{name}.pem"));
    let mut args = vec![
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "30",
        "-subj",
        &subject,
        "-keyout",
        &key,
        "-out",
        &pem,
    ];
    args.extend_from_slice(ext);
    openssl(dir, &args);
}

/// `name` signed by `issuer` with the extensions in `ext` (one per line).
fn issue(dir: &Path, name: &str, issuer: &str, ext: &str, dates: Option<(&str, &str)>) {
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
        ],
    );
    std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
    match dates {
        None => openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                &format!("{issuer}.pem"),
                "-CAkey",
                &format!("{issuer}.key"),
                "-CAcreateserial",
                "-days",
                "30",
                "-extfile",
                &format!("{name}.ext"),
                "-out",
                &format!("{name}.pem"),
            ],
        ),
        // Dates in the past need `openssl ca` (x509 -req cannot set them).
        Some((start, end)) => {
            std::fs::write(
                dir.join("ca.cnf"),
                "[ca]\ndefault_ca = t\n[t]\ndatabase = index.txt\nnew_certs_dir = .\n\
                 serial = serial\ndefault_md = sha256\npolicy = any\nunique_subject = no\n\
                 [any]\ncommonName = supplied\n",
            )
            .unwrap();
            std::fs::write(dir.join("index.txt"), "").unwrap();
            std::fs::write(dir.join("serial"), "1000\n").unwrap();
            openssl(
                dir,
                &[
                    "ca",
                    "-batch",
                    "-config",
                    "ca.cnf",
                    "-notext",
                    "-cert",
                    &format!("{issuer}.pem"),
                    "-keyfile",
                    &format!("{issuer}.key"),
                    "-in",
                    &format!("{name}.csr"),
                    "-out",
                    &format!("{name}.pem"),
                    "-startdate",
                    start,
                    "-enddate",
                    end,
                    "-extfile",
                    &format!("{name}.ext"),
                ],
            );
        }
    }
}

/// The DER of a PEM file, base64 as the device sends it.
fn b64(dir: &Path, name: &str) -> String {
    let pem = std::fs::read_to_string(dir.join(format!("{name}.pem"))).unwrap();
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    // Round-trip to be sure it is plain base64 of the DER.
    let der = base64::engine::general_purpose::STANDARD
        .decode(&body)
        .unwrap();
    base64::engine::general_purpose::STANDARD.encode(der)
}

fn validate(client: &Client, certs: &[String], chain: &[String], check_crl: bool) -> Vec<String> {
    let mut req = Element::new(v::ValidateCert);
    if !chain.is_empty() {
        let mut c = Element::new(v::CertificateChain);
        for cert in chain {
            c.push_text(v::Certificate, cert.clone());
        }
        req.push(c);
    }
    let mut c = Element::new(v::Certificates);
    for cert in certs {
        c.push_text(v::Certificate, cert.clone());
    }
    req.push(c);
    if check_crl {
        req.push_text(v::CheckCRL, "1");
    }
    let r = client.post("ValidateCert", Some(&req));
    assert_eq!(r.status, 200);
    let body = r.body.unwrap();
    assert_eq!(
        body.text_of(v::Status),
        Some("1"),
        "{}",
        horde_activesync::wbxml::xml::to_xml(&body)
    );
    body.children_with(v::Certificate)
        .map(|c| c.text_of(v::Status).unwrap().to_string())
        .collect()
}

#[test]
fn each_certificate_gets_the_specs_status() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    root(dir, "root");
    root(dir, "stranger");
    let ca = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n";
    let smime = "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n\
                 extendedKeyUsage=emailProtection\nsubjectAltName=email:alice@example.test\n";
    let tls = "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n";
    issue(dir, "intermediate", "root", ca, None);
    issue(dir, "good", "intermediate", smime, None);
    issue(
        dir,
        "expired",
        "intermediate",
        smime,
        Some(("20200101000000Z", "20210101000000Z")),
    );
    issue(dir, "foreign", "stranger", smime, None);
    issue(dir, "tls", "intermediate", tls, None);
    // A self-signed S/MIME certificate (not a CA).
    self_signed(
        dir,
        "self",
        &[
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "extendedKeyUsage=emailProtection",
        ],
    );

    let served = Served::start(
        "[provisioning]\nmode = \"none\"\n[validate_cert]\nca_files = [\"trusted.pem\"]\n",
        &[("alice", "pw")],
    );
    std::fs::copy(dir.join("root.pem"), served.dir.path().join("trusted.pem")).unwrap();
    let client = Client::new(&served.url, "alice", "pw", "PHONE1", "TestPhone", "14.1");
    let chain = [b64(dir, "intermediate")];
    let certs = [
        b64(dir, "good"),
        b64(dir, "expired"),
        b64(dir, "foreign"),
        b64(dir, "tls"),
        "bm90IGEgY2VydGlmaWNhdGU=".to_string(),
        b64(dir, "self"),
        b64(dir, "stranger"),
    ];
    // good, expired, issued by an untrusted CA, TLS-only, not a certificate,
    // self-signed, and a CA certificate used as a person's.
    assert_eq!(
        validate(&client, &certs, &chain, false),
        ["1", "7", "4", "6", "10", "4", "9"]
    );
    // Without the intermediate the good certificate has no path to the root.
    assert_eq!(validate(&client, &certs[..1], &[], false), ["4"]);
    // Revocation cannot be checked: said so, not claimed as success.
    assert_eq!(validate(&client, &certs[..2], &chain, true), ["16", "7"]);

    // No Certificates at all is a protocol error of the command.
    let r = client.post("ValidateCert", Some(&Element::new(v::ValidateCert)));
    assert_eq!(r.body.unwrap().text_of(v::Status), Some("2"));
}
