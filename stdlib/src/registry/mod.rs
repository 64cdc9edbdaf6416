//! Registry: Elixir's local key/process store. Processes register themselves
//! under keys (any `Hash + Eq` type, not just `&'static str`), with a value
//! each; others look keys up, or dispatch to every process under a key; a
//! process's entries disappear when it exits.
//!
//! Two uses, chosen when the registry is made ([`Keys`]):
//!
//! - **Unique** keys: a name registry. One process per user, per room, per
//!   connection, found by key; and, with [`Name::via`](crate::name::Name::via),
//!   the names of gen_servers (Elixir's `{:via, Registry, {reg, key}}`).
//! - **Duplicate** keys: a pub/sub registry. Every subscriber registers the
//!   topic; a publisher [`dispatch`](Registry::dispatch)es to all of them.
//!
//! | Elixir                                   | bream_stdlib                                   |
//! |------------------------------------------|------------------------------------------------|
//! | `Registry.start_link(keys:, partitions:)`| [`Registry::new`]`(keys).partitions(n).start_link()` |
//! | `Registry.child_spec/1`                  | [`Registry::child_spec`]                       |
//! | `Registry.register(reg, key, value)`     | [`Registry::register`]                         |
//! | `Registry.unregister(reg, key)`          | [`Registry::unregister`]                       |
//! | `Registry.lookup(reg, key)`              | [`Registry::lookup`]                           |
//! | `Registry.dispatch(reg, key, fun)`       | [`Registry::dispatch`]                         |
//! | `Registry.keys(reg, pid)`, `values/3`    | [`Registry::keys`], [`Registry::values`]       |
//! | `Registry.update_value(reg, key, fun)`   | [`Registry::update_value`]                     |
//! | `Registry.count(reg)`                    | [`Registry::count`]                            |
//! | `{:via, Registry, {reg, key}}`           | [`Name::via`](crate::name::Name::via)          |
//!
//! A registry is named by its handle, a [`Registry`] value (cheap to clone,
//! `Send + Sync`): keep it in a `static OnceLock`, a struct, or a child spec's
//! closure, where Elixir would use the registry's atom name.
//!
//! # How it stays correct when processes exit
//!
//! The tables live in shared memory (table.rs) and every operation runs in the
//! caller's process, as Elixir's registry reads and writes ETS from the
//! caller. Exits are noticed by the registry's partition processes
//! (server.rs): a process registering its first key links itself to the
//! partition process of its pid, which traps exits and, on the registrant's
//! `Exit`, removes all its entries. The races and why each is harmless:
//!
//! 1. *Register, then die at once.* The link is made **before** the entry is
//!    inserted, and both happen while the registrant is alive, so the `Exit`
//!    (sent only after it died) is handled after the entry exists.
//! 2. *A key whose holder died, before the cleanup ran.* The entry is still in
//!    the table for a moment. [`lookup`](Registry::lookup) and
//!    [`dispatch`](Registry::dispatch) skip entries of dead processes, and
//!    [`register`](Registry::register) on a unique key whose holder is dead
//!    takes the key over (as Elixir does). The cleanup then removes only the
//!    dead process's entry (it compares pids), never the new holder's.
//! 3. *Unregister the last key.* The registrant unlinks (Elixir does too), so
//!    a later exit sends nothing; only the registrant itself changes its own
//!    index while it lives, so "last key" cannot race with itself.
//! 4. *A registry that stops.* Its partitions exit with the stop reason and
//!    the linked registrants get that exit signal (Elixir's behaviour); the
//!    tables are emptied, and [`register`](Registry::register) answers
//!    [`RegisterError::NotRunning`].
//!
//! Only the calling process registers itself (Elixir's rule), so every entry
//! names a local pid. Lookups hand back [`Pid`]s and nothing else assumes
//! locality.
//!
//! # Scaling
//!
//! [`partitions`](Registry::partitions) (default: one per available core)
//! splits both the tables and the exit-watching processes. Registrations from
//! many processes contend only within a partition, and lock hold times are one
//! hash-map operation. The chapter docs/registry.md has the details.

mod server;
mod table;
mod via;

