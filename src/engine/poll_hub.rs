//! Shared change polling for held requests (Ping, Sync with Wait) of one
//! process: all held requests of a user read the change cursor of a
//! collection from the backend at most once per poll interval, however many
//! of the user's devices watch it. Only the user's first held request (the
//! leader) wakes up at each interval; it reads the due cursors of every
//! collection the user's held requests watch in one `Session::cursors` call,
//! and wakes the members watching a collection whose cursor moved. The
//! others sleep until then, so idle devices cost no wake-ups. When the
//! leader's request ends, the next member is woken to take over.
//!
//! A write made through this process ([`PollHub::written`]) does not wait
//! for the next poll: the written collections' cursors count as stale and
//! the members watching them are woken at once, so they read the new cursor
//! and look at the change. Changes made elsewhere (Horde's web UI, another
//! process) still arrive through the timed polls.
//!
//! Time is passed in (`now`), so the rules are tested with fake clocks.

use crate::backend::{self, Collection, Cursor};
use crate::model::Class;
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// A collection of a user, as the hub keys it.
type Key = (Class, String);

/// Wakes a held request so it looks at the cursors again.
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// A held request of the user: what it watches and how to wake it.
struct Registered {
    id: u64,
    watches: Vec<Key>,
    wake: Wake,
}

/// One user's last known cursors.
#[derive(Default)]
struct Seen {
    cursors: HashMap<Key, (Cursor, Instant)>,
    /// A request is reading cursors from the backend right now.
    reading: bool,
    /// Held requests in order of arrival; the first is the leader.
    members: Vec<Registered>,
    next_id: u64,
    /// Collections written through this process since their cursor was last
    /// read, with the number of the write (see `writes`).
    written: HashMap<Key, u64>,
    /// Writes reported so far; a read clears only the writes before it began.
    writes: u64,
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
    id: u64,
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
    /// Join `user`'s shared polls for the life of the returned member,
    /// watching `collections`; `wake` is called when one of them moved.
    pub fn join(&self, user: &str, collections: &[Collection], wake: Wake) -> Member<'_> {
        let polls = locked(&self.users)
            .entry(user.to_string())
            .or_default()
            .clone();
        let id = {
            let mut seen = locked(&polls.seen);
            seen.next_id += 1;
            let id = seen.next_id;
            seen.members.push(Registered {
                id,
                watches: collections.iter().map(key).collect(),
                wake,
            });
            id
        };
        Member {
            hub: self,
            user: user.to_string(),
            polls,
            id,
        }
    }

    /// `user` just wrote to `collections` through this process: their
    /// cursors are read again at the next look (even if a read is running
    /// right now) and the user's held requests watching them are woken now.
    /// Nothing to do when the user holds no request here.
    pub fn written(&self, user: &str, collections: &[Collection]) {
        let Some(polls) = locked(&self.users).get(user).cloned() else {
            return;
        };
        let mut seen = locked(&polls.seen);
        seen.writes += 1;
        let write = seen.writes;
        let keys: Vec<Key> = collections.iter().map(key).collect();
        for k in &keys {
            seen.written.insert(k.clone(), write);
        }
        for m in &seen.members {
            if m.watches.iter().any(|k| keys.contains(k)) {
                (m.wake)();
            }
        }
    }

    /// Number of users with held requests (for tests and diagnostics).
    pub fn users(&self) -> usize {
        locked(&self.users).len()
    }
}

impl Drop for Member<'_> {
    fn drop(&mut self) {
        {
            let mut seen = locked(&self.polls.seen);
            let was_leader = seen.members.first().is_some_and(|m| m.id == self.id);
            seen.members.retain(|m| m.id != self.id);
            if was_leader {
                // The next held request takes over the timed polls.
                if let Some(next) = seen.members.first() {
                    (next.wake)();
                }
            }
        }
        let mut users = locked(&self.hub.users);
        // The map's reference and ours: we are the last member.
        if Arc::strong_count(&self.polls) == 2 {
            users.remove(&self.user);
        }
    }
}

