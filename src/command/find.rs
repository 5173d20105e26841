//! Find (MS-ASCMD 2.2.1.2, protocol 16.1): one search, named by the
//! device's `SearchId`, of either the mailbox (`MailBoxSearchCriterion`:
//! free text, optionally one folder and with `DeepTraversal` its
//! subfolders) or the directory (`GALSearchCriterion`: the same GAL as
//! Search). Results carry the short property sets of the spec (find:
//! Properties with email:/gal: fields), newest mail first, people by
//! display name, with `Range` and `Total`.
//!
//! The searching is Search's own (`search_mailbox::page`,
//! `search::gal_search`); only the request and response shapes are Find's.
//! A Range must start at 0 (a device pages by asking for more rows).
//! FreeText is Keyword Query Language; its words and phrases must all be
//! in a message (IMAP SEARCH TEXT), see [`kql_terms`].

use super::search::{gal_properties, gal_search, parse_range, PictureLimits, DEFAULT_RANGE};
use super::search_mailbox;
use super::{CommandError, Ctx, Outcome};
use crate::backend::Window;
use crate::convert::{eas_email, mime};
use crate::engine::hierarchy::{self, folder_type, Folder};
use crate::model::{Class, Item};
use crate::wbxml::codepages::{airsync as a, email as em, email2, find as f, itemoperations as io};
use crate::wbxml::Element;

/// Find Status values (MS-ASCMD 2.2.3.177.2).
mod status {
    pub const SUCCESS: u32 = 1;
    /// One or more of the search parameters was invalid.
    pub const INVALID_REQUEST: u32 = 2;
    /// The folder hierarchy is out of date (an unknown CollectionId).
    pub const FOLDER_SYNC_REQUIRED: u32 = 3;
    /// The requested range does not begin with 0.
    pub const RANGE_NOT_FROM_ZERO: u32 = 4;
}

/// Longest find:Preview (MS-ASCMD 2.2.3.137: up to 255 characters).
const PREVIEW_CHARS: usize = 255;

pub fn run(ctx: &mut Ctx, body: Option<&Element>) -> Result<Outcome, CommandError> {
    let Some(find) = body.filter(|b| b.tag == f::Find) else {
        return Ok(answer(status::INVALID_REQUEST, None));
    };
    if !ctx.req.version.has_find() {
        log::info!("Find from a {} client (Find is 16.1)", ctx.req.version);
        return Ok(answer(status::INVALID_REQUEST, None));
    }
    let search_id = find
        .text_of(f::SearchId)
        .map(str::trim)
        .filter(|id| !id.is_empty());
    let execute = find.child(f::ExecuteSearch);
    let mailbox = execute.and_then(|e| e.child(f::MailBoxSearchCriterion));
    let gal = execute.and_then(|e| e.child(f::GalSearchCriterion));
    let (Some(_), Some(criterion)) = (search_id, mailbox.or(gal)) else {
        return Ok(answer(status::INVALID_REQUEST, None));
    };
    let store = if mailbox.is_some() { "Mailbox" } else { "GAL" };
    let range = match criterion.path(&[f::Options, f::Range]).and_then(Element::text) {
        Some(text) => parse_range(text),
        None => Some(DEFAULT_RANGE),
    };
    let Some((first, last)) = range else {
        return Ok(answer(status::INVALID_REQUEST, None));
    };
    if first != 0 {
        return Ok(answer(
            status::SUCCESS,
            Some(response(store, status::RANGE_NOT_FROM_ZERO)),
        ));
    }
    let rows = last + 1;
    let found = if mailbox.is_some() {
        find_mail(ctx, criterion, rows)?
    } else {
        find_people(ctx, criterion, rows)?
    };
    Ok(match found {
        Found::Rows { results, total } => {
            let mut r = response(store, status::SUCCESS);
            let shown = results.len();
            for result in results {
                r.push(result);
            }
            if shown > 0 {
                r.push_text(f::Range, format!("0-{}", shown - 1));
            }
            r.push_text(f::Total, total.to_string());
            answer(status::SUCCESS, Some(r))
        }
        Found::Refused(code) => answer(code, None),
    })
}