use std::fmt;
use std::hash::Hash;
use std::sync::{Arc, RwLock};

use bream::Pid;

pub use table::Keys;
use table::{Entry, Keyed, Tables};
pub(crate) use via::ViaKey;

use crate::start::StartError;
use crate::supervisor::ChildSpec;

/// A registry handle: which registry to register in and look up. Clone it
/// freely; all clones name the same registry.
///
/// `K` is the key type, `V` the value stored with each entry (`()` when only
/// the pid matters).
///
/// ```
/// use bream_stdlib::registry::{Keys, Registry};
///
/// bream::run(|| {
///     let reg: Registry<&str, u32> = Registry::new(Keys::Unique).start_link().unwrap();
///     reg.register("answer", 42).unwrap();
///     assert_eq!(reg.lookup(&"answer"), vec![(bream::self_pid(), 42)]);
///     assert!(reg.lookup(&"question").is_empty());
/// });
/// ```
pub struct Registry<K, V = ()> {
    inner: Arc<Inner<K, V>>,
}

/// What every handle of one registry shares.
pub(crate) struct Inner<K, V> {
    /// The entries. Any process, under the partitions' mutexes.
    pub(crate) tables: Tables<K, V>,
    /// The partition processes while the registry runs; written by the root
    /// at start and at exit, read by every `register`.
    processes: RwLock<Option<Vec<Pid>>>,
}

impl<K, V> Inner<K, V> {
    pub(crate) fn set_processes(&self, pids: Option<Vec<Pid>>) {
        *self.processes.write().unwrap_or_else(|e| e.into_inner()) = pids;
    }

    fn process(&self, partition: usize) -> Option<Pid> {
        let guard = self.processes.read().unwrap_or_else(|e| e.into_inner());
        guard.as_ref().map(|pids| pids[partition])
    }
}

impl<K, V> Clone for Registry<K, V> {
    fn clone(&self) -> Self {
        Registry {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<K, V> fmt::Debug for Registry<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("keys", &self.inner.tables.keys)
            .field("partitions", &self.inner.tables.partitions())
            .finish()
    }
}

/// Why [`Registry::register`] did not register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegisterError {
    /// A unique key is held by this live process (maybe the caller itself):
    /// Elixir's `{:error, {:already_registered, pid}}`.
    AlreadyRegistered(Pid),
    /// The registry is not running (never started, or stopped).
    NotRunning,
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterError::AlreadyRegistered(pid) => write!(f, "already registered by {pid}"),
            RegisterError::NotRunning => f.write_str("the registry is not running"),
        }
    }
}

impl std::error::Error for RegisterError {}

