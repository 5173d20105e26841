//! ResolveRecipients (MS-ASCMD 2.2.1.15): each `To` (a name or an address)
//! is looked up in the user's own address books and the `[gal] sources`
//! directory (rule in `backend::directory`). A `To` that is an address and
//! matches one entry's address exactly, or matches one entry at all, is
//! resolved (Status 1); several matches are suggestions (2, or 3 when
//! `MaxAmbiguousRecipients` cut the list); none is Status 4. Certificates:
//! no S/MIME certificates are stored, so a request for them gets Status 7
//! (no valid certificate) with count 0. From 14.1 `Picture` returns the
//! contacts' photos within `MaxSize`/`MaxPictures` (statuses as in Search).
//! `Availability` (14.0+) is answered per resolved recipient with Status
//! 163, "free/busy data not available": neither backend can read another
//! person's calendar yet.

use super::search::PictureLimits;
use super::{CommandError, Ctx, Outcome};
use base64::Engine;
use crate::backend::directory;
use crate::model::{Class, Contact};
use crate::wbxml::codepages::resolverecipients as r;
use crate::wbxml::Element;

/// ResolveRecipients:Status values (MS-ASCMD 2.2.3.177.12).
pub mod status {
    pub const SUCCESS: u32 = 1;
    pub const AMBIGUOUS: u32 = 2;
    pub const AMBIGUOUS_PARTIAL: u32 = 3;
    pub const UNRESOLVED: u32 = 4;
    pub const PROTOCOL_ERROR: u32 = 5;
    /// Certificates: the recipient has no valid S/MIME certificate.
    pub const NO_VALID_CERTIFICATE: u32 = 7;
    /// Availability: no free/busy data for this recipient.
    pub const FREE_BUSY_UNAVAILABLE: u32 = 163;
}

/// Recipient:Type values (MS-ASCMD 2.2.3.186.5).
const TYPE_GAL: u32 = 1;
const TYPE_CONTACT: u32 = 2;

/// Most `To` elements and suggestions per `To` (the spec's limits).
const MAX_TO: usize = 100;
const MAX_SUGGESTIONS: usize = 9999;
/// `CertificateRetrieval` 1 = do not retrieve certificates.
const NO_CERTIFICATES: u32 = 1;

pub fn run(ctx: &mut Ctx, body: Option<&Element>) -> Result<Outcome, CommandError> {
    let Some(body) = body.filter(|b| b.tag == r::ResolveRecipients) else {
        return Ok(status_only(status::PROTOCOL_ERROR));
    };
    let wanted: Vec<&str> = body
        .children_with(r::To)
        .map(|t| t.text().unwrap_or_default().trim())
        .collect();
    if wanted.is_empty() || wanted.len() > MAX_TO || wanted.iter().any(|t| t.is_empty()) {
        return Ok(status_only(status::PROTOCOL_ERROR));
    }
    let options = body.child(r::Options);
    let max_suggestions = options
        .and_then(|o| o.u32_of(r::MaxAmbiguousRecipients))
        .map_or(MAX_SUGGESTIONS, |m| (m as usize).min(MAX_SUGGESTIONS));
    let certificates = options
        .and_then(|o| o.u32_of(r::CertificateRetrieval))
        .is_some_and(|c| c != NO_CERTIFICATES);

    let pictures = options
        .and_then(|o| o.child(r::Picture))
        .filter(|_| ctx.req.version.has_contact_pictures())
        .map(|p| PictureLimits::parse(p, r::MaxSize, r::MaxPictures));
    let mut pictures_sent = 0;
    let window = options
        .and_then(|o| o.child(r::Availability))
        .filter(|_| ctx.req.version.has_availability());
    if window.is_some_and(|w| !valid_window(w)) {
        return Ok(status_only(status::PROTOCOL_ERROR));
    }
    let availability = window.is_some();
    // A book named in [gal] sources is the directory even for the user who
    // owns it; the user's other address books are their own contacts.
    let directory_books = ctx.session.gal_collections(&ctx.config.gal.sources)?;
    let own: Vec<_> = ctx
        .session
        .collections()?
        .into_iter()
        .filter(|c| c.class == Class::Contacts && !directory_books.iter().any(|d| d.id == c.id))
        .collect();

    let mut response = Element::new(r::ResolveRecipients).with_text(r::Status, status::SUCCESS.to_string());
    for to in wanted {
        let mut found: Vec<(u32, Contact)> = Vec::new();
        for (kind, books) in [(TYPE_GAL, &directory_books), (TYPE_CONTACT, &own)] {
            let mut matches = ctx.session.search_contacts(books, to, MAX_SUGGESTIONS + 1)?;
            matches.sort_by_cached_key(|(id, c)| (directory::display_name(c).to_lowercase(), id.clone()));
            found.extend(matches.into_iter().map(|(_, c)| (kind, c)));
        }
        let wants = Wants {
            max_suggestions,
            certificates,
            pictures,
            availability,
        };
        response.push(answer(to, found, &wants, &mut pictures_sent));
    }
    Ok(Outcome::Wbxml(response))
}

