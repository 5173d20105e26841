//! Placeholder; implemented by the front-end work.
use crate::config::Config;
use anyhow::{bail, Result};

#[allow(unused_variables)]
pub fn run(config: Config) -> Result<()> {
    bail!("not built yet")
}
