//! What a context does differently per architecture, so that its own code
//! (mod.rs, freeze.rs) reads without `cfg(target_arch)`:
//!
//! - the stack-overflow trap's half: what trap.rs's signal handlers ask when
//!   a fault or a single-step lands on this thread, and the registers
//!   corosensei rewrites to make the overflowed coroutine return
//!   `Exit::StackOverflow` (docs/adr/scheduler-0001-stack-overflow.md). That
//!   part runs inside a signal handler: async-signal-safe code only (a const
//!   thread-local load, reads of the running record, at most one
//!   madvise/mprotect). The module essay of `context` (point 3 of "How a
//!   context ends") tells the story;
//! - [`stack_pointer`]: the exact stack pointer, which `suspend` records so
//!   that a parked context's live frames can be frozen (freeze.rs).

use super::{current, Exit, Running};
use crate::stack::lift_yellow;

/// What the SIGSEGV handler should do with a fault.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Fault {
    /// Not an overflow of the context running on this thread: a real crash.
    NotOurs,
    /// An overflow, trapped: write these registers into the signal context and
    /// return from the handler; `resume` then returns `Exit::StackOverflow`.
    Trapped(TrapRegs),
    /// An overflow, but the caller asked not to trap (it will abort).
    Overflow,
    /// Foreign code overflowed into the yellow zone, which is lifted now:
    /// single-step it (set the trap flag) until it returns to the program's
    /// own code, where [`on_step`] traps the task.
    Step,
    /// Foreign code overflowed and cannot be given room to finish (it used
    /// the whole yellow zone, or this target cannot single-step): it may hold
    /// a lock that trapping would leave held forever. The handler aborts.
    Foreign,
}

/// What the SIGTRAP handler should do with a single-step trap.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Step {
    /// Not ours: no context on this thread is being stepped.
    NotOurs,
    /// Still in foreign code: keep stepping.
    Continue,
    /// Back in the program's own code: clear the trap flag, write these
    /// registers and return; `resume` returns `Exit::StackOverflow`.
    Trapped(TrapRegs),
}

/// The registers a trap rewrites (corosensei's `TrapHandlerRegs`, copied so that
/// trap.rs does not import corosensei).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
#[allow(missing_docs)]
pub(crate) struct TrapRegs {
    pub(crate) rip: u64,
    pub(crate) rsp: u64,
    pub(crate) rbp: u64,
    pub(crate) rdi: u64,
    pub(crate) rsi: u64,
}

/// The registers a trap rewrites (corosensei's `TrapHandlerRegs`, copied so that
/// trap.rs does not import corosensei).
#[cfg(target_arch = "aarch64")]
#[derive(Clone, Copy, Debug)]
#[allow(missing_docs)]
pub(crate) struct TrapRegs {
    pub(crate) pc: u64,
    pub(crate) sp: u64,
    pub(crate) x0: u64,
    pub(crate) x1: u64,
    pub(crate) x29: u64,
    pub(crate) lr: u64,
}

/// Classifies a fault at `fault` with stack pointer `sp`, raised by code
/// that is `foreign` (outside the program's own executable, trap.rs) or not;
/// with `trap`, prepares the running coroutine to return
/// `Exit::StackOverflow`, or lifts the yellow zone for foreign code to finish
/// (docs/adr/scheduler-0001-stack-overflow.md).
///
/// # Safety
///
/// Call only from a SIGSEGV/SIGBUS handler on this thread, with `fault` and `sp`
/// from its `siginfo`/`ucontext`; on `Fault::Trapped`, the handler must write the
/// registers into the `ucontext` and return; on `Fault::Step`, set the trap
/// flag and return.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub(crate) unsafe fn on_fault(fault: usize, sp: usize, foreign: bool, trap: bool) -> Fault {
    // Async-signal-safe: a thread-local load (const, no destructor), reads of a
    // record on this thread's stack, and at most one madvise/mprotect.
    let running = current();
    if running.is_null() {
        return Fault::NotOurs;
    }
    // SAFETY: a non-null `CURRENT` names a live `Running` in a frame of this
    // thread below the interrupted code (the fences in `resume` ordered its
    // initialisation before the pointer store).
    let running = unsafe { &*running };
    let zone = running.guard;
    let (red, _) = zone.red();
    let (y0, y1) = zone.yellow();
    if !(red..y1).contains(&fault) || !running.trap.stack_ptr_in_bounds(sp) {
        return Fault::NotOurs;
    }
    if !trap {
        return Fault::Overflow;
    }
    if foreign || running.stepping.get() {
        // Foreign code may hold a lock (malloc's arena lock): abandoning its
        // frames would leave it held. Give it the yellow zone to finish in,
        // once, and step it back to our code.
        let in_yellow = (y0..y1).contains(&fault);
        if in_yellow && !running.lifted.get() && STEPPING_SUPPORTED {
            // SAFETY: the zone is the running stack's; this thread runs it.
            if unsafe { lift_yellow(zone.start, zone.mode) } {
                running.lifted.set(true);
                running.stepping.set(true);
                return Fault::Step;
            }
        }
        return Fault::Foreign;
    }
    // SAFETY: as in `trap_regs`: the stack pointer was checked above.
    Fault::Trapped(unsafe { trap_regs(running) })
}

