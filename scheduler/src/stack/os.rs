//! The system calls under the pool: mapping, advising, probing, counting. Each
//! function is a thin, documented wrapper; the policy (when to call which) lives
//! in `pool.rs`.

use std::io;
use std::ptr;
use std::sync::OnceLock;

/// `MADV_GUARD_INSTALL` from Linux 6.13 `include/uapi/asm-generic/mman-common.h`
/// (not yet in the libc crate).
pub(super) const MADV_GUARD_INSTALL: libc::c_int = 102;

/// `PIDFD_SELF_THREAD` from Linux 6.15 `include/uapi/linux/pidfd.h`: a pidfd
/// meaning "the calling thread" (and so this process's memory), valid after a
/// `fork` too, with no descriptor to manage.
const PIDFD_SELF_THREAD: libc::c_int = -10_000;

/// Ranges a `process_madvise` call takes at most (`UIO_MAXIOV`).
const IOV_MAX: usize = 1024;

/// How a stack's guard page is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GuardMode {
    /// `madvise(MADV_GUARD_INSTALL)`: a page-table marker, no VMA (Linux ≥ 6.13).
    Madvise,
    /// `mprotect(PROT_NONE)`: two VMAs a stack; counted against `vm.max_map_count`.
    Mprotect,
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
pub(super) fn map_anonymous(len: usize) -> io::Result<*mut u8> {
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
pub(super) unsafe fn advise_ranges(
    ranges: &[(usize, usize)],
    advice: libc::c_int,
) -> io::Result<()> {
    use std::sync::atomic::{AtomicBool, Ordering};
    /// Cleared once the kernel refuses `process_madvise` for this process.
    /// Relaxed: a stale `true` only costs one more refused call.
    // std's atomic, not the loom shim's: a kernel-capability flag that takes
    // part in no modelled protocol (scheduler/src/sync.rs).
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

/// Gives the pages of `[start, start + len)` back to the kernel
/// (`MADV_DONTNEED`): their next touch maps a fresh zero-filled page. One
/// system call; false if the kernel refused (the pages stay, nothing is lost).
///
/// # Safety
///
/// The range is page-aligned, inside one of a pool's stacks, and holds no
/// object anyone will read again (its contents become zeros).
pub(crate) unsafe fn discard(start: usize, len: usize) -> bool {
    // SAFETY: by the caller's contract.
    unsafe { libc::madvise(start as *mut _, len, libc::MADV_DONTNEED) == 0 }
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

/// `MADV_GUARD_REMOVE` from Linux 6.13 (not yet in the libc crate).
const MADV_GUARD_REMOVE: libc::c_int = 103;

/// The yellow zone of the stack whose guard zone starts at `guard`:
/// `[start, len)`, the [`YELLOW_PAGES`](super::pool::YELLOW_PAGES) pages above
/// the red page.
fn yellow(guard: usize) -> (usize, usize) {
    let page = page_size();
    (guard + page, super::pool::YELLOW_PAGES * page)
}

/// Lifts the yellow zone of the stack whose guard zone starts at `guard`:
/// its pages become ordinary stack memory (zero-filled on first touch).
/// Async-signal-safe: one `madvise` or `mprotect` system call. False if the
/// kernel refused.
///
/// # Safety
///
/// `guard` is the start of the guard zone of a live stack of a pool in
/// `mode`, and nothing else changes that zone's protection meanwhile (it is
/// the running task's, on this thread).
pub(crate) unsafe fn lift_yellow(guard: usize, mode: GuardMode) -> bool {
    let (start, len) = yellow(guard);
    // SAFETY: by the caller's contract: the pages belong to the stack's guard
    // zone, in which no object lives.
    unsafe {
        match mode {
            GuardMode::Madvise => libc::madvise(start as *mut _, len, MADV_GUARD_REMOVE) == 0,
            GuardMode::Mprotect => {
                libc::mprotect(start as *mut _, len, libc::PROT_READ | libc::PROT_WRITE) == 0
            }
        }
    }
}

/// Puts a lifted yellow zone back (after the overflowed task finished):
/// guard markers again (which drop the pages the foreign code touched), or
/// `PROT_NONE` again (and the pages given back). False if the kernel refused:
/// the red page still guards the stack.
///
/// # Safety
///
/// As [`lift_yellow`], and nothing runs on the stack any more.
pub(crate) unsafe fn rearm_yellow(guard: usize, mode: GuardMode) -> bool {
    let (start, len) = yellow(guard);
    // SAFETY: by the caller's contract: nothing lives in those pages now.
    unsafe {
        match mode {
            GuardMode::Madvise => libc::madvise(start as *mut _, len, MADV_GUARD_INSTALL) == 0,
            GuardMode::Mprotect => {
                libc::madvise(start as *mut _, len, libc::MADV_DONTNEED);
                libc::mprotect(start as *mut _, len, libc::PROT_NONE) == 0
            }
        }
    }
}
