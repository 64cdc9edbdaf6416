//! Timers: one hierarchical timing wheel for the whole scheduler.
//!
//! # The problem
//!
//! Every `receive … after`, every `sleep`, every `send_after` is a timer, and
//! a million processes each waiting with a timeout must be ordinary. Most
//! timers never fire: the message arrives first and the timer is cancelled.
//! So insert and cancel must be O(1) and cheap, and firing must cost in
//! proportion to what fires, not to what waits.
//!
//! # The design: a hierarchical timing wheel
//!
//! Varghese & Lauck, "Hashed and Hierarchical Timing Wheels" (SOSP 1987),
//! scheme 7, in the shape of tokio's `runtime/time/wheel` (six levels of 64
//! slots): level 0 has one slot per millisecond for the next 64 ms, level 1 one
//! slot per 64 ms for the next 4 s, ... level 5 one slot per ~12 days, covering
//! 2^36 ms (~2 years; later deadlines are clamped there and re-checked).
//!
//! ```text
//!  level 5 [..|..|..]   one slot = 64^5 ms     an entry lives in the level where
//!  level 4 [..|..|..]   one slot = 64^4 ms     its deadline first differs from
//!    ...                                       `elapsed`; when its slot comes up
//!  level 1 [..|xx|..]   one slot = 64 ms  ──┐  it cascades down a level (or fires
//!  level 0 [..|..|xx]   one slot = 1 ms   ◄─┘  if its deadline has come)
//! ```
//!
//! - **Insert**: pick the level from the highest bit where the deadline and
//!   `elapsed` differ, the slot from the deadline's bits at that level; push on
//!   the slot's intrusive doubly-linked list. O(1).
//! - **Cancel**: unlink by index. O(1). The key carries a generation so a stale
//!   key (the timer fired, its entry was reused) is refused.
//! - **Next deadline**: per level a 64-bit occupancy mask; a rotate and a
//!   trailing-zeros count find the next occupied slot. O(levels).
//! - **Poll**: take the next due slot's list; fire what is due, re-insert
//!   (cascade) the rest one level down. Each entry cascades at most 5 times.
//!
//! No per-timer allocation: entries live in one `Vec` (a slab with a free
//! list), ~48 bytes each; a timer that wakes a task holds just its
//! [`TaskRef`]. Only `timer_after` callbacks are boxed (they are closures).
//!
//! # One wheel, not one per worker
//!
//! A per-worker wheel avoids a lock, but (1) a task that parks with a timeout
//! and then migrates, or a process that cancels another's `send_after`, must
//! reach a foreign wheel anyway, and (2) the idle protocol leaves exactly one
//! worker blocked in the I/O driver with *the* next deadline as its timeout;
//! with per-worker wheels, sleeping workers' timers would need that worker to
//! scan every wheel. So bream keeps one wheel behind a mutex held for O(1)
//! work, and publishes its next deadline in an atomic so the workers' checks
//! (`fire_due`, every few scheduling rounds and before parking) take no lock
//! while nothing is due. Measured cost: see docs/scheduler.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::sync::atomic::{AtomicU64, Ordering};
use crate::task_ref::TaskRef;

/// Slots per level (a power of two: slot arithmetic is masking).
const SLOTS: usize = 64;
/// Bits of a deadline consumed per level.
const SLOT_BITS: u32 = 6;
/// Levels: 64^6 ms ≈ 2.2 years of range, as tokio's wheel.
const LEVELS: usize = 6;
/// The furthest deadline the wheel represents, in ms after `elapsed`.
const MAX_SPAN: u64 = (1 << (SLOT_BITS as u64 * LEVELS as u64)) - 1;
/// "No index" in the intrusive lists.
const NIL: u32 = u32::MAX;
/// `Entry::slot` of a free entry.
const FREE: u16 = u16::MAX;

/// What a timer does when it fires.
pub(crate) enum Action {
    /// Unpark this task (park_timeout, sleep).
    Wake(TaskRef),
    /// Run this callback on a worker, outside any task (timer_after).
    Call(Box<dyn FnOnce() + Send>),
}

/// Names one inserted timer: slab index and generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    index: u32,
    gen: u32,
}

impl Key {
    /// A key that names no timer (one that was due at once and already ran).
    pub(crate) const FIRED: Key = Key {
        index: u32::MAX,
        gen: 0,
    };
}

/// One timer (or a free slab entry).
struct Entry<T> {
    /// Deadline, in ms since the wheel's start.
    when: u64,
    /// Neighbours in the slot's list (or the next free entry).
    next: u32,
    prev: u32,
    /// Bumped each time the entry is freed: stale keys do not match.
    gen: u32,
    /// `level * SLOTS + slot`, or `FREE`.
    slot: u16,
    action: Option<T>,
}

