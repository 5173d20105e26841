//! Push at scale (issue 7): N devices hold a Ping at the same time against
//! our FastCGI process behind real lighttpd on loopback; then the same
//! against Horde's PHP ActiveSync on Apache prefork.
//!
//! For each N it reports the RSS of our FastCGI process (total, and per held
//! Ping over the RSS before the Pings), the CPU it uses while all Pings are
//! held and nothing changes, and the change-to-answer latency: another
//! device of each user adds a contact with a Sync, and every held Ping of
//! that user must answer status 2; the time from the start of that Sync to
//! each answer gives p50/p99. A write through our server wakes the held
//! Pings at once; with `--external` the contact is added directly in the
//! embedded store by this (another) process instead, which only the timed
//! polls see (the cost of a change made in Horde's web UI).
//!
//! ```text
//! cargo bench --bench push_load -- [--sizes 100,1000,5000] [--devices-per-user 10]
//!                                  [--poll 5] [--idle 10] [--external] [--php 16,40] [--no-ours]
//! ```
//! Needs root (lighttpd, raising the file limit, Horde's setup for `--php`).

#[path = "../tests/support/mod.rs"]
mod support;

use horde_activesync::backend::embedded::EmbeddedBackend;
use horde_activesync::backend::{Backend, Collection, Session};
use horde_activesync::model::{Class, Contact, Item};
use horde_activesync::wbxml::codepages::ping as p;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::client::Client;
use support::device::{contact_add, ping_body, Phone};
use support::web::{Variant, WebServer};

/// Heartbeat of our held Pings: longer than the whole measurement.
const HEARTBEAT: u32 = 1800;
/// Heartbeat of the Pings held by Horde's PHP: its smallest (`heartbeatmin`),
/// so its Apache workers are free again a minute after the run.
const PHP_HEARTBEAT: u32 = 60;
/// Stack of a client thread holding one Ping (the client side is not measured).
const CLIENT_STACK: usize = 128 * 1024;

struct Args {
    sizes: Vec<usize>,
    devices_per_user: usize,
    poll: u32,
    idle: Duration,
    php: Vec<usize>,
    ours: bool,
    /// Make the changes in the store directly, not through our server.
    external: bool,
}

fn parse_args() -> Args {
    let mut args = Args {
        sizes: vec![100, 1000, 5000],
        devices_per_user: 10,
        poll: 5,
        idle: Duration::from_secs(10),
        php: Vec::new(),
        ours: true,
        external: false,
    };
    let list =
        |s: &str| -> Vec<usize> { s.split(',').filter_map(|x| x.trim().parse().ok()).collect() };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--sizes" => args.sizes = list(&it.next().unwrap_or_default()),
            "--devices-per-user" => {
                args.devices_per_user = it.next().and_then(|v| v.parse().ok()).unwrap_or(10).max(1)
            }
            "--poll" => args.poll = it.next().and_then(|v| v.parse().ok()).unwrap_or(5),
            "--idle" => {
                args.idle =
                    Duration::from_secs(it.next().and_then(|v| v.parse().ok()).unwrap_or(10))
            }
            "--php" => args.php = list(&it.next().unwrap_or_default()),
            "--no-ours" => args.ours = false,
            "--external" => args.external = true,
            _ => {} // cargo bench passes --bench
        }
    }
    args
}

/// Raise this process's open-file limit (a client socket per held Ping); as
/// root the hard limit too.
fn raise_fd_limit(want: u64) {
    // SAFETY: plain getrlimit/setrlimit on a local struct.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        let target = libc::rlimit {
            rlim_cur: want.max(lim.rlim_cur),
            rlim_max: want.max(lim.rlim_max),
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &target) != 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

fn hard_fd_limit() -> u64 {
    // SAFETY: getrlimit writes into a local struct.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_max
    }
}

/// Fields of /proc/<pid>/stat after the command name.
fn stat_fields(pid: u32) -> Vec<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    rest.split_whitespace().map(str::to_string).collect()
}

/// User + system CPU seconds of a process so far.
fn cpu_seconds(pid: u32) -> f64 {
    let f = stat_fields(pid);
    let tick = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (tick(11) + tick(12)) / hz
}

