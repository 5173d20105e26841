//! The field tables that drive the calendar, task and note converters in
//! both directions (model -> ApplicationData and back), the EAS date
//! formats, and the item-level version rules of MS-ASCAL / MS-ASTASK /
//! MS-ASNOTE in one place.
//!
//! A [`Field`] names a tag, the first protocol version that has it, and a
//! getter / setter pair working on the wire text, so a field is declared
//! once and not written out twice.

use super::ghost::{self, GhostField};
use crate::eas::version::Version;
use crate::wbxml::{codepages, Element, Tag};
use chrono::{DateTime, NaiveDateTime, Utc};

/// Why a device's item could not be read. The sync engine answers it with
/// Sync Status 6 ("error in client/server conversion") and changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ItemError {
    #[error("invalid value {value:?} for {tag}")]
    Invalid { tag: String, value: String },
    #[error(transparent)]
    Recurrence(#[from] super::recurrence::RecurrenceError),
    #[error(transparent)]
    TimeZone(#[from] super::timezone::TimeZoneError),
}

impl ItemError {
    pub fn invalid(tag: Tag, value: &str) -> ItemError {
        let tag = codepages::name_of(tag)
            .map_or_else(|| format!("{tag:?}"), |(ns, n)| format!("{ns}:{n}"));
        ItemError::Invalid {
            tag,
            value: value.chars().take(64).collect(),
        }
    }
}

/// Item-level differences between protocol versions (MS-ASCAL, MS-ASTASK,
/// MS-ASNOTE "Protocol Versions" tables). Converters ask these, never the
/// version number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemRules {
    pub version: Version,
}

impl ItemRules {
    pub fn new(version: Version) -> ItemRules {
        ItemRules { version }
    }
    /// True when a field introduced in `since` exists in this version.
    pub fn has(self, since: Version) -> bool {
        self.version >= since
    }
    /// AirSyncBase:Body (12.0+) instead of the class's own Body/BodyTruncated.
    pub fn airsyncbase_body(self) -> bool {
        self.version.uses_airsyncbase_body()
    }
    /// 16.0+: AirSyncBase:Location replaces calendar:Location.
    pub fn structured_location(self) -> bool {
        self.version >= Version::V16_0
    }
    /// 16.0+: an exception is named by AirSyncBase:InstanceId, not
    /// calendar:ExceptionStartTime.
    pub fn instance_id(self) -> bool {
        self.version >= Version::V16_0
    }
    /// 16.0+: a calendar Change leaves out what did not change, so every
    /// omitted top-level property keeps its value whatever `Supported` said
    /// (as Horde_ActiveSync does for EAS 16).
    pub fn omitted_calendar_properties_kept(self) -> bool {
        self.version >= Version::V16_0
    }
    /// 16.0+: an all-day event carries no Timezone and its StartTime/EndTime
    /// are midnights of the dates themselves (written as UTC); before, they
    /// are midnight of the event's zone expressed in UTC.
    pub fn floating_all_day(self) -> bool {
        self.version >= Version::V16_0
    }
}

pub type Getter<T> = fn(&T) -> Option<String>;
pub type Setter<T> = fn(&mut T, &str) -> Option<()>;
/// Sets the field to "not set" (for ghosting: a property the client cleared).
pub type Clearer<T> = fn(&mut T);
/// What the field macros produce.
pub type Access<T> = (Getter<T>, Setter<T>, Clearer<T>);

/// One simple element of an item.
pub struct Field<T> {
    pub tag: Tag,
    pub since: Version,
    /// Also allowed inside calendar:Exception.
    pub in_exception: bool,
    pub get: Getter<T>,
    pub set: Setter<T>,
    pub clear: Clearer<T>,
}

impl<T> Field<T> {
    pub fn new(tag: Tag, since: Version, (get, set, clear): Access<T>) -> Field<T> {
        Field {
            tag,
            since,
            in_exception: false,
            get,
            set,
            clear,
        }
    }
    /// Builder: the field may appear in an Exception too.
    pub fn in_exception(mut self) -> Field<T> {
        self.in_exception = true;
        self
    }
}