/// One level: a head per slot and an occupancy mask.
struct Level {
    occupied: u64,
    heads: [u32; SLOTS],
}

/// The wheel itself, a plain data structure (the lock lives in [`Timers`]).
/// Generic over the action so its tests need no tasks.
pub(crate) struct Wheel<T> {
    /// Time (ms since start) up to which every due timer has fired.
    elapsed: u64,
    levels: [Level; LEVELS],
    entries: Vec<Entry<T>>,
    /// Head of the free list (chained through `Entry::next`).
    free: u32,
    /// Timers pending.
    len: usize,
}

impl<T> Wheel<T> {
    pub(crate) fn new() -> Wheel<T> {
        Wheel {
            elapsed: 0,
            levels: std::array::from_fn(|_| Level {
                occupied: 0,
                heads: [NIL; SLOTS],
            }),
            entries: Vec::new(),
            free: NIL,
            len: 0,
        }
    }

    /// Timers pending.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Add a timer due at `when` (ms). `Err(action)` if it is already due.
    pub(crate) fn insert(&mut self, when: u64, action: T) -> Result<Key, T> {
        if when <= self.elapsed {
            return Err(action);
        }
        let index = self.alloc(when, action);
        self.link(index);
        let gen = self.entries[index as usize].gen;
        Ok(Key { index, gen })
    }

    /// Remove a pending timer; its action if it had neither fired nor been
    /// cancelled.
    pub(crate) fn cancel(&mut self, key: Key) -> Option<T> {
        let e = self.entries.get(key.index as usize)?;
        if e.gen != key.gen || e.slot == FREE {
            return None;
        }
        self.unlink(key.index);
        Some(self.release(key.index))
    }

    /// The deadline (ms) of the next slot to process, if any timer is pending.
    /// It may be earlier than any timer's own deadline (a slot of a higher
    /// level is processed at its start, to cascade its entries).
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        (0..LEVELS).find_map(|l| self.next_expiration(l).map(|(_, d)| d))
    }

    /// Fire everything due at `now` (ms): push the actions on `out`.
    pub(crate) fn poll(&mut self, now: u64, out: &mut Vec<T>) {
        while let Some((level, slot, deadline)) =
            (0..LEVELS).find_map(|l| self.next_expiration(l).map(|(s, d)| (l, s, d)))
        {
            if deadline > now {
                break;
            }
            self.elapsed = deadline;
            let mut i = self.take_slot(level, slot);
            while i != NIL {
                let next = self.entries[i as usize].next;
                if self.entries[i as usize].when <= self.elapsed {
                    out.push(self.release(i));
                } else {
                    self.link(i);
                }
                i = next;
            }
        }
        self.elapsed = self.elapsed.max(now);
    }

    /// Every pending action, leaving the wheel empty (shutdown).
    pub(crate) fn drain(&mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len);
        for i in 0..self.entries.len() as u32 {
            if self.entries[i as usize].slot != FREE {
                self.unlink(i);
                out.push(self.release(i));
            }
        }
        out
    }

    /// Next occupied slot of `level` at or after `elapsed`, with its deadline
    /// (tokio's `Level::next_expiration`).
    fn next_expiration(&self, level: usize) -> Option<(usize, u64)> {
        let lv = &self.levels[level];
        if lv.occupied == 0 {
            return None;
        }
        let slot_range = 1u64 << (SLOT_BITS * level as u32);
        let level_range = slot_range << SLOT_BITS;
        let now_slot = ((self.elapsed / slot_range) % SLOTS as u64) as u32;
        let zeros = lv.occupied.rotate_right(now_slot).trailing_zeros();
        let slot = ((zeros + now_slot) as usize) % SLOTS;
        let level_start = self.elapsed & !(level_range - 1);
        let mut deadline = level_start + slot as u64 * slot_range;
        if deadline <= self.elapsed && level > 0 {
            // Only the top level wraps: a clamped far deadline.
            deadline += level_range;
        }
        Some((slot, deadline))
    }

    /// The level and slot for `when`, relative to `elapsed`.
    fn slot_for(&self, when: u64) -> u16 {
        let when = when.min(self.elapsed + MAX_SPAN);
        let mut masked = (self.elapsed ^ when) | (SLOTS as u64 - 1);
        if masked >= MAX_SPAN {
            masked = MAX_SPAN - 1;
        }
        let significant = 63 - masked.leading_zeros();
        let level = (significant / SLOT_BITS) as usize;
        let slot = ((when >> (SLOT_BITS * level as u32)) as usize) % SLOTS;
        (level * SLOTS + slot) as u16
    }

    fn link(&mut self, i: u32) {
        let s = self.slot_for(self.entries[i as usize].when);
        let (level, slot) = (s as usize / SLOTS, s as usize % SLOTS);
        let head = self.levels[level].heads[slot];
        {
            let e = &mut self.entries[i as usize];
            e.slot = s;
            e.prev = NIL;
            e.next = head;
        }
        if head != NIL {
            self.entries[head as usize].prev = i;
        }
        self.levels[level].heads[slot] = i;
        self.levels[level].occupied |= 1 << slot;
    }

    fn unlink(&mut self, i: u32) {
        let (s, prev, next) = {
            let e = &self.entries[i as usize];
            (e.slot as usize, e.prev, e.next)
        };
        let (level, slot) = (s / SLOTS, s % SLOTS);
        if prev != NIL {
            self.entries[prev as usize].next = next;
        } else {
            self.levels[level].heads[slot] = next;
        }
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
        if self.levels[level].heads[slot] == NIL {
            self.levels[level].occupied &= !(1 << slot);
        }
    }

    /// Detach a whole slot's list; returns its head.
    fn take_slot(&mut self, level: usize, slot: usize) -> u32 {
        let head = std::mem::replace(&mut self.levels[level].heads[slot], NIL);
        self.levels[level].occupied &= !(1 << slot);
        head
    }

    fn alloc(&mut self, when: u64, action: T) -> u32 {
        self.len += 1;
        if self.free != NIL {
            let i = self.free;
            let e = &mut self.entries[i as usize];
            self.free = e.next;
            e.when = when;
            e.action = Some(action);
            return i;
        }
        let i = u32::try_from(self.entries.len()).expect("more than 2^32 timers");
        self.entries.push(Entry {
            when,
            next: NIL,
            prev: NIL,
            gen: 0,
            slot: FREE,
            action: Some(action),
        });
        i
    }

    /// Free an (unlinked) entry; returns its action.
    fn release(&mut self, i: u32) -> T {
        self.len -= 1;
        let e = &mut self.entries[i as usize];
        e.slot = FREE;
        e.gen = e.gen.wrapping_add(1);
        e.next = self.free;
        self.free = i;
        e.action.take().expect("a linked timer has an action")
    }
}

