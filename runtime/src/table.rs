//! The process table: where a [`Pid`] leads.
//!
//! A fixed-capacity array of slots (`max_processes` of them, Erlang's `+P`),
//! allocated lazily in chunks of [`CHUNK`] so an idle runtime with the default
//! limit of 1,048,576 costs a few kilobytes. Each slot holds the live process and
//! its current task under a reader-writer lock, and a generation counter:
//!
//! ```text
//!   Pid { index: 7, generation: 3 } ──▶ slots[7] = { generation: 3, entry: Process <0.7.3> }
//! ```
//!
//! - **Lookup** (every send, link, monitor): read-lock the slot, check that it
//!   is occupied and that its generation is the pid's, use it, unlock. The
//!   slot also keeps a clone of the occupant's mailbox sender, so a send never
//!   touches the target's process record. The read lock is held
//!   across the push into the mailbox, so an exiting process that clears its slot
//!   (write lock) knows that no push into it is in flight afterwards: whatever
//!   its exit code drains from the mailbox is everything that will ever arrive.
//! - **Exit**: write-lock, take the entry, bump the generation, unlock; only then
//!   does the index go back on the free list. A reused slot thus always carries a
//!   newer generation, and a stale pid never reaches the newer process.
//!
//! Rejected: an `Arc<Process>` per pid looked up in a concurrent map (a hash
//! and an Arc clone on every send), and lock-free slot pointers (the classic
//! load-then-increment race needs hazard pointers or epochs: far more machinery
//! than two uncontended atomic operations per send).

use std::sync::{Arc, OnceLock};

use bream_mailbox::Sender;
use bream_scheduler::TaskRef;

use crate::pid::Pid;
use crate::process::Process;
use crate::sync::{AtomicU32, AtomicUsize, Mutex, Ordering, RwLock};

/// Slots per chunk (a chunk is allocated on first use). Value picked out of thin
/// air: 1024 slots is ~40 KiB, small next to the stacks of 1024 processes.
const CHUNK: usize = 1024;

/// The live occupant of a slot.
#[derive(Default)]
pub(crate) struct Entry {
    /// The process, or `None` for a free slot.
    pub(crate) process: Option<Arc<Process>>,
    /// A clone of the process's `tx`, so that a send reaches the mailbox from
    /// the slot without touching the process record (one cache miss less per
    /// send to a process that is not in cache: a ring of 10,000 pays it on
    /// every hop).
    pub(crate) tx: Option<Sender>,
    /// The task currently running it: set by the task itself when it starts
    /// (exit.rs's `enter`), `None` before that and while it hibernates.
    pub(crate) task: Option<TaskRef>,
}

struct Slot {
    /// The generation the next (or current) occupant's pid carries. Bumped under
    /// the write lock when an occupant leaves; read under the free-list lock when
    /// the slot is handed out again (the free list's lock orders the two).
    generation: AtomicU32,
    /// The occupant. Read-locked by every lookup (any thread); write-locked to
    /// install, to record the task, and to remove.
    entry: RwLock<Entry>,
}

/// Indices that can be handed out.
struct FreeList {
    /// Freed indices, reused LIFO (a warm slot and its chunk stay in cache).
    free: Vec<u32>,
    /// The lowest index never handed out.
    next: u32,
}

/// The table. Shared by every thread of one runtime.
pub(crate) struct Table {
    /// `max / CHUNK` chunks, each allocated by the first `reserve` that needs
    /// it (`OnceLock`: any thread reads, one initializes).
    chunks: Box<[OnceLock<Box<[Slot]>>]>,
    /// Free indices; locked by `reserve` (spawn) and `release` (exit).
    free: Mutex<FreeList>,
    /// Slots handed out and not yet released (live and exiting processes).
    live: AtomicUsize,
    /// `max_processes`. Immutable.
    max: usize,
}

/// The table is full: `max_processes` processes are alive.
#[derive(Debug)]
pub(crate) struct Full;

impl Table {
    pub(crate) fn new(max: usize) -> Table {
        let max = max.clamp(1, u32::MAX as usize);
        let chunks = (0..max.div_ceil(CHUNK)).map(|_| OnceLock::new()).collect();
        Table {
            chunks,
            free: Mutex::new(FreeList {
                free: Vec::new(),
                next: 0,
            }),
            live: AtomicUsize::new(0),
            max,
        }
    }

    pub(crate) fn max(&self) -> usize {
        self.max
    }

    pub(crate) fn live(&self) -> usize {
        // Relaxed: a statistic.
        self.live.load(Ordering::Relaxed)
    }

    fn slot(&self, index: u32) -> Option<&Slot> {
        let i = index as usize;
        let chunk = self.chunks.get(i / CHUNK)?.get()?;
        chunk.get(i % CHUNK)
    }

    /// Hands out a free slot and the pid its next occupant will have.
    pub(crate) fn reserve(&self) -> Result<Pid, Full> {
        let mut fl = self.free.lock();
        let index = match fl.free.pop() {
            Some(i) => i,
            None if (fl.next as usize) < self.max => {
                fl.next += 1;
                fl.next - 1
            }
            None => return Err(Full),
        };
        let i = index as usize;
        let chunk = self.chunks[i / CHUNK].get_or_init(|| {
            (0..CHUNK)
                .map(|_| Slot {
                    generation: AtomicU32::new(0),
                    entry: RwLock::new(Entry::default()),
                })
                .collect()
        });
        // Relaxed: ordered after the last bump by the free-list lock (see Slot).
        let generation = chunk[i % CHUNK].generation.load(Ordering::Relaxed);
        drop(fl);
        // Relaxed: a statistic.
        self.live.fetch_add(1, Ordering::Relaxed);
        Ok(Pid::new(index, generation))
    }

