//! Change detection for IMAP servers without CONDSTORE/QRESYNC (plain
//! RFC 3501): the cursor is a snapshot of the folder — UIDVALIDITY, UIDNEXT
//! and every message's UID with a hash of its flags — and the changes since
//! a cursor are the difference between that snapshot and a fresh
//! `UID FETCH 1:* (FLAGS)`. New UIDs are adds, missing UIDs expunges, a
//! different hash a flag change (Read, Flag, Categories, LastVerbExecuted).
//!
//! The snapshot is written compactly (UID deltas and hashes in base 36), so
//! a 10,000-message folder costs about 100 KB of sync state.

/// One folder's messages as a client without CONDSTORE last saw them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagSnapshot {
    pub uidvalidity: u32,
    pub uidnext: u32,
    /// (UID, flags hash), ascending by UID.
    pub messages: Vec<(u32, u32)>,
}

/// The first character of an encoded snapshot; modseq cursors start with a digit.
const MARK: char = 'F';

impl FlagSnapshot {
    /// A snapshot of a folder the device holds nothing of: every message
    /// present at the next comparison is new.
    pub fn empty(uidvalidity: u32) -> FlagSnapshot {
        FlagSnapshot {
            uidvalidity,
            uidnext: 0,
            messages: Vec::new(),
        }
    }

    /// `F<uidvalidity>:<uidnext>:<delta>.<hash>,...` (delta and hash base 36).
    pub fn encode(&self) -> String {
        let mut out = format!("{MARK}{}:{}:", self.uidvalidity, self.uidnext);
        let mut previous = 0;
        for (n, (uid, hash)) in self.messages.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            out.push_str(&base36(uid - previous));
            out.push('.');
            out.push_str(&base36(*hash));
            previous = *uid;
        }
        out
    }

    /// The snapshot of `encode`; `None` for anything else (a modseq cursor).
    pub fn decode(s: &str) -> Option<FlagSnapshot> {
        let mut parts = s.strip_prefix(MARK)?.splitn(3, ':');
        let uidvalidity = parts.next()?.parse().ok()?;
        let uidnext = parts.next()?.parse().ok()?;
        let list = parts.next()?;
        let mut messages = Vec::new();
        let mut uid: u32 = 0;
        for entry in list.split(',').filter(|e| !e.is_empty()) {
            let (delta, hash) = entry.split_once('.')?;
            uid = uid.checked_add(u32::from_str_radix(delta, 36).ok()?)?;
            messages.push((uid, u32::from_str_radix(hash, 36).ok()?));
        }
        if !messages.windows(2).all(|w| w[0].0 < w[1].0) {
            return None;
        }
        Some(FlagSnapshot {
            uidvalidity,
            uidnext,
            messages,
        })
    }

    /// UIDs added or whose flags changed (`changed`) and UIDs gone
    /// (`deleted`) from `self` to `now`; both snapshots of the same UIDVALIDITY.
    pub fn diff(&self, now: &FlagSnapshot) -> (Vec<String>, Vec<String>) {
        let (mut changed, mut deleted) = (Vec::new(), Vec::new());
        let (mut old, mut new) = (
            self.messages.iter().peekable(),
            now.messages.iter().peekable(),
        );
        loop {
            match (old.peek(), new.peek()) {
                (Some(o), Some(n)) if o.0 == n.0 => {
                    if o.1 != n.1 {
                        changed.push(n.0.to_string());
                    }
                    old.next();
                    new.next();
                }
                (Some(o), Some(n)) if o.0 < n.0 => {
                    deleted.push(o.0.to_string());
                    old.next();
                }
                (_, Some(n)) => {
                    changed.push(n.0.to_string());
                    new.next();
                }
                (Some(o), None) => {
                    deleted.push(o.0.to_string());
                    old.next();
                }
                (None, None) => break,
            }
        }
        (changed, deleted)
    }

    /// Every UID of the snapshot, as ServerIds.
    pub fn ids(&self) -> Vec<String> {
        self.messages.iter().map(|(u, _)| u.to_string()).collect()
    }
}

/// FNV-1a of the message's flags and keywords, case-folded and sorted;
/// `\Recent` is left out (it differs per session, not per message).
pub fn flags_hash<'a>(flags: impl IntoIterator<Item = &'a str>) -> u32 {
    let mut list: Vec<String> = flags
        .into_iter()
        .map(str::to_ascii_lowercase)
        .filter(|f| f != "\\recent")
        .collect();
    list.sort();
    list.dedup();
    let mut hash: u32 = 0x811c_9dc5;
    for byte in list.join(" ").bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

fn base36(mut n: u32) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(messages: &[(u32, &[&str])]) -> FlagSnapshot {
        FlagSnapshot {
            uidvalidity: 1764,
            uidnext: messages.last().map_or(1, |m| m.0 + 1),
            messages: messages
                .iter()
                .map(|(u, f)| (*u, flags_hash(f.iter().copied())))
                .collect(),
        }
    }

    #[test]
    fn encodes_and_decodes_compactly() {
        let s = snap(&[
            (3, &["\\Seen"]),
            (40, &[]),
            (100_000, &["$label1", "\\Flagged"]),
        ]);
        let text = s.encode();
        assert!(text.starts_with("F1764:100001:3."), "{text}");
        assert_eq!(FlagSnapshot::decode(&text), Some(s));
        assert_eq!(
            FlagSnapshot::decode("F1:1:"),
            Some(FlagSnapshot {
                uidvalidity: 1,
                uidnext: 1,
                messages: vec![]
            })
        );
        assert_eq!(FlagSnapshot::decode("17:42:9"), None);
        assert_eq!(
            FlagSnapshot::decode("F1:2:5.x,0.y"),
            None,
            "UIDs must ascend"
        );
        assert_eq!(FlagSnapshot::decode("F1:2:5"), None);
    }

    #[test]
    fn the_diff_finds_adds_flag_changes_and_expunges() {
        let before = snap(&[(1, &["\\Seen"]), (2, &[]), (3, &["\\Flagged"]), (5, &[])]);
        let after = snap(&[
            (1, &["\\SEEN", "\\Recent"]),
            (2, &["\\Seen"]),
            (5, &[]),
            (6, &[]),
            (7, &[]),
        ]);
        let (changed, deleted) = before.diff(&after);
        assert_eq!(changed, vec!["2", "6", "7"]);
        assert_eq!(deleted, vec!["3"]);
        let (changed, deleted) = FlagSnapshot::empty(1764).diff(&after);
        assert_eq!((changed.len(), deleted.len()), (5, 0));
        assert_eq!(before.ids(), vec!["1", "2", "3", "5"]);
    }

    #[test]
    fn the_flags_hash_ignores_order_case_and_recent() {
        assert_eq!(
            flags_hash(["\\Seen", "Work"]),
            flags_hash(["work", "\\seen", "\\Recent"])
        );
        assert_ne!(flags_hash(["\\Seen"]), flags_hash(["\\Seen", "\\Answered"]));
    }
}
