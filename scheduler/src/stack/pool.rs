//! The pool itself: slabs carved into slots, free lists, the `Stack` handle.
//! The protocol is in the module essay (`stack/mod.rs`) and docs/stacks.md.

use std::io;
use std::sync::Arc;

use parking_lot::Mutex;

use super::os::{
    advise_ranges, count_vmas, map_anonymous, max_map_count, page_size, probe_guard_mode,
    resident_pages, MADV_GUARD_INSTALL,
};
use super::{GuardMode, StackError, StackStats};

/// Default usable bytes of a task stack: see docs/stacks.md, "Choosing the default
/// size" (measured: a caught panic needs 4 KiB, a panic that prints a captured
/// backtrace 21 KiB; 64 KiB holds that three times over and costs nothing until
/// touched).
pub(crate) const DEFAULT_STACK_SIZE: usize = 64 * 1024;

/// Freed stacks kept with their pages (no syscall to reuse them). A parked task
/// touches one page of its stack, so this is ~16 MiB in the usual case (the worst
/// case, every warm stack fully touched at 64 KiB, is 256 MiB). Raised from 1,024
/// for skynet (1M leaves, 16 KiB stacks): the exits and spawns of a tree churn
/// through more than 1,024 stacks at a time, and each stack released and taken
/// again costs a release (~0.35 µs) and a page fault (~2.2 µs) for nothing; at
/// 4,096 the stacks taken cold fell from 40–100k a run to 7–37k (docs/stacks.md).
pub(crate) const WARM_CAP: usize = 4096;

/// Fresh slots carved (guards installed) at a time, in madvise mode: one
/// syscall per batch instead of one per stack. Measured on
/// this VM: guard install 1.0 µs per stack alone, 0.5–0.9 µs batched.
pub(crate) const CARVE_BATCH: usize = 32;

/// Free stacks past [`WARM_CAP`] are released this many at a time, in one
/// `process_madvise(MADV_DONTNEED)` (one TLB flush): measured 0.65–0.93 µs a
/// stack, against 1.9–2.8 µs for one `madvise` per stack; 0.35 µs a stack where
/// neighbouring slots merge into one range (`Shared::release`). The batch is
/// `IOV_MAX` (1,024 ranges, one call): the bigger the batch, the more of its
/// slots are neighbours once sorted (skynet: 5–50 slots a range at 1,024).
pub(crate) const RELEASE_BATCH: usize = 1024;

/// Pages of the *yellow zone* above each stack's red guard page: guarded too,
/// and lifted only to let foreign code (C: `malloc`, which may hold a lock)
/// that overflows into it finish and return before the task is trapped
/// (trap.rs, docs/adr/scheduler-0001-stack-overflow.md). 16 KiB: glibc's
/// `malloc` needs under 2 KiB, `printf` a few KiB. Address space only: never
/// touched unless a stack overflows in foreign code.
pub(crate) const YELLOW_PAGES: usize = 4;

/// Largest slab in bytes of address space: 4 GiB (65,536 default slots of
/// 68 KiB are 4.25 GiB; big stacks get fewer slots a slab, at least one).
const MAX_SLAB_BYTES: usize = 1 << 32;
/// First slab size in slots; each new slab doubles, up to [`MAX_SLAB_SLOTS`].
const FIRST_SLAB_SLOTS: usize = 64;
/// Largest slab, in slots: 65,536 slots of 68 KiB is 4.25 GiB of address space,
/// reserved nothing (`MAP_NORESERVE`).
const MAX_SLAB_SLOTS: usize = 65_536;

/// VMAs left to the rest of the process (allocator arenas, thread stacks, shared
/// libraries) in mprotect mode: 1/16 of the limit, at least 256.
fn map_headroom(max_map_count: usize) -> usize {
    (max_map_count / 16).max(256)
}

/// One `mmap` of `slots` slots. Owned by `Inner`; unmapped when `Shared` drops.
#[derive(Debug)]
struct Slab {
    /// Lowest address of the mapping.
    addr: usize,
    /// Slots in the mapping.
    slots: usize,
}

