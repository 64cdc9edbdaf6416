//! The registry of live tasks.
//!
//! A parked task sits on no run queue, yet shutdown must find it to unwind it.
//! So every live task is also kept here, from spawn to finish. The registry is
//! sharded (one shard per worker plus one for foreign threads), each shard a
//! slab behind its own lock, so a worker spawning and finishing tasks takes an
//! uncontended lock; a task that migrated is removed from its home shard.

use parking_lot::Mutex;

use crate::task_ref::TaskRef;

/// Where a task lives in the registry. Immutable once the task exists.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key {
    shard: u32,
    index: u32,
}

/// One shard: a slab of task handles with a free list. Every field is
/// touched only under the shard's lock (by spawners, finishing workers and
/// shutdown).
#[derive(Default)]
struct Shard {
    /// `Some` for a live task; indexed by `Key::index`.
    slots: Vec<Option<TaskRef>>,
    /// Indices of `None` slots, reused LIFO.
    free: Vec<u32>,
    /// `Some` slots.
    live: usize,
}

/// Every live task, sharded. Shared by all threads.
pub(crate) struct Registry {
    shards: Box<[Mutex<Shard>]>,
}

impl Registry {
    pub(crate) fn new(shards: usize) -> Registry {
        Registry {
            shards: (0..shards.max(1)).map(|_| Mutex::default()).collect(),
        }
    }

    /// Reserve a slot in `shard` (taken modulo the shard count), build the
    /// task with its key, and keep a handle. The builder runs under the
    /// shard's lock.
    pub(crate) fn insert(&self, shard: usize, make: impl FnOnce(Key) -> TaskRef) -> TaskRef {
        let shard = shard % self.shards.len();
        let mut s = self.shards[shard].lock();
        let index = match s.free.pop() {
            Some(i) => i,
            None => {
                s.slots.push(None);
                u32::try_from(s.slots.len() - 1).expect("more than 2^32 tasks in a shard")
            }
        };
        let key = Key {
            shard: shard as u32,
            index,
        };
        let task = make(key);
        s.slots[index as usize] = Some(task.clone());
        s.live += 1;
        task
    }

    /// Forget a finished task. Returns the registry's handle, to be dropped
    /// by the caller outside the lock.
    pub(crate) fn remove(&self, key: Key) -> Option<TaskRef> {
        let mut s = self.shards[key.shard as usize].lock();
        let t = s.slots[key.index as usize].take();
        if t.is_some() {
            s.free.push(key.index);
            s.live -= 1;
        }
        t
    }

    /// Take every live task (shutdown).
    pub(crate) fn drain(&self) -> Vec<TaskRef> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            let mut s = shard.lock();
            let taken = std::mem::take(&mut *s);
            out.extend(taken.slots.into_iter().flatten());
        }
        out
    }

    /// Live tasks (exact when quiescent).
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().live).sum()
    }
}
