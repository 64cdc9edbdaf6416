//! The registry's tables: partitions of plain hash maps behind std mutexes
//! (the analogue of Elixir's per-partition ETS tables).
//!
//! # Layout
//!
//! Every key is hashed once, with the registry's own `RandomState`; the hash
//! picks the bucket and, for a unique registry, the partition. Buckets are
//! keyed by the hash, so the tables never need `K: Clone` or `K: Sync`: a
//! process's index of what it registered stores hashes, and cleaning up after
//! it means visiting those buckets and dropping its entries there.
//!
//! - Unique registry: the key's partition (`hash % n`) holds
//!   `hash -> [(key, pid, value)]` (one entry per key; a longer list only on a
//!   hash collision).
//! - Duplicate registry: the *registering process's* partition (`hash(pid) %
//!   n`) holds `hash -> {pid -> [(key, value)]}`, as Elixir partitions a
//!   duplicate registry by pid: registering never contends with other
//!   partitions, a lookup visits all of them, and removing a dead process's
//!   entries is one map removal per key however many others share the key.
//! - Every partition also holds the index `pid -> [hash]` of the processes
//!   whose pid falls in it: what to clean when that process exits.
//!
//! # Locks
//!
//! Each partition's state is one `std::sync::Mutex`, held only for a map
//! operation and never across a bream call that can wait (no send, receive,
//! link or spawn under a lock: the process could move to another worker while
//! holding it). Two partitions' locks are never held together, so there is no
//! lock order to get wrong.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::{Mutex, MutexGuard};

use bream::Pid;

/// Whether a key maps to at most one process or to many (Elixir's `keys:`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keys {
    /// A key has at most one entry (Elixir's `:unique`): a name registry.
    Unique,
    /// A key may have many entries, from many processes, and one process may
    /// register a key more than once (Elixir's `:duplicate`): a pub/sub topic.
    Duplicate,
}

/// One unique-registry entry.
pub(crate) struct Entry<K, V> {
    pub(crate) key: K,
    pub(crate) pid: Pid,
    pub(crate) value: V,
}

/// The entries of one partition, by the kind of registry.
pub(crate) enum Keyed<K, V> {
    Unique(HashMap<u64, Vec<Entry<K, V>>>),
    Duplicate(HashMap<u64, HashMap<Pid, Vec<(K, V)>>>),
}

/// What one partition's mutex guards.
pub(crate) struct State<K, V> {
    pub(crate) keyed: Keyed<K, V>,
    /// For each process of this partition: the hashes of the keys it
    /// registered (with repeats: one per registration).
    pub(crate) pids: HashMap<Pid, Vec<u64>>,
}

impl<K, V> State<K, V> {
    fn new(keys: Keys) -> Self {
        let keyed = match keys {
            Keys::Unique => Keyed::Unique(HashMap::new()),
            Keys::Duplicate => Keyed::Duplicate(HashMap::new()),
        };
        State {
            keyed,
            pids: HashMap::new(),
        }
    }

    /// Forget one registration of `hash` by `pid`; true if `pid` has none left.
    pub(crate) fn unindex(&mut self, pid: Pid, hash: u64, times: usize) -> bool {
        let Some(hashes) = self.pids.get_mut(&pid) else {
            return true;
        };
        for _ in 0..times {
            if let Some(i) = hashes.iter().position(|&h| h == hash) {
                hashes.swap_remove(i);
            }
        }
        if hashes.is_empty() {
            self.pids.remove(&pid);
            true
        } else {
            false
        }
    }
}

/// The partitioned tables of one registry.
pub(crate) struct Tables<K, V> {
    pub(crate) keys: Keys,
    hasher: RandomState,
    /// One per partition. Touched by any process, under each mutex.
    parts: Vec<Mutex<State<K, V>>>,
}

impl<K, V> Tables<K, V> {
    pub(crate) fn partitions(&self) -> usize {
        self.parts.len()
    }
}

impl<K: Hash + Eq, V> Tables<K, V> {
    pub(crate) fn new(keys: Keys, partitions: usize) -> Self {
        Tables {
            keys,
            hasher: RandomState::new(),
            parts: (0..partitions.max(1))
                .map(|_| Mutex::new(State::new(keys)))
                .collect(),
        }
    }

    pub(crate) fn hash(&self, key: &K) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The partition a process belongs to (its index and cleanup, and all its
    /// entries in a duplicate registry).
    pub(crate) fn pid_partition(&self, pid: Pid) -> usize {
        (self.hasher.hash_one(pid) % self.parts.len() as u64) as usize
    }

    /// The partition that holds a key's entries in a unique registry.
    pub(crate) fn key_partition(&self, hash: u64) -> usize {
        (hash % self.parts.len() as u64) as usize
    }

    /// Lock partition `i`. A poisoned lock (a panic under it, which only a
    /// panicking `Hash`/`Eq` can cause) is taken over: each operation leaves
    /// the maps consistent before it can panic.
    pub(crate) fn lock(&self, i: usize) -> MutexGuard<'_, State<K, V>> {
        self.parts[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Remove every entry of the exited process `pid` (its partition's index
    /// says where they are).
    pub(crate) fn remove_pid(&self, pid: Pid) -> usize {
        let p = self.pid_partition(pid);
        let Some(hashes) = self.lock(p).pids.remove(&pid) else {
            return 0;
        };
        let mut removed = 0;
        for hash in hashes {
            let part = match self.keys {
                Keys::Unique => self.key_partition(hash),
                Keys::Duplicate => p,
            };
            let mut state = self.lock(part);
            match &mut state.keyed {
                Keyed::Unique(map) => {
                    if let Some(bucket) = map.get_mut(&hash) {
                        let before = bucket.len();
                        // Only the dead process's entry: a newer holder that
                        // took the key over (see `register`) stays.
                        bucket.retain(|e| e.pid != pid);
                        removed += before - bucket.len();
                        if bucket.is_empty() {
                            map.remove(&hash);
                        }
                    }
                }
                Keyed::Duplicate(map) => {
                    if let Some(bucket) = map.get_mut(&hash) {
                        removed += bucket.remove(&pid).map_or(0, |v| v.len());
                        if bucket.is_empty() {
                            map.remove(&hash);
                        }
                    }
                }
            }
        }
        removed
    }

    /// Empty every partition (a registry that stops or starts again).
    pub(crate) fn clear(&self) {
        for i in 0..self.parts.len() {
            *self.lock(i) = State::new(self.keys);
        }
    }

    /// Every partition, one at a time (lookups of a duplicate registry).
    pub(crate) fn each(&self, mut f: impl FnMut(&State<K, V>)) {
        for i in 0..self.parts.len() {
            f(&self.lock(i));
        }
    }
}
