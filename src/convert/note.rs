//! Notes <-> Mnemo's exchange formats: `text/x-vnote` (vNote 1.1, what
//! Mnemo's `notes.export` / `notes.import` speak) and `text/plain`.
//!
//! Mnemo has no subject of its own: a memo's description is its body's
//! first line. The vNote carries SUMMARY as well, so a subject survives our
//! own store; through Mnemo it survives only as the first body line.

use super::contentline::{escape_text, split_text_list, Component, ContentLine};
use crate::model::Note;
use anyhow::anyhow;
use chrono::{NaiveDateTime, Utc};

const UTC_FORMAT: &str = "%Y%m%dT%H%M%SZ";
/// MS-ASNOTE MessageClass of an ordinary note.
pub const STICKY_NOTE: &str = "IPM.StickyNote";

/// A vNote 1.1 for the note.
pub fn write_vnote(note: &Note) -> String {
    let mut v = Component::new("VNOTE");
    v.push(ContentLine::new("VERSION", "1.1"));
    v.push(ContentLine::text(
        "BODY",
        &note.body.clone().unwrap_or_default(),
    ));
    if let Some(s) = &note.subject {
        v.push(ContentLine::text("SUMMARY", s));
    }
    if let Some(c) = note.categories.as_ref().filter(|c| !c.is_empty()) {
        let value = c
            .iter()
            .map(|s| escape_text(s))
            .collect::<Vec<_>>()
            .join(",");
        v.push(ContentLine::new("CATEGORIES", value));
    }
    let modified = note.last_modified.unwrap_or_else(Utc::now);
    v.push(ContentLine::new(
        "LAST-MODIFIED",
        modified.format(UTC_FORMAT).to_string(),
    ));
    if let Some(class) = note.message_class.as_deref().filter(|c| *c != STICKY_NOTE) {
        v.push(ContentLine::text("X-ACTIVESYNC-MESSAGECLASS", class));
    }
    v.to_text()
}

/// Parse a vNote (as Mnemo exports it). Without SUMMARY the subject is the
/// body's first line, as Mnemo shows it.
pub fn parse_vnote(text: &str) -> anyhow::Result<Note> {
    let roots = Component::parse_all(text)?;
    let v = roots
        .iter()
        .find(|c| c.name == "VNOTE")
        .ok_or_else(|| anyhow!("no VNOTE"))?;
    let text_of = |name: &str| v.property(name).map(|p| p.text_value());
    let body = text_of("BODY");
    let categories: Vec<String> = v
        .properties_named("CATEGORIES")
        .flat_map(|p| split_text_list(&p.value))
        .collect();
    let modified = v
        .property("LAST-MODIFIED")
        .or_else(|| v.property("DCREATED"))
        .and_then(|p| NaiveDateTime::parse_from_str(p.value.trim(), UTC_FORMAT).ok())
        .map(|t| t.and_utc());
    Ok(Note {
        subject: text_of("SUMMARY").or_else(|| body.as_deref().map(first_line)),
        body,
        categories: (!categories.is_empty()).then_some(categories),
        last_modified: modified,
        message_class: Some(
            text_of("X-ACTIVESYNC-MESSAGECLASS").unwrap_or_else(|| STICKY_NOTE.to_string()),
        ),
    })
}

/// Mnemo's `text/plain` form: the body, starting with the subject line
/// when the body does not already start with it.
pub fn write_plain(note: &Note) -> String {
    let body = note.body.clone().unwrap_or_default();
    match note.subject.as_deref().filter(|s| !s.is_empty()) {
        Some(s) if first_line(&body) != s => format!("{s}\n{body}"),
        _ => body,
    }
}

/// A note from Mnemo's `text/plain` form: the first line is the subject.
pub fn parse_plain(text: &str) -> Note {
    let text = text.replace("\r\n", "\n");
    Note {
        subject: Some(first_line(&text)),
        body: Some(text),
        message_class: Some(STICKY_NOTE.to_string()),
        ..Note::default()
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn vnote_round_trips() {
        let note = Note {
            subject: Some("Shopping".into()),
            body: Some("Shopping\nmilk, eggs; bread".into()),
            categories: Some(vec!["Home".into(), "A,B".into()]),
            last_modified: Some(Utc.with_ymd_and_hms(2026, 11, 27, 1, 2, 3).unwrap()),
            message_class: Some(STICKY_NOTE.into()),
        };
        assert_eq!(parse_vnote(&write_vnote(&note)).unwrap(), note);
    }

    #[test]
    fn mnemo_vnote_without_summary_takes_the_first_line() {
        let text = "BEGIN:VNOTE\r\nVERSION:1.1\r\nBODY:Call Bob\\nabout lunch\r\nDCREATED:20261127T010203Z\r\nEND:VNOTE\r\n";
        let note = parse_vnote(text).unwrap();
        assert_eq!(note.subject.as_deref(), Some("Call Bob"));
        assert_eq!(note.body.as_deref(), Some("Call Bob\nabout lunch"));
        assert!(note.last_modified.is_some());
    }

    #[test]
    fn plain_text_keeps_the_subject_as_first_line() {
        let note = Note {
            subject: Some("Title".into()),
            body: Some("text".into()),
            ..Note::default()
        };
        let back = parse_plain(&write_plain(&note));
        assert_eq!(back.subject.as_deref(), Some("Title"));
        assert_eq!(back.body.as_deref(), Some("Title\ntext"));
        assert!(parse_vnote("BEGIN:VCARD\r\nEND:VCARD\r\n").is_err());
    }
}