/// Append every field of `fields` that the version has and the item sets.
pub fn write_fields<T>(
    out: &mut Element,
    item: &T,
    fields: &[Field<T>],
    rules: ItemRules,
    exception: bool,
) {
    for f in fields
        .iter()
        .filter(|f| rules.has(f.since) && (!exception || f.in_exception))
    {
        if let Some(value) = (f.get)(item) {
            out.push_text(f.tag, value);
        }
    }
}

/// Read every field of `fields` present in `from`. An empty element of a
/// non-text field counts as absent; any other unreadable value is an error.
pub fn read_fields<T>(
    from: &Element,
    item: &mut T,
    fields: &[Field<T>],
    rules: ItemRules,
    exception: bool,
) -> Result<(), ItemError> {
    for f in fields
        .iter()
        .filter(|f| rules.has(f.since) && (!exception || f.in_exception))
    {
        if let Some(e) = from.child(f.tag) {
            let text = e.text().unwrap_or_default();
            if (f.set)(item, text).is_none() && !text.trim().is_empty() {
                return Err(ItemError::invalid(f.tag, text));
            }
        }
    }
    Ok(())
}

/// Ghosting (MS-ASCMD `Supported`) works on the same table.
impl<T> GhostField<T> for Field<T> {
    fn tag(&self) -> Tag {
        self.tag
    }
    fn exists_in(&self, version: Version) -> bool {
        version >= self.since
    }
    fn is_set(&self, item: &T) -> bool {
        (self.get)(item).is_some()
    }
    fn copy(&self, from: &T, to: &mut T) {
        match (self.get)(from) {
            Some(v) => {
                // The value came out of a getter, so its setter reads it.
                let _ = (self.set)(to, &v);
            }
            None => (self.clear)(to),
        }
    }
}

/// A property made of more than one model field or of a whole sub-tree
/// (times, body, location, lists, recurrence), for ghosting.
pub struct Compound<T> {
    pub tag: Tag,
    pub since: Version,
    /// First version without it (e.g. calendar:Location from 16.0).
    pub until: Option<Version>,
    pub is_set: fn(&T) -> bool,
    pub copy: fn(&T, &mut T),
}

/// Declares a [`Compound`] over one or more model fields.
macro_rules! compound {
    ($tag:expr, $since:expr, $until:expr, $first:ident $(, $f:ident)*) => {
        $crate::convert::eas_fields::Compound {
            tag: $tag,
            since: $since,
            until: $until,
            is_set: |e| e.$first.is_some() $(|| e.$f.is_some())*,
            copy: |from, to| {
                to.$first = from.$first.clone();
                $(to.$f = from.$f.clone();)*
            },
        }
    };
}

/// One ghostable property: a simple field of the table or a compound one.
enum Property<'a, T> {
    Simple(&'a Field<T>),
    Compound(&'a Compound<T>),
}

impl<T> GhostField<T> for Property<'_, T> {
    fn tag(&self) -> Tag {
        match self {
            Property::Simple(f) => f.tag,
            Property::Compound(c) => c.tag,
        }
    }
    fn exists_in(&self, version: Version) -> bool {
        match self {
            Property::Simple(f) => f.exists_in(version),
            Property::Compound(c) => version >= c.since && c.until.is_none_or(|u| version < u),
        }
    }
    fn is_set(&self, item: &T) -> bool {
        match self {
            Property::Simple(f) => f.is_set(item),
            Property::Compound(c) => (c.is_set)(item),
        }
    }
    fn copy(&self, from: &T, to: &mut T) {
        match self {
            Property::Simple(f) => f.copy(from, to),
            Property::Compound(c) => (c.copy)(from, to),
        }
    }
}

/// The stored item after a device's Change over simple and compound
/// properties (rules in `convert::ghost`).
pub fn merge_properties<T: Clone>(
    simple: &[Field<T>],
    compound: &[Compound<T>],
    existing: &T,
    sent: &T,
    supported: Option<&[Tag]>,
    version: Version,
) -> T {
    let properties: Vec<Property<T>> = simple
        .iter()
        .map(Property::Simple)
        .chain(compound.iter().map(Property::Compound))
        .collect();
    ghost::merge_change(&properties, existing, sent, supported, version)
}

