//! See docs/ARCHITECTURE.md.

/// Placeholder for the device state handle until the state work lands; the
/// command context needs the type to exist.
pub struct Device;
