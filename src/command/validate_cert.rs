//! ValidateCert (MS-ASCMD 2.2.1.22): the device asks whether S/MIME
//! certificates can be trusted. Each `Certificate` is verified with
//! rustls-webpki against the roots of `[validate_cert] ca_files` (the
//! system bundle by default), with the `CertificateChain` certificates as
//! intermediates, for e-mail protection where the certificate names its
//! uses, at the time of the request. Each gets its own Status, in request
//! order.
//!
//! Revocation is not checked (no CRL or OCSP fetching): when the device
//! asks for it (`CheckCRL` 1), a certificate that passes every other check
//! gets 16, "revocation status cannot be determined", rather than a
//! success the server cannot vouch for.

use super::{CommandError, Ctx, Outcome};
use crate::wbxml::codepages::validatecert as v;
use crate::wbxml::Element;
use base64::Engine;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use std::path::PathBuf;
use webpki::{EndEntityCert, Error as PkiError, KeyUsage};

/// ValidateCert:Status values (MS-ASCMD 2.2.3.177.18).
pub mod status {
    pub const SUCCESS: u32 = 1;
    pub const PROTOCOL_ERROR: u32 = 2;
    pub const SIGNATURE_INVALID: u32 = 3;
    pub const UNTRUSTED_SOURCE: u32 = 4;
    pub const CHAIN_INCORRECT: u32 = 5;
    pub const NOT_FOR_EMAIL: u32 = 6;
    pub const EXPIRED_OR_NOT_YET_VALID: u32 = 7;
    pub const USED_INCORRECTLY: u32 = 9;
    pub const INFORMATION_INCORRECT: u32 = 10;
    pub const REVOKED: u32 = 13;
    pub const REVOCATION_UNKNOWN: u32 = 16;
    pub const SERVER_ERROR: u32 = 17;
}

/// id-kp-emailProtection (1.3.6.1.5.5.7.3.4), DER value bytes.
const EKU_EMAIL_PROTECTION: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x04];

/// Most certificates one request may ask about.
const MAX_CERTIFICATES: usize = 100;

pub fn run(ctx: &mut Ctx, body: Option<&Element>) -> Result<Outcome, CommandError> {
    let Some(body) = body.filter(|b| b.tag == v::ValidateCert) else {
        return Ok(Outcome::Wbxml(status_only(status::PROTOCOL_ERROR)));
    };
    let certificates: Vec<&Element> = body
        .child(v::Certificates)
        .map(|c| c.children_with(v::Certificate).collect())
        .unwrap_or_default();
    if certificates.is_empty() || certificates.len() > MAX_CERTIFICATES {
        return Ok(Outcome::Wbxml(status_only(status::PROTOCOL_ERROR)));
    }
    let chain: Option<Vec<CertificateDer<'static>>> = body
        .child(v::CertificateChain)
        .map(|c| c.children_with(v::Certificate).map(der_of).collect())
        .unwrap_or(Some(Vec::new()));
    let Some(chain) = chain else {
        return Ok(Outcome::Wbxml(status_only(status::PROTOCOL_ERROR)));
    };
    let check_crl = body.text_of(v::CheckCRL).map(str::trim) == Some("1");
    let Some(roots) = load_roots(&ctx.config.validate_cert.ca_files) else {
        return Ok(Outcome::Wbxml(status_only(status::SERVER_ERROR)));
    };
    let anchors: Vec<TrustAnchor> = roots
        .iter()
        .filter_map(|r| webpki::anchor_from_trusted_cert(r).ok())
        .collect();
    let now = UnixTime::since_unix_epoch(
        ctx.now
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default(),
    );
    let mut response = status_only(status::SUCCESS);
    for certificate in certificates {
        let code = match der_of(certificate) {
            None => status::INFORMATION_INCORRECT,
            Some(der) => verify(&der, &chain, &anchors, now, check_crl),
        };
        response.push(Element::new(v::Certificate).with_text(v::Status, code.to_string()));
    }
    Ok(Outcome::Wbxml(response))
}

fn status_only(code: u32) -> Element {
    Element::new(v::ValidateCert).with_text(v::Status, code.to_string())
}

/// The DER bytes of a `Certificate`: base64 text (as the spec says), or
/// opaque data holding either base64 or the DER itself.
fn der_of(e: &Element) -> Option<CertificateDer<'static>> {
    let raw: Vec<u8> = match (e.text(), e.bytes()) {
        (Some(text), _) => text.as_bytes().to_vec(),
        (None, Some(bytes)) => bytes.to_vec(),
        (None, None) => return None,
    };
    let compact: Vec<u8> = raw.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .ok()
        .or_else(|| raw.first().is_some_and(|b| *b == 0x30).then_some(raw))?;
    Some(CertificateDer::from(der))
}

/// The certificates of every readable PEM file; `None` when none is usable.
fn load_roots(files: &[PathBuf]) -> Option<Vec<CertificateDer<'static>>> {
    let mut roots = Vec::new();
    for file in files {
        match CertificateDer::pem_file_iter(file) {
            Ok(certs) => roots.extend(certs.filter_map(Result::ok)),
            Err(e) => log::warn!("ValidateCert: trusted roots {}: {e}", file.display()),
        }
    }
    if roots.is_empty() {
        log::error!("ValidateCert: no trusted root certificate could be read ([validate_cert] ca_files)");
        return None;
    }
    Some(roots)
}

/// The Status of one certificate.
fn verify(
    der: &CertificateDer,
    chain: &[CertificateDer<'static>],
    anchors: &[TrustAnchor],
    now: UnixTime,
    check_crl: bool,
) -> u32 {
    let Ok(cert) = EndEntityCert::try_from(der) else {
        return status::INFORMATION_INCORRECT;
    };
    let result = cert.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        anchors,
        chain,
        now,
        KeyUsage::required_if_present(EKU_EMAIL_PROTECTION),
        None,
        None,
    );
    match result {
        Ok(_) if check_crl => status::REVOCATION_UNKNOWN,
        Ok(_) => status::SUCCESS,
        Err(e) => status_of(&e),
    }
}

/// The spec's status for a webpki verdict.
fn status_of(e: &PkiError) -> u32 {
    match e {
        PkiError::CertExpired { .. } | PkiError::CertNotValidYet { .. } => {
            status::EXPIRED_OR_NOT_YET_VALID
        }
        PkiError::UnknownIssuer | PkiError::CertDistrusted => status::UNTRUSTED_SOURCE,
        PkiError::InvalidSignatureForPublicKey
        | PkiError::SignatureAlgorithmMismatch
        | PkiError::UnsupportedSignatureAlgorithmContext(_)
        | PkiError::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            status::SIGNATURE_INVALID
        }
        PkiError::RequiredEkuNotFoundContext(_) => {
            status::NOT_FOR_EMAIL
        }
        PkiError::CaUsedAsEndEntity
        | PkiError::EndEntityUsedAsCa
        | PkiError::PathLenConstraintViolated
        | PkiError::NameConstraintViolation => status::USED_INCORRECTLY,
        PkiError::CertRevoked => status::REVOKED,
        PkiError::BadDer
        | PkiError::BadDerTime
        | PkiError::InvalidCertValidity
        | PkiError::MalformedExtensions
        | PkiError::ExtensionValueInvalid
        | PkiError::UnsupportedCertVersion
        | PkiError::UnsupportedCriticalExtension
        | PkiError::TrailingData(_) => status::INFORMATION_INCORRECT,
        _ => status::CHAIN_INCORRECT,
    }
}