/// What a criterion found: result rows and the number of matches, or a
/// status refusing the request.
enum Found {
    Rows { results: Vec<Element>, total: usize },
    Refused(u32),
}

/// MailBoxSearchCriterion: Query (FreeText, airsync:Class,
/// airsync:CollectionId) and Options/DeepTraversal.
fn find_mail(ctx: &mut Ctx, criterion: &Element, rows: usize) -> Result<Found, CommandError> {
    let Some(query) = criterion.child(f::Query) else {
        return Ok(Found::Refused(status::INVALID_REQUEST));
    };
    let text = query.text_of(f::FreeText).map(str::trim).unwrap_or_default();
    let is_email = query
        .text_of(a::Class)
        .is_none_or(|c| c.trim() == Class::Email.as_str());
    if text.is_empty() || !is_email {
        return Ok(Found::Refused(status::INVALID_REQUEST));
    }
    let mail = search_mailbox::mail_folders(ctx);
    let folders: Vec<Folder> = match query.text_of(a::CollectionId).map(str::trim) {
        None => mail,
        Some(id) => {
            let Some(top) = mail.iter().find(|f| f.server_id == id) else {
                return Ok(Found::Refused(status::FOLDER_SYNC_REQUIRED));
            };
            let mut chosen = vec![top.clone()];
            if criterion.path(&[f::Options, f::DeepTraversal]).is_some() {
                chosen.extend(hierarchy::descendants(&mail, id).into_iter().cloned());
            }
            chosen
        }
    };
    let terms = kql_terms(text);
    let terms: Vec<&str> = terms.iter().map(String::as_str).collect();
    let page = search_mailbox::page(ctx, &folders, &terms, Window::default(), (0, rows - 1))?;
    let results = page
        .rows
        .iter()
        .filter_map(|(folder, uid, item)| match item {
            Item::Email(email) => Some(mail_result(folder, *uid, email)),
            _ => None,
        })
        .collect();
    Ok(Found::Rows {
        results,
        total: page.total,
    })
}

