//! ResolveRecipients (MS-ASCMD 2.2.1.15): each `To` (a name or an address)
//! is looked up in the user's own address books and the `[gal] sources`
//! directory (rule in `backend::directory`). A `To` that is an address and
//! matches one entry's address exactly, or matches one entry at all, is
//! resolved (Status 1); several matches are suggestions (2, or 3 when
//! `MaxAmbiguousRecipients` cut the list); none is Status 4. Certificates:
//! the S/MIME certificates stored with the contact (`Session::certificates`:
//! Turba's `smimePublicKey`; the embedded store keeps none, so Status 7 "no
//! valid certificate" with count 0), within `MaxCertificates`. From 14.1
//! `Picture` returns the contacts' photos within `MaxSize`/`MaxPictures`
//! (statuses as in Search).
//! `Availability` (14.0+): for a resolved recipient who is a user of this
//! server (`identity::user_of`), `MergedFreeBusy` from the backend's
//! free/busy (`Session::free_busy`: Kronolith's published free/busy, the
//! embedded store's events), one digit per 30 minutes; anyone else gets
//! Status 163 (no free/busy data). The window runs from StartTime to
//! EndTime (default seven days, at least 30 minutes, at most 42 days as
//! Exchange 2010 allows; otherwise Status 5).

use super::identity;
use super::search::PictureLimits;
use super::{CommandError, Ctx, Outcome};
use crate::backend::directory;
use crate::backend::free_busy::FreeBusy;
use crate::backend::{BackendError, Collection, Session};
use crate::model::event::BusyStatus;
use crate::model::{Class, Contact};
use crate::wbxml::codepages::resolverecipients as r;
use crate::wbxml::Element;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};

/// ResolveRecipients:Status values (MS-ASCMD 2.2.3.177.12).
pub mod status {
    pub const SUCCESS: u32 = 1;
    pub const AMBIGUOUS: u32 = 2;
    pub const AMBIGUOUS_PARTIAL: u32 = 3;
    pub const UNRESOLVED: u32 = 4;
    pub const PROTOCOL_ERROR: u32 = 5;
    /// Certificates: the recipient has no valid S/MIME certificate.
    pub const NO_VALID_CERTIFICATE: u32 = 7;
    /// Certificates: returning them would pass MaxCertificates.
    pub const CERTIFICATE_LIMIT: u32 = 8;
    /// Availability: no free/busy data for this recipient.
    pub const FREE_BUSY_UNAVAILABLE: u32 = 163;
}

/// Recipient:Type values (MS-ASCMD 2.2.3.186.5).
const TYPE_GAL: u32 = 1;
const TYPE_CONTACT: u32 = 2;

/// Most `To` elements and suggestions per `To` (the spec's limits).
const MAX_TO: usize = 100;
const MAX_SUGGESTIONS: usize = 9999;
/// One MergedFreeBusy digit per this much time.
const SLOT_MINUTES: i64 = 30;
/// The window when the request names no EndTime, and the longest allowed.
const DEFAULT_WINDOW_DAYS: i64 = 7;
const MAX_WINDOW_DAYS: i64 = 42;

