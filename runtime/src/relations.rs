//! A process's links and monitors: the lock-guarded half of its state.
//!
//! Erlang delivers link, unlink, monitor and demonitor as signals through the
//! target's signal queue. bream instead lets the *caller* edit both ends under
//! each end's own lock (docs/adr/runtime-0001-relations-under-a-lock.md explains why: a
//! gen_server call monitors and demonitors its server every time, and a signal
//! in the server's mailbox would make the server scan its whole backlog twice per
//! call). What must stay ordered with messages — exit signals and `Down` — still
//! travels through the mailbox (exit.rs).
//!
//! The whole protocol rests on one flag, `closed`, set by the exiting process
//! under this lock ([`Relations::close`]):
//!
//! - A caller that adds itself to a target's set under the target's lock either
//!   finds `closed` unset — then the target's `close`, later in the lock's order,
//!   takes the caller's entry and signals it — or finds it set, and reports
//!   `NoProc` itself. Never both, never neither (loom-checked in
//!   `loom-tests/tests/runtime.rs`).
//! - Removing an entry (unlink, demonitor) under the lock before `close` means the
//!   exiting process will not signal it; after `close`, a signal may already be
//!   in flight, and the receiver drops it because its own end no longer has the
//!   entry (exit.rs, "stale signals").

use std::hash::Hash;

use crate::pid::{FastMap, MonitorRef, Pid};

/// A pid for a loom model (models have no process table).
#[cfg(bream_loom)]
pub fn model_pid(index: u32) -> Pid {
    Pid::new(index, 0)
}

/// A monitor ref for a loom model.
#[cfg(bream_loom)]
pub fn model_monitor_ref(n: u64) -> MonitorRef {
    MonitorRef(crate::pid::Ref(n))
}
use crate::sync::Mutex;

/// The sets, guarded by [`Relations`]' lock.
#[derive(Debug, Default)]
pub struct Sets {
    /// Linked processes (links are symmetric: each end holds the other).
    pub(crate) links: SmallMap<Pid, ()>,
    /// Monitors this process holds on others: ref → target.
    pub(crate) monitors: SmallMap<MonitorRef, Pid>,
    /// Monitors others hold on this process: ref → watcher.
    pub(crate) watchers: SmallMap<MonitorRef, Pid>,
}

/// Entries a [`SmallMap`] keeps in a plain vector before it switches to a hash
/// map. Value picked out of thin air: a linear scan of 16 pairs of words is a
/// few cache lines; tune with data.
const SMALL: usize = 16;

/// A map that is a `Vec` while small — most processes have a link or a monitor
/// or two, and an empty `Vec` allocates nothing — and a hash map beyond
/// [`SMALL`] entries (a supervisor with thousands of children).
#[derive(Debug)]
pub(crate) enum SmallMap<K, V> {
    Small(Vec<(K, V)>),
    Large(FastMap<K, V>),
}

impl<K, V> Default for SmallMap<K, V> {
    fn default() -> Self {
        SmallMap::Small(Vec::new())
    }
}

impl<K: Copy + Eq + Hash, V: Copy> SmallMap<K, V> {
    pub(crate) fn insert(&mut self, k: K, v: V) {
        match self {
            SmallMap::Small(vec) => {
                if let Some(e) = vec.iter_mut().find(|e| e.0 == k) {
                    e.1 = v;
                } else if vec.len() < SMALL {
                    vec.push((k, v));
                } else {
                    let mut map: FastMap<K, V> = vec.drain(..).collect();
                    map.insert(k, v);
                    *self = SmallMap::Large(map);
                }
            }
            SmallMap::Large(map) => {
                map.insert(k, v);
            }
        }
    }

    pub(crate) fn remove(&mut self, k: K) -> Option<V> {
        match self {
            SmallMap::Small(vec) => {
                let i = vec.iter().position(|e| e.0 == k)?;
                Some(vec.swap_remove(i).1)
            }
            SmallMap::Large(map) => map.remove(&k),
        }
    }

    pub(crate) fn contains(&self, k: K) -> bool {
        match self {
            SmallMap::Small(vec) => vec.iter().any(|e| e.0 == k),
            SmallMap::Large(map) => map.contains_key(&k),
        }
    }

    /// Every entry (unordered).
    pub(crate) fn entries(&self) -> Vec<(K, V)> {
        match self {
            SmallMap::Small(vec) => vec.clone(),
            SmallMap::Large(map) => map.iter().map(|(k, v)| (*k, *v)).collect(),
        }
    }

    /// Empties the map, handing back every entry.
    pub(crate) fn take(&mut self) -> Vec<(K, V)> {
        match std::mem::take(self) {
            SmallMap::Small(vec) => vec,
            SmallMap::Large(map) => map.into_iter().collect(),
        }
    }
}

/// What a process leaves behind when it closes its relations: whom to signal.
#[derive(Debug, Default)]
pub struct Closed {
    /// The links, each to get an exit signal.
    pub links: Vec<Pid>,
    /// The watchers, each to get a down signal.
    pub watchers: Vec<(MonitorRef, Pid)>,
    /// This process's own monitors, to remove from their targets.
    pub monitors: Vec<(MonitorRef, Pid)>,
}

