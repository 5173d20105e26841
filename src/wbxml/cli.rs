//! `horde-activesync wbxml decode|encode [FILE]`: WBXML to the XML form and
//! back, reading FILE or standard input and writing standard output.
use super::{decode, encode, xml, Limits};
use anyhow::{bail, Context, Result};
use std::io::{Read, Write};

const USAGE: &str = "usage: horde-activesync wbxml decode|encode [FILE]";

pub fn run(args: &[String]) -> Result<()> {
    let (verb, file) = match args {
        [verb] => (verb.as_str(), None),
        [verb, file] => (verb.as_str(), Some(file.as_str())),
        _ => bail!(USAGE),
    };
    let convert: fn(&[u8]) -> Result<Vec<u8>> = match verb {
        "decode" => |input| Ok(decode_to_xml(input)?.into_bytes()),
        "encode" => encode_from_xml,
        _ => bail!(USAGE),
    };
    let output = convert(&read_input(file)?)?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&output)?;
    stdout.flush()?;
    Ok(())
}

/// WBXML bytes to the XML form; the whole input is accepted (a debugging
/// tool reads what it is given), nesting is limited as on the server.
pub fn decode_to_xml(bytes: &[u8]) -> Result<String> {
    let limits = Limits {
        max_bytes: bytes.len(),
        ..Limits::default()
    };
    let root = decode(bytes, &limits)?;
    Ok(xml::to_xml(&root))
}

/// The XML form to WBXML bytes.
pub fn encode_from_xml(bytes: &[u8]) -> Result<Vec<u8>> {
    let text = std::str::from_utf8(bytes).context("XML input is not UTF-8")?;
    Ok(encode(&xml::from_xml(text)?))
}

fn read_input(file: Option<&str>) -> Result<Vec<u8>> {
    match file {
        Some("-") | None => {
            let mut buffer = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buffer)
                .context("reading standard input")?;
            Ok(buffer)
        }
        Some(path) => std::fs::read(path).with_context(|| format!("reading {path}")),
    }
}
