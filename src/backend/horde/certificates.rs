//! S/MIME certificates of a person, for ResolveRecipients: Turba keeps a
//! contact's certificate in its `smimePublicKey` field (PEM text), and
//! `contacts.getField(address, field, sources, strict, multiple)` finds it
//! by e-mail address in the named address books in one call.

use super::rpc::RpcClient;
use crate::backend::{BackendError, Collection, Result};
use crate::model::Class;
use base64::Engine;
use serde_json::{json, Value};

/// The DER certificates stored for `address` in these address books. Turba
/// answers an error when no contact has one ("No smimePublicKey entry
/// found"), which is an empty list here.
pub fn certificates(
    rpc: &mut RpcClient,
    books: &[Collection],
    address: &str,
) -> Result<Vec<Vec<u8>>> {
    let sources: Vec<&str> = books
        .iter()
        .filter(|b| b.class == Class::Contacts)
        .map(|b| b.id.as_str())
        .collect();
    if sources.is_empty() || address.trim().is_empty() {
        return Ok(Vec::new());
    }
    let found = match rpc.call(
        "contacts.getField",
        json!([address.trim(), "smimePublicKey", sources, true, true]),
    ) {
        Ok(v) => v,
        Err(e @ (BackendError::AuthFailed | BackendError::Unavailable(_))) => return Err(e),
        Err(_) => return Ok(Vec::new()),
    };
    let texts: Vec<&str> = match &found {
        Value::String(s) => vec![s.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    Ok(texts.into_iter().flat_map(pem_certificates).collect())
}

/// The certificates of a PEM text (each `BEGIN CERTIFICATE` block, as DER).
/// Anything else in it (keys, garbage) is ignored.
pub fn pem_certificates(text: &str) -> Vec<Vec<u8>> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let Some(stop) = after.find(END) else {
            break;
        };
        let body: String = after[..stop]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(body) {
            out.push(der);
        }
        rest = &after[stop + END.len()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_blocks_of_a_pem_text() {
        let text = "junk\n-----BEGIN CERTIFICATE-----\nAAEC\nAw==\n-----END CERTIFICATE-----\n\
                    -----BEGIN PRIVATE KEY-----\nBBBB\n-----END PRIVATE KEY-----\n\
                    -----BEGIN CERTIFICATE-----\nBAU=\n-----END CERTIFICATE-----\n\
                    -----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n";
        assert_eq!(pem_certificates(text), vec![vec![0, 1, 2, 3], vec![4, 5]]);
        assert!(pem_certificates("no certificate").is_empty());
    }
}