/// The scheduler's timers: the wheel behind a lock, plus its next deadline
/// published for lock-free checks.
pub(crate) struct Timers {
    /// Time zero of the wheel. Immutable.
    start: Instant,
    /// The wheel. Locked by inserters, cancellers and the worker firing
    /// timers; every critical section is O(1) except `poll`, which is
    /// O(fired + cascaded).
    wheel: parking_lot::Mutex<Wheel<Action>>,
    /// The wheel's `next_deadline()` (ms), `u64::MAX` when empty. Written only
    /// under `wheel`'s lock; read without it by workers deciding whether to
    /// lock. Relaxed is enough: a stale value only delays the check to the
    /// next round, and the parking worker re-reads it after the SeqCst idle
    /// protocol (see `Timers::insert` for how an earlier timer wakes it).
    next: AtomicU64,
}

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers {
            start: Instant::now(),
            wheel: parking_lot::Mutex::new(Wheel::new()),
            next: AtomicU64::new(u64::MAX),
        }
    }

    /// The wheel tick (ms) at which a timer of `d` from now is due: rounded
    /// up, so no timer fires early.
    pub(crate) fn deadline_after(&self, d: Duration) -> u64 {
        let Some(at) = self.start.elapsed().checked_add(d) else {
            return u64::MAX; // "never": clamped to the wheel's range
        };
        u64::try_from(at.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX)
    }

    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Add a timer. `Err(action)` if it is already due (the caller runs it).
    /// The bool is true if the next deadline moved earlier: the caller must
    /// wake the worker blocked in the I/O driver, whose timeout is now too
    /// long.
    pub(crate) fn insert(&self, when: u64, action: Action) -> Result<(Key, bool), Action> {
        let mut wheel = self.wheel.lock();
        // Bring `elapsed` up to date first, or a short timer inserted after a
        // long quiet spell would land in a slot `poll` already passed.
        if wheel.len() == 0 {
            let now = self.now_ms();
            let mut none = Vec::new();
            wheel.poll(now, &mut none);
        }
        let key = wheel.insert(when, action)?;
        let next = wheel.next_deadline().unwrap_or(u64::MAX);
        let earlier = next < self.next.load(Ordering::Relaxed);
        if earlier {
            self.next.store(next, Ordering::Relaxed);
        }
        Ok((key, earlier))
    }

    /// Cancel a timer: true if it had not fired. O(1).
    pub(crate) fn cancel(&self, key: Key) -> bool {
        let action = self.wheel.lock().cancel(key);
        // The action (a TaskRef or a closure) is dropped outside the lock.
        action.is_some()
    }

    /// Milliseconds until the next deadline (for the I/O driver's timeout);
    /// `None` if no timer is pending.
    pub(crate) fn timeout(&self) -> Option<Duration> {
        let next = self.next.load(Ordering::Relaxed);
        if next == u64::MAX {
            return None;
        }
        Some(Duration::from_millis(next.saturating_sub(self.now_ms())))
    }

    /// Take every due action (no lock when nothing is due). The caller runs
    /// them outside any lock.
    pub(crate) fn take_due(&self, out: &mut Vec<Action>) {
        if self.next.load(Ordering::Relaxed) > self.now_ms() {
            return;
        }
        let mut wheel = self.wheel.lock();
        wheel.poll(self.now_ms(), out);
        let next = wheel.next_deadline().unwrap_or(u64::MAX);
        self.next.store(next, Ordering::Relaxed);
    }

    /// Every pending action (shutdown).
    pub(crate) fn drain(&self) -> Vec<Action> {
        let mut wheel = self.wheel.lock();
        self.next.store(u64::MAX, Ordering::Relaxed);
        wheel.drain()
    }

    /// Timers pending (tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.wheel.lock().len()
    }
}