/// `CertificateRetrieval`: 1 none, 2 full certificates, 3 mini-certificates.
const NO_CERTIFICATES: u32 = 1;
const FULL_CERTIFICATES: u32 = 2;
const MINI_CERTIFICATES: u32 = 3;
/// The most certificates one response carries (MaxCertificates' range).
const MAX_CERTIFICATES: usize = 9999;

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
    let certificates = match options.and_then(|o| o.u32_of(r::CertificateRetrieval)) {
        None | Some(NO_CERTIFICATES) => None,
        Some(FULL_CERTIFICATES) => Some(r::Certificate),
        Some(MINI_CERTIFICATES) => Some(r::MiniCertificate),
        Some(_) => return Ok(status_only(status::PROTOCOL_ERROR)),
    };
    let mut certificates_left = options
        .and_then(|o| o.u32_of(r::MaxCertificates))
        .map_or(MAX_CERTIFICATES, |m| (m as usize).min(MAX_CERTIFICATES));

    let pictures = options
        .and_then(|o| o.child(r::Picture))
        .filter(|_| ctx.req.version.has_contact_pictures())
        .map(|p| PictureLimits::parse(p, r::MaxSize, r::MaxPictures));
    let mut pictures_sent = 0;
    let free_busy_window = match options
        .and_then(|o| o.child(r::Availability))
        .filter(|_| ctx.req.version.has_availability())
    {
        Some(w) => match window(w) {
            Some(window) => Some(window),
            None => return Ok(status_only(status::PROTOCOL_ERROR)),
        },
        None => None,
    };
    // A book named in [gal] sources is the directory even for the user who
    // owns it; the user's other address books are their own contacts.
    let directory_books = ctx.session.gal_collections(&ctx.config.gal.sources)?;
    let own: Vec<_> = ctx
        .session
        .collections()?
        .into_iter()
        .filter(|c| c.class == Class::Contacts && !directory_books.iter().any(|d| d.id == c.id))
        .collect();
    let all_books: Vec<_> = directory_books.iter().chain(&own).cloned().collect();

    let mut response = Element::new(r::ResolveRecipients).with_text(r::Status, status::SUCCESS.to_string());
    for to in wanted {
        let mut found: Vec<(u32, Contact)> = Vec::new();
        for (kind, books) in [(TYPE_GAL, &directory_books), (TYPE_CONTACT, &own)] {
            let mut matches = search_books(ctx.session, books, to)?;
            matches.sort_by_cached_key(|(id, c)| (directory::display_name(c).to_lowercase(), id.clone()));
            found.extend(matches.into_iter().map(|(_, c)| (kind, c)));
        }
        let wants = Wants {
            max_suggestions,
            pictures,
        };
        // What a resolved recipient gets besides its name: Availability,
        // then Certificates (the order of MS-ASCMD 2.2.3.145).
        let mut extras = |address: &str| {
            let mut out = Vec::new();
            if let Some(window) = free_busy_window {
                out.push(availability(ctx, address, window)?);
            }
            if let Some(tag) = certificates {
                out.push(certificates_of(ctx, &all_books, address, tag, &mut certificates_left)?);
            }
            Ok(out)
        };
        response.push(answer(to, found, &wants, &mut pictures_sent, &mut extras)?);
    }
    Ok(Outcome::Wbxml(response))
}

/// The contacts of `books` matching `to`. A book that is gone or unreadable
/// by now (deleted since the book list was read) is left out with a log
/// rather than failing the whole command: the search is tried book by book
/// when the one search over all of them fails that way.
fn search_books(
    session: &mut dyn Session,
    books: &[Collection],
    to: &str,
) -> Result<Vec<(String, Contact)>, CommandError> {
    let limit = MAX_SUGGESTIONS + 1;
    let skippable = |e: &BackendError| matches!(e, BackendError::Invalid(_) | BackendError::NotFound(_));
    match session.search_contacts(books, to, limit) {
        Err(e) if skippable(&e) => {
            log::warn!("ResolveRecipients: searching book by book after: {e}");
            let mut found = Vec::new();
            for book in books {
                match session.search_contacts(std::slice::from_ref(book), to, limit) {
                    Ok(mut more) => found.append(&mut more),
                    Err(e) if skippable(&e) => log::warn!("ResolveRecipients: {} left out: {e}", book.id),
                    Err(e) => return Err(e.into()),
                }
            }
            found.truncate(limit);
            Ok(found)
        }
        other => Ok(other?),
    }
}

/// What the request's Options ask for.
struct Wants {
    max_suggestions: usize,
    pictures: Option<PictureLimits>,
}

/// The Availability and Certificates elements of a resolved recipient, by
/// address, as far as the request asked for them.
type ExtrasOf<'a> = dyn FnMut(&str) -> Result<Vec<Element>, CommandError> + 'a;

