//! WBXML codec throughput on ~1 MB Sync responses (run with
//! `cargo bench --bench wbxml`; see the README's WBXML section).
//!
//! Two documents: 100 contacts with photos (few, long strings) and 500
//! e-mails with HTML bodies (many small elements). For each: decode, encode,
//! and decode + XML form (what `wbxml2xml` does, to compare with libwbxml
//! when it is installed).
use horde_activesync::wbxml::codepages::{airsync, airsyncbase, contacts, email, email2};
use horde_activesync::wbxml::{self, xml, Element, Limits};
use std::hint::black_box;
use std::time::Duration;

fn sync_response(collection: &str, adds: impl Iterator<Item = Element>) -> Element {
    let mut commands = Element::new(airsync::Commands);
    for (i, data) in adds.enumerate() {
        commands.push(
            Element::new(airsync::Add)
                .with_text(airsync::ServerId, format!("{collection}:{i}"))
                .with(data),
        );
    }
    Element::new(airsync::Sync).with(
        Element::new(airsync::Collections).with(
            Element::new(airsync::Collection)
                .with_text(airsync::SyncKey, "{5f0c1f2e-9a41-4c6b-8d0e-3b7a2c1d9e8f}7")
                .with_text(airsync::CollectionId, collection)
                .with_text(airsync::Status, "1")
                .with(commands),
        ),
    )
}

/// 100 contacts, each with a ~10 KB base64 photo.
fn contacts_with_photos() -> Element {
    let photo: String = "iVBORw0KGgoAAAANSUhEUgAAAGAAAABgCAYAAADimHc4AAAgAElEQVR4nO19"
        .chars()
        .cycle()
        .take(10_000)
        .collect();
    sync_response(
        "contacts",
        (0..100).map(|i| {
            Element::new(airsync::ApplicationData)
                .with_text(contacts::FileAs, format!("Müller{i}, Jürgen"))
                .with_text(contacts::FirstName, "Jürgen")
                .with_text(contacts::LastName, format!("Müller{i}"))
                .with_text(contacts::CompanyName, "Beispiel GmbH")
                .with_text(contacts::Email1Address, format!("jm{i}@example.org"))
                .with_text(contacts::MobilePhoneNumber, "+49 170 1234567")
                .with_text(contacts::BusinessAddressStreet, "Hauptstraße 1")
                .with_text(contacts::BusinessAddressCity, "Berlin")
                .with_text(contacts::Picture, photo.clone())
                .with(
                    Element::new(airsyncbase::Body)
                        .with_text(airsyncbase::Type, "1")
                        .with_text(airsyncbase::EstimatedDataSize, "0"),
                )
        }),
    )
}

/// 500 e-mails with a ~2 KB HTML body, attachments and conversation ids.
fn emails_with_bodies() -> Element {
    let body: String = "<p>Hello Alice, here are the figures for the quarter.</p>\n"
        .repeat(36)
        .chars()
        .take(2_000)
        .collect();
    sync_response(
        "INBOX",
        (0..500).map(|i| {
            Element::new(airsync::ApplicationData)
                .with_text(email::To, "\"Alice\" <alice@example.org>")
                .with_text(email::From, format!("\"Sender {i}\" <s{i}@example.net>"))
                .with_text(email::Subject, format!("Quarterly figures #{i}"))
                .with_text(email::DateReceived, "2026-11-20T09:15:00.000Z")
                .with_text(email::Importance, "1")
                .with_text(email::Read, "0")
                .with(
                    Element::new(airsyncbase::Body)
                        .with_text(airsyncbase::Type, "2")
                        .with_text(airsyncbase::EstimatedDataSize, "2000")
                        .with_text(airsyncbase::Data, body.clone()),
                )
                .with_text(email::MessageClass, "IPM.Note")
                .with_text(email::InternetCPID, "65001")
                .with(Element::opaque_element(
                    email2::ConversationId,
                    (0..16).map(|b| (b * 7 + i) as u8).collect::<Vec<u8>>(),
                ))
                .with_text(airsyncbase::NativeBodyType, "2")
        }),
    )
}

/// CPU time used so far by this thread and by finished child processes.
/// The machine is shared, so wall-clock time would measure the other jobs;
/// CPU time measures the code.
fn cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec we pass; getrusage likewise.
    let own = unsafe {
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    };
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let children = unsafe {
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        let t = |tv: libc::timeval| Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000);
        t(usage.ru_utime) + t(usage.ru_stime)
    };
    own + children
}

/// Runs `f` for about `budget` of CPU time, returns MB/s for `bytes` per run.
fn throughput(bytes: usize, budget: Duration, mut f: impl FnMut()) -> f64 {
    f(); // warm up
    let start = cpu_time();
    let mut runs = 0u32;
    while cpu_time() - start < budget {
        f();
        runs += 1;
    }
    bytes as f64 * f64::from(runs) / (cpu_time() - start).as_secs_f64() / 1e6
}

/// libwbxml's `wbxml2xml` on the same file, one process per run (start-up
/// included), in the CPU time of the child processes.
fn libwbxml(wire: &[u8]) -> Option<f64> {
    let tool = std::path::Path::new("/usr/bin/wbxml2xml");
    if !tool.exists() {
        return None;
    }
    let dir = std::env::temp_dir().join(format!("wbxml-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let input = dir.join("in.wbxml");
    std::fs::write(&input, wire).ok()?;
    let output = dir.join("out.xml");
    let mb = throughput(wire.len(), Duration::from_secs(2), || {
        let status = std::process::Command::new(tool)
            .args(["-l", "ACTIVESYNC", "-m", "0", "-o"])
            .arg(&output)
            .arg(&input)
            .output()
            .expect("wbxml2xml");
        assert!(status.status.success());
    });
    let _ = std::fs::remove_dir_all(&dir);
    Some(mb)
}

fn main() {
    let budget = Duration::from_secs(2);
    let limits = Limits::default();
    for (name, tree) in [
        ("100 contacts with photos", contacts_with_photos()),
        ("500 e-mails with bodies", emails_with_bodies()),
    ] {
        let wire = wbxml::encode(&tree);
        assert_eq!(wbxml::decode(&wire, &limits).unwrap(), tree);
        let decode = throughput(wire.len(), budget, || {
            black_box(wbxml::decode(black_box(&wire), &limits).unwrap());
        });
        let encode = throughput(wire.len(), budget, || {
            black_box(wbxml::encode(black_box(&tree)));
        });
        let to_xml = throughput(wire.len(), budget, || {
            let t = wbxml::decode(black_box(&wire), &limits).unwrap();
            black_box(xml::to_xml(&t));
        });
        println!("{name}: {} bytes of WBXML", wire.len());
        println!("  decode           {decode:8.0} MB/s");
        println!("  encode           {encode:8.0} MB/s");
        println!("  decode + to_xml  {to_xml:8.0} MB/s");
        match libwbxml(&wire) {
            Some(mb) => println!("  libwbxml wbxml2xml (one process per run) {mb:8.0} MB/s"),
            None => println!("  libwbxml wbxml2xml: not installed"),
        }
    }
}