/// One process's links and monitors. Any thread may call any method: each takes
/// the lock for the duration of one small edit, and no method takes two
/// processes' locks at once (so there is no lock order to get wrong).
///
/// The sets are boxed and allocated by the first relation: most processes
/// of a million have none (the sets are ~100 bytes, the box 8), and a
/// process's exit frees them at once.
#[derive(Debug, Default)]
pub struct Relations {
    sets: Mutex<Lazy>,
}

/// The state under the lock: closed yet, and the sets once any relation
/// was added.
#[derive(Debug, Default)]
struct Lazy {
    closed: bool,
    sets: Option<Box<Sets>>,
}

impl Lazy {
    /// The sets, allocated on first use.
    fn sets(&mut self) -> &mut Sets {
        self.sets.get_or_insert_with(Box::default)
    }
}

impl Relations {
    /// Empty relations.
    pub fn new() -> Self {
        Relations::default()
    }

    /// Adds `other` to the links; false (nothing added) if already closed.
    pub fn add_link(&self, other: Pid) -> bool {
        let mut s = self.sets.lock();
        if s.closed {
            return false;
        }
        s.sets().links.insert(other, ());
        true
    }

    /// True if `other` was linked.
    pub fn has_link(&self, other: Pid) -> bool {
        let s = self.sets.lock();
        s.sets.as_ref().is_some_and(|x| x.links.contains(other))
    }

    /// Removes `other` from the links; true if it was there.
    pub fn remove_link(&self, other: Pid) -> bool {
        let mut s = self.sets.lock();
        s.sets
            .as_mut()
            .and_then(|x| x.links.remove(other))
            .is_some()
    }

    /// Records that `watcher` monitors this process with `r`; false if closed.
    pub fn add_watcher(&self, r: MonitorRef, watcher: Pid) -> bool {
        let mut s = self.sets.lock();
        if s.closed {
            return false;
        }
        s.sets().watchers.insert(r, watcher);
        true
    }

    /// Forgets watcher `r`.
    pub fn remove_watcher(&self, r: MonitorRef) {
        let mut s = self.sets.lock();
        if let Some(x) = s.sets.as_mut() {
            x.watchers.remove(r);
        }
    }

    /// Records that this process monitors `target` with `r`.
    pub fn add_monitor(&self, r: MonitorRef, target: Pid) {
        self.sets.lock().sets().monitors.insert(r, target);
    }

    /// Forgets monitor `r`; its target if it was active.
    pub fn remove_monitor(&self, r: MonitorRef) -> Option<Pid> {
        let mut s = self.sets.lock();
        s.sets.as_mut().and_then(|x| x.monitors.remove(r))
    }

    /// Closes the relations for good and hands back everyone to signal (the
    /// sets' memory goes with them).
    pub fn close(&self) -> Closed {
        let taken = {
            let mut s = self.sets.lock();
            s.closed = true;
            s.sets.take()
        };
        match taken {
            Some(mut x) => Closed {
                links: x.links.take().into_iter().map(|(p, ())| p).collect(),
                watchers: x.watchers.take(),
                monitors: x.monitors.take(),
            },
            None => Closed::default(),
        }
    }

    /// Runs `f` on the sets (for `process_info`).
    pub fn inspect<R>(&self, f: impl FnOnce(&Sets) -> R) -> R {
        let s = self.sets.lock();
        match &s.sets {
            Some(x) => f(x),
            None => f(&Sets::default()),
        }
    }
}

#[cfg(all(test, not(bream_loom)))]
mod tests {
    use super::*;
    use crate::pid::Ref;

    #[test]
    fn a_small_map_grows_into_a_hash_map_and_keeps_every_entry() {
        let mut m: SmallMap<u32, u32> = SmallMap::default();
        for i in 0..100 {
            m.insert(i, i * 2);
        }
        assert!(matches!(m, SmallMap::Large(_)));
        assert_eq!(m.remove(7), Some(14));
        assert!(!m.contains(7) && m.contains(8));
        let mut all = m.take();
        all.sort_unstable();
        assert_eq!(all.len(), 99);
        assert_eq!(all[7], (8, 16));
        assert!(matches!(m, SmallMap::Small(ref v) if v.is_empty()));
    }

    #[test]
    fn nothing_is_added_after_close_and_close_hands_everything_back() {
        let r = Relations::new();
        let (a, b) = (Pid::new(1, 0), Pid::new(2, 0));
        let m = MonitorRef(Ref(7));
        assert!(r.add_link(a));
        assert!(r.add_watcher(m, b));
        let closed = r.close();
        assert_eq!(closed.links, vec![a]);
        assert_eq!(closed.watchers, vec![(m, b)]);
        assert!(
            !r.add_link(b),
            "closed: the caller must report NoProc itself"
        );
        assert!(!r.add_watcher(m, a));
    }
}