impl<K, V> Registry<K, V>
where
    K: Hash + Eq + Send + 'static,
    V: Send + 'static,
{
    /// A registry with `keys` and one partition per available core; it runs
    /// once started ([`start_link`](Self::start_link) or
    /// [`child_spec`](Self::child_spec)).
    pub fn new(keys: Keys) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::with_partitions(keys, cores)
    }

    fn with_partitions(keys: Keys, partitions: usize) -> Self {
        Registry {
            inner: Arc::new(Inner {
                tables: Tables::new(keys, partitions),
                processes: RwLock::new(None),
            }),
        }
    }

    /// The same registry with `n` partitions (at least 1; Elixir's
    /// `partitions:`). Call before starting it: it makes a new registry.
    #[must_use]
    pub fn partitions(self, n: usize) -> Self {
        Self::with_partitions(self.inner.tables.keys, n)
    }

    /// Start the registry's processes, linked to the caller (Elixir's
    /// `Registry.start_link/1`), and return the handle. If the caller exits,
    /// the registry stops with the same reason.
    ///
    /// # Errors
    /// [`StartError::Spawn`] if its processes cannot be spawned.
    pub fn start_link(self) -> Result<Self, StartError> {
        server::start(Arc::clone(&self.inner))?;
        Ok(self)
    }

    /// A supervisor child spec that starts this registry (Elixir's
    /// `{Registry, keys: .., name: ..}` child). A restart starts it empty.
    pub fn child_spec(&self, id: impl Into<String>) -> ChildSpec
    where
        K: Sync,
        V: Sync,
    {
        let inner = Arc::clone(&self.inner);
        ChildSpec::supervisor(id, move || server::start(Arc::clone(&inner)))
    }

    /// Whether the registry is running.
    pub fn is_running(&self) -> bool {
        self.inner.process(0).is_some()
    }

    /// How the registry's keys work.
    pub fn keys_kind(&self) -> Keys {
        self.inner.tables.keys
    }

    /// Register the calling process under `key` with `value` (Elixir's
    /// `Registry.register/3`). In a duplicate registry a process may register
    /// the same key many times. The entry is removed when the process exits.
    ///
    /// # Links
    /// The first registration links the caller to one of the registry's
    /// processes (see the module docs); unregistering its last key unlinks.
    ///
    /// # Errors
    /// [`RegisterError::AlreadyRegistered`] if a unique key is held by a live
    /// process; [`RegisterError::NotRunning`].
    pub fn register(&self, key: K, value: V) -> Result<(), RegisterError> {
        let me = bream::self_pid();
        let tables = &self.inner.tables;
        let pp = tables.pid_partition(me);
        let watcher = self.inner.process(pp).ok_or(RegisterError::NotRunning)?;
        let first = !tables.lock(pp).pids.contains_key(&me);
        if first {
            // Before the insert: see the module docs, race 1.
            bream::link(watcher);
        }
        let hash = tables.hash(&key);
        let result = match tables.keys {
            Keys::Unique => self.insert_unique(me, hash, key, value),
            Keys::Duplicate => {
                let mut state = tables.lock(pp);
                if let Keyed::Duplicate(map) = &mut state.keyed {
                    let mine = map.entry(hash).or_default().entry(me).or_default();
                    mine.push((key, value));
                }
                Ok(())
            }
        };
        match result {
            Ok(()) => tables.lock(pp).pids.entry(me).or_default().push(hash),
            Err(_) if first => bream::unlink(watcher),
            Err(_) => {}
        }
        result
    }

    fn insert_unique(&self, me: Pid, hash: u64, key: K, value: V) -> Result<(), RegisterError> {
        let tables = &self.inner.tables;
        let mut state = tables.lock(tables.key_partition(hash));
        let Keyed::Unique(map) = &mut state.keyed else {
            unreachable!("a unique registry has unique tables")
        };
        let bucket = map.entry(hash).or_default();
        match bucket.iter_mut().find(|e| e.key == key) {
            // `is_alive` never waits, so calling it under the lock is safe.
            Some(e) if e.pid == me || bream::is_alive(e.pid) => {
                Err(RegisterError::AlreadyRegistered(e.pid))
            }
            Some(e) => {
                // The holder died and its cleanup has not run yet: race 2.
                *e = Entry {
                    key,
                    pid: me,
                    value,
                };
                Ok(())
            }
            None => {
                bucket.push(Entry {
                    key,
                    pid: me,
                    value,
                });
                Ok(())
            }
        }
    }

    /// Remove the calling process's entries under `key` (Elixir's
    /// `Registry.unregister/2`); all of them in a duplicate registry. Nothing
    /// happens if it has none.
    pub fn unregister(&self, key: &K) {
        let me = bream::self_pid();
        let tables = &self.inner.tables;
        let hash = tables.hash(key);
        let pp = tables.pid_partition(me);
        let removed = match tables.keys {
            Keys::Unique => {
                let mut state = tables.lock(tables.key_partition(hash));
                let Keyed::Unique(map) = &mut state.keyed else {
                    unreachable!("a unique registry has unique tables")
                };
                remove_where(map, hash, |bucket| {
                    let before = bucket.len();
                    bucket.retain(|e| !(e.pid == me && e.key == *key));
                    before - bucket.len()
                })
            }
            Keys::Duplicate => {
                let mut state = tables.lock(pp);
                let Keyed::Duplicate(map) = &mut state.keyed else {
                    unreachable!("a duplicate registry has duplicate tables")
                };
                remove_where(map, hash, |bucket| {
                    let Some(mine) = bucket.get_mut(&me) else {
                        return 0;
                    };
                    let before = mine.len();
                    mine.retain(|(k, _)| k != key);
                    let n = before - mine.len();
                    if mine.is_empty() {
                        bucket.remove(&me);
                    }
                    n
                })
            }
        };
        if removed > 0 && tables.lock(pp).unindex(me, hash, removed) {
            if let Some(watcher) = self.inner.process(pp) {
                bream::unlink(watcher);
            }
        }
    }

    /// The live processes registered under `key`, with their values
    /// (Elixir's `Registry.lookup/2`): at most one in a unique registry.
    ///
    /// An entry whose process has exited but whose cleanup has not run yet is
    /// not returned.
    pub fn lookup(&self, key: &K) -> Vec<(Pid, V)>
    where
        V: Clone,
    {
        let mut found = self.entries(key, None);
        found.retain(|(pid, _)| bream::is_alive(*pid));
        found
    }

    /// Run `f` with the live entries under `key`, if there are any (Elixir's
    /// `Registry.dispatch/3`). The entries are copied out first: `f` runs with
    /// no lock held, so it may send, call or register.
    ///
    /// ```
    /// use bream_stdlib::registry::{Keys, Registry};
    ///
    /// bream::run(|| {
    ///     let topics: Registry<&str> = Registry::new(Keys::Duplicate).start_link().unwrap();
    ///     topics.register("news", ()).unwrap();
    ///     topics.dispatch(&"news", |subscribers| {
    ///         for (pid, ()) in subscribers {
    ///             bream::send(*pid, "extra!");
    ///         }
    ///     });
    ///     assert_eq!(bream::receive::<&str>(), "extra!");
    /// });
    /// ```
    pub fn dispatch(&self, key: &K, f: impl FnOnce(&[(Pid, V)]))
    where
        V: Clone,
    {
        let entries = self.lookup(key);
        if !entries.is_empty() {
            f(&entries);
        }
    }

    /// The keys `pid` registered (Elixir's `Registry.keys/2`), one per
    /// registration.
    pub fn keys(&self, pid: Pid) -> Vec<K>
    where
        K: Clone,
    {
        let tables = &self.inner.tables;
        let pp = tables.pid_partition(pid);
        let mut hashes = tables.lock(pp).pids.get(&pid).cloned().unwrap_or_default();
        hashes.sort_unstable();
        hashes.dedup();
        let mut keys = Vec::new();
        for hash in hashes {
            let part = match tables.keys {
                Keys::Unique => tables.key_partition(hash),
                Keys::Duplicate => pp,
            };
            match &tables.lock(part).keyed {
                Keyed::Unique(map) => keys.extend(
                    map.get(&hash)
                        .into_iter()
                        .flatten()
                        .filter(|e| e.pid == pid)
                        .map(|e| e.key.clone()),
                ),
                Keyed::Duplicate(map) => keys.extend(
                    map.get(&hash)
                        .and_then(|b| b.get(&pid))
                        .into_iter()
                        .flatten()
                        .map(|(k, _)| k.clone()),
                ),
            }
        }
        keys
    }

    /// The values `pid` registered under `key` (Elixir's `Registry.values/3`).
    pub fn values(&self, key: &K, pid: Pid) -> Vec<V>
    where
        V: Clone,
    {
        self.entries(key, Some(pid))
            .into_iter()
            .map(|(_, v)| v)
            .collect()
    }

    /// Replace the value of the caller's entry under a unique `key` with
    /// `f(&old)`; returns `(new, old)` (Elixir's `Registry.update_value/3`),
    /// or `None` if the caller holds no such key (or the registry has
    /// duplicate keys).
    pub fn update_value(&self, key: &K, f: impl FnOnce(&V) -> V) -> Option<(V, V)>
    where
        V: Clone,
    {
        let me = bream::self_pid();
        let tables = &self.inner.tables;
        let hash = tables.hash(key);
        let mut state = tables.lock(tables.key_partition(hash));
        let Keyed::Unique(map) = &mut state.keyed else {
            return None;
        };
        let entry = map
            .get_mut(&hash)?
            .iter_mut()
            .find(|e| e.pid == me && e.key == *key)?;
        let new = f(&entry.value);
        let old = std::mem::replace(&mut entry.value, new.clone());
        Some((new, old))
    }

    /// How many entries the registry holds (Elixir's `Registry.count/1`),
    /// including those of processes that exited a moment ago and whose
    /// cleanup has not run yet.
    pub fn count(&self) -> usize {
        let mut n = 0;
        self.inner.tables.each(|state| {
            n += match &state.keyed {
                Keyed::Unique(map) => map.values().map(Vec::len).sum::<usize>(),
                Keyed::Duplicate(map) => map
                    .values()
                    .flat_map(|b| b.values())
                    .map(Vec::len)
                    .sum::<usize>(),
            }
        });
        n
    }

    /// The entries under `key` (of `only` if given), dead ones included.
    fn entries(&self, key: &K, only: Option<Pid>) -> Vec<(Pid, V)>
    where
        V: Clone,
    {
        let tables = &self.inner.tables;
        let hash = tables.hash(key);
        let keep = |pid: Pid| only.is_none_or(|o| o == pid);
        let mut found = Vec::new();
        let mut visit = |state: &table::State<K, V>| match &state.keyed {
            Keyed::Unique(map) => found.extend(
                map.get(&hash)
                    .into_iter()
                    .flatten()
                    .filter(|e| e.key == *key && keep(e.pid))
                    .map(|e| (e.pid, e.value.clone())),
            ),
            Keyed::Duplicate(map) => {
                for (pid, mine) in map.get(&hash).into_iter().flatten() {
                    if keep(*pid) {
                        found.extend(
                            mine.iter()
                                .filter(|(k, _)| k == key)
                                .map(|(_, v)| (*pid, v.clone())),
                        );
                    }
                }
            }
        };
        match (tables.keys, only) {
            (Keys::Unique, _) => visit(&tables.lock(tables.key_partition(hash))),
            (Keys::Duplicate, Some(pid)) => visit(&tables.lock(tables.pid_partition(pid))),
            (Keys::Duplicate, None) => tables.each(visit),
        }
        found
    }
}

