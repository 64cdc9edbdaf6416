//! Task stacks: a pool of guarded slabs. The only module that calls `mmap`,
//! `madvise`, `mprotect` or `munmap`.
//!
//! # Interface (what `scheduler` builds on)
//!
//! ```text
//! pub(crate) struct StackPool;                  // Clone (Arc inside), Send + Sync
//! impl StackPool {
//!     pub(crate) fn new(stack_size: usize) -> io::Result<StackPool>;
//!     pub(crate) fn get(&self) -> Result<Stack, StackError>;
//!     pub(crate) fn put(&self, s: Stack);        // same as drop(s)
//!     pub(crate) fn stats(&self) -> StackStats;
//!     pub(crate) fn stack_size(&self) -> usize;  // usable bytes, page-rounded
//! }
//! pub(crate) struct Stack;                       // Send + Sync; dropping it returns it to its pool
//! pub(crate) enum StackError { NoMemory { .. }, MapCountLimit { .. } }   // Display names the knob
//! pub(crate) enum GuardMode { Madvise, Mprotect }
//! pub(crate) struct SignalStack;                 // memory for a sigaltstack (trap.rs)
//! pub(crate) const DEFAULT_STACK_SIZE: usize;
//! ```
//!
//! # The problem
//!
//! Every task runs on its own stack, and a million parked tasks must fit in a few
//! GiB of RAM on a default-configured Linux. Three costs pull against each other:
//!
//! 1. **Address space and RAM.** A stack must be large enough for ordinary code
//!    (formatting, a panic unwinding) yet a parked task should cost about one page
//!    of RAM. `MAP_NORESERVE` anonymous memory gives both: the kernel hands out a
//!    page only when it is first touched, so a 64 KiB stack that touched 4 KiB
//!    costs 4 KiB (plus its share of a page table).
//! 2. **Guard pages and VMAs.** A stack overflow must hit an unmapped guard page,
//!    never silently run into the neighbouring stack. The classic guard is an
//!    `mprotect(PROT_NONE)` page, but that splits the mapping: two VMAs per stack,
//!    and Linux refuses more than `vm.max_map_count` (65530 by default) VMAs per
//!    process, i.e. ~32,000 stacks. Linux 6.13 added `madvise(MADV_GUARD_INSTALL)`,
//!    which marks pages as guards *in the page table* without touching the VMA:
//!    one `mmap` can hold any number of guarded stacks.
//! 3. **Syscalls on the spawn path.** A syscall costs ~240 ns on this VM and a
//!    fresh `mmap`'d stack 10–14 µs to spawn on; a reused stack 17–26 ns. So
//!    finished tasks give their stack back and the next spawn takes it again.
//!
//! # The design
//!
//! - A **slab** is one `mmap(MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)` of many
//!   *slots*, followed by one `madvise(MADV_NOHUGEPAGE)`: on a host whose THP
//!   setting is `always`, a huge page would make each touched 4 KiB cost 2 MiB
//!   shared among stacks, and a stack of 64 KiB cost all of it (measured: 65,576 B
//!   per coroutine without the opt-out).
//! - A **slot** is `[guard page][stack_size usable bytes]`; the stack grows down
//!   from the slot's top toward its guard page.
//! - Slabs grow geometrically (64 slots, then 128, ... up to 65,536), so a handful
//!   of `mmap`s cover a million stacks and a small program maps little.
//! - Slots are **carved** lazily: the guard page of a slot is installed the first
//!   time the slot is handed out (one `madvise`, cold path only).
//! - Free stacks live on two LIFO lists. **warm** stacks keep their pages: taking
//!   one is a lock, a pop and an `Arc` clone, no syscall and no page fault. Once
//!   [`WARM_CAP`] stacks are warm, further returned stacks are released with
//!   `madvise(MADV_DONTNEED)` (their pages go back to the kernel; guard markers
//!   survive it) and go on the **cold** list, so a burst of a million tasks that
//!   all exit does not keep a million touched pages. `get` prefers warm, then
//!   cold, then carving.
//!
//! # The fallback
//!
//! Where `MADV_GUARD_INSTALL` is refused (kernel < 6.13: `EINVAL`), guards are
//! `mprotect(PROT_NONE)` pages, two VMAs a stack. The pool counts the VMAs it
//! adds and, before the process would cross `vm.max_map_count` (less a headroom
//! for the allocator, threads and libraries), refuses with
//! [`StackError::MapCountLimit`], whose message names `sysctl vm.max_map_count`.
//! A spawn fails cleanly; nothing segfaults or aborts.
//!
//! # Lifetime
//!
//! Every [`Stack`] holds an `Arc` of its pool's shared state, so the slabs are
//! unmapped only when the pool *and* every stack are gone: a stack can never
//! outlive its memory. Dropping a `Stack` returns it to the pool.
//!
//! See docs/stacks.md for the measurements behind the numbers here.