/// The lock-guarded state of a pool. Touched by any thread under `Shared::inner`.
#[derive(Debug)]
struct Inner {
    /// Every slab, oldest first.
    slabs: Vec<Slab>,
    /// Runs of mapped slots not carved yet: `(first slot address, slots)`.
    /// Usually one (the newest slab's tail); two when a reservation mapped a
    /// slab before the previous one was used up. `carve` takes from the first.
    fresh: Vec<(usize, usize)>,
    /// Slots in `fresh`, all runs together.
    fresh_slots: usize,
    /// Unbound stacks handed out by `reserve` (each will take a slot when it
    /// is bound, or none if dropped first). `reserve` keeps
    /// `free + fresh_slots >= reserved`, so binding does not map (unless `get`
    /// took the room meanwhile: then `carve` maps, as it would for `get`).
    reserved: usize,
    /// Free stacks with their pages (slot addresses), LIFO.
    warm: Vec<usize>,
    /// Free stacks past WARM_CAP waiting for a batch release (slot addresses).
    /// Still hold their pages; `get` takes them before cold ones.
    pending: Vec<usize>,
    /// Free stacks released with MADV_DONTNEED (slot addresses), LIFO.
    cold: Vec<usize>,
    /// Slots carved over all slabs.
    carved: usize,
    /// Stacks handed out and not returned.
    in_use: usize,
    /// VMAs added by mprotect guards (mprotect mode only).
    vmas_added: usize,
    /// VMAs of the process outside this pool's guards, as last counted.
    vmas_baseline: usize,
}

/// The state shared by a pool and all its stacks. Immutable fields are set at
/// creation; `inner` is the only mutable state.
#[derive(Debug)]
struct Shared {
    /// Usable bytes of a stack (page-rounded).
    stack_size: usize,
    /// Bytes of a slot: guard zone + stack.
    slot_size: usize,
    /// Bytes of a slot's guard zone: the red page and the yellow zone.
    guard_len: usize,
    /// Guard mode, probed at creation.
    guard: GuardMode,
    /// vm.max_map_count read at creation (mprotect mode only matters).
    max_map_count: usize,
    /// Free lists and slabs.
    inner: Mutex<Inner>,
}

/// A pool of guarded task stacks. Cloning shares the pool.
#[derive(Clone, Debug)]
pub(crate) struct StackPool {
    shared: Arc<Shared>,
}

/// `Stack::slot` of a stack that has no slot yet (from `StackPool::reserve`).
/// No slab is mapped at address 0.
const UNBOUND: usize = 0;

/// One task stack: `[guard page][usable bytes]`, growing down from `base`.
///
/// Owns its slot exclusively until dropped, which returns it to its pool. A
/// stack from [`StackPool::reserve`] has no slot until [`Stack::bind`].
#[derive(Debug)]
pub(crate) struct Stack {
    /// Lowest address of the slot (the guard page starts here), or [`UNBOUND`].
    slot: usize,
    /// The pool the slot belongs to; keeps the slab mapped.
    shared: Arc<Shared>,
}

impl StackPool {
    /// A pool of stacks of `stack_size` usable bytes (rounded up to whole pages, at
    /// least 2 pages). Probes the guard mode once per process; maps nothing yet.
    pub(crate) fn new(stack_size: usize) -> io::Result<StackPool> {
        Self::with_options(stack_size, probe_guard_mode(), max_map_count())
    }

