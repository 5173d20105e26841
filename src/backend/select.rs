//! Picks the backend named by `[backend] kind`.

use super::embedded::EmbeddedBackend;
use super::horde::HordeBackend;
use super::Backend;
use crate::config::{BackendKind, Config};
use anyhow::{Context, Result};

pub fn from_config(config: &Config) -> Result<Box<dyn Backend>> {
    Ok(match config.backend.kind {
        BackendKind::Embedded => {
            let path = &config.backend.embedded_db;
            Box::new(
                EmbeddedBackend::open_path(path)
                    .with_context(|| format!("opening the embedded store {}", path.display()))?,
            )
        }
        BackendKind::Horde => Box::new(HordeBackend::new(config)),
    })
}
