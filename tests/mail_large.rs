//! A 25 MiB attachment on real Dovecot, through `serve` and through real
//! lighttpd with our FastCGI process (and, bytes only, as CGI under
//! lighttpd): Sync lists the message (plain text
//! cut at 32 KB) without reading the file; GetAttachment (12.1) and
//! ItemOperations Fetch (14.1: inline base64, multipart, and a byte range
//! in the middle) hand the file over byte for byte, while the serving
//! process's peak RSS (VmHWM) grows by a few MiB, not by the file: the
//! attachment is read from IMAP in pieces into a spool file and copied out
//! in bounded chunks. The same holds for the whole message as MIME
//! (ItemOperations, inline and multipart), while Sync sends its beginning.
//! The figures are printed (`--nocapture`).

mod support;

use base64::Engine;
use blake2::{Blake2b512, Digest};
use horde_activesync::wbxml::codepages::{
    airsync as a, airsyncbase as asb, email as em, itemoperations as io,
};
use horde_activesync::wbxml::Element;
use support::client::{multipart_parts, Reply};
use support::device::Phone;
use support::mail::{self, fresh_mailboxes, imap};
use support::memory;
use support::serve::Served;
use support::web::{Variant, WebServer};

const SIZE: usize = 25 << 20;

/// The peak RSS growth allowed while the attachment is served: a few
/// pieces of [`SIZE`]-independent size (IMAP piece, decode buffers, copy
/// buffers), far below the attachment itself.
const MAX_GROWTH_KIB: u64 = 8 << 10;

/// The byte range fetched from the middle of the file (inclusive).
const RANGE: (usize, usize) = (10_000_000, 14_999_999);

/// Deterministic incompressible bytes.
fn payload() -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..SIZE)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn message(file: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(file);
    let mut m =
        b"From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: the big one\r\n\
Date: Tue, 24 Nov 2026 10:00:00 +0100\r\nMessage-ID: <big@example.test>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=BIG\r\n\r\n--BIG\r\nContent-Type: text/plain\r\n\r\n\
Here is the file.\r\n--BIG\r\nContent-Type: application/octet-stream; name=big.bin\r\n\
Content-Disposition: attachment; filename=big.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            .to_vec();
    for line in b64.as_bytes().chunks(76) {
        m.extend_from_slice(line);
        m.extend_from_slice(b"\r\n");
    }
    m.extend_from_slice(
        b"--BIG\r\nContent-Type: text/plain; charset=utf-8; name=notes.txt\r\n\
Content-Disposition: attachment; filename=notes.txt\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\r\n",
    );
    m.extend_from_slice(&quoted_printable(&text()));
    m.extend_from_slice(b"\r\n--BIG--\r\n");
    m
}

/// A 1.9 MB text attachment: more than two of the pieces the server reads
/// a section in, so pieces end inside `=XX` escapes and soft breaks.
fn text() -> Vec<u8> {
    (0..25_000)
        .flat_map(|i| format!("line {i}: größer = better, {}\r\n", "x".repeat(i % 90)).into_bytes())
        .collect()
}

/// Quoted-printable with soft breaks (lines of at most 76 characters).
fn quoted_printable(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut line = 0;
    let mut i = 0;
    while i < text.len() {
        if text[i..].starts_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
            line = 0;
            i += 2;
            continue;
        }
        let b = text[i];
        // A space at the end of a line would be transport padding.
        let trailing_space = b == b' ' && text[i + 1..].starts_with(b"\r\n");
        let escaped = if (b'!'..=b'~').contains(&b) && b != b'=' || b == b' ' && !trailing_space {
            vec![b]
        } else {
            format!("={b:02X}").into_bytes()
        };
        if line + escaped.len() > 75 {
            out.extend_from_slice(b"=\r\n");
            line = 0;
        }
        line += escaped.len();
        out.extend_from_slice(&escaped);
        i += 1;
    }
    out
}

fn hash(bytes: &[u8]) -> Vec<u8> {
    Blake2b512::digest(bytes).to_vec()
}