impl Member<'_> {
    /// Whether this member wakes up at each poll interval (the user's
    /// first held request); the others sleep until woken or their deadline.
    pub fn is_leader(&self) -> bool {
        locked(&self.polls.seen)
            .members
            .first()
            .is_some_and(|m| m.id == self.id)
    }

    /// The current cursor of each of `collections`, none older than
    /// `max_age` at `now`. When some are stale they are read with `read`, in
    /// one call together with the user's other held requests' stale ones
    /// (unless another request is reading already: its result is used), and
    /// the members watching a collection whose cursor moved are woken.
    pub fn cursors(
        &self,
        collections: &[Collection],
        now: Instant,
        max_age: Duration,
        read: &mut dyn FnMut(&[Collection]) -> backend::Result<Vec<Cursor>>,
    ) -> backend::Result<Vec<Cursor>> {
        let stale_at = |seen: &Seen, k: &Key| {
            seen.written.contains_key(k)
                || seen
                    .cursors
                    .get(k)
                    .is_none_or(|(_, at)| now.saturating_duration_since(*at) >= max_age)
        };
        let mut seen = locked(&self.polls.seen);
        loop {
            // The leader also reads for the others when their cursors are due.
            let leader = seen.members.first().is_some_and(|m| m.id == self.id);
            let due = collections.iter().any(|c| stale_at(&seen, &key(c)))
                || (leader
                    && seen
                        .members
                        .iter()
                        .flat_map(|m| m.watches.iter())
                        .any(|k| stale_at(&seen, k)));
            if !due {
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
            // Ours first, then what the user's other held requests watch.
            let mut stale: Vec<Collection> = Vec::new();
            for c in collections {
                if stale_at(&seen, &key(c)) && !stale.iter().any(|s| key(s) == key(c)) {
                    stale.push(c.clone());
                }
            }
            let others: Vec<Key> = seen
                .members
                .iter()
                .flat_map(|m| m.watches.iter())
                .filter(|k| stale_at(&seen, k) && !stale.iter().any(|s| key(s) == **k))
                .cloned()
                .collect();
            for (class, id) in others {
                if !stale.iter().any(|s| s.class == class && s.id == id) {
                    stale.push(watched_collection(class, id));
                }
            }
            seen.reading = true;
            let writes_before = seen.writes;
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
            let mut moved: Vec<Key> = Vec::new();
            for (c, cursor) in stale.iter().zip(cursors) {
                let k = key(c);
                // A write that came in during the read may be missing from it: read again.
                if seen.written.get(&k).is_some_and(|&w| w <= writes_before) {
                    seen.written.remove(&k);
                }
                let before = seen.cursors.insert(k.clone(), (cursor.clone(), now));
                if before.is_some_and(|(old, _)| old != cursor) {
                    moved.push(k);
                }
            }
            for m in &seen.members {
                if m.id != self.id && m.watches.iter().any(|k| moved.contains(k)) {
                    (m.wake)();
                }
            }
        }
    }

    /// When the leader must read again: the oldest cursor of any collection
    /// the user's held requests watch (`now` when one was never read).
    pub fn next_due(&self, now: Instant, max_age: Duration) -> Instant {
        let seen = locked(&self.polls.seen);
        seen.members
            .iter()
            .flat_map(|m| m.watches.iter())
            .map(|k| seen.cursors.get(k).map_or(now, |(_, at)| *at + max_age))
            .min()
            .unwrap_or(now + max_age)
    }
}

