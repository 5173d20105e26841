//! Shared change polling for held requests (Ping, Sync with Wait) of one
//! process: all held requests of a user read the change cursor of a
//! collection from the backend at most once per poll interval, however many
//! of the user's devices watch it. The first request whose copy is due reads
//! the cursors of the collections it watches in one `Session::cursors` call
//! and publishes them with the time they were read; the others use them (or
//! wait for a read in progress instead of starting their own).
//!
//! Time is passed in (`now`), so the rules are tested with fake clocks.

use crate::backend::{self, Collection, Cursor};
use crate::model::Class;
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// A collection of a user, as the hub keys it.
type Key = (Class, String);

/// One user's last known cursors.
#[derive(Default)]
struct Seen {
    cursors: HashMap<Key, (Cursor, Instant)>,
    /// A request is reading cursors from the backend right now.
    reading: bool,
}

/// One user's cursors and the held requests that share them.
#[derive(Default)]
struct UserPolls {
    seen: Mutex<Seen>,
    /// Signalled when a read finishes.
    read_done: Condvar,
}

/// The per-process hub; see the module documentation.
#[derive(Default)]
pub struct PollHub {
    users: Mutex<HashMap<String, Arc<UserPolls>>>,
}

/// A held request's membership in its user's shared polls; the user's
/// entry goes when the last of its held requests ends.
pub struct Member<'h> {
    hub: &'h PollHub,
    user: String,
    polls: Arc<UserPolls>,
}

/// The hub of this process.
pub fn global() -> &'static PollHub {
    static HUB: OnceLock<PollHub> = OnceLock::new();
    HUB.get_or_init(PollHub::default)
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn key(c: &Collection) -> Key {
    (c.class, c.id.clone())
}

impl PollHub {
    /// Join `user`'s shared polls for the life of the returned member.
    pub fn join(&self, user: &str) -> Member<'_> {
        let polls = locked(&self.users)
            .entry(user.to_string())
            .or_default()
            .clone();
        Member {
            hub: self,
            user: user.to_string(),
            polls,
        }
    }

    /// Number of users with held requests (for tests and diagnostics).
    pub fn users(&self) -> usize {
        locked(&self.users).len()
    }
}

impl Drop for Member<'_> {
    fn drop(&mut self) {
        let mut users = locked(&self.hub.users);
        // The map's reference and ours: we are the last member.
        if Arc::strong_count(&self.polls) == 2 {
            users.remove(&self.user);
        }
    }
}

