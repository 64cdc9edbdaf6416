//! Task stacks: a pool of guarded slabs. The only module that calls `mmap`,
//! `madvise`, `mprotect` or `munmap`.
//!
//! | file | what it holds |
//! |---|---|
//! | `pool.rs` | [`StackPool`], [`Stack`]: slabs, slots, the free lists, the tuning constants |
//! | `os.rs` | the system calls: mapping, advising (batched), probing, counting VMAs; [`SignalStack`] |
//! | `error.rs` | [`StackError`] (names the knob to turn), [`StackStats`] |
//!
//! # Interface (what `scheduler` builds on)
//!
//! ```text
//! pub(crate) struct StackPool;                  // Clone (Arc inside), Send + Sync
//! impl StackPool {
//!     pub(crate) fn new(stack_size: usize) -> io::Result<StackPool>;
//!     pub(crate) fn get(&self) -> Result<Stack, StackError>;
//!     pub(crate) fn reserve(&self) -> Result<Stack, StackError>; // unbound: a slot at bind()
//!     pub(crate) fn put(&self, s: Stack);        // same as drop(s)
//!     pub(crate) fn stats(&self) -> StackStats;   // slabs, carved, in use, warm, cold, guard mode
//!     pub(crate) fn stack_size(&self) -> usize;  // usable bytes, page-rounded
//! }
//! pub(crate) struct Stack;                       // Send + Sync; dropping it returns it to its pool
//! impl Stack {
//!     pub(crate) fn is_bound(&self) -> bool;
//!     pub(crate) fn bind(&mut self) -> Result<(), StackError>; // Context's first resume
//! }
//! pub(crate) enum StackError { NoMemory { .. }, MapCountLimit { .. } }   // Display names the knob
//! pub(crate) enum GuardMode { Madvise, Mprotect }
//! pub(crate) struct SignalStack;                 // memory for a sigaltstack (trap.rs)
//! pub(crate) unsafe fn lift_yellow(guard: usize, mode: GuardMode) -> bool;  // signal-safe
//! pub(crate) unsafe fn rearm_yellow(guard: usize, mode: GuardMode) -> bool;
//! pub(crate) unsafe fn discard(start: usize, len: usize) -> bool; // MADV_DONTNEED (freeze.rs)
//! pub(crate) const YELLOW_PAGES: usize;
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
//! - A **slot** is `[red page][yellow zone][stack_size usable bytes]`; the stack
//!   grows down from the slot's top toward its guard zone. The red page and the
//!   [`YELLOW_PAGES`](pool::YELLOW_PAGES) of the yellow zone are all guard
//!   pages, installed as one range; the yellow zone is lifted only while
//!   foreign code that overflowed into it finishes ([`lift_yellow`],
//!   [`rearm_yellow`]; docs/adr/scheduler-0001-stack-overflow.md).
//! - Slabs are mapped with `MAP_NORESERVE`; under an address-space limit a
//!   refused slab is halved until it fits (down to one slot) before the pool
//!   reports `NoMemory`.
//! - Slabs grow geometrically (64 slots, then 128, ... up to 65,536), so a handful
//!   of `mmap`s cover a million stacks and a small program maps little.
//! - Slots are **carved** lazily, 32 at a time: their guard pages are installed
//!   with one `process_madvise` (cold path only).
//! - Free stacks live on LIFO lists. **Warm** stacks keep their pages: taking one
//!   is a lock, a pop and an `Arc` clone — no syscall, no page fault. Past
//!   [`WARM_CAP`](pool::WARM_CAP) warm stacks, returned stacks wait as
//!   **pending**; every [`RELEASE_BATCH`](pool::RELEASE_BATCH) of them are
//!   released together with one `process_madvise(MADV_DONTNEED)`, one range per
//!   run of neighbouring slots (their pages go back to the kernel; guard
//!   markers survive it) and become **cold**. So a burst of a million exits does
//!   not keep a million touched pages, and steady churn never reaches the kernel.
//!   `get` prefers warm, then pending, then cold, then carving.
//! - `reserve` hands out an **unbound** stack: no slot yet, only the promise of
//!   one (it maps a slab if the free and uncarved slots would not cover every
//!   reservation, so an `mmap` failure still comes at spawn). `Stack::bind`
//!   takes the slot as `get` would; the context calls it at its first resume.
//!   In mprotect mode `reserve` is `get`.
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

mod error;
mod os;
mod pool;

pub(crate) use error::{StackError, StackStats};
#[cfg(test)]
pub(crate) use os::{count_vmas, probe_guard_mode, resident_pages};
pub(crate) use os::{discard, lift_yellow, page_size, rearm_yellow, GuardMode, SignalStack};
pub(crate) use pool::{Stack, StackPool, DEFAULT_STACK_SIZE, YELLOW_PAGES};
#[cfg(test)]
pub(crate) use pool::{CARVE_BATCH, RELEASE_BATCH, WARM_CAP};
