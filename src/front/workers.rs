//! The process model of the long-running front ends (FastCGI and `serve`):
//! one thread per connection with a small stack, because a held Ping blocks
//! its thread for up to an hour and hundreds of devices may hold one; and a
//! graceful stop on SIGTERM/SIGINT.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Stack of a connection thread. Only touched pages cost memory, so a held
/// Ping costs a few KiB of resident memory; 256 KiB leaves room for SQLite and
/// TLS in the backends, which need more than the 128 KiB a bare request would.
pub const WORKER_STACK: usize = 256 * 1024;

/// How long in-flight requests may run after SIGTERM before the process exits.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How long the accept loop waits for a connection before it looks at the
/// stop flag again (a signal also ends the wait at once).
const ACCEPT_POLL: Duration = Duration::from_millis(50);

pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

pub enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Listener {
    /// `unix:/path` or a path with `/` is a Unix socket (a stale socket file is
    /// replaced); anything else is `host:port`.
    pub fn bind(addr: &str) -> io::Result<Listener> {
        let unix_path = addr
            .strip_prefix("unix:")
            .or(addr.contains('/').then_some(addr));
        match unix_path {
            Some(path) => {
                let _ = std::fs::remove_file(path);
                UnixListener::bind(path).map(Listener::Unix)
            }
            None => TcpListener::bind(addr).map(Listener::Tcp),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Listener::Tcp(l) => l.local_addr().map(|a| a.to_string()).unwrap_or_default(),
            Listener::Unix(l) => l
                .local_addr()
                .ok()
                .and_then(|a| a.as_pathname().map(|p| p.display().to_string()))
                .unwrap_or_else(|| "unix socket".into()),
        }
    }

    fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.set_nonblocking(on),
            Listener::Unix(l) => l.set_nonblocking(on),
        }
    }

    /// Block until a connection is waiting or `timeout` passes (the accept
    /// loop looks at the stop flag in between): a connection is taken at
    /// once instead of at the next tick of a sleep loop.
    fn wait_readable(&self, timeout: Duration) {
        use std::os::fd::AsRawFd;
        let fd = match self {
            Listener::Tcp(l) => l.as_raw_fd(),
            Listener::Unix(l) => l.as_raw_fd(),
        };
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd for the duration of the call.
        unsafe { libc::poll(&mut pfd, 1, ms) };
    }

    fn accept(&self) -> io::Result<Stream> {
        match self {
            // Requests and answers are whole messages: no Nagle delay on them.
            Listener::Tcp(l) => l.accept().map(|(s, _)| {
                let _ = s.set_nodelay(true);
                Stream::Tcp(s)
            }),
            Listener::Unix(l) => l.accept().map(|(s, _)| Stream::Unix(s)),
        }
    }
}

impl Stream {
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_read_timeout(t),
            Stream::Unix(s) => s.set_read_timeout(t),
        }
    }

    fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_nonblocking(on),
            Stream::Unix(s) => s.set_nonblocking(on),
        }
    }

    pub fn peer(&self) -> Option<String> {
        match self {
            Stream::Tcp(s) => s.peer_addr().ok().map(|a| a.ip().to_string()),
            Stream::Unix(_) => None,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            Stream::Unix(s) => s.flush(),
        }
    }
}

/// Shared by the accept loop and the connections: the stop flag and the
/// number of requests being answered right now.
#[derive(Clone, Default)]
pub struct Activity {
    stopping: Arc<AtomicBool>,
    busy: Arc<AtomicUsize>,
    /// Requests begun since the start (a burst of them is followed by a trim).
    started: Arc<AtomicUsize>,
}

