//! Items <-> Sync `ApplicationData`, for every class: the one entry point the
//! commands use, so no command knows a class's field table.

use super::body::BodyPreference;
use super::eas_contact;
use super::eas_email;
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
    let children = match item {
        Item::Contact(c) => eas_contact::to_eas(c, version, prefs),
        Item::Email(e) => eas_email::to_eas(e, version, prefs),
        other => unsupported(other.class()),
    };
    let mut e = Element::new(airsync::ApplicationData);
    for c in children {
        e.push(c);
    }
    e
}

/// The item a device sent in an Add or Change.
pub fn from_app_data(class: Class, data: &Element, version: Version) -> Result<Item, ConvertError> {
    match class {
        Class::Contacts => Ok(Item::Contact(eas_contact::from_eas(data, version))),
        Class::Email => Ok(Item::Email(eas_email::from_eas(data))),
        other => Err(ConvertError::Invalid(format!(
            "{} items are not supported yet",
            other.as_str()
        ))),
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
        // Read, Flag or Categories left out of a Change stay (MS-ASEMAIL 3.1.5.3).
        (Item::Email(old), Item::Email(new)) => {
            let sent_categories = !new.categories.is_empty();
            Item::Email(eas_email::merge_change(old, &new, sent_categories))
        }
        (_, sent) => sent,
    }
}

fn unsupported(_class: Class) -> Vec<Element> {
    Vec::new()
}
