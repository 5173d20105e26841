//! Looking people up by name or address: the matching rule shared by every
//! backend's `Session::search_contacts` (Search GAL, ResolveRecipients).
//!
//! Like Exchange's ambiguous name resolution, a query matches a contact when
//! it is a case-insensitive prefix of one of its name words (first, last,
//! nick name, file-as, company), of its whole "First Last" name, or of one
//! of its e-mail addresses.

use crate::model::Contact;

/// Whether `contact` matches `query` (already trimmed, not empty).
pub fn matches(contact: &Contact, query: &str) -> bool {
    let query = query.to_lowercase();
    let starts = |s: &str| s.to_lowercase().starts_with(&query);
    let words = [
        &contact.first_name,
        &contact.last_name,
        &contact.nick_name,
        &contact.file_as,
        &contact.company_name,
    ];
    words
        .iter()
        .filter_map(|w| w.as_deref())
        .any(|w| starts(w) || w.split([' ', ',', '-']).any(starts))
        || starts(&display_name(contact))
        || addresses(contact).any(starts)
}

/// The contact's e-mail addresses, the bare address of `Name <addr>` forms.
pub fn addresses(contact: &Contact) -> impl Iterator<Item = &str> {
    [
        &contact.email1_address,
        &contact.email2_address,
        &contact.email3_address,
    ]
    .into_iter()
    .filter_map(|a| a.as_deref())
    .map(bare_address)
}

/// `addr` of `"Name" <addr>`, else the trimmed text.
pub fn bare_address(text: &str) -> &str {
    match (text.rfind('<'), text.rfind('>')) {
        (Some(open), Some(close)) if open < close => text[open + 1..close].trim(),
        _ => text.trim(),
    }
}

/// The name shown for a contact: "First Last", else FileAs, else the
/// company, else the first address.
pub fn display_name(contact: &Contact) -> String {
    let name: Vec<&str> = [&contact.first_name, &contact.last_name]
        .into_iter()
        .filter_map(|p| p.as_deref())
        .filter(|p| !p.trim().is_empty())
        .collect();
    if !name.is_empty() {
        return name.join(" ");
    }
    contact
        .file_as
        .clone()
        .or_else(|| contact.company_name.clone())
        .or_else(|| addresses(contact).next().map(str::to_string))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann() -> Contact {
        Contact {
            first_name: Some("Ann".into()),
            last_name: Some("van Berg".into()),
            company_name: Some("Acme Corp".into()),
            email1_address: Some("\"Ann\" <ann.berg@example.test>".into()),
            ..Contact::default()
        }
    }

    #[test]
    fn prefix_of_names_words_and_addresses() {
        for q in [
            "an",
            "ANN",
            "berg",
            "van b",
            "ann van",
            "acme",
            "corp",
            "ann.berg@",
        ] {
            assert!(matches(&ann(), q), "{q}");
        }
        for q in ["nn", "example", "bob", "ann.berg@example.test2"] {
            assert!(!matches(&ann(), q), "{q}");
        }
        assert_eq!(display_name(&ann()), "Ann van Berg");
        assert_eq!(
            addresses(&ann()).collect::<Vec<_>>(),
            ["ann.berg@example.test"]
        );
        let only_mail = Contact {
            email2_address: Some("x@y".into()),
            ..Contact::default()
        };
        assert_eq!(display_name(&only_mail), "x@y");
    }
}