use std::fmt;
use std::io;
use std::ptr;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

/// `MADV_GUARD_INSTALL` from Linux 6.13 `include/uapi/asm-generic/mman-common.h`
/// (not yet in the libc crate).
const MADV_GUARD_INSTALL: libc::c_int = 102;

/// Default usable bytes of a task stack: see docs/stacks.md, "Choosing the default
/// size" (a panic unwinding through a `format!` needs ~13 KiB; 64 KiB leaves room
/// for ordinary library code and costs nothing until touched).
pub(crate) const DEFAULT_STACK_SIZE: usize = 64 * 1024;

/// Freed stacks kept with their pages (no syscall to reuse them). Value picked so
/// that the worst case (every warm stack fully touched, 64 KiB) stays under 64 MiB
/// while a steady churn of spawns never reaches it; tune with data.
pub(crate) const WARM_CAP: usize = 1024;

/// `PIDFD_SELF_THREAD` from Linux 6.15 `include/uapi/linux/pidfd.h`: a pidfd
/// meaning "the calling thread" (and so this process's memory), valid after a
/// `fork` too, with no descriptor to manage.
const PIDFD_SELF_THREAD: libc::c_int = -10_000;

/// Ranges a `process_madvise` call takes at most (`UIO_MAXIOV`).
const IOV_MAX: usize = 1024;

/// Fresh slots carved (guards installed) at a time, in madvise mode: one
/// syscall per batch instead of one per stack. Measured on
/// this VM: guard install 1.0 µs per stack alone, 0.5–0.9 µs batched.
pub(crate) const CARVE_BATCH: usize = 32;

/// Free stacks past [`WARM_CAP`] are released this many at a time, in one
/// `process_madvise(MADV_DONTNEED)` (one TLB flush): measured 0.65–0.93 µs a
/// stack, against 1.9–2.8 µs for one `madvise` per stack.
pub(crate) const RELEASE_BATCH: usize = 256;

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

/// How a stack's guard page is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GuardMode {
    /// `madvise(MADV_GUARD_INSTALL)`: a page-table marker, no VMA (Linux ≥ 6.13).
    Madvise,
    /// `mprotect(PROT_NONE)`: two VMAs a stack; counted against `vm.max_map_count`.
    Mprotect,
}

/// Why a stack could not be had. Display names the knob to turn.
#[derive(Debug)]
pub(crate) enum StackError {
    /// `mmap` or `madvise` refused memory for a new slab or guard.
    NoMemory {
        /// The usable size of the stack that was asked for.
        stack_size: usize,
        /// The OS error.
        source: io::Error,
    },
    /// One more mprotect-guarded stack would cross `vm.max_map_count`.
    MapCountLimit {
        /// The limit read from /proc/sys/vm/max_map_count.
        max_map_count: usize,
        /// Memory mappings of the process when the stack was refused.
        in_use: usize,
    },
}

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StackError::NoMemory { stack_size, source } => write!(
                f,
                "no memory for a task stack of {stack_size} bytes ({source}); \
                 lower the stack size (Builder::stack_size), raise the memory limit \
                 (ulimit -v, vm.overcommit_memory) or run fewer tasks"
            ),
            StackError::MapCountLimit {
                max_map_count,
                in_use,
            } => write!(
                f,
                "no task stack: the process has {in_use} memory mappings and \
                 vm.max_map_count is {max_map_count}; this kernel lacks \
                 MADV_GUARD_INSTALL (Linux >= 6.13) so each stack's guard page costs \
                 2 mappings; raise the limit with `sysctl vm.max_map_count=<n>`"
            ),
        }
    }
}

