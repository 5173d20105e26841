//! Placeholder; implemented by the WBXML work.
use anyhow::{bail, Result};

#[allow(unused_variables)]
pub fn run(args: &[String]) -> Result<()> {
    bail!("not built yet")
}
