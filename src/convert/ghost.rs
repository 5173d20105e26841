//! Ghosted properties (MS-ASCMD 2.2.3.179 `Supported`), for any item class.
//!
//! A Sync `Change` carries only the properties a client chose to send. What an
//! omitted property means is decided by the `Supported` element of the
//! folder's *initial* Sync (see PROTOCOL-NOTES "Ghosting"):
//! - no `Supported`: nothing is ghosted, an omitted property is cleared;
//! - with `Supported`: a listed property that is omitted is cleared, every
//!   other omitted property keeps its stored value;
//! - a property that does not exist in the client's protocol version is never
//!   touched.
//!
//! A class describes its properties with [`GhostField`] (contacts do it with
//! the same table that drives their WBXML mapping); [`merge_change`] then
//! applies the rules.

use crate::eas::version::Version;
use crate::wbxml::{Element, Tag};

/// One ghostable property of an item type `T`.
pub trait GhostField<T> {
    /// The element that names the property in `Supported`.
    fn tag(&self) -> Tag;
    /// Whether the property exists in this protocol version.
    fn exists_in(&self, version: Version) -> bool;
    /// Whether `item` has a value for the property.
    fn is_set(&self, item: &T) -> bool;
    /// Copy the property (value or absence) from `from` to `to`.
    fn copy(&self, from: &T, to: &mut T);
}

/// The stored item after a client's Change: see the module doc for the rules.
/// `supported` is the tag list of the initial Sync's `Supported` element, or
/// `None` when that Sync had none.
pub fn merge_change<T: Clone, F: GhostField<T>>(
    fields: &[F],
    existing: &T,
    sent: &T,
    supported: Option<&[Tag]>,
    version: Version,
) -> T {
    let mut merged = existing.clone();
    for f in fields.iter().filter(|f| f.exists_in(version)) {
        let replace = match supported {
            None => true,
            Some(listed) => listed.contains(&f.tag()) || f.is_set(sent),
        };
        if replace {
            f.copy(sent, &mut merged);
        }
    }
    merged
}

/// The tags listed in a `Supported` element (its children are empty
/// elements such as `<contacts:FirstName/>`).
pub fn supported_tags(supported: &Element) -> Vec<Tag> {
    supported.elements().map(|e| e.tag).collect()
}