impl std::error::Error for StackError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StackError::NoMemory { source, .. } => Some(source),
            StackError::MapCountLimit { .. } => None,
        }
    }
}

/// A snapshot of a pool, for tests, benches and diagnostics.
#[cfg_attr(not(test), allow(dead_code))] // tests and diagnostics
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StackStats {
    /// `mmap`s made so far (one per slab).
    pub(crate) slabs: usize,
    /// Slots carved (guard installed) so far: every stack ever handed out once.
    pub(crate) carved: usize,
    /// Stacks handed out and not yet returned.
    pub(crate) in_use: usize,
    /// Free stacks that kept their pages (warm and pending release).
    pub(crate) warm: usize,
    /// Free stacks whose pages went back to the kernel.
    pub(crate) cold: usize,
    /// VMAs this pool added (mprotect mode only; 0 in madvise mode).
    pub(crate) vmas_added: usize,
    /// How guard pages are made.
    pub(crate) guard: GuardMode,
    /// Usable bytes of each stack.
    pub(crate) stack_size: usize,
}

/// The size of a page, read once.
pub(crate) fn page_size() -> usize {
    static PAGE: OnceLock<usize> = OnceLock::new();
    // SAFETY: sysconf has no preconditions.
    *PAGE.get_or_init(|| unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize)
}

/// The guard mode this kernel supports, probed once per process: map two pages,
/// try `MADV_GUARD_INSTALL` on the first, unmap.
pub(crate) fn probe_guard_mode() -> GuardMode {
    static MODE: OnceLock<GuardMode> = OnceLock::new();
    *MODE.get_or_init(|| {
        let page = page_size();
        let Ok(addr) = map_anonymous(2 * page) else {
            return GuardMode::Mprotect;
        };
        // SAFETY: `addr` is a fresh private mapping of 2 pages owned here.
        let rc = unsafe { libc::madvise(addr.cast(), page, MADV_GUARD_INSTALL) };
        // SAFETY: unmapping the mapping made above; nothing refers to it.
        unsafe { libc::munmap(addr.cast(), 2 * page) };
        if rc == 0 {
            GuardMode::Madvise
        } else {
            GuardMode::Mprotect
        }
    })
}

/// `mmap(NULL, len, RW, PRIVATE|ANONYMOUS|NORESERVE)`.
fn map_anonymous(len: usize) -> io::Result<*mut u8> {
    // SAFETY: a fresh anonymous mapping at an address the kernel picks: it cannot
    // alias any Rust object.
    let p = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        Err(io::Error::last_os_error())
    } else {
        Ok(p.cast())
    }
}