/// Marks one request as in flight while it lives.
pub struct Busy(Arc<AtomicUsize>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Activity {
    /// Call while answering a request; shutdown waits for it.
    pub fn begin(&self) -> Busy {
        self.busy.fetch_add(1, Ordering::SeqCst);
        self.started.fetch_add(1, Ordering::Relaxed);
        Busy(self.busy.clone())
    }

    /// True after SIGTERM: finish the current request, take no new one.
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}

/// Accept connections until SIGTERM/SIGINT, each on its own small-stack
/// thread running `serve`; then wait up to [`SHUTDOWN_GRACE`] for requests
/// in flight and return.
pub fn accept_loop<F>(listener: Listener, serve: F) -> anyhow::Result<()>
where
    F: Fn(Stream, &Activity) + Send + Sync + 'static,
{
    let activity = Activity::default();
    // Every request of a device reaches this process: held requests learn
    // of a newer one in memory, and answer at once on SIGTERM (below).
    crate::engine::push::latest::set_shared_process();
    raise_open_file_limit();
    return_large_blocks_to_the_kernel();
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, activity.stopping.clone())?;
    }
    let serve = Arc::new(serve);
    listener.set_nonblocking(true)?;
    let mut trim = Trim::new();
    while !activity.stopping() {
        trim.after_activity(activity.started.load(Ordering::Relaxed));
        match listener.accept() {
            Ok(stream) => {
                if let Err(e) = stream.set_nonblocking(false) {
                    log::warn!("connection setup: {e}");
                    continue;
                }
                let (serve, activity) = (serve.clone(), activity.clone());
                let spawned = std::thread::Builder::new()
                    .name("connection".into())
                    .stack_size(WORKER_STACK)
                    .spawn(move || serve(stream, &activity));
                if let Err(e) = spawned {
                    log::error!("cannot start a connection thread: {e}");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => listener.wait_readable(ACCEPT_POLL),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                // E.g. out of file descriptors: back off instead of spinning.
                log::error!("accept: {e}");
                std::thread::sleep(ACCEPT_POLL);
            }
        }
    }
    // Held Pings and waiting Syncs answer now instead of at their heartbeat.
    crate::engine::push::shutdown();
    let deadline = Instant::now() + SHUTDOWN_GRACE;
    log::info!(
        "stopping; {} request(s) in flight",
        activity.busy.load(Ordering::SeqCst)
    );
    while activity.busy.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        std::thread::sleep(ACCEPT_POLL);
    }
    Ok(())
}

/// Each held request keeps a connection (and possibly a database file) open:
/// raise the soft limit on open files to the hard one, as servers do, so the
/// process is not capped at the usual 1024 connections.
fn raise_open_file_limit() {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                log::warn!("cannot raise the open file limit");
            }
        }
    }
}

/// glibc serves a freed large block's size from its heaps from then on (the
/// dynamic mmap threshold grows up to 32 MiB) and keeps those heaps: each
/// login's password hash (Argon2, 19 MiB of work memory) would then stay
/// resident in every malloc arena that ever hashed one, ~100 MB for a
/// process doing nothing. A fixed threshold maps such blocks on their own
/// and gives them back on free. 1 MiB: far below the hash's block, above
/// what a request's own buffers usually need (a lower threshold made every
/// Sync window pay mmap/munmap and fresh page faults: +0.5 ms CPU each).
///
/// Also one malloc arena per core instead of glibc's eight: with a thread
/// per held request, memory freed by one burst of requests would otherwise
/// be spread over many arenas, between blocks still in use, where it cannot
/// be handed back.
fn return_large_blocks_to_the_kernel() {
    const THRESHOLD: libc::c_int = 1024 * 1024;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let arenas = libc::c_int::try_from(cores).unwrap_or(libc::c_int::MAX);
    // SAFETY: mallopt only changes allocator tuning; it is called before
    // the connection threads start.
    let ok = unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD) == 1
            && libc::mallopt(libc::M_ARENA_MAX, arenas) == 1
    };
    if !ok {
        log::warn!("cannot tune the memory allocator");
    }
}

/// How often freed heap memory is handed back after requests ran.
const TRIM_EVERY: Duration = Duration::from_secs(5);

/// Hands freed heap pages back to the kernel a few seconds after requests
/// ran. glibc returns only the top of each malloc arena on its own; what
/// thousands of requests arriving together used (their SQLite pages,
/// WBXML trees) would otherwise stay resident while their Pings are held.
struct Trim {
    last: Instant,
    seen: usize,
}

impl Trim {
    fn new() -> Trim {
        Trim {
            last: Instant::now(),
            seen: 0,
        }
    }

    /// Trim when requests began since the last trim and [`TRIM_EVERY`] passed
    /// (an idle process is never trimmed, as nothing was freed).
    fn after_activity(&mut self, started: usize) {
        if started != self.seen && self.last.elapsed() >= TRIM_EVERY {
            self.seen = started;
            self.last = Instant::now();
            // SAFETY: malloc_trim only releases free memory of the allocator.
            unsafe { libc::malloc_trim(0) };
        }
    }
}
