//! What the pool reports: its errors (which name the knob to turn) and its
//! counters.

use std::fmt;
use std::io;

use super::GuardMode;

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
    /// Stacks handed out with a slot and not yet returned.
    pub(crate) in_use: usize,
    /// Unbound stacks handed out by `reserve` and not yet bound or dropped.
    pub(crate) reserved: usize,
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
