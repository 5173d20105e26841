//! Picks the backend named by `[backend] kind`.

use super::Backend;
use crate::config::{BackendKind, Config};
use anyhow::{bail, Result};

pub fn from_config(config: &Config) -> Result<Box<dyn Backend>> {
    match config.backend.kind {
        BackendKind::Embedded => bail!("the embedded backend is not merged yet"),
        BackendKind::Horde => bail!("the Horde backend is not merged yet"),
    }
}