/// `got` is exactly `expected` (length, then hash: no 25 MiB diff output).
fn assert_same(what: &str, got: &[u8], expected: &[u8]) {
    assert_eq!(got.len(), expected.len(), "{what}: length");
    assert!(hash(got) == hash(expected), "{what}: content differs");
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Sync Options asking for plain text cut at 32 KB.
fn plain_options() -> Element {
    Element::new(a::Options).with(
        Element::new(asb::BodyPreference)
            .with_text(asb::Type, "1")
            .with_text(asb::TruncationSize, "32768"),
    )
}

/// Options (Sync or ItemOperations) with one BodyPreference for MIME.
fn mime_options(tag: horde_activesync::wbxml::Tag, truncation: Option<u32>) -> Element {
    let mut pref = Element::new(asb::BodyPreference).with_text(asb::Type, "4");
    if let Some(n) = truncation {
        pref.push_text(asb::TruncationSize, n.to_string());
    }
    Element::new(tag).with(pref)
}

/// The big message's ServerId and ApplicationData from a Sync of the
/// INBOX (key 0, then GetChanges) with these Options.
fn sync_big_message(phone: &mut Phone, options: &Element) -> (String, Element) {
    let inbox = phone.folder(2);
    let mut key = "0".to_string();
    let mut big = None;
    for _ in 0..2 {
        let r = phone.post_sync(&mail::mail_sync(&inbox, &key, 100, options.clone()));
        key = r.text_of(a::SyncKey).unwrap().to_string();
        big = big.or_else(|| {
            r.child(a::Commands)?.children_with(a::Add).find_map(|add| {
                let data = add.child(a::ApplicationData)?;
                (data.text_of(em::Subject) == Some("the big one")).then_some(())?;
                Some((add.text_of(a::ServerId)?.to_string(), data.clone()))
            })
        });
    }
    big.expect("the big message was synced")
}

/// ItemOperations Fetch of the attachment `reference`, whole or the byte `range`.
fn fetch_reference(phone: &Phone, reference: &str, range: Option<&str>, multipart: bool) -> Reply {
    let mut fetch = Element::new(io::Fetch)
        .with_text(io::Store, "Mailbox")
        .with_text(asb::FileReference, reference);
    if let Some(r) = range {
        fetch.push(Element::new(io::Options).with_text(io::Range, r));
    }
    phone.item_operations(fetch, multipart)
}

/// The Properties of the one Fetch of an ItemOperations document.
fn fetched(doc: &Element) -> Element {
    assert_eq!(doc.text_of(io::Status), Some("1"));
    let fetch = doc.path(&[io::Response, io::Fetch]).expect("a Fetch");
    assert_eq!(fetch.text_of(io::Status), Some("1"));
    fetch.child(io::Properties).expect("Properties").clone()
}

/// Every way of downloading the attachment, from the processes `pids`;
/// each download's peak RSS growth is measured from a reset peak (the
/// largest over the processes), printed, and the largest returned.
fn download_everything(front: &str, url: &str, reference: &str, file: &[u8], pids: &[u32]) -> u64 {
    let peak = || {
        pids.iter()
            .map(|p| memory::peak_rss_kib(*p))
            .max()
            .unwrap_or(0)
    };
    let reset = || {
        pids.iter().for_each(|p| memory::reset_peak_rss(*p));
        peak()
    };
    let mut steps: Vec<(String, u64)> = Vec::new();
    let mut base = reset();
    let first = base;
    let mut step = |name: &str| {
        steps.push((name.to_string(), peak() - base));
        base = reset();
    };

    let old = Phone::new(url, "alice", "alicepass", "LARGEGA", "12.1");
    let r = old
        .client
        .post_raw("GetAttachment", &[("AttachmentName", reference)], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some("application/octet-stream"));
    assert_same("GetAttachment", &r.raw, file);
    drop(r);
    step("GetAttachment");

    let phone = Phone::new(url, "alice", "alicepass", "LARGEIO", "14.1");
    let r = fetch_reference(&phone, reference, None, false);
    let props = fetched(r.body.as_ref().expect("WBXML"));
    let data = base64::engine::general_purpose::STANDARD
        .decode(props.text_of(io::Data).expect("inline Data"))
        .unwrap();
    assert_same("ItemOperations inline", &data, file);
    drop((r, props, data));
    step("ItemOperations inline");

    let r = fetch_reference(&phone, reference, None, true);
    assert_eq!(
        r.header("Content-Type"),
        Some("application/vnd.ms-sync.multipart")
    );
    let parts = multipart_parts(&r.raw);
    let doc = horde_activesync::wbxml::decode(parts[0], &Default::default()).unwrap();
    assert_eq!(fetched(&doc).text_of(io::Part), Some("1"));
    assert_same("ItemOperations multipart", parts[1], file);
    drop(r);
    step("ItemOperations multipart");

    let range = format!("{}-{}", RANGE.0, RANGE.1);
    let r = fetch_reference(&phone, reference, Some(&range), false);
    let props = fetched(r.body.as_ref().expect("WBXML"));
    assert_eq!(props.text_of(io::Range), Some(range.as_str()));
    assert_eq!(props.text_of(io::Total), Some(SIZE.to_string().as_str()));
    let data = base64::engine::general_purpose::STANDARD
        .decode(props.text_of(io::Data).expect("inline Data"))
        .unwrap();
    assert_same("ItemOperations range", &data, &file[RANGE.0..=RANGE.1]);
    step("ItemOperations range");

    let figures: Vec<String> = steps
        .iter()
        .map(|(name, kib)| format!("{name} +{:.1}", mib(*kib)))
        .collect();
    println!(
        "{front}: RSS {:.1} MiB before the downloads; peak growth in MiB during {}; attachment {} MiB",
        mib(first),
        figures.join(", "),
        SIZE >> 20
    );
    steps.iter().map(|(_, kib)| *kib).max().unwrap_or(0)
}

#[test]
fn a_25_mib_attachment_is_served_with_bounded_memory_by_serve() {
    let _mail = fresh_mailboxes();
    let file = payload();
    imap("alice")
        .run_with_literal("APPEND INBOX", Some(&message(&file)))
        .unwrap();

    let config = format!("[provisioning]\nmode = \"none\"\n{}", mail::config());
    let served = Served::start(&config, &[("alice", "alicepass")]);
    let mut phone = Phone::new(&served.url, "alice", "alicepass", "LARGE1", "12.1");
    phone.folder_sync();
    memory::reset_peak_rss(served.pid());
    let base = served.peak_rss_kib();
    let (_, big) = sync_big_message(&mut phone, &plain_options());
    let after_sync = served.peak_rss_kib();
    assert_eq!(
        big.path(&[asb::Body, asb::Data])
            .and_then(Element::text)
            .map(str::trim_end),
        Some("Here is the file."),
        "the text part is read alone"
    );
    let att = big.path(&[asb::Attachments, asb::Attachment]).unwrap();
    let size: usize = att
        .text_of(asb::EstimatedDataSize)
        .unwrap()
        .parse()
        .unwrap();
    assert!(size.abs_diff(SIZE) < SIZE / 50, "estimated {size}");
    let reference = att.text_of(asb::FileReference).unwrap().to_string();
    // The quoted-printable attachment, decoded piece by piece too.
    let notes = big
        .path(&[asb::Attachments])
        .and_then(|all| {
            all.children_with(asb::Attachment)
                .find(|a| a.text_of(asb::DisplayName) == Some("notes.txt"))
        })
        .and_then(|a| a.text_of(asb::FileReference))
        .expect("notes.txt is listed");
    let r = phone
        .client
        .post_raw("GetAttachment", &[("AttachmentName", notes)], b"");
    assert_eq!(r.status, 200);
    assert_same("quoted-printable GetAttachment", &r.raw, &text());
    println!(
        "serve: RSS {:.1} MiB after FolderSync, peak growth during Sync +{:.1} MiB",
        mib(base),
        mib(after_sync - base)
    );
    assert!(
        after_sync < base + (SIZE as u64 / 1024) / 2,
        "Sync must not read the attachment"
    );

    let growth = download_everything("serve", &served.url, &reference, &file, &[served.pid()]);
    assert!(
        growth < MAX_GROWTH_KIB,
        "serving a {} MiB attachment grew the process by {:.1} MiB",
        SIZE >> 20,
        mib(growth)
    );
    // Spool files are unnamed: nothing is left behind.
    let spool = served.dir.path().join("state/.spool");
    assert_eq!(std::fs::read_dir(&spool).unwrap().count(), 0);
}

#[test]
fn a_25_mib_attachment_is_served_with_bounded_memory_by_lighttpd_fastcgi_and_cgi() {
    let _mail = fresh_mailboxes();
    let file = payload();
    imap("alice")
        .run_with_literal("APPEND INBOX", Some(&message(&file)))
        .unwrap();

    let (_dir, config) = support::web::embedded_site(&mail::config(), &[("alice", "alicepass")]);
    let web = WebServer::start(Variant::LighttpdFastcgi, &config);
    let mut phone = Phone::new(&web.base_url, "alice", "alicepass", "LARGE2", "12.1");
    phone.folder_sync();
    let (_, big) = sync_big_message(&mut phone, &plain_options());
    let reference = big
        .path(&[asb::Attachments, asb::Attachment])
        .and_then(|att| att.text_of(asb::FileReference))
        .unwrap()
        .to_string();
    // lighttpd's FastCGI processes: ActiveSync's and Autodiscover's.
    let pids = memory::children_named(web.pid(), "horde-activesync");
    assert!(!pids.is_empty(), "the FastCGI process is found");
    let growth = download_everything("lighttpd FastCGI", &web.base_url, &reference, &file, &pids);
    assert!(
        growth < MAX_GROWTH_KIB,
        "serving a {} MiB attachment grew the FastCGI process by {:.1} MiB\n{}",
        SIZE >> 20,
        mib(growth),
        web.log()
    );

    // CGI: one process per request, writing the same segmented body to
    // stdout (bytes checked; the process is gone before its peak is read).
    let cgi = WebServer::start(Variant::LighttpdCgi, &config);
    let phone = Phone::new(&cgi.base_url, "alice", "alicepass", "LARGE3", "14.1");
    let r = fetch_reference(&phone, &reference, None, true);
    let parts = multipart_parts(&r.raw);
    assert_same("CGI ItemOperations multipart", parts[1], &file);
    let range = format!("{}-{}", RANGE.0, RANGE.1);
    let r = fetch_reference(&phone, &reference, Some(&range), false);
    let props = fetched(r.body.as_ref().expect("WBXML"));
    let data = base64::engine::general_purpose::STANDARD
        .decode(props.text_of(io::Data).expect("inline Data"))
        .unwrap();
    assert_same("CGI ItemOperations range", &data, &file[RANGE.0..=RANGE.1]);
}

/// What the serving process `pid` grows by (peak RSS, KiB) while `f` runs.
fn measured<T>(pid: u32, f: impl FnOnce() -> T) -> (T, u64) {
    memory::reset_peak_rss(pid);
    let base = memory::peak_rss_kib(pid);
    let out = f();
    (out, memory::peak_rss_kib(pid).saturating_sub(base))
}

/// A MIME Body that carries the first `n` octets of `raw`, marked as cut,
/// with the size of all of it.
fn assert_mime_beginning(what: &str, body: &Element, raw: &[u8], n: usize) {
    assert_eq!(body.text_of(asb::Type), Some("4"), "{what}: type");
    assert_eq!(body.text_of(asb::Truncated), Some("1"), "{what}: truncated");
    let size = raw.len().to_string();
    assert_eq!(
        body.text_of(asb::EstimatedDataSize),
        Some(size.as_str()),
        "{what}"
    );
    let data = body.child(asb::Data).and_then(Element::bytes);
    assert_same(what, data.expect("Data"), &raw[..n]);
}

/// The airsyncbase:Body of an ItemOperations Fetch of an item, and the
/// content of its body: its Data, or in a multipart response its part.
fn fetched_body(r: &Reply) -> (Element, Vec<u8>) {
    if r.header("Content-Type") == Some("application/vnd.ms-sync.multipart") {
        let parts = multipart_parts(&r.raw);
        let doc = horde_activesync::wbxml::decode(parts[0], &Default::default()).unwrap();
        let body = fetched(&doc).child(asb::Body).expect("Body").clone();
        let n: usize = body.text_of(io::Part).expect("Part").parse().unwrap();
        let content = parts[n].to_vec();
        return (body, content);
    }
    let body = fetched(r.body.as_ref().expect("WBXML"))
        .child(asb::Body)
        .expect("Body")
        .clone();
    let content = body
        .child(asb::Data)
        .and_then(Element::bytes)
        .expect("Data");
    let content = content.to_vec();
    (body, content)
}

/// The MIME form of the 25 MiB message. Sync sends its beginning, marked
/// as cut, with the size of the whole (MS-ASAIRS Body): the first
/// TruncationSize octets (14.1 BodyPreference), the first MIMETruncation
/// octets (12.1 MIMESupport 2), or without a TruncationSize the first MiB
/// the server reads of a large message (the bound: a Sync response does
/// not carry 25 MiB). ItemOperations sends all of it, read from IMAP in
/// pieces into a spool file: inline (opaque Data) and multipart, also to a
/// 12.1 MIMESupport device, and the first TruncationSize octets beyond
/// that first MiB. Every request's peak RSS growth is a few MiB.
#[test]
fn the_mime_form_of_a_25_mib_message_is_cut_by_sync_and_streamed_by_item_operations() {
    let _mail = fresh_mailboxes();
    imap("alice")
        .run_with_literal("APPEND INBOX", Some(&message(&payload())))
        .unwrap();
    // The message as the IMAP server keeps it.
    let raw = mail::wait_for_message("alice", "INBOX", "SUBJECT \"the big one\"");
    assert!(raw.len() > SIZE);

    let config = format!("[provisioning]\nmode = \"none\"\n{}", mail::config());
    let served = Served::start(&config, &[("alice", "alicepass")]);
    let pid = served.pid();
    let mut figures: Vec<(&str, u64)> = Vec::new();
    let phone = |id: &str, version: &str| {
        let mut p = Phone::new(&served.url, "alice", "alicepass", id, version);
        p.folder_sync();
        p
    };

    // For comparison: the same Sync for plain text only.
    let mut plain = phone("LARGEPLAIN", "14.1");
    let (_, kib) = measured(pid, || sync_big_message(&mut plain, &plain_options()));
    figures.push(("Sync 14.1 Type 1 TruncationSize 32768", kib));

    let mut v14 = phone("LARGEMIME14", "14.1");
    let options = mime_options(a::Options, Some(100_000));
    let ((server_id, big), kib) = measured(pid, || sync_big_message(&mut v14, &options));
    figures.push(("Sync 14.1 Type 4 TruncationSize 100000", kib));
    let body = big.child(asb::Body).expect("Body");
    assert_mime_beginning("14.1 Sync", body, &raw, 100_000);

    let mut v12 = phone("LARGEMIME12", "12.1");
    let options = Element::new(a::Options)
        .with_text(a::MIMESupport, "2")
        .with_text(a::MIMETruncation, "7");
    let ((_, big), kib) = measured(pid, || sync_big_message(&mut v12, &options));
    figures.push(("Sync 12.1 MIMESupport 2 MIMETruncation 7", kib));
    let body = big.child(asb::Body).expect("Body");
    assert_mime_beginning("12.1 Sync", body, &raw, 102_400);

    let mut whole = phone("LARGEMIMEALL", "14.1");
    let options = mime_options(a::Options, None);
    let ((_, big), kib) = measured(pid, || sync_big_message(&mut whole, &options));
    figures.push(("Sync 14.1 Type 4 without TruncationSize", kib));
    let body = big.child(asb::Body).expect("Body");
    assert_mime_beginning("14.1 Sync without TruncationSize", body, &raw, 1 << 20);

    let inbox = v14.folder(2);
    let fetch = |options: Element| {
        Element::new(io::Fetch)
            .with_text(io::Store, "Mailbox")
            .with_text(a::CollectionId, inbox.as_str())
            .with_text(a::ServerId, server_id.as_str())
            .with(options)
    };
    let cases = [
        (
            "ItemOperations 14.1 MIME inline",
            &v14,
            mime_options(io::Options, None),
            false,
        ),
        (
            "ItemOperations 14.1 MIME multipart",
            &v14,
            mime_options(io::Options, None),
            true,
        ),
        (
            "ItemOperations 12.1 MIMESupport 2 inline",
            &v12,
            Element::new(io::Options).with_text(a::MIMESupport, "2"),
            false,
        ),
    ];
    for (name, phone, options, multipart) in cases {
        let (r, kib) = measured(pid, || phone.item_operations(fetch(options), multipart));
        figures.push((name, kib));
        let (body, content) = fetched_body(&r);
        assert_eq!(body.text_of(asb::Type), Some("4"), "{name}");
        assert!(body.child(asb::Truncated).is_none(), "{name}: whole");
        let size = raw.len().to_string();
        assert_eq!(body.text_of(asb::EstimatedDataSize), Some(size.as_str()));
        assert_same(name, &content, &raw);
    }
    let (r, kib) = measured(pid, || {
        v14.item_operations(fetch(mime_options(io::Options, Some(3_000_000))), false)
    });
    figures.push(("ItemOperations 14.1 MIME TruncationSize 3000000", kib));
    assert_mime_beginning("ItemOperations cut", &fetched_body(&r).0, &raw, 3_000_000);

    let line: Vec<String> = figures
        .iter()
        .map(|(name, kib)| format!("{name} +{:.1}", mib(*kib)))
        .collect();
    println!(
        "serve, MIME of a {:.1} MiB message: peak RSS growth in MiB during {}",
        raw.len() as f64 / (1 << 20) as f64,
        line.join(", ")
    );
    // A Sync costs what it costs for plain text (bounded in the attachment
    // test) plus the first MiB of the raw message and its copies;
    // ItemOperations stays within the bound of an attachment download.
    let plain_sync = figures[0].1;
    for (name, kib) in figures {
        let bound = if name.starts_with("Sync") {
            plain_sync + (4 << 10)
        } else {
            MAX_GROWTH_KIB
        };
        assert!(
            kib < bound,
            "{name} grew the process by {:.1} MiB",
            mib(kib)
        );
    }
    let spool = served.dir.path().join("state/.spool");
    assert_eq!(std::fs::read_dir(&spool).unwrap().count(), 0);
}

/// A large message whose text part is over the MiB the server reads of it:
/// the text is cut there, and Sync says so, with the part's full size
/// (not the size of what it read).
#[test]
fn a_text_part_over_a_mib_is_sent_cut_with_its_full_size() {
    let _mail = fresh_mailboxes();
    let text: Vec<u8> = (0..60_000)
        .flat_map(|i| format!("line {i} of a long letter, {}\r\n", "y".repeat(i % 40)).into_bytes())
        .collect();
    assert!(text.len() > 2 << 20);
    let attachment = base64::engine::general_purpose::STANDARD.encode(&payload()[..3 << 20]);
    let mut m = b"From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: long text\r\n\
Date: Tue, 24 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=LONG\r\n\r\n--LONG\r\n\
Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        .to_vec();
    m.extend_from_slice(&text);
    m.extend_from_slice(
        b"\r\n--LONG\r\nContent-Type: application/octet-stream; name=a.bin\r\n\
Content-Transfer-Encoding: base64\r\n\r\n",
    );
    for line in attachment.as_bytes().chunks(76) {
        m.extend_from_slice(line);
        m.extend_from_slice(b"\r\n");
    }
    m.extend_from_slice(b"--LONG--\r\n");
    imap("alice")
        .run_with_literal("APPEND INBOX", Some(&m))
        .unwrap();

    let config = format!("[provisioning]\nmode = \"none\"\n{}", mail::config());
    let served = Served::start(&config, &[("alice", "alicepass")]);
    let mut phone = Phone::new(&served.url, "alice", "alicepass", "LONGTEXT", "14.1");
    phone.folder_sync();
    let inbox = phone.folder(2);
    let options =
        Element::new(a::Options).with(Element::new(asb::BodyPreference).with_text(asb::Type, "1"));
    let mut key = "0".to_string();
    let mut long = None;
    for _ in 0..2 {
        let r = phone.post_sync(&mail::mail_sync(&inbox, &key, 100, options.clone()));
        key = r.text_of(a::SyncKey).unwrap().to_string();
        long = long.or_else(|| {
            r.child(a::Commands)?
                .children_with(a::Add)
                .filter_map(|add| add.child(a::ApplicationData))
                .find(|d| d.text_of(em::Subject) == Some("long text"))
                .cloned()
        });
    }
    let body = long.expect("the long message was synced");
    let body = body.child(asb::Body).expect("Body");
    assert_eq!(body.text_of(asb::Type), Some("1"));
    assert_eq!(body.text_of(asb::Truncated), Some("1"));
    let size = text.len().to_string();
    assert_eq!(body.text_of(asb::EstimatedDataSize), Some(size.as_str()));
    let data = body.text_of(asb::Data).expect("Data");
    assert!(
        data.len() <= 1 << 20 && data.len() > 1 << 19,
        "{}",
        data.len()
    );
    assert!(text.starts_with(&data.as_bytes()[..100_000]));
}

/// An encrypted (S/MIME) message over the large-message size: its MIME is
/// its content, so a 12.1 device with MIMESupport 1 gets MIME for it. Sync
/// sends the first MiB, cut, with the full size; ItemOperations the whole
/// message from a spool file, with bounded memory (it was read whole).
#[test]
fn a_large_smime_message_is_cut_by_sync_and_streamed_by_item_operations() {
    let _mail = fresh_mailboxes();
    let envelope = base64::engine::general_purpose::STANDARD.encode(&payload()[..6 << 20]);
    let mut m = b"From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: sealed\r\n\
Date: Tue, 24 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n\
Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\n\
Content-Disposition: attachment; filename=smime.p7m\r\n\
Content-Transfer-Encoding: base64\r\n\r\n"
        .to_vec();
    for line in envelope.as_bytes().chunks(76) {
        m.extend_from_slice(line);
        m.extend_from_slice(b"\r\n");
    }
    imap("alice")
        .run_with_literal("APPEND INBOX", Some(&m))
        .unwrap();
    let raw = mail::wait_for_message("alice", "INBOX", "SUBJECT \"sealed\"");

    let config = format!("[provisioning]\nmode = \"none\"\n{}", mail::config());
    let served = Served::start(&config, &[("alice", "alicepass")]);
    let mut phone = Phone::new(&served.url, "alice", "alicepass", "SMIME12", "12.1");
    phone.folder_sync();
    let inbox = phone.folder(2);
    let html_or_mime = |tag| {
        Element::new(tag)
            .with_text(a::MIMESupport, "1")
            .with(Element::new(asb::BodyPreference).with_text(asb::Type, "2"))
    };
    let mut key = "0".to_string();
    let mut sealed = None;
    for _ in 0..2 {
        let sync = mail::mail_sync(&inbox, &key, 100, html_or_mime(a::Options));
        let r = phone.post_sync(&sync);
        key = r.text_of(a::SyncKey).unwrap().to_string();
        sealed = sealed.or_else(|| {
            r.child(a::Commands)?.children_with(a::Add).find_map(|add| {
                let data = add.child(a::ApplicationData)?;
                (data.text_of(em::Subject) == Some("sealed")).then_some(())?;
                Some((add.text_of(a::ServerId)?.to_string(), data.clone()))
            })
        });
    }
    let (server_id, data) = sealed.expect("the S/MIME message was synced");
    assert_eq!(data.text_of(em::MessageClass), Some("IPM.Note.SMIME"));
    assert_mime_beginning("S/MIME Sync", data.child(asb::Body).unwrap(), &raw, 1 << 20);

    let fetch = Element::new(io::Fetch)
        .with_text(io::Store, "Mailbox")
        .with_text(a::CollectionId, inbox.as_str())
        .with_text(a::ServerId, server_id.as_str())
        .with(html_or_mime(io::Options));
    let (r, kib) = measured(served.pid(), || phone.item_operations(fetch, true));
    let (body, content) = fetched_body(&r);
    assert_eq!(body.text_of(asb::Type), Some("4"));
    assert!(body.child(asb::Truncated).is_none());
    assert_same("S/MIME ItemOperations", &content, &raw);
    println!(
        "serve, S/MIME message of {:.1} MiB: ItemOperations multipart peak RSS growth +{:.1} MiB",
        raw.len() as f64 / (1 << 20) as f64,
        mib(kib)
    );
    assert!(kib < MAX_GROWTH_KIB, "grew by {:.1} MiB", mib(kib));
}