/// The `Response` for one `To`; `pictures_sent` counts photos across `To`s.
fn answer(
    to: &str,
    mut found: Vec<(u32, Contact)>,
    wants: &Wants,
    pictures_sent: &mut usize,
    extras: &mut ExtrasOf,
) -> Result<Element, CommandError> {
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
        if code == status::SUCCESS {
            for extra in extras(directory::addresses(c).next().unwrap_or_default())? {
                recipient.push(extra);
            }
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
    Ok(e)
}

/// The Certificates of the person at `address`: the stored S/MIME
/// certificates as `Certificate` (CertificateRetrieval 2) or, for 3, as
/// `MiniCertificate` (no smaller form of a certificate is stored, so the
/// certificate itself); Status 7 without one, 8 when they would pass the
/// request's MaxCertificates (CertificateCount then says how many were held
/// back, MS-ASCMD 2.2.3.101).
fn certificates_of(
    ctx: &mut Ctx,
    books: &[Collection],
    address: &str,
    tag: crate::wbxml::Tag,
    left: &mut usize,
) -> Result<Element, CommandError> {
    let found = match ctx.session.certificates(books, address) {
        Ok(found) => found,
        Err(e @ BackendError::AuthFailed) => return Err(e.into()),
        Err(e) => {
            log::warn!("ResolveRecipients: no certificates of {address}: {e}");
            Vec::new()
        }
    };
    let code = match found.len() {
        0 => status::NO_VALID_CERTIFICATE,
        n if n > *left => status::CERTIFICATE_LIMIT,
        _ => status::SUCCESS,
    };
    let mut e = Element::new(r::Certificates)
        .with_text(r::Status, code.to_string())
        .with_text(r::CertificateCount, found.len().to_string());
    if code == status::SUCCESS {
        *left -= found.len();
        for der in found {
            e.push_text(tag, base64::engine::general_purpose::STANDARD.encode(der));
        }
    }
    Ok(e)
}

/// The Availability of the person at `address`: MergedFreeBusy when they
/// are a user of this server with free/busy data, else Status 163. A
/// backend that cannot answer costs the recipient its free/busy, not the
/// whole command.
fn availability(
    ctx: &mut Ctx,
    address: &str,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Element, CommandError> {
    let known = match identity::user_of(ctx.config, address) {
        Some(user) => match ctx.session.free_busy(&user, start, end) {
            Ok(known) => known,
            Err(e @ BackendError::AuthFailed) => return Err(e.into()),
            Err(e) => {
                log::warn!("ResolveRecipients: no free/busy of {address}: {e}");
                None
            }
        },
        None => None,
    };
    Ok(match known {
        Some(fb) => Element::new(r::Availability)
            .with_text(r::Status, status::SUCCESS.to_string())
            .with_text(r::MergedFreeBusy, merged_free_busy(start, end, &fb)),
        None => Element::new(r::Availability)
            .with_text(r::Status, status::FREE_BUSY_UNAVAILABLE.to_string()),
    })
}

/// MergedFreeBusy (MS-ASCMD 2.2.3.107): one digit per 30 minutes from
/// `start` to `end` (the last slot may be shorter): 0 free, 1 tentative,
/// 2 busy, 3 out of office, 4 no data (outside what `fb` covers). A slot
/// takes the highest digit of anything inside it.
pub fn merged_free_busy(start: DateTime<Utc>, end: DateTime<Utc>, fb: &FreeBusy) -> String {
    let slot = Duration::minutes(SLOT_MINUTES);
    let mut out = String::new();
    let mut from = start;
    while from < end {
        let to = (from + slot).min(end);
        let digit = if to <= fb.covered.0 || from >= fb.covered.1 {
            '4'
        } else {
            fb.busy
                .iter()
                .filter(|b| b.start < to && b.end > from)
                .map(|b| match b.status {
                    BusyStatus::Tentative => '1',
                    BusyStatus::OutOfOffice => '3',
                    BusyStatus::Free | BusyStatus::WorkingElsewhere => '0',
                    BusyStatus::Busy => '2',
                })
                .max()
                .unwrap_or('0')
        };
        out.push(digit);
        from = to;
    }
    out
}

/// The window of an Availability request: StartTime, and EndTime or seven
/// days later; `None` (Status 5) when a time is malformed, the window is
/// shorter than 30 minutes or longer than 42 days (MS-ASCMD 2.2.3.61.1).
fn window(w: &Element) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let time = |tag| {
        w.text_of(tag).map(|t| {
            DateTime::parse_from_rfc3339(t.trim())
                .ok()
                .map(|t| t.with_timezone(&Utc))
        })
    };
    let start = time(r::StartTime)??;
    let end = match time(r::EndTime) {
        None => start + Duration::days(DEFAULT_WINDOW_DAYS),
        Some(end) => end?,
    };
    let length = end - start;
    (length >= Duration::minutes(SLOT_MINUTES) && length <= Duration::days(MAX_WINDOW_DAYS))
        .then_some((start, end))
}

fn status_only(code: u32) -> Outcome {
    Outcome::Wbxml(Element::new(r::ResolveRecipients).with_text(r::Status, code.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::free_busy::Busy;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, h, m, 0).unwrap()
    }

    fn busy(from: DateTime<Utc>, to: DateTime<Utc>, status: BusyStatus) -> Busy {
        Busy {
            start: from,
            end: to,
            status,
        }
    }

    #[test]
    fn one_digit_per_half_hour_highest_wins() {
        let fb = FreeBusy {
            covered: (at(8, 0), at(20, 0)),
            busy: vec![
                busy(at(9, 0), at(10, 0), BusyStatus::Busy),
                busy(at(9, 45), at(10, 10), BusyStatus::OutOfOffice),
                busy(at(11, 0), at(11, 30), BusyStatus::Tentative),
                busy(at(12, 0), at(12, 30), BusyStatus::Free),
            ],
        };
        // 08:00 .. 13:00: ten slots.
        assert_eq!(merged_free_busy(at(8, 0), at(13, 0), &fb), "0023301000");
        // A window not on the half hour, ending mid-slot.
        assert_eq!(merged_free_busy(at(8, 50), at(10, 5), &fb), "233");
        // Outside what is covered: no data.
        assert_eq!(merged_free_busy(at(19, 0), at(21, 0), &fb), "0044");
        let nothing = FreeBusy {
            covered: (at(8, 0), at(20, 0)),
            busy: Vec::new(),
        };
        assert_eq!(merged_free_busy(at(8, 0), at(9, 0), &nothing), "00");
    }

    /// A backend whose address book "gone" was deleted under the request:
    /// any search that includes it fails as Horde's does.
    struct VanishingBook;

    impl Session for VanishingBook {
        fn collections(&mut self) -> crate::backend::Result<Vec<Collection>> {
            Ok(Vec::new())
        }
        fn create_collection(
            &mut self,
            _: Class,
            name: &str,
            _: Option<&str>,
        ) -> crate::backend::Result<Collection> {
            Err(BackendError::Invalid(name.into()))
        }
        fn rename_collection(&mut self, id: &str, _: &str) -> crate::backend::Result<()> {
            Err(BackendError::NotFound(id.into()))
        }
        fn delete_collection(&mut self, id: &str) -> crate::backend::Result<()> {
            Err(BackendError::NotFound(id.into()))
        }
        fn cursor(&mut self, c: &Collection) -> crate::backend::Result<String> {
            Err(BackendError::NotFound(c.id.clone()))
        }
        fn list(
            &mut self,
            c: &Collection,
            _: crate::backend::Window,
        ) -> crate::backend::Result<Vec<String>> {
            Err(BackendError::NotFound(c.id.clone()))
        }
        fn changes(
            &mut self,
            c: &Collection,
            _: &String,
        ) -> crate::backend::Result<crate::backend::ChangeSet> {
            Err(BackendError::NotFound(c.id.clone()))
        }
        fn fetch(
            &mut self,
            c: &Collection,
            _: &[String],
        ) -> crate::backend::Result<Vec<(String, crate::model::Item)>> {
            Err(BackendError::NotFound(c.id.clone()))
        }
        fn add(&mut self, c: &Collection, _: &crate::model::Item) -> crate::backend::Result<String> {
            Err(BackendError::NotFound(c.id.clone()))
        }
        fn replace(
            &mut self,
            c: &Collection,
            _: &str,
            _: &crate::model::Item,
        ) -> crate::backend::Result<()> {
            Err(BackendError::NotFound(c.id.clone()))
        }
        fn delete(&mut self, c: &Collection, _: &str) -> crate::backend::Result<()> {
            Err(BackendError::NotFound(c.id.clone()))
        }
        fn move_item(
            &mut self,
            c: &Collection,
            _: &str,
            _: &Collection,
        ) -> crate::backend::Result<String> {
            Err(BackendError::NotFound(c.id.clone()))
        }
        fn search_contacts(
            &mut self,
            books: &[Collection],
            _: &str,
            _: usize,
        ) -> crate::backend::Result<Vec<(String, Contact)>> {
            if books.iter().any(|b| b.id == "gone") {
                return Err(BackendError::Invalid("Invalid address book: gone".into()));
            }
            Ok(books
                .iter()
                .map(|b| (format!("{}-1", b.id), Contact::default()))
                .collect())
        }
    }

    fn book(id: &str) -> Collection {
        Collection {
            id: id.into(),
            class: Class::Contacts,
            name: id.into(),
            is_default: false,
            parent: None,
            role: None,
        }
    }

    #[test]
    fn a_book_deleted_meanwhile_is_left_out() {
        let books = [book("a"), book("gone"), book("b")];
        let found = search_books(&mut VanishingBook, &books, "x").unwrap();
        let ids: Vec<&str> = found.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["a-1", "b-1"]);
    }

    #[test]
    fn window_defaults_and_limits() {
        let avail = |start: &str, end: Option<&str>| {
            let mut e = Element::new(r::Availability).with_text(r::StartTime, start);
            if let Some(end) = end {
                e.push_text(r::EndTime, end);
            }
            window(&e)
        };
        let start = "2026-12-01T08:00:00.000Z";
        assert_eq!(
            avail(start, None).map(|(s, e)| e - s),
            Some(Duration::days(7))
        );
        assert!(avail(start, Some("2026-12-01T08:30:00.000Z")).is_some());
        assert!(avail(start, Some("2026-12-01T08:29:00.000Z")).is_none());
        assert!(avail(start, Some("2027-01-13T08:00:00.000Z")).is_none(), "43 days");
        assert!(avail("yesterday", None).is_none());
        assert!(window(&Element::new(r::Availability)).is_none());
    }
}
