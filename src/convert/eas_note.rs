//! Notes (MS-ASNOTE, protocol 14.0+) <-> `model::Note`.

use super::body::{self, BodyPreference};
use super::eas_fields::{
    long, read_categories, read_fields, text_field, time_field, write_categories, write_fields,
    Field, Getter, ItemError, ItemRules, Setter,
};
use crate::eas::version::Version;
use crate::model::Note;
use crate::wbxml::codepages::{airsync, notes as n};
use crate::wbxml::{Element, Tag};

fn note_fields() -> Vec<Field<Note>> {
    let f = |tag: Tag, pair: (Getter<Note>, Setter<Note>)| Field::new(tag, Version::V14_0, pair);
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