    /// As [`StackPool::new`] with the guard mode and `vm.max_map_count` given
    /// (tests force the mprotect fallback and a small limit this way).
    pub(crate) fn with_options(
        stack_size: usize,
        guard: GuardMode,
        max_map_count: usize,
    ) -> io::Result<StackPool> {
        let page = page_size();
        let stack_size = stack_size
            .max(2 * page)
            .checked_next_multiple_of(page)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "stack size too large"))?;
        let vmas_baseline = match guard {
            GuardMode::Mprotect => count_vmas()?,
            GuardMode::Madvise => 0,
        };
        let inner = Inner {
            slabs: Vec::new(),
            fresh: Vec::new(),
            fresh_slots: 0,
            reserved: 0,
            warm: Vec::new(),
            pending: Vec::new(),
            cold: Vec::new(),
            carved: 0,
            in_use: 0,
            vmas_added: 0,
            vmas_baseline,
        };
        Ok(StackPool {
            shared: Arc::new(Shared {
                stack_size,
                slot_size: stack_size + (1 + YELLOW_PAGES) * page,
                guard_len: (1 + YELLOW_PAGES) * page,
                guard,
                max_map_count,
                inner: Mutex::new(inner),
            }),
        })
    }

    /// A stack: a warm free one if any (no syscall), else a cold one, else a newly
    /// carved slot (one `madvise`/`mprotect`; one `mmap` when a slab is full).
    pub(crate) fn get(&self) -> Result<Stack, StackError> {
        let mut inner = self.shared.inner.lock();
        let slot = self.shared.take_slot(&mut inner)?;
        drop(inner);
        Ok(Stack {
            slot,
            shared: Arc::clone(&self.shared),
        })
    }

    /// A stack that takes its slot only when [`Stack::bind`] is called (the
    /// context binds it at its first resume): a task spawned but not yet run
    /// holds no stack memory, and the first write to the stack comes just
    /// before the task runs on it, not long before. Any `mmap` a slot needs
    /// is made here, so the error comes at spawn as with [`StackPool::get`];
    /// binding can then fail only if the kernel refuses a guard page. In
    /// mprotect mode (every carve is a VMA to count) this is `get`.
    pub(crate) fn reserve(&self) -> Result<Stack, StackError> {
        if self.shared.guard == GuardMode::Mprotect {
            return self.get();
        }
        let mut inner = self.shared.inner.lock();
        inner.reserved += 1;
        let free = inner.warm.len() + inner.pending.len() + inner.cold.len();
        if free + inner.fresh_slots < inner.reserved {
            if let Err(e) = self.shared.map_slab(&mut inner) {
                inner.reserved -= 1;
                return Err(e);
            }
        }
        drop(inner);
        Ok(Stack {
            slot: UNBOUND,
            shared: Arc::clone(&self.shared),
        })
    }

    /// Returns a stack to its pool (the same as dropping it).
    #[cfg_attr(not(test), allow(dead_code))] // tests and diagnostics
    pub(crate) fn put(&self, s: Stack) {
        debug_assert!(
            Arc::ptr_eq(&s.shared, &self.shared),
            "stack from another pool"
        );
        drop(s);
    }

    /// Usable bytes of each stack.
    pub(crate) fn stack_size(&self) -> usize {
        self.shared.stack_size
    }

    /// The address ranges of the pool's slabs, `[start, end)`.
    #[cfg_attr(not(test), allow(dead_code))] // tests and diagnostics
    pub(crate) fn slab_ranges(&self) -> Vec<(usize, usize)> {
        let inner = self.shared.inner.lock();
        let slot = self.shared.slot_size;
        inner
            .slabs
            .iter()
            .map(|s| (s.addr, s.addr + s.slots * slot))
            .collect()
    }

    /// A snapshot of the pool's counters.
    #[cfg_attr(not(test), allow(dead_code))] // tests and diagnostics
    pub(crate) fn stats(&self) -> StackStats {
        let inner = self.shared.inner.lock();
        StackStats {
            slabs: inner.slabs.len(),
            carved: inner.carved,
            in_use: inner.in_use,
            reserved: inner.reserved,
            warm: inner.warm.len() + inner.pending.len(),
            cold: inner.cold.len(),
            vmas_added: inner.vmas_added,
            guard: self.shared.guard,
            stack_size: self.shared.stack_size,
        }
    }
}

