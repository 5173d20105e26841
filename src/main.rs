//! The `horde-activesync` executable: CGI when `GATEWAY_INTERFACE` is set,
//! otherwise one of the subcommands below.

use anyhow::{bail, Result};
use horde_activesync::{admin, config::Config, front, wbxml};
use std::path::PathBuf;

const USAGE: &str = "\
usage: horde-activesync [--config FILE] COMMAND ...

  serve [--listen ADDR]             standalone HTTP/1.1 server (default 127.0.0.1:8080)
  fastcgi [--listen ADDR]           FastCGI server (socket on fd 0, or listen on ADDR)
  wbxml decode|encode [FILE]        WBXML -> XML, XML -> WBXML (stdin when no FILE)
  devices list [--user U]           devices and their provisioning/wipe state
  devices show|wipe|unwipe|remove USER DEVICEID [--account-only]
  users list|add|passwd|remove ...  users of the embedded store

With GATEWAY_INTERFACE set (a web server running it as CGI) it answers one request.
The config file is --config FILE, else $HORDE_ACTIVESYNC_CONFIG, else conf/activesync.toml.";

fn main() {
    let code = match run() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("horde-activesync: {e:#}");
            1
        }
    };
    std::process::exit(code)
}

fn run() -> Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let config_path = take_option(&mut args, "--config").map(PathBuf::from);
    let load = || Config::load(config_path.as_deref());

    if front::cgi::is_cgi_invocation(&args) {
        return front::cgi::run(load()?);
    }
    let Some(cmd) = args.first().cloned() else {
        println!("{USAGE}");
        return Ok(());
    };
    let rest = &args[1..];
    match cmd.as_str() {
        "serve" => front::http_server::run(load()?, rest),
        "fastcgi" => front::fastcgi::run(load()?, rest),
        "wbxml" => wbxml::cli::run(rest),
        "devices" => admin::devices::run(&load()?, rest),
        "users" => admin::users::run(&load()?, rest),
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command {other:?}\n{USAGE}"),
    }
}

/// Remove `--name VALUE` (or `--name=VALUE`) from `args` and return the value.
fn take_option(args: &mut Vec<String>, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    if let Some(i) = args.iter().position(|a| a == name) {
        if i + 1 < args.len() {
            let v = args.remove(i + 1);
            args.remove(i);
            return Some(v);
        }
    }
    let i = args.iter().position(|a| a.starts_with(&prefix))?;
    Some(args.remove(i)[prefix.len()..].to_string())
}