/// Getter/setter for an `Option<String>` field.
macro_rules! text_field {
    ($f:ident) => {
        (
            |i| i.$f.clone(),
            |i, v| {
                i.$f = Some(v.to_string());
                Some(())
            },
            |i| i.$f = None,
        )
    };
}
/// Getter/setter for an `Option<bool>` field (`0` / `1`).
macro_rules! bool_field {
    ($f:ident) => {
        (
            |i| i.$f.map(|b| if b { "1" } else { "0" }.to_string()),
            |i, v| {
                i.$f = Some($crate::convert::eas_fields::parse_bool(v)?);
                Some(())
            },
            |i| i.$f = None,
        )
    };
}
/// Getter/setter for a numeric `Option<_>` field.
macro_rules! num_field {
    ($f:ident) => {
        (
            |i| i.$f.map(|n| n.to_string()),
            |i, v| {
                i.$f = Some(v.trim().parse().ok()?);
                Some(())
            },
            |i| i.$f = None,
        )
    };
}
/// Getter/setter for a field holding a `code_enum` type.
macro_rules! code_field {
    ($f:ident, $ty:ty) => {
        (
            |i| i.$f.map(|c| c.code().to_string()),
            |i, v| {
                i.$f = Some(<$ty>::from_code(v.trim().parse().ok()?)?);
                Some(())
            },
            |i| i.$f = None,
        )
    };
}
/// Getter/setter for an `Option<DateTime<Utc>>` field in a date format
/// (`compact` for Calendar, `long` for Tasks / Notes).
macro_rules! time_field {
    ($f:ident, $format:path) => {
        (
            |i| i.$f.map($format),
            |i, v| {
                i.$f = Some($crate::convert::eas_fields::parse_time(v)?);
                Some(())
            },
            |i| i.$f = None,
        )
    };
}
pub(crate) use {bool_field, code_field, compound, num_field, text_field, time_field};

/// `1`/`0` (also `true`/`false`, which some clients send).
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim() {
        "1" | "true" => Some(true),
        "0" | "false" => Some(false),
        _ => None,
    }
}

/// Compact DateTime (MS-ASDTYPE 2.7.2): `20261127T100000Z`.
pub fn compact(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// DateTime (MS-ASDTYPE 2.3): `2026-11-27T10:00:00.000Z`.
pub fn long(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A local wall-clock time in the long form (Tasks StartDate / DueDate).
pub fn long_local(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Either EAS date form, with or without `Z`, read as written (the caller
/// decides whether it is UTC).
pub fn parse_naive(v: &str) -> Option<NaiveDateTime> {
    let v = v.trim();
    let v = v.strip_suffix('Z').unwrap_or(v);
    [
        "%Y%m%dT%H%M%S",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y%m%dT%H%M%S%.f",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(v, f).ok())
}

/// Either EAS date form, as UTC.
pub fn parse_time(v: &str) -> Option<DateTime<Utc>> {
    parse_naive(v).map(|t| t.and_utc())
}

/// `<Categories><Category>a</Category>...</Categories>`.
pub fn write_categories(
    out: &mut Element,
    categories: &Option<Vec<String>>,
    parent: Tag,
    child: Tag,
) {
    if let Some(list) = categories {
        let mut e = Element::new(parent);
        for c in list {
            e.push_text(child, c.as_str());
        }
        out.push(e);
    }
}

/// The categories of an item; an empty `<Categories/>` clears them.
pub fn read_categories(from: &Element, parent: Tag, child: Tag) -> Option<Vec<String>> {
    from.child(parent).map(|e| {
        e.children_with(child)
            .filter_map(|c| c.text())
            .map(str::to_string)
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_date_forms_parse() {
        let t = parse_time("20261127T100000Z").unwrap();
        assert_eq!(parse_time("2026-11-27T10:00:00.000Z"), Some(t));
        assert_eq!(compact(t), "20261127T100000Z");
        assert_eq!(long(t), "2026-11-27T10:00:00.000Z");
        assert_eq!(parse_time("2026-13-01T00:00:00Z"), None);
    }
}