/// A `/proc/<pid>/status` value in its unit (kB for memory).
fn status_value(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn rss_mb(pid: u32) -> f64 {
    status_value(pid, "VmRSS") as f64 / 1024.0
}

/// Processes whose parent is `parent` and whose command name starts with `comm`.
fn children(parent: u32, comm: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let ppid = stat_fields(pid).get(1).and_then(|x| x.parse::<u32>().ok());
        if name.trim().starts_with(comm) && ppid == Some(parent) {
            out.push(pid);
        }
    }
    out
}

/// A phone that did FolderSync and synced its contacts folder once.
struct Ready {
    phone: Phone,
    book: String,
}

/// User, password and DeviceId of one simulated device.
type Login = (String, String, String);

/// Provision and sync `ids` on a few threads.
fn provision(url: &str, ids: Vec<Login>, threads: usize) -> Vec<Ready> {
    let chunks: Vec<Vec<(usize, Login)>> = {
        let mut c = vec![Vec::new(); threads];
        for (i, id) in ids.into_iter().enumerate() {
            c[i % threads].push((i, id));
        }
        c
    };
    let handles: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let url = url.to_string();
            std::thread::spawn(move || {
                chunk
                    .into_iter()
                    .map(|(i, (user, pw, dev))| {
                        let mut phone = Phone::new(&url, &user, &pw, &dev, "14.1");
                        phone.folder_sync();
                        let book = phone.folder(9);
                        phone.start(&book, None);
                        (i, Ready { phone, book })
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all: Vec<(usize, Ready)> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("provisioning thread"))
        .collect();
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

/// One held Ping's outcome: which device, its status and when it answered.
type Answer = (usize, Option<String>, Instant);

/// Start one thread per device, each holding a Ping.
fn hold_pings(devices: &[Ready], heartbeat: u32) -> mpsc::Receiver<Answer> {
    let (tx, rx) = mpsc::channel();
    for (i, d) in devices.iter().enumerate() {
        let mut client: Client = d.phone.client.clone();
        client.timeout = Duration::from_secs(u64::from(heartbeat) + 60);
        let body = ping_body(heartbeat, &[&d.book], "Contacts");
        let tx = tx.clone();
        std::thread::Builder::new()
            .stack_size(CLIENT_STACK)
            .spawn(move || {
                let status = std::panic::catch_unwind(|| {
                    client
                        .post("Ping", Some(&body))
                        .body
                        .and_then(|b| b.text_of(p::Status).map(str::to_string))
                })
                .ok()
                .flatten();
                let _ = tx.send((i, status, Instant::now()));
            })
            .expect("client thread");
    }
    rx
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64()
}

/// Collect the answers of `n` Pings (or until `timeout`); latency per answer
/// from the change of its user.
fn collect(
    rx: &mpsc::Receiver<Answer>,
    n: usize,
    user_of: impl Fn(usize) -> usize,
    changed_at: &[Instant],
    timeout: Duration,
) -> (Vec<Duration>, usize, Vec<String>) {
    let deadline = Instant::now() + timeout;
    let (mut latencies, mut with_changes, mut other) = (Vec::new(), 0, Vec::new());
    while latencies.len() + other.len() < n {
        let Ok((i, status, at)) =
            rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
        else {
            break;
        };
        if status.as_deref() == Some("2") {
            with_changes += 1;
            latencies.push(at.saturating_duration_since(changed_at[user_of(i)]));
        } else {
            other.push(format!("{status:?}"));
        }
    }
    latencies.sort();
    (latencies, with_changes, other)
}

/// Sum of a per-process figure over `pids`.
fn total(pids: &[u32], f: impl Fn(u32) -> f64) -> f64 {
    pids.iter().map(|&p| f(p)).sum()
}

fn threads(pids: &[u32]) -> u64 {
    pids.iter().map(|&p| status_value(p, "Threads")).sum()
}

/// Wait until the Pings that reached the server are all held (their setup
/// done): CPU below 2% of a core over 2 s, or `timeout`; then 6 s more, so the
/// server's heap trim after the burst (5 s) has run.
fn settle(pids: &[u32], timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        let before = total(pids, cpu_seconds);
        std::thread::sleep(Duration::from_secs(2));
        if (total(pids, cpu_seconds) - before) / 2.0 < 0.02 {
            break;
        }
    }
    std::thread::sleep(Duration::from_secs(6));
}

/// Wait until `pids` run at least `want` threads (each held Ping is one).
fn wait_for_threads(pids: &[u32], want: u64, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if threads(pids) >= want {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

/// A session on the embedded store opened by this process (not our server)
/// and the user's contacts folder, for `--external` changes.
type Outside = (Box<dyn Session>, Collection);

fn outside_sessions(db: &std::path::Path, users: usize) -> Vec<Outside> {
    let store = EmbeddedBackend::open_path(db).expect("embedded store");
    (0..users)
        .map(|u| {
            let mut s = store
                .open(&format!("load{u}"), &format!("pw{u}"))
                .expect("login to the store");
            let book = s
                .collections()
                .expect("collections")
                .into_iter()
                .find(|c| c.class == Class::Contacts && c.is_default)
                .expect("default address book");
            (s, book)
        })
        .collect()
}

fn run_ours(n: usize, args: &Args) {
    let users = n.div_ceil(args.devices_per_user);
    let (dir, config) = support::web::embedded_site(
        &format!(
            "[ping]\nheartbeat_min = 1\nheartbeat_max = 3540\npoll_interval = {}\nmax_folders = 300\n",
            args.poll
        ),
        &[],
    );
    {
        let mut store = horde_activesync::backend::embedded::users::Users::open(
            &dir.path().join("embedded.sqlite"),
        )
        .expect("embedded store");
        for u in 0..users {
            store
                .add(&format!("load{u}"), &format!("pw{u}"))
                .expect("add user");
        }
    }
    // lighttpd needs two descriptors per held Ping (device and FastCGI
    // connection); it cannot go above the hard limit it inherits.
    let extra = format!(
        "server.max-fds = {fds}\nserver.max-connections = {conns}\n",
        fds = (n as u64 * 3 + 1024).clamp(4096, hard_fd_limit()),
        conns = n + 512
    );
    let web = WebServer::start_with(Variant::LighttpdFastcgi, &config, &extra);
    let user_of = |i: usize| i % users;
    let pingers: Vec<Login> = (0..n)
        .map(|i| {
            (
                format!("load{}", user_of(i)),
                format!("pw{}", user_of(i)),
                format!("PING{i}"),
            )
        })
        .collect();
    let writers: Vec<Login> = (0..users)
        .map(|u| (format!("load{u}"), format!("pw{u}"), format!("WRITER{u}")))
        .collect();
    let t = Instant::now();
    let devices = provision(&web.base_url, pingers, 4);
    let mut writers = provision(&web.base_url, writers, 4);
    eprintln!(
        "N={n}: {} devices of {users} users provisioned in {:.1}s",
        n + users,
        t.elapsed().as_secs_f64()
    );

    // lighttpd starts two of our processes (ActiveSync and Autodiscover): count both.
    let ours = children(web.pid(), "horde-activesyn");
    assert!(!ours.is_empty(), "our FastCGI processes");
    // Let the server trim its heap after the provisioning burst (it does
    // 5 s after requests ran), so "before" is its steady state too.
    std::thread::sleep(Duration::from_secs(7));
    let threads_before = threads(&ours);
    let rss_before = total(&ours, rss_mb);
    let rx = hold_pings(&devices, HEARTBEAT);
    let held = wait_for_threads(&ours, threads_before + n as u64, Duration::from_secs(120));
    settle(&ours, Duration::from_secs(90));
    let cpu0 = total(&ours, cpu_seconds);
    std::thread::sleep(args.idle);
    let idle_cpu = (total(&ours, cpu_seconds) - cpu0) / args.idle.as_secs_f64() * 100.0;
    // Steady state: after the idle window (the server trims its heap a few
    // seconds after a burst of requests).
    let rss_held = total(&ours, rss_mb);
    let lighttpd_rss = rss_mb(web.pid());
    let threads_held = threads(&ours);

    let mut outside = if args.external {
        outside_sessions(&dir.path().join("embedded.sqlite"), users)
    } else {
        Vec::new()
    };
    let mut changed_at = Vec::with_capacity(users);
    for (u, w) in writers.iter_mut().enumerate() {
        changed_at.push(Instant::now());
        if let Some((session, book)) = outside.get_mut(u) {
            let contact = Contact {
                first_name: Some("Outside".into()),
                last_name: Some(format!("Change{u}")),
                ..Default::default()
            };
            session
                .add(book, &Item::Contact(contact))
                .expect("add in the store");
            continue;
        }
        let book = w.book.clone();
        w.phone.sync(
            &book,
            None,
            vec![contact_add(
                &format!("c{u}"),
                "Load",
                &format!("Change{u}"),
                "x@example.test",
            )],
        );
    }
    let (lat, ok, other) = collect(
        &rx,
        n,
        user_of,
        &changed_at,
        Duration::from_secs(u64::from(args.poll) + 60),
    );
    if !held || ok < n {
        let log = web.log();
        let tail: Vec<&str> = log.lines().rev().take(8).collect();
        eprintln!("lighttpd error log (last lines, newest first): {tail:#?}");
    }
    println!(
        "ours FastCGI N={n} ({users} users x {} devices, poll {}s, changes {}): held={held} threads={threads_held} \
         processes {}, RSS before Pings {rss_before:.1} MB, with Pings {rss_held:.1} MB, per Ping {:.1} KB; \
         lighttpd RSS {lighttpd_rss:.1} MB; idle CPU {idle_cpu:.2}% of one core over {}s; \
         status 2: {ok}/{n}, change-to-answer p50 {:.2}s p99 {:.2}s max {:.2}s; other answers: {:?}",
        args.devices_per_user,
        args.poll,
        if args.external {
            "in the store directly (poll-bound)"
        } else {
            "through our server (Sync Add)"
        },
        ours.len(),
        (rss_held - rss_before) * 1024.0 / n as f64,
        args.idle.as_secs(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.last().map_or(f64::NAN, Duration::as_secs_f64),
        &other[..other.len().min(5)],
    );
}

/// Horde's PHP ActiveSync on the test Apache (prefork + mod_php).
fn run_php(n: usize) {
    let horde = support::horde::ensure_horde();
    let (user, pw) = horde.user();
    let apache_parent = std::fs::read_to_string("/var/lib/horde/apache/httpd.pid")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok());
    let ids = (0..n)
        .map(|i| {
            (
                user.to_string(),
                pw.to_string(),
                format!("PHPPING{i}x{}", std::process::id()),
            )
        })
        .collect();
    let t = Instant::now();
    let devices = provision(&horde.eas_url, ids, 2);
    eprintln!(
        "PHP N={n}: provisioned in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let workers = |parent: Option<u32>| parent.map(|p| children(p, "apache2")).unwrap_or_default();
    // Asked before the Pings take Apache's workers.
    let rpc = horde.rpc(user);
    let book = rpc.default_share("contacts");
    let rx = hold_pings(&devices, PHP_HEARTBEAT);
    std::thread::sleep(Duration::from_secs(5));
    let pids = workers(apache_parent);
    let rss = total(&pids, rss_mb);
    let cpu0 = total(&pids, cpu_seconds);
    std::thread::sleep(Duration::from_secs(10));
    let idle_cpu = (total(&pids, cpu_seconds) - cpu0) / 10.0 * 100.0;
    // Is a new request still served while the Pings are held?
    let probe = {
        let mut c = devices[0].phone.client.clone();
        c.device_id = format!("PHPPROBE{}", std::process::id());
        c.timeout = Duration::from_secs(10);
        let t = Instant::now();
        let served = std::panic::catch_unwind(|| c.options().status).ok();
        (served, t.elapsed())
    };
    let changed = Instant::now();
    let change = std::panic::catch_unwind(|| {
        rpc.try_call(
            "contacts.import",
            serde_json::json!([{"firstname": "Load", "lastname": "PHP"}, "array", book]),
        )
    });
    let change_ok = matches!(change, Ok(Ok(_)));
    let (lat, ok, other) = collect(&rx, n, |_| 0, &[changed], Duration::from_secs(90));
    println!(
        "Horde PHP (Apache prefork) N={n}: {} apache2 workers, RSS {rss:.1} MB ({:.1} MB per worker); \
         idle CPU {idle_cpu:.2}% over 10s; probe OPTIONS while held: {:?} after {:.1}s; \
         change via JSON-RPC {}; status 2: {ok}/{n}, p50 {:.2}s p99 {:.2}s; other answers: {} {:?}",
        pids.len(),
        rss / pids.len().max(1) as f64,
        probe.0,
        probe.1.as_secs_f64(),
        if change_ok { "accepted" } else { "failed" },
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        other.len(),
        &other[..other.len().min(5)],
    );
}

fn main() {
    let args = parse_args();
    let biggest = args.sizes.iter().copied().max().unwrap_or(0);
    raise_fd_limit((biggest as u64 * 4 + 8192).max(65536));
    if args.ours {
        for &n in &args.sizes {
            run_ours(n, &args);
        }
    }
    for &n in &args.php {
        run_php(n);
    }
}
