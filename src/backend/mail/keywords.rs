//! What IMAP flags and keywords mean to ActiveSync: Categories are keywords
//! (when the mailbox allows new ones, PERMANENTFLAGS `\*`), and the reply
//! state of MS-ASEMAIL LastVerbExecuted comes from `\Answered`, `$Forwarded`
//! and a keyword of ours that also keeps the verb's time and whether the
//! reply went to all.
//!
//! A category becomes an IMAP atom: modified UTF-7 (as mailbox names) for
//! everything an atom cannot hold, `_` for a space. Keywords that start with
//! `$` (`$Forwarded`, `$MDNSent`, `$Junk`, Thunderbird's `$label1`, ours) and
//! the junk markers other clients set are not categories.

use super::utf7;

/// Prefix of our verb keyword: `$EASLastVerb_<verb>_<unix seconds>`.
const VERB_PREFIX: &str = "$EASLastVerb_";

/// The longest keyword stored (Dovecot's default `mail_max_keyword_length`).
pub const MAX_KEYWORD_LENGTH: usize = 50;

/// MS-ASEMAIL LastVerbExecuted values.
pub mod verb {
    pub const REPLY_TO_SENDER: u32 = 1;
    pub const REPLY_TO_ALL: u32 = 2;
    pub const FORWARD: u32 = 3;
}

/// Keywords set by mail clients that are not categories.
const NOT_CATEGORIES: [&str; 3] = ["junk", "nonjunk", "notjunk"];

/// Whether `c` may stand for itself in a category keyword.
fn plain_atom_char(c: char) -> bool {
    ('!'..='~').contains(&c) && !"(){%*\"\\]_".contains(c)
}

/// The IMAP keyword of a category.
pub fn keyword_of(category: &str) -> String {
    let word = category
        .split(' ')
        .map(|piece| utf7::encode_with(piece, plain_atom_char))
        .collect::<Vec<_>>()
        .join("_");
    // A leading `$` would read as a system keyword.
    match word.strip_prefix('$') {
        Some(rest) => format!("&ACQ-{rest}"),
        None => word,
    }
}

/// The category a keyword stands for; `None` for system flags and the
/// keywords that are not categories.
pub fn category_of(keyword: &str) -> Option<String> {
    let lower = keyword.to_ascii_lowercase();
    if keyword.starts_with(['\\', '$']) || NOT_CATEGORIES.contains(&lower.as_str()) {
        return None;
    }
    Some(utf7::decode(&keyword.replace('_', " ")))
}

/// The verb keyword for a reply or forward done now.
pub fn verb_keyword(verb: u32, at: i64) -> String {
    format!("{VERB_PREFIX}{verb}_{at}")
}

/// Whether a keyword is one of our verb keywords (to be replaced by a newer one).
pub fn is_verb_keyword(keyword: &str) -> bool {
    keyword
        .to_ascii_lowercase()
        .starts_with(&VERB_PREFIX.to_ascii_lowercase())
}

/// LastVerbExecuted and its time from a message's flags. Our keyword
/// counts only while the flag it stands for is still set (another client
/// may have cleared it); without it, `\Answered` is a reply to the sender
/// and `$Forwarded` a forward, at an unknown time.
pub fn last_verb(flags: &[String]) -> Option<(u32, Option<i64>)> {
    let has = |f: &str| flags.iter().any(|x| x.eq_ignore_ascii_case(f));
    let (answered, forwarded) = (has("\\Answered"), has("$Forwarded"));
    let ours = flags.iter().filter(|f| is_verb_keyword(f)).find_map(|f| {
        let (verb, at) = f[VERB_PREFIX.len()..].split_once('_')?;
        Some((verb.parse::<u32>().ok()?, at.parse::<i64>().ok()?))
    });
    match ours {
        Some((v, at)) if v == verb::FORWARD && forwarded => Some((v, Some(at))),
        Some((v, at)) if (v == verb::REPLY_TO_SENDER || v == verb::REPLY_TO_ALL) && answered => {
            Some((v, Some(at)))
        }
        _ if answered => Some((verb::REPLY_TO_SENDER, None)),
        _ if forwarded => Some((verb::FORWARD, None)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_round_trip_through_keywords() {
        for name in [
            "Work",
            "Rote Liste",
            "Ärger & Co",
            "a_b (x)",
            "$money",
            "100%",
        ] {
            let word = keyword_of(name);
            assert!(
                word.chars()
                    .all(|c| ('!'..='~').contains(&c) && !"(){%*\"\\]".contains(c)),
                "{word} is an IMAP atom"
            );
            assert!(!word.starts_with('$'));
            assert_eq!(category_of(&word).as_deref(), Some(name), "{word}");
        }
        assert_eq!(keyword_of("Rote Liste"), "Rote_Liste");
        assert_eq!(category_of("\\Seen"), None);
        assert_eq!(category_of("$Forwarded"), None);
        assert_eq!(category_of("NonJunk"), None);
        assert_eq!(category_of(&verb_keyword(2, 5)), None);
    }

    #[test]
    fn the_last_verb_comes_from_flags_and_our_keyword() {
        let flags = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(last_verb(&flags(&["\\Seen"])), None);
        assert_eq!(last_verb(&flags(&["\\Answered"])), Some((1, None)));
        assert_eq!(last_verb(&flags(&["$Forwarded"])), Some((3, None)));
        let kw = verb_keyword(verb::REPLY_TO_ALL, 1_795_510_800);
        assert_eq!(
            last_verb(&flags(&["\\Answered", &kw])),
            Some((2, Some(1_795_510_800)))
        );
        // Another client cleared \Answered: our keyword no longer counts.
        assert_eq!(last_verb(&flags(&["$Forwarded", &kw])), Some((3, None)));
        assert!(is_verb_keyword(&kw.to_ascii_lowercase()));
    }
}
