//! The real mail server of the email tests: Dovecot + Postfix on loopback
//! from `scripts/mail-setup.sh` (users alice/alicepass, bob/bobpass), and a
//! direct IMAP connection to look at what the server did.

use fs2::FileExt;
use horde_activesync::backend::mail::imap::Connection;
use std::io::Read;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

pub const IMAP_PORT: u16 = 10143;
pub const SUBMISSION_PORT: u16 = 10587;
/// The second Dovecot of mail-setup.sh: the same mailboxes, but it offers
/// no CONDSTORE/QRESYNC (a plain RFC 3501 server).
pub const PLAIN_IMAP_PORT: u16 = 10144;

/// The `[mail]` section for `Served::start`.
pub fn config() -> String {
    format!(
        "[mail]\nimap_host = \"127.0.0.1\"\nimap_port = {IMAP_PORT}\n\
         smtp_host = \"127.0.0.1\"\nsmtp_port = {SUBMISSION_PORT}\ndomain = \"example.test\"\n"
    )
}

/// The `[mail]` section for the server without CONDSTORE/QRESYNC.
pub fn plain_config() -> String {
    config().replace(
        &format!("imap_port = {IMAP_PORT}"),
        &format!("imap_port = {PLAIN_IMAP_PORT}"),
    )
}

/// The `[mail]` section with STARTTLS for IMAP and implicit TLS for SMTP
/// (port 10465); `ca`: trust the test CA of mail-setup.sh.
pub fn tls_config(ca: bool) -> String {
    let ca = if ca {
        "tls_ca_file = \"/var/lib/eas-mail/tls/ca.pem\"\n"
    } else {
        ""
    };
    format!(
        "[mail]\nimap_host = \"127.0.0.1\"\nimap_port = {IMAP_PORT}\nimap_tls = \"starttls\"\n\
         smtp_host = \"127.0.0.1\"\nsmtp_port = 10465\nsmtp_tls = \"implicit\"\n\
         domain = \"example.test\"\n{ca}"
    )
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name)
}

fn imap_answers() -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", IMAP_PORT)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
    let mut buf = [0u8; 4];
    s.read_exact(&mut buf).is_ok() && &buf == b"* OK"
}

/// Run the setup script under a file lock (test binaries run in parallel),
/// with extra arguments.
fn run_setup(args: &[&str]) {
    let lock =
        std::fs::File::create(std::env::temp_dir().join("horde-activesync-mail.lock")).unwrap();
    lock.lock_exclusive().unwrap();
    let out = Command::new("bash")
        .arg(script("mail-setup.sh"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("bash scripts/mail-setup.sh");
    assert!(
        out.status.success(),
        "mail-setup.sh {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Make sure Dovecot and Postfix run (once per test binary; skipped when
/// IMAP already answers).
pub fn ensure_mail() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        if !imap_answers() {
            run_setup(&[]);
        }
    });
}

/// Exclusive use of the mailboxes, held for one test: the threads of this
/// test binary queue on a mutex, other test binaries (also those of other
/// checkouts on the same machine, which share Dovecot) on a file lock, so
/// no `--reset` wipes the mail of a test that is still running.
pub struct Mailboxes {
    _thread: MutexGuard<'static, ()>,
    _process: std::fs::File,
}

/// Exclusive use of the mailboxes for one test: every user's mail deleted,
/// alice's INBOX = the 12 seed messages. Hold the guard for the whole test.
pub fn fresh_mailboxes() -> Mailboxes {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let thread = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let process =
        std::fs::File::create(std::env::temp_dir().join("horde-activesync-mailboxes.lock"))
            .unwrap();
    process.lock_exclusive().unwrap();
    ensure_mail();
    run_setup(&["--reset", "--seed", "12"]);
    Mailboxes {
        _thread: thread,
        _process: process,
    }
}

/// Delete all mail again and re-seed, under the guard of `fresh_mailboxes`:
/// the INBOX gets a new UIDVALIDITY and its UIDs are reused.
pub fn reseed() {
    run_setup(&["--reset", "--seed", "12"]);
}

/// Add seed messages up to `n` in alice's INBOX (under `fresh_mailboxes`).
pub fn seed(n: usize) {
    run_setup(&["--seed", &n.to_string()]);
}

/// An IMAP login of `user` (password `<user>pass`), as another mail client.
pub fn imap(user: &str) -> Connection {
    Connection::login("127.0.0.1", IMAP_PORT, user, &format!("{user}pass")).unwrap()
}

/// Wait (at most 10 s) for a message of `user`'s `mailbox` matching an IMAP
/// SEARCH `criteria` (`HEADER Message-ID "<x>"`, `SUBJECT "y"`); its bytes.
pub fn wait_for_message(user: &str, mailbox: &str, criteria: &str) -> Vec<u8> {
    use horde_activesync::backend::mail::imap::{fetch_items, Value};
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut conn = imap(user);
    loop {
        conn.run(&format!("SELECT \"{mailbox}\"")).unwrap();
        let found = conn.run(&format!("UID SEARCH {criteria}")).unwrap();
        let uid = found
            .data("SEARCH")
            .into_iter()
            .flatten()
            .find_map(|v| v.as_number());
        if let Some(uid) = uid {
            let r = conn.run(&format!("UID FETCH {uid} (BODY.PEEK[])")).unwrap();
            let items = fetch_items(r.data("FETCH")[0][0].as_list());
            if let Some((_, Value::Str(b))) = items.into_iter().find(|(k, _)| k == "BODY[]") {
                return b;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no message {criteria} in {user}'s {mailbox}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// How many messages of `user`'s `mailbox` match an IMAP SEARCH `criteria`.
pub fn count_messages(user: &str, mailbox: &str, criteria: &str) -> usize {
    let mut conn = imap(user);
    conn.run(&format!("SELECT \"{mailbox}\"")).unwrap();
    let found = conn.run(&format!("UID SEARCH {criteria}")).unwrap();
    found.data("SEARCH").into_iter().flatten().count()
}

/// A Sync of mail `folder` from `key` (GetChanges after key 0) with
/// WindowSize `window`, asking for plain-text bodies cut at `truncation` bytes.
pub fn plain_text_sync(
    folder: &str,
    key: &str,
    window: u32,
    truncation: u32,
) -> horde_activesync::wbxml::Element {
    use horde_activesync::wbxml::codepages::{airsync as a, airsyncbase as asb};
    use horde_activesync::wbxml::Element;
    let options = Element::new(a::Options).with(
        Element::new(asb::BodyPreference)
            .with_text(asb::Type, "1")
            .with_text(asb::TruncationSize, truncation.to_string()),
    );
    mail_sync(folder, key, window, options)
}

/// A Sync of mail `folder` from `key` (GetChanges after key 0) with
/// WindowSize `window` and these `Options` (body preferences, MIMESupport).
pub fn mail_sync(
    folder: &str,
    key: &str,
    window: u32,
    options: horde_activesync::wbxml::Element,
) -> horde_activesync::wbxml::Element {
    use horde_activesync::wbxml::codepages::airsync as a;
    use horde_activesync::wbxml::Element;
    let mut coll = Element::new(a::Collection)
        .with_text(a::SyncKey, key)
        .with_text(a::CollectionId, folder);
    if key != "0" {
        coll.push(Element::new(a::GetChanges));
    }
    coll.push_text(a::WindowSize, window.to_string());
    coll.push(options);
    Element::new(a::Sync).with(Element::new(a::Collections).with(coll))
}
