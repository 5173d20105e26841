//! Email over IMAP (folders, items, flags, moves) and SMTP (sending), with
//! the device user's own credentials. `MailSession` implements the
//! [`Session`] operations for `Class::Email` collections; `backend::combined`
//! puts it next to the PIM backend.
//!
//! Collections are IMAP mailboxes (id = the raw mailbox name), item ids are
//! IMAP UIDs, and the change cursor is `UIDVALIDITY:HIGHESTMODSEQ:UIDNEXT`
//! when the server offers CONDSTORE and QRESYNC (RFC 7162), else a
//! [`snapshot::FlagSnapshot`] of UIDs and flags (plain RFC 3501).

pub mod imap;
pub mod keywords;
mod large;
pub mod smtp;
pub mod snapshot;
pub mod structure;
pub mod tls;
pub mod utf7;

use self::imap::{fetch_items, parse_values, quote, Connection, ImapError, Value};
use self::keywords::verb;
use self::snapshot::{flags_hash, FlagSnapshot};
use self::tls::{Endpoint, Tls};
use super::{BackendError, ChangeSet, Collection, Cursor, Result, Role, Session, Window};
use crate::config::MailConfig;
use crate::convert::mime;
use crate::model::email::Flag;
use crate::model::{Class, Item};

/// Where the user's mail lives.
#[derive(Clone)]
pub struct MailBackend {
    imap: Endpoint,
    smtp: Option<Endpoint>,
    smtp_auth: bool,
    domain: Option<String>,
}

impl MailBackend {
    /// `None` when `[mail] imap_host` is not set: then there is no mail.
    /// Fails when the TLS configuration (CA file) cannot be read.
    pub fn from_config(c: &MailConfig) -> std::io::Result<Option<MailBackend>> {
        let Some(imap_host) = c.imap_host.clone() else {
            return Ok(None);
        };
        let config = if c.imap_tls != Tls::None || c.smtp_tls != Tls::None {
            Some(tls::client_config(c.tls_ca_file.as_deref())?)
        } else {
            None
        };
        let endpoint = |host: String, port, tls| Endpoint {
            host,
            port,
            tls,
            config: config.clone(),
        };
        Ok(Some(MailBackend {
            imap: endpoint(imap_host, c.imap_port, c.imap_tls),
            smtp: c
                .smtp_host
                .clone()
                .map(|h| endpoint(h, c.smtp_port, c.smtp_tls)),
            smtp_auth: c.smtp_auth,
            domain: c.domain.clone(),
        }))
    }

    /// Log in to IMAP as the device user.
    pub fn open(&self, user: &str, password: &str) -> Result<MailSession> {
        let mut conn = Connection::open(&self.imap, user, password).map_err(|e| match e {
            ImapError::LoginFailed => BackendError::AuthFailed,
            other => BackendError::Unavailable(other.to_string()),
        })?;
        // VANISHED in UID FETCH (QRESYNC) reports expunges without a full
        // listing; without both extensions changes are found by comparing
        // flag snapshots.
        let condstore = conn.has_capability("CONDSTORE") && conn.has_capability("QRESYNC");
        if condstore {
            conn.run("ENABLE QRESYNC").map_err(imap_error)?;
        }
        Ok(MailSession {
            condstore,
            conn,
            backend: self.clone(),
            user: user.to_string(),
            password: password.to_string(),
            mailboxes: None,
            selected: None,
        })
    }
}

/// The state of the selected mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Selected {
    name: String,
    uidvalidity: u32,
    highest_modseq: u64,
    uidnext: u32,
    /// Messages in the mailbox (EXISTS).
    exists: u32,
    /// PERMANENTFLAGS has `\*`: new keywords (categories) can be stored.
    keywords_allowed: bool,
}

/// One user's IMAP connection for one request.
pub struct MailSession {
    conn: Connection,
    /// The server offers CONDSTORE and QRESYNC: modseq cursors.
    condstore: bool,
    backend: MailBackend,
    user: String,
    password: String,
    mailboxes: Option<Vec<Collection>>,
    selected: Option<Selected>,
}

fn imap_error(e: ImapError) -> BackendError {
    match e {
        ImapError::No { command, text }
            if command.starts_with("UID") || command.starts_with("SELECT") =>
        {
            BackendError::NotFound(format!("{command}: {text}"))
        }
        ImapError::No { command, text } => BackendError::Invalid(format!("{command}: {text}")),
        other => BackendError::Unavailable(other.to_string()),
    }
}

/// A change cursor of either kind.
enum MailCursor {
    /// `uidvalidity:modseq:uidnext` (CONDSTORE).
    Modseq(u32, u64, u32),
    Flags(FlagSnapshot),
}

