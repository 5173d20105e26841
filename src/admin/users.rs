//! `horde-activesync users ...`: manage the users of the embedded store
//! (`[backend] embedded_db`). Never prompts, so it works in scripts: without
//! `--password` a random password is generated and printed.

use crate::backend::embedded::users::{generate_password, UserInfo, Users};
use crate::config::Config;
use anyhow::{bail, Result};

const USAGE: &str = "\
usage: horde-activesync users list
       horde-activesync users add NAME [--password PW]
       horde-activesync users passwd NAME [--password PW]
       horde-activesync users remove NAME";

pub fn run(config: &Config, args: &[String]) -> Result<()> {
    let db = &config.backend.embedded_db;
    match parse(args)? {
        Verb::List => {
            print!("{}", table(&Users::open(db)?.list()?));
            println!("({})", db.display());
        }
        Verb::Add { name, password } => {
            let (password, generated) = password_or_generated(password)?;
            Users::open(db)?.add(&name, &password)?;
            println!("added user {name}");
            if generated {
                println!("password: {password}");
            }
        }
        Verb::Passwd { name, password } => {
            let (password, generated) = password_or_generated(password)?;
            Users::open(db)?.set_password(&name, &password)?;
            println!("changed the password of {name}");
            if generated {
                println!("password: {password}");
            }
        }
        Verb::Remove { name } => {
            Users::open(db)?.remove(&name)?;
            println!("removed user {name} and their collections and items");
        }
    }
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
enum Verb {
    List,
    Add {
        name: String,
        password: Option<String>,
    },
    Passwd {
        name: String,
        password: Option<String>,
    },
    Remove {
        name: String,
    },
}

fn parse(args: &[String]) -> Result<Verb> {
    let mut words = Vec::new();
    let mut password = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "--password" {
            match it.next() {
                Some(pw) => password = Some(pw.clone()),
                None => bail!("--password needs a value\n{USAGE}"),
            }
        } else if let Some(pw) = arg.strip_prefix("--password=") {
            password = Some(pw.to_string());
        } else if arg.starts_with("--") {
            bail!("unknown option {arg}\n{USAGE}");
        } else {
            words.push(arg.as_str());
        }
    }
    let verb = match (words.as_slice(), password) {
        (["list"], None) => Verb::List,
        (["add", name], password) => Verb::Add {
            name: name.to_string(),
            password,
        },
        (["passwd", name], password) => Verb::Passwd {
            name: name.to_string(),
            password,
        },
        (["remove", name], None) => Verb::Remove {
            name: name.to_string(),
        },
        _ => bail!("{USAGE}"),
    };
    Ok(verb)
}

fn password_or_generated(given: Option<String>) -> Result<(String, bool)> {
    match given {
        Some(pw) => Ok((pw, false)),
        None => Ok((generate_password()?, true)),
    }
}

/// Columns NAME, CREATED (UTC), ITEMS, aligned.
fn table(users: &[UserInfo]) -> String {
    let created = |u: &UserInfo| {
        chrono::DateTime::from_timestamp(u.created, 0)
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_else(|| u.created.to_string())
    };
    let width = users.iter().map(|u| u.name.len()).max().unwrap_or(0).max(4);
    let mut out = format!("{:<width$}  {:<20}  {:>6}\n", "NAME", "CREATED", "ITEMS");
    for u in users {
        out += &format!("{:<width$}  {:<20}  {:>6}\n", u.name, created(u), u.items);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_the_verbs() {
        assert_eq!(parse(&args("list")).unwrap(), Verb::List);
        assert_eq!(
            parse(&args("add bob --password pw")).unwrap(),
            Verb::Add {
                name: "bob".into(),
                password: Some("pw".into())
            }
        );
        assert_eq!(
            parse(&args("passwd --password=x bob")).unwrap(),
            Verb::Passwd {
                name: "bob".into(),
                password: Some("x".into())
            }
        );
        assert_eq!(
            parse(&args("remove bob")).unwrap(),
            Verb::Remove { name: "bob".into() }
        );
        for bad in [
            "",
            "add",
            "add a b",
            "remove",
            "list x",
            "add bob --password",
            "add bob --pw x",
            "remove bob --password x",
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn table_aligns_columns() {
        let t = table(&[
            UserInfo {
                name: "alice".into(),
                created: 0,
                items: 3,
            },
            UserInfo {
                name: "bo".into(),
                created: 86_400,
                items: 12,
            },
        ]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "NAME   CREATED                ITEMS");
        assert_eq!(lines[1], "alice  1970-01-01 00:00 UTC       3");
        assert_eq!(lines[2], "bo     1970-01-02 00:00 UTC      12");
    }
}