impl Member<'_> {
    /// The current cursor of each of `collections`, none older than
    /// `max_age` at `now`; the stale or unknown ones are read with `read`
    /// (one call for all of them), unless another request of the user is
    /// reading them already, whose result is then used.
    pub fn cursors(
        &self,
        collections: &[Collection],
        now: Instant,
        max_age: Duration,
        read: &mut dyn FnMut(&[Collection]) -> backend::Result<Vec<Cursor>>,
    ) -> backend::Result<Vec<Cursor>> {
        let mut seen = locked(&self.polls.seen);
        loop {
            let stale: Vec<Collection> = collections
                .iter()
                .filter(|c| {
                    seen.cursors
                        .get(&key(c))
                        .is_none_or(|(_, at)| now.saturating_duration_since(*at) >= max_age)
                })
                .cloned()
                .collect();
            if stale.is_empty() {
                return Ok(collections
                    .iter()
                    .map(|c| seen.cursors[&key(c)].0.clone())
                    .collect());
            }
            if seen.reading {
                // Another request reads right now; its result is as fresh as ours would be.
                seen = self
                    .polls
                    .read_done
                    .wait(seen)
                    .unwrap_or_else(|e| e.into_inner());
                continue;
            }
            seen.reading = true;
            drop(seen);
            let result = read(&stale);
            seen = locked(&self.polls.seen);
            seen.reading = false;
            self.polls.read_done.notify_all();
            let cursors = result?;
            if cursors.len() != stale.len() {
                return Err(backend::BackendError::Unavailable(
                    "cursor read returned a wrong number of cursors".into(),
                ));
            }
            for (c, cursor) in stale.iter().zip(cursors) {
                seen.cursors.insert(key(c), (cursor, now));
            }
        }
    }

    /// When the oldest of `collections`' shared cursors is due again (`now`
    /// when one was never read).
    pub fn next_due(&self, collections: &[Collection], now: Instant, max_age: Duration) -> Instant {
        let seen = locked(&self.polls.seen);
        collections
            .iter()
            .map(|c| {
                seen.cursors
                    .get(&key(c))
                    .map_or(now, |(_, at)| *at + max_age)
            })
            .min()
            .unwrap_or(now + max_age)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn book(id: &str) -> Collection {
        Collection {
            id: id.into(),
            class: Class::Contacts,
            name: id.into(),
            is_default: false,
            parent: None,
            role: None,
        }
    }

    /// A backend stand-in: cursor "v<version>" for every collection, counting calls.
    struct FakeBackend {
        version: AtomicU32,
        calls: AtomicU32,
        collections_read: AtomicU32,
    }

    impl FakeBackend {
        fn new() -> FakeBackend {
            FakeBackend {
                version: AtomicU32::new(1),
                calls: AtomicU32::new(0),
                collections_read: AtomicU32::new(0),
            }
        }
        fn read(&self, cs: &[Collection]) -> backend::Result<Vec<Cursor>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.collections_read
                .fetch_add(cs.len() as u32, Ordering::SeqCst);
            let v = self.version.load(Ordering::SeqCst);
            Ok(cs.iter().map(|_| format!("v{v}")).collect())
        }
    }

    #[test]
    fn devices_of_a_user_share_one_read_per_interval() {
        let hub = PollHub::default();
        let backend = FakeBackend::new();
        let t0 = Instant::now();
        let poll = Duration::from_secs(10);
        let (a, b) = (book("a"), book("b"));
        let phone = hub.join("alice");
        let tablet = hub.join("alice");
        let mut read = |cs: &[Collection]| backend.read(cs);
        assert_eq!(
            phone
                .cursors(&[a.clone(), b.clone()], t0, poll, &mut read)
                .unwrap(),
            vec!["v1", "v1"]
        );
        // The tablet, 3 s later and within the interval: no backend call.
        backend.version.store(2, Ordering::SeqCst);
        let later = t0 + Duration::from_secs(3);
        assert_eq!(
            tablet
                .cursors(std::slice::from_ref(&b), later, poll, &mut read)
                .unwrap(),
            vec!["v1"]
        );
        assert_eq!(backend.calls.load(Ordering::SeqCst), 1);
        assert_eq!(
            tablet.next_due(std::slice::from_ref(&b), later, poll),
            t0 + poll
        );
        // Due again after the interval: one call, then shared again.
        let due = t0 + poll;
        assert_eq!(
            tablet
                .cursors(&[a.clone(), b.clone()], due, poll, &mut read)
                .unwrap(),
            vec!["v2", "v2"]
        );
        assert_eq!(
            phone
                .cursors(&[a.clone(), b.clone()], due, poll, &mut read)
                .unwrap(),
            vec!["v2", "v2"]
        );
        assert_eq!(backend.calls.load(Ordering::SeqCst), 2);
        assert_eq!(backend.collections_read.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn users_are_separate_and_forgotten_when_their_last_request_ends() {
        let hub = PollHub::default();
        let backend = FakeBackend::new();
        let t0 = Instant::now();
        let poll = Duration::from_secs(10);
        let mut read = |cs: &[Collection]| backend.read(cs);
        {
            let alice = hub.join("alice");
            let bob = hub.join("bob");
            alice.cursors(&[book("x")], t0, poll, &mut read).unwrap();
            bob.cursors(&[book("x")], t0, poll, &mut read).unwrap();
            assert_eq!(backend.calls.load(Ordering::SeqCst), 2, "one read per user");
            assert_eq!(hub.users(), 2);
            drop(alice);
            assert_eq!(hub.users(), 1);
        }
        assert_eq!(hub.users(), 0);
        // A new request of alice reads again (nothing stale is kept around).
        let alice = hub.join("alice");
        assert_eq!(alice.next_due(&[book("x")], t0, poll), t0);
    }

    #[test]
    fn a_failed_read_is_reported_and_retried_by_the_next_request() {
        let hub = PollHub::default();
        let t0 = Instant::now();
        let poll = Duration::from_secs(10);
        let m = hub.join("alice");
        let err = m.cursors(&[book("a")], t0, poll, &mut |_: &[Collection]| {
            Err(backend::BackendError::Unavailable("down".into()))
        });
        assert!(err.is_err());
        let ok = m
            .cursors(&[book("a")], t0, poll, &mut |cs: &[Collection]| {
                Ok(cs.iter().map(|_| "7".to_string()).collect())
            })
            .unwrap();
        assert_eq!(ok, vec!["7"]);
        let short = m.cursors(&[book("b")], t0, poll, &mut |_: &[Collection]| Ok(vec![]));
        assert!(short.is_err(), "a read must answer every collection");
    }

    #[test]
    fn a_request_waits_for_a_read_in_progress_instead_of_reading_again() {
        let hub = PollHub::default();
        let backend = FakeBackend::new();
        let t0 = Instant::now();
        let poll = Duration::from_secs(10);
        let started = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            let first = s.spawn(|| {
                let m = hub.join("alice");
                m.cursors(&[book("a")], t0, poll, &mut |cs: &[Collection]| {
                    started.wait();
                    // Hold the read open until the other request is waiting on it.
                    std::thread::sleep(Duration::from_millis(100));
                    backend.read(cs)
                })
                .unwrap()
            });
            started.wait();
            let m = hub.join("alice");
            let second = m
                .cursors(&[book("a")], t0, poll, &mut |cs: &[Collection]| {
                    backend.read(cs)
                })
                .unwrap();
            assert_eq!(second, first.join().unwrap());
        });
        assert_eq!(backend.calls.load(Ordering::SeqCst), 1);
    }
}