/// A collection known only by its key (another request's), enough for a
/// cursor read.
fn watched_collection(class: Class, id: String) -> Collection {
    Collection {
        name: id.clone(),
        id,
        class,
        is_default: false,
        parent: None,
        role: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn book(id: &str) -> Collection {
        watched_collection(Class::Contacts, id.to_string())
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

    /// A wake-up that counts how often it was called.
    fn counter() -> (Arc<AtomicU32>, Wake) {
        let n = Arc::new(AtomicU32::new(0));
        let m = n.clone();
        (
            n,
            Arc::new(move || {
                m.fetch_add(1, Ordering::SeqCst);
            }),
        )
    }

    #[test]
    fn devices_of_a_user_share_one_read_per_interval() {
        let hub = PollHub::default();
        let backend = FakeBackend::new();
        let t0 = Instant::now();
        let poll = Duration::from_secs(10);
        let (a, b) = (book("a"), book("b"));
        let (_, wake) = counter();
        let phone = hub.join("alice", &[a.clone(), b.clone()], wake.clone());
        let tablet = hub.join("alice", std::slice::from_ref(&b), wake);
        assert!(phone.is_leader() && !tablet.is_leader());
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
        assert_eq!(phone.next_due(later, poll), t0 + poll);
        // Due again after the interval: one call for both, then shared again.
        let due = t0 + poll;
        assert_eq!(
            phone
                .cursors(&[a.clone(), b.clone()], due, poll, &mut read)
                .unwrap(),
            vec!["v2", "v2"]
        );
        assert_eq!(
            tablet
                .cursors(std::slice::from_ref(&b), due, poll, &mut read)
                .unwrap(),
            vec!["v2"]
        );
        assert_eq!(backend.calls.load(Ordering::SeqCst), 2);
        assert_eq!(backend.collections_read.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn the_leader_reads_for_everyone_and_wakes_those_whose_collections_moved() {
        let hub = PollHub::default();
        let backend = FakeBackend::new();
        let t0 = Instant::now();
        let poll = Duration::from_secs(10);
        let (led, lead_wake) = counter();
        let (woken, wake) = counter();
        let (untouched, other_wake) = counter();
        let leader = hub.join("alice", &[book("a")], lead_wake);
        let follower = hub.join("alice", &[book("b")], wake);
        let stranger = hub.join("bob", &[book("b")], other_wake);
        let mut read = |cs: &[Collection]| backend.read(cs);
        // The leader's read covers the follower's collection too.
        leader.cursors(&[book("a")], t0, poll, &mut read).unwrap();
        assert_eq!(backend.collections_read.load(Ordering::SeqCst), 2);
        assert_eq!(woken.load(Ordering::SeqCst), 0, "first read: nothing moved");
        backend.version.store(2, Ordering::SeqCst);
        leader
            .cursors(&[book("a")], t0 + poll, poll, &mut read)
            .unwrap();
        assert_eq!(
            woken.load(Ordering::SeqCst),
            1,
            "b moved: its watcher wakes"
        );
        assert_eq!(
            untouched.load(Ordering::SeqCst),
            0,
            "another user's request sleeps on"
        );
        assert_eq!(
            follower
                .cursors(&[book("b")], t0 + poll, poll, &mut read)
                .unwrap(),
            vec!["v2"]
        );
        assert_eq!(backend.calls.load(Ordering::SeqCst), 2);
        // The leader leaves: the follower is woken to take over the timed polls.
        drop(leader);
        assert!(follower.is_leader());
        assert_eq!(woken.load(Ordering::SeqCst), 2);
        assert_eq!(led.load(Ordering::SeqCst), 0);
        drop(stranger);
    }

    #[test]
    fn a_write_here_wakes_its_watchers_at_once_and_their_next_look_reads_again() {
        let hub = PollHub::default();
        let backend = FakeBackend::new();
        let t0 = Instant::now();
        let poll = Duration::from_secs(30);
        let (led, lead_wake) = counter();
        let (woken, wake) = counter();
        let (untouched, other_wake) = counter();
        let leader = hub.join("alice", &[book("a")], lead_wake);
        let follower = hub.join("alice", &[book("b")], wake);
        let stranger = hub.join("bob", &[book("b")], other_wake);
        let mut read = |cs: &[Collection]| backend.read(cs);
        leader.cursors(&[book("a")], t0, poll, &mut read).unwrap();
        stranger.cursors(&[book("b")], t0, poll, &mut read).unwrap();
        let reads = backend.calls.load(Ordering::SeqCst);

        backend.version.store(2, Ordering::SeqCst);
        hub.written("alice", &[book("b")]);
        assert_eq!(woken.load(Ordering::SeqCst), 1, "b's watcher wakes now");
        assert_eq!(led.load(Ordering::SeqCst), 0, "a was not written");
        assert_eq!(untouched.load(Ordering::SeqCst), 0, "another user's b");
        // One second later, far inside the interval: b is read again, a is not.
        let soon = t0 + Duration::from_secs(1);
        assert_eq!(
            follower
                .cursors(&[book("b")], soon, poll, &mut read)
                .unwrap(),
            vec!["v2"]
        );
        assert_eq!(backend.calls.load(Ordering::SeqCst), reads + 1);
        assert_eq!(
            leader.cursors(&[book("a")], soon, poll, &mut read).unwrap(),
            vec!["v1"],
            "a's cursor is still fresh"
        );
        // The write is consumed by that read: the next look is free again.
        follower
            .cursors(&[book("b")], soon, poll, &mut read)
            .unwrap();
        assert_eq!(backend.calls.load(Ordering::SeqCst), reads + 1);
        // Bob's cursor of his own b is untouched until his poll is due.
        assert_eq!(
            stranger
                .cursors(&[book("b")], soon, poll, &mut read)
                .unwrap(),
            vec!["v1"]
        );
    }

    #[test]
    fn a_write_during_a_read_makes_the_reader_read_again() {
        let hub = PollHub::default();
        let backend = FakeBackend::new();
        let t0 = Instant::now();
        let poll = Duration::from_secs(30);
        let (_, wake) = counter();
        let m = hub.join("alice", &[book("a")], wake);
        let mut first = true;
        let got = m
            .cursors(&[book("a")], t0, poll, &mut |cs: &[Collection]| {
                let cursors = backend.read(cs);
                if first {
                    // The write lands after the backend answered this read.
                    first = false;
                    backend.version.store(2, Ordering::SeqCst);
                    hub.written("alice", &[book("a")]);
                }
                cursors
            })
            .unwrap();
        assert_eq!(got, vec!["v2"]);
        assert_eq!(backend.calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_write_of_a_user_without_held_requests_costs_nothing() {
        let hub = PollHub::default();
        hub.written("alice", &[book("a")]);
        assert_eq!(hub.users(), 0);
    }

    #[test]
    fn users_are_forgotten_when_their_last_request_ends() {
        let hub = PollHub::default();
        let (_, wake) = counter();
        {
            let alice = hub.join("alice", &[book("x")], wake.clone());
            let _bob = hub.join("bob", &[book("x")], wake.clone());
            assert_eq!(hub.users(), 2);
            drop(alice);
            assert_eq!(hub.users(), 1);
        }
        assert_eq!(hub.users(), 0);
        let t0 = Instant::now();
        let alice = hub.join("alice", &[book("x")], wake);
        assert_eq!(
            alice.next_due(t0, Duration::from_secs(10)),
            t0,
            "nothing kept"
        );
    }

    #[test]
    fn a_failed_read_is_reported_and_retried_by_the_next_request() {
        let hub = PollHub::default();
        let t0 = Instant::now();
        let poll = Duration::from_secs(10);
        let (_, wake) = counter();
        let m = hub.join("alice", &[book("a")], wake);
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
        let (_, wake) = counter();
        std::thread::scope(|s| {
            let first = s.spawn(|| {
                let m = hub.join("alice", &[book("a")], wake.clone());
                m.cursors(&[book("a")], t0, poll, &mut |cs: &[Collection]| {
                    started.wait();
                    // Hold the read open until the other request is waiting on it.
                    std::thread::sleep(Duration::from_millis(100));
                    backend.read(cs)
                })
                .unwrap()
            });
            started.wait();
            let m = hub.join("alice", &[book("a")], wake.clone());
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