impl Shared {
    /// Carves up to [`CARVE_BATCH`] fresh slots from the last slab (mapping a new
    /// slab first if it is full) and installs their guard pages, in one
    /// `process_madvise` where the kernel allows. Returns
    /// one slot; the others go on the warm list. Cold path.
    fn carve(&self, inner: &mut Inner) -> Result<usize, StackError> {
        if inner.fresh.is_empty() {
            self.map_slab(inner)?;
        }
        let (first, left) = inner.fresh[0];
        let n = match self.guard {
            GuardMode::Madvise => left.min(CARVE_BATCH),
            GuardMode::Mprotect => {
                self.check_map_count(inner)?;
                1
            }
        };
        let slots: Vec<usize> = (0..n).map(|i| first + i * self.slot_size).collect();
        self.install_guards(&slots)?;
        if self.guard == GuardMode::Mprotect {
            inner.vmas_added += 2;
        }
        if n == left {
            inner.fresh.remove(0);
        } else {
            inner.fresh[0] = (first + n * self.slot_size, left - n);
        }
        inner.fresh_slots -= n;
        inner.carved += n;
        inner.warm.extend(slots[1..].iter().rev());
        Ok(slots[0])
    }

    /// A free slot for a stack being handed out or bound: warm, else pending,
    /// else cold, else newly carved. Counts it in use.
    fn take_slot(&self, inner: &mut Inner) -> Result<usize, StackError> {
        let popped = inner.warm.pop();
        let popped = popped.or_else(|| inner.pending.pop());
        let popped = popped.or_else(|| inner.cold.pop());
        let slot = match popped {
            Some(slot) => slot,
            None => self.carve(inner)?,
        };
        inner.in_use += 1;
        Ok(slot)
    }

    /// Maps the next slab: twice the previous one, capped at
    /// [`MAX_SLAB_SLOTS`] slots and [`MAX_SLAB_BYTES`]. If the kernel refuses
    /// (`ulimit -v`, overcommit), halves the slab until one slot, so the
    /// whole address-space budget is usable before `NoMemory` (it used to
    /// fail at the first refused doubling: ~60% of the budget). The next slab
    /// doubles from the size that worked.
    fn map_slab(&self, inner: &mut Inner) -> Result<(), StackError> {
        let max_slots = (MAX_SLAB_BYTES / self.slot_size).clamp(1, MAX_SLAB_SLOTS);
        let mut slots = inner
            .slabs
            .last()
            .map_or(FIRST_SLAB_SLOTS, |s| s.slots * 2)
            .min(max_slots);
        if self.guard == GuardMode::Mprotect {
            // The slab itself is one more VMA.
            self.check_map_count(inner)?;
        }
        let (addr, len) = loop {
            let len = slots * self.slot_size;
            match map_anonymous(len) {
                Ok(addr) => break (addr, len),
                Err(e) if slots > 1 && e.raw_os_error() == Some(libc::ENOMEM) => slots /= 2,
                Err(source) => {
                    return Err(StackError::NoMemory {
                        stack_size: self.stack_size,
                        source,
                    })
                }
            }
        };
        // SAFETY: `addr..addr+len` is the mapping made just above, owned by this
        // pool; MADV_NOHUGEPAGE changes no contents. Failure is harmless (THP off
        // or unsupported), so the result is ignored.
        unsafe { libc::madvise(addr.cast(), len, libc::MADV_NOHUGEPAGE) };
        inner.slabs.push(Slab {
            addr: addr as usize,
            slots,
        });
        inner.fresh.push((addr as usize, slots));
        inner.fresh_slots += slots;
        if self.guard == GuardMode::Mprotect {
            inner.vmas_added += 1;
        }
        Ok(())
    }

    /// Installs the guard page at the bottom of each of `slots`.
    fn install_guards(&self, slots: &[usize]) -> Result<(), StackError> {
        let result = match self.guard {
            GuardMode::Madvise => {
                let guards: Vec<(usize, usize)> =
                    slots.iter().map(|&s| (s, self.guard_len)).collect();
                // SAFETY: the first page of fresh slots of this pool's slabs, never
                // handed out: no Rust object lives there.
                unsafe { advise_ranges(&guards, MADV_GUARD_INSTALL) }
            }
            GuardMode::Mprotect => slots.iter().try_for_each(|&slot| {
                // SAFETY: as above; PROT_NONE on a page nothing refers to.
                let rc = unsafe { libc::mprotect(slot as *mut _, self.guard_len, libc::PROT_NONE) };
                if rc == 0 {
                    Ok(())
                } else {
                    Err(io::Error::last_os_error())
                }
            }),
        };
        result.map_err(|source| {
            if source.raw_os_error() == Some(libc::ENOMEM) && self.guard == GuardMode::Mprotect {
                // mprotect's ENOMEM here means the VMA limit was hit after all
                // (another part of the process mapped a lot since the last count).
                return StackError::MapCountLimit {
                    max_map_count: self.max_map_count,
                    in_use: count_vmas().unwrap_or(0),
                };
            }
            StackError::NoMemory {
                stack_size: self.stack_size,
                source,
            }
        })
    }