/// A timer made by [`Scheduler::timer_after`](crate::Scheduler::timer_after).
///
/// Dropping it does not cancel the timer.
pub struct TimerRef {
    pub(crate) shared: Arc<crate::scheduler::Shared>,
    pub(crate) key: Key,
}

impl TimerRef {
    /// Cancel the timer. O(1). True if it had not fired (its callback will
    /// never run and is dropped here); false if it already fired or was
    /// cancelled before.
    pub fn cancel(&self) -> bool {
        self.shared.timers.cancel(self.key)
    }
}

impl std::fmt::Debug for TimerRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimerRef").field("key", &self.key).finish()
    }
}

#[cfg(all(test, not(bream_loom)))]
mod tests {
    use super::*;

    fn fire(w: &mut Wheel<u32>, now: u64) -> Vec<u32> {
        let mut out = Vec::new();
        w.poll(now, &mut out);
        out.sort_unstable();
        out
    }

    #[test]
    fn fires_at_deadline_not_before() {
        let mut w = Wheel::new();
        for (i, when) in [1u64, 63, 64, 65, 4095, 4096, 300_000].iter().enumerate() {
            w.insert(*when, i as u32).unwrap();
        }
        assert_eq!(fire(&mut w, 0), Vec::<u32>::new());
        assert_eq!(fire(&mut w, 1), vec![0]);
        assert_eq!(fire(&mut w, 63), vec![1]);
        assert_eq!(fire(&mut w, 64), vec![2]);
        assert_eq!(fire(&mut w, 4094), vec![3]);
        assert_eq!(fire(&mut w, 4096), vec![4, 5]);
        assert_eq!(fire(&mut w, 299_999), Vec::<u32>::new());
        assert_eq!(fire(&mut w, 300_000), vec![6]);
        assert_eq!(w.len(), 0);
    }

    #[test]
    fn cancel_is_exact_and_stale_keys_fail() {
        let mut w = Wheel::new();
        let a = w.insert(10, 1).unwrap();
        let b = w.insert(10, 2).unwrap();
        assert_eq!(w.cancel(a), Some(1));
        assert_eq!(w.cancel(a), None);
        let c = w.insert(20, 3).unwrap(); // reuses a's entry
        assert_eq!(w.cancel(a), None, "stale key must not cancel the reuser");
        assert_eq!(fire(&mut w, 100), vec![2, 3]);
        assert_eq!(w.cancel(b), None);
        assert_eq!(w.cancel(c), None);
    }

    #[test]
    fn next_deadline_never_after_first_timer() {
        let mut w = Wheel::new();
        let mut rng = fastrand::Rng::with_seed(7);
        let mut whens: Vec<u64> = (0..2000).map(|_| rng.u64(1..10_000_000)).collect();
        for (i, &t) in whens.iter().enumerate() {
            w.insert(t, i as u32).unwrap();
        }
        whens.sort_unstable();
        let mut fired = 0;
        while let Some(d) = w.next_deadline() {
            assert!(d <= whens[fired], "next deadline {d} after a pending timer");
            fired += fire(&mut w, d).len();
        }
        assert_eq!(fired, whens.len());
    }

    #[test]
    fn due_insert_is_refused() {
        let mut w: Wheel<u32> = Wheel::new();
        fire(&mut w, 50);
        assert_eq!(w.insert(50, 9), Err(9));
        assert!(w.insert(51, 9).is_ok());
    }
}