    /// Puts a process into the slot reserved for its pid.
    pub(crate) fn install(&self, process: Arc<Process>) {
        let slot = self
            .slot(process.pid.index())
            .expect("installing into a reserved slot");
        let mut e = slot.entry.write();
        e.tx = Some(process.tx.clone());
        e.process = Some(process);
    }

    /// Records the task now running `pid` (or `None` while it hibernates).
    pub(crate) fn set_task(&self, pid: Pid, task: Option<TaskRef>) {
        if let Some(slot) = self.slot(pid.index()) {
            let mut e = slot.entry.write();
            // The slot's generation, not the record's pid (see `with_entry`):
            // equal while the process occupies the slot, and on the line we
            // hold, where the record is one more cache miss.
            // Relaxed: stable under the lock (written under the write lock).
            if e.process.is_some() && slot.generation.load(Ordering::Relaxed) == pid.generation() {
                e.task = task;
            }
        }
    }

    /// Runs `f` on the live occupant of `pid`'s slot (its process, mailbox
    /// sender and task), under the slot's read lock; `None` if `pid` is not in
    /// the table (never was, or has exited).
    ///
    /// The pid is checked against the slot's generation, not the process
    /// record's: while a process occupies a slot the two are equal (the
    /// generation only changes in `remove`/`unreserve`, under the write lock),
    /// and the slot's is on the cache line we already hold.
    #[inline]
    pub(crate) fn with_entry<R>(&self, pid: Pid, f: impl FnOnce(&Entry) -> R) -> Option<R> {
        // A remote pid (ADR dist-0001) never names a slot of this table.
        if !pid.is_local() {
            return None;
        }
        let slot = self.slot(pid.index())?;
        let e = slot.entry.read();
        // Relaxed: stable under the read lock (written under the write lock).
        if e.process.is_none() || slot.generation.load(Ordering::Relaxed) != pid.generation() {
            return None;
        }
        Some(f(&e))
    }

    /// Runs `f` on the live process `pid` and its task, under the slot's read
    /// lock; `None` if `pid` is not in the table (never was, or has exited).
    #[inline]
    pub(crate) fn with<R>(
        &self,
        pid: Pid,
        f: impl FnOnce(&Arc<Process>, Option<&TaskRef>) -> R,
    ) -> Option<R> {
        let slot = self.slot(pid.index())?;
        let e = slot.entry.read();
        match &e.process {
            Some(p) if p.pid == pid => Some(f(p, e.task.as_ref())),
            _ => None,
        }
    }

    /// Takes `pid` out of its slot (it can no longer be reached) and bumps the
    /// slot's generation. The index is not reusable until [`release`](Self::release).
    pub(crate) fn remove(&self, pid: Pid) -> Option<Arc<Process>> {
        let slot = self.slot(pid.index())?;
        let mut e = slot.entry.write();
        if e.process.as_ref().is_none_or(|p| p.pid != pid) {
            return None;
        }
        e.task = None;
        e.tx = None;
        let p = e.process.take();
        // Relaxed: published to the next `reserve` by the free-list lock.
        let g = slot.generation.load(Ordering::Relaxed);
        slot.generation.store(g.wrapping_add(1), Ordering::Relaxed);
        p
    }

    /// Makes a removed (or never installed) slot reusable.
    pub(crate) fn release(&self, pid: Pid) {
        self.free.lock().free.push(pid.index());
        // Relaxed: a statistic.
        self.live.fetch_sub(1, Ordering::Relaxed);
    }

    /// Gives back a reserved slot whose process never started.
    pub(crate) fn unreserve(&self, pid: Pid) {
        if self.remove(pid).is_none() {
            // Never installed: bump the generation all the same, so the pid we
            // handed out (and perhaps leaked into a link set) stays dead.
            if let Some(slot) = self.slot(pid.index()) {
                let _guard = slot.entry.write();
                let g = slot.generation.load(Ordering::Relaxed);
                slot.generation.store(g.wrapping_add(1), Ordering::Relaxed);
            }
        }
        self.release(pid);
    }

    /// Every process in the table, in index order.
    pub(crate) fn processes(&self) -> Vec<Arc<Process>> {
        let next = self.free.lock().next as usize;
        let mut out = Vec::new();
        for i in 0..next {
            if let Some(slot) = self.slot(i as u32) {
                if let Some(p) = &slot.entry.read().process {
                    out.push(Arc::clone(p));
                }
            }
        }
        out
    }

    /// Empties every slot (runtime shutdown: breaks the Process → runtime cycle
    /// of processes that have no task, e.g. hibernating ones).
    pub(crate) fn clear(&self) -> Vec<Arc<Process>> {
        let next = self.free.lock().next as usize;
        let mut out = Vec::new();
        for i in 0..next {
            if let Some(slot) = self.slot(i as u32) {
                let mut e = slot.entry.write();
                e.task = None;
                e.tx = None;
                out.extend(e.process.take());
            }
        }
        out
    }
}
