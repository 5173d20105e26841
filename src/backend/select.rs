//! Picks the backend named by `[backend] kind`, with mail next to it when
//! `[mail] imap_host` is set.

use super::combined::CombinedBackend;
use super::embedded::EmbeddedBackend;
use super::horde::HordeBackend;
use super::mail::MailBackend;
use super::Backend;
use crate::config::{BackendKind, Config};
use anyhow::{Context, Result};

pub fn from_config(config: &Config) -> Result<Box<dyn Backend>> {
    let pim: Box<dyn Backend> = match config.backend.kind {
        BackendKind::Embedded => {
            let path = &config.backend.embedded_db;
            Box::new(
                EmbeddedBackend::open_path(path)
                    .with_context(|| format!("opening the embedded store {}", path.display()))?,
            )
        }
        BackendKind::Horde => Box::new(HordeBackend::new(config)),
    };
    let mail = MailBackend::from_config(&config.mail).context("[mail] TLS configuration")?;
    Ok(match mail {
        Some(mail) => Box::new(CombinedBackend::new(pim, mail)),
        None => pim,
    })
}