    /// mprotect mode: refuses if 2 more VMAs would bring the process within the
    /// headroom of `vm.max_map_count`. Recounts /proc/self/maps only when the
    /// running estimate says the limit is near, so the check is O(1) until then.
    fn check_map_count(&self, inner: &mut Inner) -> Result<(), StackError> {
        let ceiling = self
            .max_map_count
            .saturating_sub(map_headroom(self.max_map_count));
        let fits = |inner: &Inner| inner.vmas_baseline + inner.vmas_added + 2 <= ceiling;
        if fits(inner) {
            return Ok(());
        }
        let now = count_vmas().unwrap_or(usize::MAX / 2);
        inner.vmas_baseline = now.saturating_sub(inner.vmas_added);
        if fits(inner) {
            Ok(())
        } else {
            Err(StackError::MapCountLimit {
                max_map_count: self.max_map_count,
                in_use: now,
            })
        }
    }

    /// Takes back a stack's slot: warm if there is room, else pending release;
    /// a full batch of pending slots is released (outside the lock) and goes cold.
    fn give_back(&self, slot: usize) {
        let mut inner = self.inner.lock();
        inner.in_use -= 1;
        if inner.warm.len() < WARM_CAP {
            inner.warm.push(slot);
            return;
        }
        inner.pending.push(slot);
        if inner.pending.len() < RELEASE_BATCH {
            return;
        }
        let mut batch = std::mem::take(&mut inner.pending);
        drop(inner);
        self.release(&mut batch);
        self.inner.lock().cold.extend(batch);
    }

    /// Gives the usable pages of `slots` back to the kernel, in one batched
    /// `MADV_DONTNEED`. In madvise mode the slots are sorted and each run of
    /// neighbouring slots is released as one range, guard pages included (a
    /// guard marker survives `MADV_DONTNEED`): the kernel's cost is mostly per
    /// range, so a run of slots costs about half as much a slot as separate
    /// ranges (docs/stacks.md, "Releasing"). In mprotect mode each slot's usable
    /// pages are a range of their own (a guard there is a VMA of its own).
    fn release(&self, slots: &mut [usize]) {
        let ranges = match self.guard {
            GuardMode::Mprotect => slots
                .iter()
                .map(|&s| (s + self.guard_len, self.stack_size))
                .collect(),
            GuardMode::Madvise => merged_ranges(slots, self.guard_len, self.slot_size),
        };
        // SAFETY: every slot came back from a dropped `Stack` and sits in no free
        // list while this thread holds `slots`: no object lives on it and nobody
        // else uses it. MADV_DONTNEED zero-fills the pages on their next touch;
        // the guard pages inside a merged range hold no data, and their markers
        // (madvise mode) survive it. Failure only means the memory stays resident.
        let _ = unsafe { advise_ranges(&ranges, libc::MADV_DONTNEED) };
    }
}

/// The ranges that release `slots` (sorted here), one per run of neighbouring
/// slots: from above the first slot's guard page to the top of the last slot,
/// with the guard pages between them inside (madvise mode only: a marker
/// survives `MADV_DONTNEED`).
fn merged_ranges(slots: &mut [usize], page: usize, slot_size: usize) -> Vec<(usize, usize)> {
    slots.sort_unstable();
    let mut ranges: Vec<(usize, usize)> = Vec::with_capacity(slots.len());
    for &s in slots.iter() {
        match ranges.last_mut() {
            // The run ends at the top of its last slot: `s` is the next slot.
            Some((start, len)) if *start + *len == s => *len += slot_size,
            _ => ranges.push((s + page, slot_size - page)),
        }
    }
    ranges
}