/// Whether this target can single-step foreign code out of an overflow
/// (x86-64's trap flag; aarch64 Linux gives user space no single-step).
const STEPPING_SUPPORTED: bool = cfg!(target_arch = "x86_64");

/// A single-step trap at `pc` with stack pointer `sp`, raised by code that is
/// `foreign` or not: while stepping an overflowed context's foreign code,
/// keep going until it is back in the program's own code, then trap it.
///
/// # Safety
///
/// Call only from a SIGTRAP handler on this thread, with `sp` from its
/// `ucontext`; on `Step::Trapped`, the handler must clear the trap flag,
/// write the registers into the `ucontext` and return.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub(crate) unsafe fn on_step(sp: usize, foreign: bool) -> Step {
    let running = current();
    if running.is_null() {
        return Step::NotOurs;
    }
    // SAFETY: as in `on_fault`.
    let running = unsafe { &*running };
    if !running.stepping.get() || !running.trap.stack_ptr_in_bounds(sp) {
        return Step::NotOurs;
    }
    if foreign {
        return Step::Continue;
    }
    // Back in our code: the foreign frames have returned, and with them any
    // lock they held. Trap the task here, as for an overflow in our code.
    running.stepping.set(false);
    // SAFETY: as in `trap_regs`: the stack pointer was checked above.
    Step::Trapped(unsafe { trap_regs(running) })
}

/// Prepares the running coroutine to return `Exit::StackOverflow` from the
/// handler's return.
///
/// # Safety
///
/// From a signal handler of this thread whose interrupted stack pointer lies
/// in `running`'s stack; the handler writes the returned registers into its
/// `ucontext` and returns.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
unsafe fn trap_regs(running: &Running) -> TrapRegs {
    // SAFETY: corosensei's conditions for `setup_trap_handler`:
    // 1. The interrupted stack pointer is inside the coroutine (checked by
    //    the callers), and the handler writes the returned registers into the
    //    ucontext (the caller's obligation, stated above).
    // 2. "The coroutine must not write to memory outside itself except through
    //    volatile operations": ordinary Rust code does write outside its stack,
    //    so a trapped task may leave half-finished writes in memory it owned or
    //    locked; the frames are abandoned, never resumed, and those objects are
    //    leaked (never read by a destructor). That is the documented cost of
    //    trapping (module essay, point 3), which users can refuse by turning
    //    trapping off. Foreign code (which may hold a lock the abandoned frames
    //    would keep) is never trapped: it was stepped back to our code first.
    // The closure is zero-sized and `Exit::StackOverflow` allocates nothing.
    let regs = unsafe { running.trap.setup_trap_handler(|| Exit::StackOverflow) };
    #[cfg(target_arch = "x86_64")]
    let regs = TrapRegs {
        rip: regs.rip,
        rsp: regs.rsp,
        rbp: regs.rbp,
        rdi: regs.rdi,
        rsi: regs.rsi,
    };
    #[cfg(target_arch = "aarch64")]
    let regs = TrapRegs {
        pc: regs.pc,
        sp: regs.sp,
        x0: regs.x0,
        x1: regs.x1,
        x29: regs.x29,
        lr: regs.lr,
    };
    regs
}

/// The stack pointer of the caller's frame, exactly (no frame of this
/// function: always inlined). `None` where bream has no code for the
/// architecture (then no stack is ever frozen).
#[inline(always)]
pub(crate) fn stack_pointer() -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        let sp: usize;
        // SAFETY: reads one register into a local; touches no memory, no
        // stack, no flags.
        unsafe {
            std::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags));
        }
        Some(sp)
    }
    #[cfg(target_arch = "aarch64")]
    {
        let sp: usize;
        // SAFETY: as above.
        unsafe {
            std::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags));
        }
        Some(sp)
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        None
    }
}