/// Apply `edit` to the bucket `hash` of `map`; drop the bucket if it empties.
fn remove_where<B: Default + IsEmpty>(
    map: &mut std::collections::HashMap<u64, B>,
    hash: u64,
    edit: impl FnOnce(&mut B) -> usize,
) -> usize {
    let Some(bucket) = map.get_mut(&hash) else {
        return 0;
    };
    let n = edit(bucket);
    if bucket.is_empty() {
        map.remove(&hash);
    }
    n
}

trait IsEmpty {
    fn is_empty(&self) -> bool;
}
impl<T> IsEmpty for Vec<T> {
    fn is_empty(&self) -> bool {
        Vec::is_empty(self)
    }
}
impl<K, T> IsEmpty for std::collections::HashMap<K, T> {
    fn is_empty(&self) -> bool {
        std::collections::HashMap::is_empty(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Race 2 of the module docs, forced: a unique key's holder has died, a
    /// new process takes the key over *before* the dead holder's cleanup runs,
    /// and then the cleanup runs. It must remove nothing of the new holder's.
    #[test]
    fn a_late_cleanup_spares_the_new_holder() {
        bream::run(|| {
            let reg: Registry<&str> = Registry::new(Keys::Unique).partitions(2);
            let tables = &reg.inner.tables;
            let (dead, m) = bream::spawn_monitor(|| {});
            let _: bream::Down = bream::receive();
            let _ = m;
            let hash = tables.hash(&"k");
            // The dead process's entry and index, as its `register` left them.
            reg.insert_unique(dead, hash, "k", ()).unwrap();
            let dp = tables.pid_partition(dead);
            tables.lock(dp).pids.entry(dead).or_default().push(hash);
            // The takeover.
            let me = bream::self_pid();
            assert_eq!(reg.insert_unique(me, hash, "k", ()), Ok(()));
            // The late cleanup.
            assert_eq!(tables.remove_pid(dead), 0);
            assert_eq!(reg.entries(&"k", None), vec![(me, ())]);
        });
    }
}