/// What the request's Options ask for.
struct Wants {
    max_suggestions: usize,
    certificates: bool,
    pictures: Option<PictureLimits>,
    availability: bool,
}

/// The `Response` for one `To`; `pictures_sent` counts photos across `To`s.
fn answer(to: &str, mut found: Vec<(u32, Contact)>, wants: &Wants, pictures_sent: &mut usize) -> Element {
    let max = wants.max_suggestions;
    // One entry per address: the directory's wins over a private copy.
    let mut seen: Vec<String> = Vec::new();
    found.retain(|(_, c)| match directory::addresses(c).next() {
        Some(a) if seen.iter().any(|s| s.eq_ignore_ascii_case(a)) => false,
        Some(a) => {
            seen.push(a.to_string());
            true
        }
        None => false,
    });
    let exact: Vec<&(u32, Contact)> = found
        .iter()
        .filter(|(_, c)| directory::addresses(c).any(|a| a.eq_ignore_ascii_case(to)))
        .collect();
    let (code, shown): (u32, Vec<&(u32, Contact)>) = match (exact.len(), found.len()) {
        (1, _) => (status::SUCCESS, exact),
        (_, 0) => (status::UNRESOLVED, Vec::new()),
        (_, 1) => (status::SUCCESS, found.iter().collect()),
        (_, n) if n > max => (status::AMBIGUOUS_PARTIAL, found.iter().take(max).collect()),
        _ => (status::AMBIGUOUS, found.iter().collect()),
    };
    let mut e = Element::new(r::Response)
        .with_text(r::To, to)
        .with_text(r::Status, code.to_string())
        .with_text(r::RecipientCount, shown.len().to_string());
    for (kind, c) in shown {
        let mut recipient = Element::new(r::Recipient)
            .with_text(r::Type, kind.to_string())
            .with_text(r::DisplayName, directory::display_name(c))
            .with_text(
                r::EmailAddress,
                directory::addresses(c).next().unwrap_or_default(),
            );
        // Availability and certificates only for a resolved recipient.
        if wants.availability && code == status::SUCCESS {
            recipient.push(
                Element::new(r::Availability)
                    .with_text(r::Status, status::FREE_BUSY_UNAVAILABLE.to_string()),
            );
        }
        if wants.certificates && code == status::SUCCESS {
            recipient.push(
                Element::new(r::Certificates)
                    .with_text(r::Status, status::NO_VALID_CERTIFICATE.to_string())
                    .with_text(r::CertificateCount, "0"),
            );
        }
        if let Some(limits) = wants.pictures {
            let (status, photo) = limits.check(c.picture.as_deref(), pictures_sent);
            let mut picture = Element::new(r::Picture).with_text(r::Status, status.to_string());
            if let Some(photo) = photo {
                picture.push_text(r::Data, base64::engine::general_purpose::STANDARD.encode(photo));
            }
            recipient.push(picture);
        }
        e.push(recipient);
    }
    e
}

/// An Availability request needs a StartTime and, when it has one, an
/// EndTime at least 30 minutes later (MS-ASCMD 2.2.3.16).
fn valid_window(w: &Element) -> bool {
    let time = |tag| {
        w.text_of(tag)
            .map(|t| chrono::DateTime::parse_from_rfc3339(t.trim()).ok())
    };
    match (time(r::StartTime), time(r::EndTime)) {
        (Some(Some(_)), None) => true,
        (Some(Some(start)), Some(Some(end))) => end - start >= chrono::Duration::minutes(30),
        _ => false,
    }
}

fn status_only(code: u32) -> Outcome {
    Outcome::Wbxml(Element::new(r::ResolveRecipients).with_text(r::Status, code.to_string()))
}