/// The words of a Keyword Query Language query, each to be found: quoted
/// phrases stay whole, `AND` joins, and a property restriction
/// (`subject:budget`) is searched as its value anywhere in the message —
/// wider than KQL, never missing a match. `OR` and `NOT` are not
/// understood and are searched as words.
fn kql_terms(query: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut rest = query.trim();
    while !rest.is_empty() {
        let (token, after) = match rest.find(|c: char| c.is_whitespace() || c == '"') {
            Some(0) if rest.starts_with('"') => {
                let end = rest[1..].find('"').map_or(rest.len(), |i| i + 1);
                (&rest[1..end], rest.get(end + 1..).unwrap_or(""))
            }
            Some(i) if rest[i..].starts_with('"') && rest[..i].ends_with(':') => {
                // prop:"a phrase"
                let end = rest[i + 1..].find('"').map_or(rest.len(), |j| i + 1 + j);
                (&rest[i + 1..end], rest.get(end + 1..).unwrap_or(""))
            }
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        rest = after.trim_start();
        let value = match token.split_once(':') {
            // (`http://...` is a word, not a property.)
            Some((prop, value))
                if !prop.is_empty()
                    && prop.chars().all(char::is_alphanumeric)
                    && !value.starts_with('/') =>
            {
                value
            }
            _ => token,
        };
        let value = value.trim().trim_matches('"');
        if !value.is_empty() && value != "AND" {
            terms.push(value.to_string());
        }
    }
    terms
}

/// One mailbox Result with the spec's property set for a message list.
fn mail_result(folder: &Folder, uid: u64, e: &crate::model::Email) -> Element {
    let mut props = Element::new(f::Properties)
        .with_opt_text(em::Subject, e.subject.clone())
        .with_opt_text(em::DateReceived, e.date_received.map(eas_email::format_date))
        .with_opt_text(em::DisplayTo, e.display_to.clone())
        .with_opt_text(f::DisplayCc, e.cc.as_deref().and_then(display_cc))
        .with_text(em::Importance, e.importance.unwrap_or(1).to_string())
        .with_text(em::Read, flag(e.read.unwrap_or(false)))
        .with_text(
            email2::IsDraft,
            flag(folder.folder_type == folder_type::DRAFTS),
        );
    if let Some(plain) = e.body.plain.as_deref() {
        let preview: String = plain
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(PREVIEW_CHARS)
            .collect();
        props.push_text(f::Preview, preview);
    }
    props.push_text(f::HasAttachments, flag(!e.attachments.is_empty()));
    if let Some(from) = &e.from {
        props.push_text(em::From, from.as_str());
    }
    Element::new(f::Result)
        .with_text(a::Class, Class::Email.as_str())
        .with_text(a::ServerId, uid.to_string())
        .with_text(a::CollectionId, folder.server_id.clone())
        .with(props)
}

/// The display names of a Cc list (`"Ann" <a@x>, b@y` -> `Ann; b@y`).
fn display_cc(cc: &str) -> Option<String> {
    let header = format!("Cc: {cc}\r\n\r\n");
    let msg = mail_parser::MessageParser::default().parse(header.as_bytes())?;
    msg.cc().map(mime::display_names).filter(|s| !s.is_empty())
}

/// GALSearchCriterion: Query (the text; some clients wrap it in FreeText)
/// and Options/Picture.
fn find_people(ctx: &mut Ctx, criterion: &Element, rows: usize) -> Result<Found, CommandError> {
    let query = criterion
        .child(f::Query)
        .and_then(|q| q.text().or_else(|| q.text_of(f::FreeText)))
        .map(str::trim)
        .unwrap_or_default();
    if query.is_empty() {
        return Ok(Found::Refused(status::INVALID_REQUEST));
    }
    let pictures = criterion
        .path(&[f::Options, f::Picture])
        .map(|p| PictureLimits::parse(p, f::MaxSize, f::MaxPictures));
    let found = gal_search(ctx, query)?;
    let mut sent = 0;
    let results = found
        .iter()
        .take(rows)
        .map(|entry| {
            let mut props = gal_properties(f::Properties, &entry.contact);
            if let Some(limits) = pictures {
                props.push(limits.picture(&entry.contact, &mut sent));
            }
            Element::new(f::Result)
                .with_text(a::Class, Class::Contacts.as_str())
                .with_text(a::ServerId, entry.id.clone())
                .with_text(
                    a::CollectionId,
                    hierarchy::folder_id(Class::Contacts, &entry.book),
                )
                .with(props)
        })
        .collect();
    Ok(Found::Rows {
        results,
        total: found.len(),
    })
}

fn flag(on: bool) -> &'static str {
    if on {
        "1"
    } else {
        "0"
    }
}

/// `<Find><Status/>[<Response/>]</Find>`.
fn answer(code: u32, response: Option<Element>) -> Outcome {
    let mut e = Element::new(f::Find).with_text(f::Status, code.to_string());
    if let Some(r) = response {
        e.push(r);
    }
    Outcome::Wbxml(e)
}

/// `<Response><itemoperations:Store/><Status/>...`.
fn response(store: &str, code: u32) -> Element {
    Element::new(f::Response)
        .with_text(io::Store, store)
        .with_text(f::Status, code.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cc_display_names() {
        assert_eq!(
            display_cc("\"Ann Lee\" <ann@x.test>, bob@y.test").as_deref(),
            Some("Ann Lee; bob@y.test")
        );
        assert_eq!(display_cc(""), None);
    }

    #[test]
    fn kql_words_phrases_and_properties() {
        assert_eq!(kql_terms("budget"), ["budget"]);
        assert_eq!(kql_terms("  budget  review "), ["budget", "review"]);
        assert_eq!(kql_terms("\"ordre du jour\" AND Genève"), ["ordre du jour", "Genève"]);
        assert_eq!(kql_terms("subject:budget from:\"Ann Lee\""), ["budget", "Ann Lee"]);
        assert_eq!(kql_terms("http://x.test"), ["http://x.test"]);
        assert_eq!(kql_terms("\"unterminated"), ["unterminated"]);
        assert!(kql_terms("   ").is_empty());
    }
}