impl Drop for Shared {
    fn drop(&mut self) {
        for slab in &self.inner.get_mut().slabs {
            // SAFETY: the pool and every `Stack` (each holds an `Arc<Shared>`) are
            // gone, so nothing lives in the slab any more.
            unsafe { libc::munmap(slab.addr as *mut _, slab.slots * self.slot_size) };
        }
    }
}

impl Stack {
    /// True once the stack has its slot (always, unless it came from
    /// [`StackPool::reserve`] and has not been bound yet).
    pub(crate) fn is_bound(&self) -> bool {
        self.slot != UNBOUND
    }

    /// Gives an unbound stack its slot (no-op if it has one): warm, pending,
    /// cold or newly carved, as [`StackPool::get`] would. Its reservation made
    /// room, so it maps no slab (unless `get` on the same pool took that room)
    /// and fails only if the kernel refuses to install a guard page.
    pub(crate) fn bind(&mut self) -> Result<(), StackError> {
        if self.is_bound() {
            return Ok(());
        }
        let mut inner = self.shared.inner.lock();
        let slot = self.shared.take_slot(&mut inner)?;
        inner.reserved -= 1;
        self.slot = slot;
        Ok(())
    }

    /// Highest address of the stack (exclusive); the stack grows down from here.
    /// Page-aligned, so aligned to corosensei's `STACK_ALIGNMENT` (16).
    pub(crate) fn base(&self) -> usize {
        debug_assert!(self.is_bound(), "an unbound stack has no memory");
        self.slot + self.shared.slot_size
    }

    /// Lowest address of the stack including its guard page.
    pub(crate) fn limit(&self) -> usize {
        debug_assert!(self.is_bound(), "an unbound stack has no memory");
        self.slot
    }

    /// The guard zone: `[start, end)`, the red page at `start`, then the
    /// yellow zone ([`YELLOW_PAGES`]). A fault in here is a stack overflow.
    pub(crate) fn guard(&self) -> (usize, usize) {
        debug_assert!(self.is_bound(), "an unbound stack has no memory");
        (self.slot, self.slot + self.shared.guard_len)
    }

    /// How the guard zone is made (the pool's mode).
    pub(crate) fn guard_mode(&self) -> GuardMode {
        self.shared.guard
    }

    /// Usable bytes (excluding the guard zone).
    #[cfg_attr(not(test), allow(dead_code))] // tests and diagnostics
    pub(crate) fn size(&self) -> usize {
        self.shared.stack_size
    }

    /// Pages of the usable stack that are in RAM: what a context on this stack
    /// has touched and not given back. For tests and measurements.
    #[cfg_attr(not(test), allow(dead_code))] // tests and diagnostics
    pub(crate) fn resident_pages(&self) -> io::Result<usize> {
        resident_pages(self.guard().1, self.base())
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if self.is_bound() {
            self.shared.give_back(self.slot);
        } else {
            self.shared.inner.lock().reserved -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::merged_ranges;

    #[test]
    fn neighbouring_slots_are_released_as_one_range_above_the_first_guard() {
        // Slots of 5 pages (guard + 4) at 0x10000 + k * 0x5000, in any order.
        let (page, slot) = (0x1000, 0x5000);
        let at = |k: usize| 0x10000 + k * slot;
        let mut slots = vec![at(3), at(0), at(1), at(7), at(2), at(9), at(8)];
        let ranges = merged_ranges(&mut slots, page, slot);
        assert_eq!(
            ranges,
            vec![
                (at(0) + page, 4 * slot - page), // slots 0..=3
                (at(7) + page, 3 * slot - page), // slots 7..=9
            ]
        );
        // Never a byte of a guard page below a run, never past a slot's top.
        assert_eq!(
            merged_ranges(&mut [at(5)], page, slot),
            vec![(at(5) + page, slot - page)]
        );
        assert!(merged_ranges(&mut [], page, slot).is_empty());
    }
}
