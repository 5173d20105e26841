//! A 25 MiB attachment on real Dovecot: Sync lists the message (plain text
//! cut at 32 KB) and GetAttachment hands the file over intact, while the
//! server process's peak RSS (VmHWM) grows by a bounded multiple of the
//! attachment at most. The figures are printed (`--nocapture`).

mod support;

use horde_activesync::wbxml::codepages::{airsync as a, airsyncbase as asb, email as em};
use horde_activesync::wbxml::Element;
use support::device::Phone;
use support::mail::{self, fresh_mailboxes, imap};
use support::serve::Served;

const SIZE: usize = 25 << 20;

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
    use base64::Engine;
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
    m.extend_from_slice(b"--BIG--\r\n");
    m
}

#[test]
fn a_25_mib_attachment_syncs_and_downloads_with_bounded_memory() {
    let _mail = fresh_mailboxes();
    let file = payload();
    imap("alice")
        .run_with_literal("APPEND INBOX", Some(&message(&file)))
        .unwrap();

    let config = format!("[provisioning]\nmode = \"none\"\n{}", mail::config());
    let served = Served::start(&config, &[("alice", "alicepass")]);
    let mut phone = Phone::new(&served.url, "alice", "alicepass", "LARGE1", "12.1");
    phone.folder_sync();
    let inbox = phone.folder(2);
    let base = served.peak_rss_kib();

    let mut key = "0".to_string();
    let mut big = None;
    for _ in 0..2 {
        let r = phone.post_sync(&mail::plain_text_sync(&inbox, &key, 100, 32768));
        key = r.text_of(a::SyncKey).unwrap().to_string();
        big = big.or_else(|| {
            r.child(a::Commands)?
                .children_with(a::Add)
                .filter_map(|add| add.child(a::ApplicationData))
                .find(|d| d.text_of(em::Subject) == Some("the big one"))
                .cloned()
        });
    }
    let big = big.expect("the big message was synced");
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

    let r = phone.client.post_raw(
        "GetAttachment",
        &[("AttachmentName", reference.as_str())],
        b"",
    );
    assert_eq!(r.status, 200);
    assert!(
        r.raw == file,
        "the attachment arrives byte for byte ({} bytes)",
        r.raw.len()
    );
    let after_download = served.peak_rss_kib();

    let mib = |k: u64| k as f64 / 1024.0;
    println!(
        "peak RSS: {:.1} MiB after FolderSync, {:.1} MiB after Sync (+{:.1}), {:.1} MiB after GetAttachment (+{:.1}); attachment {} MiB",
        mib(base),
        mib(after_sync),
        mib(after_sync - base),
        mib(after_download),
        mib(after_download - base),
        SIZE >> 20
    );
    let attachment_kib = SIZE as u64 / 1024;
    assert!(
        after_sync < base + attachment_kib / 2,
        "Sync must not read the attachment"
    );
    assert!(
        after_download < base + 3 * attachment_kib,
        "GetAttachment holds the encoded and the decoded file at most"
    );
}
