//! Items <-> Sync `ApplicationData`, for every class: the one entry point the
//! commands use, so no command knows a class's field table.

use super::body::BodyPreference;
use super::eas_contact;
use super::eas_email;
use super::eas_fields::{ItemError, ItemRules};
use super::{eas_calendar, eas_note, eas_task};
use crate::backend::BackendError;
use crate::eas::version::Version;
use crate::model::{Class, Item};
use crate::wbxml::codepages::{self, airsync};
use crate::wbxml::{Element, Tag};

/// Why a device's item could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("no such item")]
    NotFound,
    #[error("cannot convert: {0}")]
    Invalid(String),
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// The ApplicationData element of an item for this version and body preferences.
pub fn to_app_data(item: &Item, version: Version, prefs: &[BodyPreference]) -> Element {
    let rules = ItemRules::new(version);
    match item {
        Item::Contact(c) => {
            let mut e = Element::new(airsync::ApplicationData);
            for child in eas_contact::to_eas(c, version, prefs) {
                e.push(child);
            }
            e
        }
        Item::Event(e) => {
            // Events without a zone of their own are shown in UTC (the
            // request carries no user zone).
            let opts = eas_calendar::WriteOptions {
                rules,
                body_preferences: prefs,
                default_zone: chrono_tz::UTC,
            };
            eas_calendar::to_application_data(e, &opts)
        }
        Item::Task(t) => eas_task::to_application_data(t, rules, prefs, chrono_tz::UTC),
        Item::Note(n) => eas_note::to_application_data(n, rules, prefs),
        Item::Email(e) => {
            let mut app = Element::new(airsync::ApplicationData);
            for child in eas_email::to_eas(e, version, prefs) {
                app.push(child);
            }
            app
        }
    }
}

/// The item a device sent in an Add or Change.
pub fn from_app_data(class: Class, data: &Element, version: Version) -> Result<Item, ConvertError> {
    let rules = ItemRules::new(version);
    let invalid = |e: ItemError| ConvertError::Invalid(e.to_string());
    match class {
        Class::Contacts => Ok(Item::Contact(eas_contact::from_eas(data, version))),
        Class::Calendar => eas_calendar::from_application_data(data, rules)
            .map(Item::Event)
            .map_err(invalid),
        Class::Tasks => eas_task::from_application_data(data, rules)
            .map(Item::Task)
            .map_err(invalid),
        Class::Notes => eas_note::from_application_data(data, rules)
            .map(Item::Note)
            .map_err(invalid),
        Class::Email => Ok(Item::Email(eas_email::from_eas(data))),
    }
}

/// The stored item after a device's Change, per the ghosting rules
/// (MS-ASCMD 2.2.3.179). `supported` holds `Namespace:Tag` names.
pub fn apply_change(
    existing: &Item,
    sent: Item,
    supported: Option<&[String]>,
    version: Version,
) -> Item {
    let tags: Option<Vec<Tag>> = supported.map(|names| {
        names
            .iter()
            .filter_map(|n| {
                n.split_once(':')
                    .and_then(|(ns, t)| codepages::tag_of(ns, t))
            })
            .collect()
    });
    match (existing, sent) {
        (Item::Contact(old), Item::Contact(new)) => Item::Contact(eas_contact::merge_change(
            old,
            &new,
            tags.as_deref(),
            version,
        )),
        (Item::Event(old), Item::Event(new)) => Item::Event(eas_calendar::merge_change(
            old,
            &new,
            tags.as_deref(),
            version,
        )),
        (Item::Task(old), Item::Task(new)) => {
            Item::Task(eas_task::merge_change(old, &new, tags.as_deref(), version))
        }
        (Item::Note(old), Item::Note(new)) => {
            Item::Note(eas_note::merge_change(old, &new, tags.as_deref(), version))
        }
        // Read, Flag or Categories left out of a Change stay (MS-ASEMAIL 3.1.5.3).
        (Item::Email(old), Item::Email(new)) => {
            let sent_categories = !new.categories.is_empty();
            Item::Email(eas_email::merge_change(old, &new, sent_categories))
        }
        (_, sent) => sent,
    }
}

/// A 16.0+ Change (`Some(data)`) or Delete (`None`) of one occurrence of a
/// recurring event, named by its `airsyncbase:InstanceId`: the series with
/// that occurrence turned into an exception.
pub fn change_occurrence(
    series: &Item,
    instance_id: &str,
    data: Option<&Element>,
    version: Version,
) -> Result<Item, ConvertError> {
    let Item::Event(event) = series else {
        return Err(ConvertError::Invalid(
            "InstanceId on an item that is not an event".into(),
        ));
    };
    let mut event = event.clone();
    let done = match data {
        Some(app) => {
            eas_calendar::change_occurrence(&mut event, instance_id, app, ItemRules::new(version))
        }
        None => eas_calendar::delete_occurrence(&mut event, instance_id),
    };
    done.map_err(|e| ConvertError::Invalid(e.to_string()))?;
    Ok(Item::Event(event))
}
