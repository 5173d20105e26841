//! Notes (MS-ASNOTE, protocol 14.0+) <-> `model::Note`.

use super::body::{self, BodyPreference};
use super::eas_fields::{
    compound, long, merge_properties, read_categories, read_fields, text_field, time_field,
    write_categories, write_fields, Access, Compound, Field, ItemError, ItemRules,
};
use crate::eas::version::Version;
use crate::model::Note;
use crate::wbxml::codepages::{airsync, airsyncbase as asb, notes as n};
use crate::wbxml::{Element, Tag};

fn note_fields() -> Vec<Field<Note>> {
    let f = |tag: Tag, pair: Access<Note>| Field::new(tag, Version::V14_0, pair);
    vec![
        f(n::Subject, text_field!(subject)),
        f(n::MessageClass, text_field!(message_class)),
        f(n::LastModifiedDate, time_field!(last_modified, long)),
    ]
}

/// The ApplicationData element for a note.
pub fn to_application_data(note: &Note, rules: ItemRules, prefs: &[BodyPreference]) -> Element {
    let mut out = Element::new(airsync::ApplicationData);
    if let Some(text) = &note.body {
        out.push(body::plain_body(text, prefs));
    }
    write_fields(&mut out, note, &note_fields(), rules, false);
    write_categories(&mut out, &note.categories, n::Categories, n::Category);
    out
}

/// Read a device's ApplicationData for a note.
pub fn from_application_data(app: &Element, rules: ItemRules) -> Result<Note, ItemError> {
    let mut note = Note::default();
    read_fields(app, &mut note, &note_fields(), rules, false)?;
    note.body = body::read_body(app);
    note.categories = read_categories(app, n::Categories, n::Category);
    Ok(note)
}

fn compound_properties() -> Vec<Compound<Note>> {
    vec![
        compound!(asb::Body, Version::V14_0, None, body),
        compound!(n::Categories, Version::V14_0, None, categories),
    ]
}

/// The stored note after a device's Change (MS-ASCMD `Supported` ghosting;
/// rules in `convert::ghost`).
pub fn merge_change(
    existing: &Note,
    sent: &Note,
    supported: Option<&[Tag]>,
    version: Version,
) -> Note {
    merge_properties(
        &note_fields(),
        &compound_properties(),
        existing,
        sent,
        supported,
        version,
    )
}