/// Applies `advice` to every `(address, length)` range in as few syscalls as the
/// kernel allows: `process_madvise(PIDFD_SELF_THREAD, ...)` with up to
/// [`IOV_MAX`] ranges a call (Linux ≥ 6.15 for the self pidfd; 6.13 lets a
/// process give itself any advice), else one `madvise` per range. The advice
/// used here is idempotent, so a partly applied call is simply redone range by
/// range.
///
/// # Safety
///
/// Every range is page-aligned memory of this pool's slabs on which the advice
/// destroys no live object (MADV_DONTNEED zero-fills; guard install makes the
/// pages inaccessible).
unsafe fn advise_ranges(ranges: &[(usize, usize)], advice: libc::c_int) -> io::Result<()> {
    use std::sync::atomic::{AtomicBool, Ordering};
    /// Cleared once the kernel refuses `process_madvise` for this process.
    /// Relaxed: a stale `true` only costs one more refused call.
    static VECTORED: AtomicBool = AtomicBool::new(true);
    for chunk in ranges.chunks(IOV_MAX) {
        if VECTORED.load(Ordering::Relaxed) {
            let iov: Vec<libc::iovec> = chunk
                .iter()
                .map(|&(addr, len)| libc::iovec {
                    iov_base: addr as *mut _,
                    iov_len: len,
                })
                .collect();
            let total: usize = chunk.iter().map(|r| r.1).sum();
            // SAFETY: `iov` describes `chunk.len()` ranges; by this function's
            // contract each may receive `advice`.
            let done = unsafe {
                libc::syscall(
                    libc::SYS_process_madvise,
                    PIDFD_SELF_THREAD,
                    iov.as_ptr(),
                    iov.len(),
                    advice,
                    0u32,
                )
            };
            if done >= 0 && done as usize == total {
                continue;
            }
            if done < 0 {
                let e = io::Error::last_os_error().raw_os_error();
                if matches!(
                    e,
                    Some(libc::EBADF | libc::EINVAL | libc::ENOSYS | libc::EPERM)
                ) {
                    VECTORED.store(false, Ordering::Relaxed);
                }
            }
        }
        for &(addr, len) in chunk {
            // SAFETY: by this function's contract.
            if unsafe { libc::madvise(addr as *mut _, len, advice) } != 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

/// Counts the lines of /proc/self/maps: the VMAs of this process right now.
pub(crate) fn count_vmas() -> io::Result<usize> {
    let maps = std::fs::read("/proc/self/maps")?;
    Ok(maps.iter().filter(|&&b| b == b'\n').count())
}

/// Reads /proc/sys/vm/max_map_count (65530 when it cannot be read: the kernel's
/// default, `DEFAULT_MAX_MAP_COUNT` in include/linux/mm.h).
pub(crate) fn max_map_count() -> usize {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(65_530)
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
    /// Every slab, oldest first. The last one is being carved.
    slabs: Vec<Slab>,
    /// Slots of the last slab carved so far.
    carved_in_last: usize,
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
    /// Bytes of a slot: guard page + stack.
    slot_size: usize,
    /// Page size.
    page: usize,
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

/// One task stack: `[guard page][usable bytes]`, growing down from `base`.
///
/// Owns its slot exclusively until dropped, which returns it to its pool.
#[derive(Debug)]
pub(crate) struct Stack {
    /// Lowest address of the slot (the guard page starts here).
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
            carved_in_last: 0,
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
                slot_size: stack_size + page,
                page,
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
        let popped = inner.warm.pop();
        let popped = popped.or_else(|| inner.pending.pop());
        let popped = popped.or_else(|| inner.cold.pop());
        let slot = match popped {
            Some(slot) => slot,
            None => self.shared.carve(&mut inner)?,
        };
        inner.in_use += 1;
        drop(inner);
        Ok(Stack {
            slot,
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
        let full = inner
            .slabs
            .last()
            .is_none_or(|s| inner.carved_in_last == s.slots);
        if full {
            self.map_slab(inner)?;
        }
        let slab = inner.slabs.last().expect("a slab was just mapped");
        let first = slab.addr + inner.carved_in_last * self.slot_size;
        let left = slab.slots - inner.carved_in_last;
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
        inner.carved_in_last += n;
        inner.carved += n;
        inner.warm.extend(slots[1..].iter().rev());
        Ok(slots[0])
    }

    /// Maps the next slab: twice the previous one, capped.
    fn map_slab(&self, inner: &mut Inner) -> Result<(), StackError> {
        let slots = inner
            .slabs
            .last()
            .map_or(FIRST_SLAB_SLOTS, |s| (s.slots * 2).min(MAX_SLAB_SLOTS));
        let len = slots * self.slot_size;
        if self.guard == GuardMode::Mprotect {
            // The slab itself is one more VMA.
            self.check_map_count(inner)?;
        }
        let addr = map_anonymous(len).map_err(|source| StackError::NoMemory {
            stack_size: self.stack_size,
            source,
        })?;
        // SAFETY: `addr..addr+len` is the mapping made just above, owned by this
        // pool; MADV_NOHUGEPAGE changes no contents. Failure is harmless (THP off
        // or unsupported), so the result is ignored.
        unsafe { libc::madvise(addr.cast(), len, libc::MADV_NOHUGEPAGE) };
        inner.slabs.push(Slab {
            addr: addr as usize,
            slots,
        });
        inner.carved_in_last = 0;
        if self.guard == GuardMode::Mprotect {
            inner.vmas_added += 1;
        }
        Ok(())
    }

    /// Installs the guard page at the bottom of each of `slots`.
    fn install_guards(&self, slots: &[usize]) -> Result<(), StackError> {
        let result = match self.guard {
            GuardMode::Madvise => {
                let guards: Vec<(usize, usize)> = slots.iter().map(|&s| (s, self.page)).collect();
                // SAFETY: the first page of fresh slots of this pool's slabs, never
                // handed out: no Rust object lives there.
                unsafe { advise_ranges(&guards, MADV_GUARD_INSTALL) }
            }
            GuardMode::Mprotect => slots.iter().try_for_each(|&slot| {
                // SAFETY: as above; PROT_NONE on a page nothing refers to.
                let rc = unsafe { libc::mprotect(slot as *mut _, self.page, libc::PROT_NONE) };
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
        let batch = std::mem::take(&mut inner.pending);
        drop(inner);
        self.release(&batch);
        self.inner.lock().cold.extend(batch);
    }

    /// Gives the usable pages of `slots` back to the kernel. Guard pages are left
    /// out of the ranges (in madvise mode they would survive MADV_DONTNEED anyway).
    fn release(&self, slots: &[usize]) {
        let ranges: Vec<(usize, usize)> = slots
            .iter()
            .map(|&s| (s + self.page, self.stack_size))
            .collect();
        // SAFETY: every slot came back from a dropped `Stack` and sits in no free
        // list while this thread holds `slots`: no object lives on it and nobody
        // else uses it. MADV_DONTNEED zero-fills the pages on their next touch.
        // Failure only means the memory stays resident.
        let _ = unsafe { advise_ranges(&ranges, libc::MADV_DONTNEED) };
    }
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
    /// Highest address of the stack (exclusive); the stack grows down from here.
    /// Page-aligned, so aligned to corosensei's `STACK_ALIGNMENT` (16).
    pub(crate) fn base(&self) -> usize {
        self.slot + self.shared.slot_size
    }

    /// Lowest address of the stack including its guard page.
    pub(crate) fn limit(&self) -> usize {
        self.slot
    }

    /// The guard page: `[start, end)`. A fault in here is a stack overflow.
    pub(crate) fn guard(&self) -> (usize, usize) {
        (self.slot, self.slot + self.shared.page)
    }

    /// Usable bytes (excluding the guard page).
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

/// Pages of `[start, end)` (page-aligned) that are in RAM, by `mincore`.
#[cfg_attr(not(test), allow(dead_code))] // tests and diagnostics
pub(crate) fn resident_pages(start: usize, end: usize) -> io::Result<usize> {
    let page = page_size();
    let mut vec = vec![0u8; (end - start) / page];
    // SAFETY: mincore only reads the page tables of `[start, end)` (ENOMEM if
    // any part is unmapped) and writes one byte per page into `vec`, which has
    // exactly that many.
    let rc = unsafe { libc::mincore(start as *mut _, end - start, vec.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(vec.iter().filter(|&&b| b & 1 != 0).count())
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.shared.give_back(self.slot);
    }
}

/// Memory for an alternate signal stack (`sigaltstack`), with a guard page below
/// it. Owned by one thread's `trap::AltStackGuard`; unmapped on drop.
#[derive(Debug)]
pub(crate) struct SignalStack {
    /// Lowest address of the mapping (the guard page).
    addr: usize,
    /// Bytes of the mapping, guard included.
    len: usize,
}

impl SignalStack {
    /// Maps `size` usable bytes (page-rounded) plus a guard page.
    pub(crate) fn new(size: usize) -> io::Result<SignalStack> {
        let page = page_size();
        let len = size.next_multiple_of(page) + page;
        let addr = map_anonymous(len)? as usize;
        let stack = SignalStack { addr, len };
        // SAFETY: the first page of the fresh mapping above; nothing lives there.
        // A guard VMA costs 1 mapping per worker thread, never per task.
        if unsafe { libc::mprotect(addr as *mut _, page, libc::PROT_NONE) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(stack)
    }

    /// Lowest usable address (above the guard page).
    pub(crate) fn start(&self) -> *mut u8 {
        (self.addr + page_size()) as *mut u8
    }

    /// Usable bytes.
    pub(crate) fn size(&self) -> usize {
        self.len - page_size()
    }
}

impl Drop for SignalStack {
    fn drop(&mut self) {
        // SAFETY: the mapping is owned by this value; trap.rs uninstalls it as the
        // thread's signal stack before dropping it.
        unsafe { libc::munmap(self.addr as *mut _, self.len) };
    }
}