impl MailCursor {
    fn parse(c: &str) -> Result<MailCursor> {
        FlagSnapshot::decode(c)
            .map(MailCursor::Flags)
            .or_else(|| parse_cursor(c).map(|(v, m, n)| MailCursor::Modseq(v, m, n)))
            .ok_or_else(|| BackendError::Invalid(format!("bad mail cursor {c}")))
    }

    /// Every id the device may hold from this cursor's generation of UIDs.
    fn ids(&self) -> Vec<String> {
        match self {
            MailCursor::Modseq(_, _, uidnext) => (1..*uidnext).map(|u| u.to_string()).collect(),
            MailCursor::Flags(s) => s.ids(),
        }
    }
}

/// `uidvalidity:modseq:uidnext`.
fn parse_cursor(c: &str) -> Option<(u32, u64, u32)> {
    let mut it = c.split(':');
    Some((
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
    ))
}

fn uid_set(ids: &[String]) -> String {
    ids.iter()
        .filter(|i| i.parse::<u32>().is_ok())
        .cloned()
        .collect::<Vec<_>>()
        .join(",")
}

/// What FLAGS and INTERNALDATE say about a message: Read, Flag,
/// Categories, LastVerbExecuted, DateReceived.
fn apply_attributes(email: &mut crate::model::email::Email, items: &[(String, Value)]) {
    let get = |k: &str| items.iter().find(|(n, _)| n == k).map(|(_, v)| v);
    let flags: Vec<String> = get("FLAGS")
        .map(|f| {
            f.as_list()
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let has = |name: &str| flags.iter().any(|f| f.eq_ignore_ascii_case(name));
    email.read = Some(has("\\Seen"));
    email.categories = flags
        .iter()
        .filter_map(|f| keywords::category_of(f))
        .collect();
    if let Some((verb, at)) = keywords::last_verb(&flags) {
        email.last_verb_executed = Some(verb);
        email.last_verb_execution_time = at;
    }
    email.flag = has("\\Flagged").then(|| Flag {
        status: 2,
        flag_type: Some("for Follow Up".into()),
        ..Flag::default()
    });
    if let Some(t) = get("INTERNALDATE")
        .and_then(Value::as_str)
        .and_then(internal_date)
    {
        email.date_received = Some(t);
    }
}

/// A reply goes to all when it has recipients besides the original's
/// reply addresses (and the replying user, who may copy themselves).
fn is_reply_to_all(reply: &[u8], original: &[u8]) -> bool {
    let to_sender = mime::reply_addresses(original);
    let own = mime::sender(reply);
    mime::recipients(reply).iter().any(|r| {
        !to_sender.iter().any(|s| s.eq_ignore_ascii_case(r))
            && !own.as_ref().is_some_and(|o| o.eq_ignore_ascii_case(r))
    })
}

/// The number of `* <n> EXISTS` in a SELECT answer.
fn exists(reply: &imap::Reply) -> u32 {
    reply
        .untagged
        .iter()
        .filter_map(|r| match parse_values(r).ok()?.as_slice() {
            [Value::Atom(star), Value::Number(n), Value::Atom(name)]
                if star == "*" && name.eq_ignore_ascii_case("EXISTS") =>
            {
                Some(*n as u32)
            }
            _ => None,
        })
        .next_back()
        .unwrap_or(0)
}

/// The UIDs of a `* SEARCH` answer.
fn searched_uids(reply: &imap::Reply) -> Vec<String> {
    reply
        .data("SEARCH")
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_number().map(|n| n.to_string()))
        .collect()
}

/// IMAP INTERNALDATE (`24-Nov-2026 10:00:00 +0100`) -> unix seconds.
fn internal_date(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_str(s.trim(), "%d-%b-%Y %H:%M:%S %z")
        .ok()
        .map(|d| d.timestamp())
}

/// `SEARCH SINCE` date of a window start.
fn search_date(t: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%-d-%b-%Y")
        .to_string()
}

impl MailSession {
    /// LIST with SPECIAL-USE, parents from the hierarchy delimiter.
    fn mailboxes(&mut self) -> Result<Vec<Collection>> {
        if let Some(m) = &self.mailboxes {
            return Ok(m.clone());
        }
        let reply = self
            .conn
            .run("LIST \"\" \"*\" RETURN (SPECIAL-USE)")
            .map_err(imap_error)?;
        let mut found: Vec<(String, Option<String>, Option<Role>)> = Vec::new();
        for v in reply.data("LIST") {
            let (Some(flags), Some(delim), Some(name)) = (v.first(), v.get(1), v.get(2)) else {
                continue;
            };
            let Some(name) = name.as_str().map(str::to_string) else {
                continue;
            };
            let flags: Vec<String> = flags
                .as_list()
                .iter()
                .filter_map(|f| f.as_str().map(str::to_ascii_lowercase))
                .collect();
            if flags
                .iter()
                .any(|f| f == "\\noselect" || f == "\\nonexistent")
            {
                continue;
            }
            let role = if name.eq_ignore_ascii_case("INBOX") {
                Some(Role::Inbox)
            } else {
                flags.iter().find_map(|f| match f.as_str() {
                    "\\drafts" => Some(Role::Drafts),
                    "\\trash" => Some(Role::Trash),
                    "\\sent" => Some(Role::Sent),
                    _ => None,
                })
            };
            let parent = delim
                .as_str()
                .filter(|d| !d.is_empty())
                .and_then(|d| name.rsplit_once(d).map(|(p, _)| p.to_string()));
            found.push((name, parent, role));
        }
        let names: Vec<String> = found.iter().map(|(n, _, _)| n.clone()).collect();
        let list: Vec<Collection> = found
            .into_iter()
            .map(|(id, parent, role)| {
                let leaf = match &parent {
                    Some(p) => id[p.len() + 1..].to_string(),
                    None => id.clone(),
                };
                Collection {
                    name: if role == Some(Role::Inbox) {
                        "Inbox".into()
                    } else {
                        utf7::decode(&leaf)
                    },
                    class: Class::Email,
                    is_default: role == Some(Role::Inbox),
                    // A parent that is not listed (\Noselect) leaves the child at the top.
                    parent: parent.filter(|p| names.contains(p)),
                    role,
                    id,
                }
            })
            .collect();
        self.mailboxes = Some(list.clone());
        Ok(list)
    }

    fn with_role(&mut self, role: Role) -> Result<Option<String>> {
        Ok(self
            .mailboxes()?
            .into_iter()
            .find(|c| c.role == Some(role))
            .map(|c| c.id))
    }

    /// SELECT (with CONDSTORE when offered), unless it is selected already.
    fn select(&mut self, mailbox: &str) -> Result<Selected> {
        if let Some(s) = self.selected.as_ref().filter(|s| s.name == mailbox) {
            return Ok(s.clone());
        }
        let condstore = if self.condstore { " (CONDSTORE)" } else { "" };
        let reply = self
            .conn
            .run(&format!("SELECT {}{condstore}", quote(mailbox)))
            .map_err(imap_error)?;
        let num = |name: &str| {
            reply
                .code(name)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let s = Selected {
            name: mailbox.to_string(),
            uidvalidity: num("UIDVALIDITY") as u32,
            highest_modseq: num("HIGHESTMODSEQ"),
            uidnext: num("UIDNEXT") as u32,
            exists: exists(&reply),
            keywords_allowed: reply
                .code("PERMANENTFLAGS")
                .is_some_and(|f| f.contains("\\*")),
        };
        self.selected = Some(s.clone());
        Ok(s)
    }

    /// A fresh SELECT and the UID and flags of every message (no CONDSTORE).
    fn flag_snapshot(&mut self, mailbox: &str) -> Result<FlagSnapshot> {
        self.selected = None;
        let now = self.select(mailbox)?;
        let mut messages = Vec::with_capacity(now.exists as usize);
        if now.exists > 0 {
            let reply = self
                .conn
                .run("UID FETCH 1:* (UID FLAGS)")
                .map_err(imap_error)?;
            for v in reply.data("FETCH") {
                let items = fetch_items(v.first().map(Value::as_list).unwrap_or_default());
                let get = |k: &str| items.iter().find(|(n, _)| n == k).map(|(_, v)| v);
                let Some(uid) = get("UID").and_then(Value::as_number) else {
                    continue;
                };
                let flags = get("FLAGS").map(Value::as_list).unwrap_or_default();
                let hash = flags_hash(flags.iter().filter_map(Value::as_str));
                messages.push((uid as u32, hash));
            }
        }
        messages.sort_unstable();
        messages.dedup_by_key(|m| m.0);
        Ok(FlagSnapshot {
            uidvalidity: now.uidvalidity,
            uidnext: now.uidnext,
            messages,
        })
    }

    fn uid_search(&mut self, criteria: &str) -> Result<Vec<String>> {
        let reply = self
            .conn
            .run(&format!("UID SEARCH {criteria}"))
            .map_err(imap_error)?;
        Ok(searched_uids(&reply))
    }

    /// The raw message (BODY.PEEK[], so it stays unread).
    fn fetch_raw(&mut self, mailbox: &str, uid: &str) -> Result<Option<Vec<u8>>> {
        self.select(mailbox)?;
        let reply = self
            .conn
            .run(&format!(
                "UID FETCH {} (BODY.PEEK[])",
                uid_set(&[uid.to_string()])
            ))
            .map_err(imap_error)?;
        Ok(reply.data("FETCH").into_iter().find_map(|v| {
            fetch_items(v.first()?.as_list())
                .into_iter()
                .find(|(k, _)| k == "BODY[]")
                .and_then(|(_, v)| match v {
                    Value::Str(b) => Some(b),
                    _ => None,
                })
        }))
    }

    /// APPEND a message (flags like `(\Seen)`) to a mailbox.
    fn append(&mut self, mailbox: &str, flags: &str, message: &[u8]) -> Result<()> {
        self.conn
            .run_with_literal(&format!("APPEND {} {flags}", quote(mailbox)), Some(message))
            .map_err(imap_error)?;
        Ok(())
    }

    /// The flags and keywords of message `uid` (selected).
    fn flags_of(&mut self, uid: &str) -> Result<Vec<String>> {
        let reply = self
            .conn
            .run(&format!("UID FETCH {uid} (FLAGS)"))
            .map_err(imap_error)?;
        Ok(reply
            .data("FETCH")
            .iter()
            .flat_map(|v| fetch_items(v.first().map(Value::as_list).unwrap_or_default()))
            .filter(|(k, _)| k == "FLAGS")
            .flat_map(|(_, v)| {
                v.as_list()
                    .iter()
                    .filter_map(|f| f.as_str().map(str::to_string))
                    .collect::<Vec<_>>()
            })
            .collect())
    }

    /// Make the category keywords of message `uid` (selected) these.
    fn store_categories(&mut self, uid: &str, categories: &[String]) -> Result<()> {
        let current: Vec<String> = self
            .flags_of(uid)?
            .into_iter()
            .filter(|f| keywords::category_of(f).is_some())
            .collect();
        let wanted: Vec<String> = categories
            .iter()
            .map(|c| keywords::keyword_of(c))
            .filter(|k| {
                // Dovecot refuses keywords over mail_max_keyword_length (50):
                // such a category is not stored rather than failing the Change.
                let fits = k.len() <= keywords::MAX_KEYWORD_LENGTH;
                if !fits {
                    log::info!("category keyword {k} is too long for IMAP; not stored");
                }
                fits
            })
            .collect();
        let stale: Vec<&String> = current.iter().filter(|k| !wanted.contains(k)).collect();
        let new: Vec<&String> = wanted.iter().filter(|k| !current.contains(k)).collect();
        for (sign, list) in [('-', stale), ('+', new)] {
            if !list.is_empty() {
                let words: Vec<&str> = list.iter().map(|k| k.as_str()).collect();
                self.conn
                    .run(&format!(
                        "UID STORE {uid} {sign}FLAGS.SILENT ({})",
                        words.join(" ")
                    ))
                    .map_err(imap_error)?;
            }
        }
        Ok(())
    }

    /// Record a reply or forward on the original (selected): `\Answered` or
    /// `$Forwarded`, and where keywords are allowed our verb keyword with
    /// the time and reply-to-all (MS-ASEMAIL LastVerbExecuted), replacing
    /// an older one.
    fn mark_verb(&mut self, uid: &str, verb: u32, keywords_allowed: bool) -> Result<()> {
        let flag = if verb == verb::FORWARD {
            "$Forwarded"
        } else {
            "\\Answered"
        };
        let mut set = vec![flag.to_string()];
        if keywords_allowed {
            let old: Vec<String> = self
                .flags_of(uid)?
                .into_iter()
                .filter(|f| keywords::is_verb_keyword(f))
                .collect();
            if !old.is_empty() {
                self.conn
                    .run(&format!(
                        "UID STORE {uid} -FLAGS.SILENT ({})",
                        old.join(" ")
                    ))
                    .map_err(imap_error)?;
            }
            let now = chrono::Utc::now().timestamp();
            set.push(keywords::verb_keyword(verb, now));
        }
        self.conn
            .run(&format!(
                "UID STORE {uid} +FLAGS.SILENT ({})",
                set.join(" ")
            ))
            .map_err(imap_error)?;
        Ok(())
    }

    fn default_from(&self) -> String {
        match (&self.backend.domain, self.user.contains('@')) {
            (Some(d), false) => format!("{}@{d}", self.user),
            _ => self.user.clone(),
        }
    }
}

impl Session for MailSession {
    fn collections(&mut self) -> Result<Vec<Collection>> {
        self.mailboxes()
    }

    fn create_collection(
        &mut self,
        class: Class,
        name: &str,
        parent: Option<&str>,
    ) -> Result<Collection> {
        if class != Class::Email {
            return Err(BackendError::Invalid("not a mail folder".into()));
        }
        let reply = self.conn.run("LIST \"\" \"\"").map_err(imap_error)?;
        let delim = reply
            .data("LIST")
            .first()
            .and_then(|v| v.get(1).and_then(|d| d.as_str().map(str::to_string)))
            .unwrap_or_else(|| "/".into());
        let id = match parent {
            Some(p) => format!("{p}{delim}{}", utf7::encode(name)),
            None => utf7::encode(name),
        };
        self.conn
            .run(&format!("CREATE {}", quote(&id)))
            .map_err(imap_error)?;
        self.mailboxes = None;
        Ok(Collection {
            id,
            class,
            name: name.to_string(),
            is_default: false,
            parent: parent.map(str::to_string),
            role: None,
        })
    }

    fn rename_collection(&mut self, id: &str, name: &str) -> Result<()> {
        let new = match self
            .mailboxes()?
            .into_iter()
            .find(|c| c.id == id)
            .and_then(|c| c.parent)
        {
            Some(p) => format!("{p}{}{}", &id[p.len()..p.len() + 1], utf7::encode(name)),
            None => utf7::encode(name),
        };
        self.conn
            .run(&format!("RENAME {} {}", quote(id), quote(&new)))
            .map_err(imap_error)?;
        self.mailboxes = None;
        Ok(())
    }

    fn delete_collection(&mut self, id: &str) -> Result<()> {
        self.conn
            .run(&format!("DELETE {}", quote(id)))
            .map_err(imap_error)?;
        self.mailboxes = None;
        Ok(())
    }

    fn cursor(&mut self, collection: &Collection) -> Result<Cursor> {
        if !self.condstore {
            return Ok(self.flag_snapshot(&collection.id)?.encode());
        }
        let reply = self
            .conn
            .run(&format!(
                "STATUS {} (UIDVALIDITY HIGHESTMODSEQ UIDNEXT)",
                quote(&collection.id)
            ))
            .map_err(imap_error)?;
        let items = reply.data("STATUS").into_iter().next().unwrap_or_default();
        let attrs = fetch_items(items.get(1).map(Value::as_list).unwrap_or_default());
        let get = |k: &str| {
            attrs
                .iter()
                .find(|(n, _)| n == k)
                .and_then(|(_, v)| v.as_number())
                .unwrap_or(0)
        };
        Ok(format!(
            "{}:{}:{}",
            get("UIDVALIDITY"),
            get("HIGHESTMODSEQ"),
            get("UIDNEXT")
        ))
    }

    fn list(&mut self, collection: &Collection, window: Window) -> Result<Vec<String>> {
        self.select(&collection.id)?;
        let Some(start) = window.start else {
            return self.uid_search("ALL");
        };
        // YOUNGER (RFC 5032 WITHIN) is exact to the second; SINCE only
        // knows days, so it is the fallback for servers without WITHIN.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        match self.uid_search(&format!("YOUNGER {}", (now - start).max(1))) {
            Ok(ids) => Ok(ids),
            Err(BackendError::Unavailable(e)) => Err(BackendError::Unavailable(e)),
            Err(_) => self.uid_search(&format!("SINCE {}", search_date(start))),
        }
    }

    /// Flag changes and new messages from CHANGEDSINCE, expunges from
    /// VANISHED (CONDSTORE/QRESYNC); else the difference of two flag
    /// snapshots. A new UIDVALIDITY means every old UID is gone: the folder
    /// is synced again, in two steps so a UID that exists in both generations
    /// is never lost to "deleted wins": the old ids are reported deleted now,
    /// and the cursor is set so the next call reports every message as new.
    /// A cursor of the other kind (the server gained or lost CONDSTORE) is
    /// handled the same way.
    fn changes(&mut self, collection: &Collection, since: &Cursor) -> Result<ChangeSet> {
        let since = MailCursor::parse(since)?;
        if !self.condstore {
            let now = self.flag_snapshot(&collection.id)?;
            return Ok(match since {
                MailCursor::Flags(old) if old.uidvalidity == now.uidvalidity => {
                    let (changed, deleted) = old.diff(&now);
                    ChangeSet {
                        changed,
                        deleted,
                        cursor: now.encode(),
                    }
                }
                other => ChangeSet {
                    changed: Vec::new(),
                    deleted: other.ids(),
                    cursor: FlagSnapshot::empty(now.uidvalidity).encode(),
                },
            });
        }
        // A fresh SELECT so the modseq is current.
        self.selected = None;
        let now = self.select(&collection.id)?;
        let cursor_now = format!("{}:{}:{}", now.uidvalidity, now.highest_modseq, now.uidnext);
        let modseq = match since {
            MailCursor::Modseq(validity, modseq, _) if validity == now.uidvalidity => modseq,
            other => {
                return Ok(ChangeSet {
                    changed: Vec::new(),
                    deleted: other.ids(),
                    cursor: format!("{}:0:1", now.uidvalidity),
                })
            }
        };
        if modseq == 0 {
            // The second step after a UIDVALIDITY change: everything is new.
            return Ok(ChangeSet {
                changed: self.uid_search("ALL")?,
                deleted: Vec::new(),
                cursor: cursor_now,
            });
        }
        if modseq == now.highest_modseq {
            return Ok(ChangeSet {
                cursor: cursor_now,
                ..ChangeSet::default()
            });
        }
        let reply = self
            .conn
            .run(&format!(
                "UID FETCH 1:* (UID) (CHANGEDSINCE {modseq} VANISHED)"
            ))
            .map_err(imap_error)?;
        let changed = reply
            .data("FETCH")
            .into_iter()
            .filter_map(|v| {
                fetch_items(v.first()?.as_list())
                    .into_iter()
                    .find(|(k, _)| k == "UID")
                    .and_then(|(_, v)| v.as_number())
                    .map(|n| n.to_string())
            })
            .collect();
        let deleted = reply
            .data("VANISHED")
            .into_iter()
            .filter_map(|v| {
                v.last()
                    .and_then(|s| s.as_str().map(str::to_string))
                    .or_else(|| v.last()?.as_number().map(|n| n.to_string()))
            })
            .flat_map(|set| imap::expand_set(&set))
            .map(|u| u.to_string())
            .collect();
        Ok(ChangeSet {
            changed,
            deleted,
            cursor: cursor_now,
        })
    }

    /// Messages up to `large::LARGE_MESSAGE` are read whole in one
    /// command; larger ones part by part (see `large`).
    fn fetch(&mut self, collection: &Collection, ids: &[String]) -> Result<Vec<(String, Item)>> {
        let set = uid_set(ids);
        if set.is_empty() {
            return Ok(Vec::new());
        }
        self.select(&collection.id)?;
        let mut whole = Vec::new();
        let mut out = Vec::new();
        for (uid, size) in self.sizes(&set)? {
            if size <= large::LARGE_MESSAGE {
                whole.push(uid.to_string());
                continue;
            }
            match self.fetch_large(&collection.id, uid, size)? {
                Some(m) => {
                    let mut email = m.email;
                    apply_attributes(&mut email, &m.attributes);
                    out.push((uid.to_string(), Item::Email(email)));
                }
                None => whole.push(uid.to_string()),
            }
        }
        if whole.is_empty() {
            return Ok(out);
        }
        let reply = self
            .conn
            .run(&format!(
                "UID FETCH {} (UID FLAGS INTERNALDATE BODY.PEEK[])",
                whole.join(",")
            ))
            .map_err(imap_error)?;
        for v in reply.data("FETCH") {
            let items = fetch_items(v.first().map(Value::as_list).unwrap_or_default());
            let get = |k: &str| items.iter().find(|(n, _)| n == k).map(|(_, v)| v);
            let (Some(uid), Some(Value::Str(raw))) =
                (get("UID").and_then(Value::as_number), get("BODY[]"))
            else {
                continue;
            };
            let prefix = format!("{uid}:");
            let suffix = format!("@{}", collection.id);
            let Some(mut email) = mime::parse(raw, &prefix) else {
                continue;
            };
            for a in &mut email.attachments {
                a.file_reference.push_str(&suffix);
            }
            apply_attributes(&mut email, &items);
            out.push((uid.to_string(), Item::Email(email)));
        }
        Ok(out)
    }

    fn add(&mut self, _collection: &Collection, _item: &Item) -> Result<String> {
        Err(BackendError::Invalid(
            "email is added by SendMail, not by Sync".into(),
        ))
    }

    /// A device changes Read, Flag and Categories only: set \Seen,
    /// \Flagged and the category keywords to match (categories only where
    /// the mailbox takes new keywords).
    fn replace(&mut self, collection: &Collection, id: &str, item: &Item) -> Result<()> {
        let Item::Email(e) = item else {
            return Err(BackendError::Invalid("not an email".into()));
        };
        let selected = self.select(&collection.id)?;
        let uid = uid_set(&[id.to_string()]);
        if selected.keywords_allowed && !uid.is_empty() {
            self.store_categories(&uid, &e.categories)?;
        }
        let mut store = |on: bool, flag: &str| {
            let sign = if on { '+' } else { '-' };
            self.conn
                .run(&format!("UID STORE {uid} {sign}FLAGS.SILENT ({flag})"))
                .map_err(imap_error)
        };
        if let Some(read) = e.read {
            store(read, "\\Seen")?;
        }
        if let Some(f) = &e.flag {
            store(f.status == 2, "\\Flagged")?;
        }
        Ok(())
    }

    /// Moves to Trash (MS-ASCMD DeletesAsMoves, the default); in Trash itself
    /// or without one, the message is expunged.
    fn delete(&mut self, collection: &Collection, id: &str) -> Result<()> {
        let trash = self.with_role(Role::Trash)?;
        match trash.filter(|t| *t != collection.id) {
            Some(trash) => {
                let to = Collection {
                    id: trash,
                    ..collection.clone()
                };
                self.move_item(collection, id, &to).map(|_| ())
            }
            None => self.delete_permanently(collection, id),
        }
    }

    /// \Deleted + UID EXPUNGE of just this message (UIDPLUS).
    fn delete_permanently(&mut self, collection: &Collection, id: &str) -> Result<()> {
        self.select(&collection.id)?;
        let uid = uid_set(&[id.to_string()]);
        if uid.is_empty() {
            return Err(BackendError::NotFound(id.to_string()));
        }
        self.conn
            .run(&format!("UID STORE {uid} +FLAGS.SILENT (\\Deleted)"))
            .map_err(imap_error)?;
        self.conn
            .run(&format!("UID EXPUNGE {uid}"))
            .map_err(imap_error)?;
        Ok(())
    }

    /// \Deleted on every message + UID EXPUNGE of them (UIDPLUS): two
    /// commands whatever the size of the folder.
    fn empty_collection(&mut self, collection: &Collection) -> Result<()> {
        self.select(&collection.id)?;
        if self.uid_search("ALL")?.is_empty() {
            return Ok(());
        }
        self.conn
            .run("UID STORE 1:* +FLAGS.SILENT (\\Deleted)")
            .map_err(imap_error)?;
        self.conn.run("UID EXPUNGE 1:*").map_err(imap_error)?;
        Ok(())
    }

    /// UID MOVE; the new UID comes from COPYUID (UIDPLUS).
    fn move_item(&mut self, from: &Collection, id: &str, to: &Collection) -> Result<String> {
        self.select(&from.id)?;
        let uid = uid_set(&[id.to_string()]);
        if uid.is_empty() {
            return Err(BackendError::NotFound(id.to_string()));
        }
        let reply = self
            .conn
            .run(&format!("UID MOVE {uid} {}", quote(&to.id)))
            .map_err(imap_error)?;
        reply
            .code("COPYUID")
            .and_then(|c| c.split(' ').nth(2).map(str::to_string))
            .ok_or_else(|| BackendError::NotFound(format!("message {id} in {}", from.id)))
    }

    /// Submit over SMTP as the user (Bcc header removed), then APPEND to Sent.
    fn send_mail(&mut self, message: &[u8], save_in_sent: bool) -> Result<()> {
        let endpoint = self
            .backend
            .smtp
            .clone()
            .ok_or_else(|| BackendError::Invalid("no [mail] smtp_host configured".into()))?;
        let recipients = mime::recipients(message);
        if recipients.is_empty() {
            return Err(BackendError::Invalid("message has no recipients".into()));
        }
        let from = mime::sender(message).unwrap_or_else(|| self.default_from());
        let outgoing = mime::without_bcc(message);
        let submission = smtp::Submission {
            endpoint: &endpoint,
            login: self
                .backend
                .smtp_auth
                .then_some((self.user.as_str(), self.password.as_str())),
        };
        submission
            .send(
                &smtp::Envelope {
                    from: &from,
                    to: &recipients,
                },
                &outgoing,
            )
            .map_err(|e| match e {
                smtp::SmtpError::Refused { code, .. } if (500..600).contains(&code) => {
                    BackendError::Invalid(e.to_string())
                }
                other => BackendError::Unavailable(other.to_string()),
            })?;
        if save_in_sent {
            if let Some(sent) = self.with_role(Role::Sent)? {
                self.append(&sent, "(\\Seen)", &outgoing)?;
            }
        }
        Ok(())
    }

    fn send_with_original(
        &mut self,
        message: &[u8],
        (collection, id): (&Collection, &str),
        forward: bool,
        replace_mime: bool,
        save_in_sent: bool,
    ) -> Result<()> {
        let original = self
            .fetch_raw(&collection.id, id)?
            .ok_or_else(|| BackendError::NotFound(format!("message {id} in {}", collection.id)))?;
        let outgoing = match (replace_mime, forward) {
            (true, _) => message.to_vec(),
            (false, true) => mime::with_original(message, &original),
            (false, false) => mime::reply_with_quote(message, &original),
        };
        self.send_mail(&outgoing, save_in_sent)?;
        let verb = if forward {
            verb::FORWARD
        } else if is_reply_to_all(message, &original) {
            verb::REPLY_TO_ALL
        } else {
            verb::REPLY_TO_SENDER
        };
        let selected = self.select(&collection.id)?;
        self.mark_verb(&uid_set(&[id.to_string()]), verb, selected.keywords_allowed)
    }

    /// UID SEARCH CHARSET UTF-8 [SINCE] [BEFORE] TEXT <literal>: the server
    /// decodes headers and bodies in their charsets.
    fn search(
        &mut self,
        collection: &Collection,
        text: &str,
        window: Window,
    ) -> Result<Vec<String>> {
        self.select(&collection.id)?;
        let mut criteria = String::from("UID SEARCH CHARSET UTF-8");
        if let Some(t) = window.start {
            criteria.push_str(&format!(" SINCE {}", search_date(t)));
        }
        if let Some(t) = window.end {
            criteria.push_str(&format!(" BEFORE {}", search_date(t)));
        }
        let reply = if text.is_empty() {
            self.conn.run(&format!("{criteria} ALL"))
        } else {
            self.conn
                .run_with_literal(&format!("{criteria} TEXT"), Some(text.as_bytes()))
        }
        .map_err(imap_error)?;
        Ok(searched_uids(&reply))
    }

    /// FileReference `<uid>:<n>@<mailbox>` (see `fetch`): attachment n of
    /// the message; `<uid>:s<section>@<mailbox>`: that IMAP section of a
    /// large message, read alone.
    fn fetch_attachment(
        &mut self,
        file_reference: &str,
        spool: &crate::blob::Spool,
    ) -> Result<(String, crate::blob::Blob)> {
        let bad = || BackendError::Invalid(format!("bad attachment reference {file_reference}"));
        let (part, mailbox) = file_reference.split_once('@').ok_or_else(bad)?;
        let (uid, n) = part.split_once(':').ok_or_else(bad)?;
        if let Some(section) = n.strip_prefix('s') {
            return self.fetch_section(mailbox, uid, section, spool);
        }
        let n: usize = n.parse().map_err(|_| bad())?;
        if uid.parse::<u32>().is_err() {
            return Err(bad());
        }
        let raw = self
            .fetch_raw(mailbox, uid)?
            .ok_or_else(|| BackendError::NotFound(file_reference.to_string()))?;
        // Below the large-message size: decoded in memory.
        let (_, content_type, bytes) = mime::attachment(&raw, n)
            .ok_or_else(|| BackendError::NotFound(file_reference.to_string()))?;
        Ok((content_type, bytes.into()))
    }

    fn calls(&self) -> u32 {
        self.conn.commands
    }
}

impl Drop for MailSession {
    fn drop(&mut self) {
        let _ = self.conn.run("LOGOUT");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_dates_and_sets() {
        assert_eq!(parse_cursor("17:42:9"), Some((17, 42, 9)));
        assert_eq!(parse_cursor("17:42"), None);
        assert_eq!(
            internal_date("24-Nov-2026 10:00:00 +0100"),
            Some(1_795_510_800)
        );
        assert!(internal_date(" 4-Nov-2026 10:00:00 +0000").is_some());
        assert_eq!(search_date(1_795_510_800), "24-Nov-2026");
        assert_eq!(uid_set(&["3".into(), "x".into(), "5".into()]), "3,5");
    }

    #[test]
    fn reply_to_all_and_exists() {
        let original =
            b"From: Bob <bob@x.test>\r\nReply-To: list@x.test\r\nTo: alice@x.test\r\n\r\n.\r\n";
        let reply = |to: &str| format!("From: alice@x.test\r\nTo: {to}\r\n\r\nok\r\n").into_bytes();
        assert!(!is_reply_to_all(&reply("list@x.test"), original));
        assert!(!is_reply_to_all(
            &reply("LIST@x.test, alice@x.test"),
            original
        ));
        assert!(is_reply_to_all(&reply("list@x.test, bob@x.test"), original));
        let select = imap::Reply {
            untagged: vec![
                b"* FLAGS (\\Seen)\r\n".to_vec(),
                b"* 17 EXISTS\r\n".to_vec(),
            ],
            status: "OK".into(),
        };
        assert_eq!(exists(&select), 17);
    }
}
