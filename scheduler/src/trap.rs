//! Catching a task's stack overflow: a SIGSEGV/SIGBUS handler on an alternate
//! signal stack.
//!
//! # Interface (what `scheduler` builds on)
//!
//! ```text
//! pub(crate) fn install_process_handler() -> io::Result<()>;     // once per process; idempotent
//! pub(crate) fn install_thread_altstack(overflow: Overflow) -> io::Result<AltStackGuard>;
//!                                                                // on every worker thread
//! pub(crate) enum Overflow { Trap, Abort }                       // Builder::trap_stack_overflow
//! pub(crate) struct AltStackGuard;                               // !Send; drop restores the old altstack
//! ```
//!
//! # How an overflow is caught
//!
//! 1. A task's stack grows into its guard page (`stack/`): the CPU faults, the
//!    kernel sends SIGSEGV to the thread.
//! 2. The kernel cannot push a signal frame on the overflowed stack, so the
//!    handler is installed with `SA_ONSTACK` and every worker thread has an
//!    alternate signal stack ([`install_thread_altstack`]).
//! 3. The handler asks context.rs ([`on_fault`](crate::context::on_fault)) whether
//!    the fault address lies in the guard page of the context running on *this*
//!    thread and the interrupted stack pointer lies in that context's stack.
//! 4. If so, and the thread traps ([`Overflow::Trap`]), corosensei resets the
//!    task's stack and the handler rewrites the interrupted registers so that,
//!    when the handler returns, the task's coroutine returns
//!    `Exit::StackOverflow` to `Context::resume`. The overflowed frames are
//!    abandoned, not unwound (context.rs, "How a context ends", point 3).
//! 5. If so, and the thread does not trap ([`Overflow::Abort`]), the handler
//!    writes one line to stderr and aborts the process.
//! 6. Any other fault is not ours: the handler passes it to the handler that was
//!    installed before ours (Rust's std reports a *thread's* stack overflow this
//!    way), or, if there was none, restores the default action and re-raises it:
//!    a real crash stays a crash, with its core dump.
//!
//! Everything the handler does is async-signal-safe: thread-local loads of
//! `const`-initialised cells, reads of a record on the thread's own stack,
//! `write(2)`, `abort`, `sigaction`, `raise`.
//!
//! A thread without an alternate signal stack that overflows a task stack dies
//! of SIGSEGV (the kernel cannot deliver the signal). Rust's std gives each
//! thread it spawns a small one; bream's workers get a larger one here.

use std::cell::Cell;
use std::io;
use std::marker::PhantomData;
use std::mem;
use std::ptr;
use std::sync::{Once, OnceLock};

use crate::context::{self, Fault};
use crate::stack::SignalStack;

/// What a worker thread does when a task overflows its stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Overflow {
    /// The task ends with `Exit::StackOverflow`; everything else goes on.
    Trap,
    /// The process aborts with a message (the overflowed frames would otherwise
    /// leak what they own and keep their locks).
    Abort,
}

thread_local! {
    /// Whether this thread traps overflows (true) or aborts. Set by
    /// `install_thread_altstack`; read by the signal handler (const-initialised,
    /// no destructor: async-signal-safe). Threads that never call it trap.
    static TRAP: Cell<bool> = const { Cell::new(true) };
}

/// The sigactions in place before ours, by signal, for chaining. Written once
/// before our handler is installed; read (an acquire load) by the handler.
static PREV_SEGV: OnceLock<libc::sigaction> = OnceLock::new();
/// As `PREV_SEGV`, for SIGBUS.
static PREV_BUS: OnceLock<libc::sigaction> = OnceLock::new();

/// Usable bytes of a worker's alternate signal stack: 64 KiB, or four times the
/// kernel's `AT_MINSIGSTKSZ` (the size of a signal frame with the CPU's full
/// register state, ~3.5 KiB with AVX-512) if larger. The handler itself needs a
/// few hundred bytes.
fn altstack_size() -> usize {
    // SAFETY: getauxval has no preconditions; 0 when the key is unknown.
    let min = unsafe { libc::getauxval(libc::AT_MINSIGSTKSZ) } as usize;
    (64 * 1024).max(4 * min)
}

/// Installs the SIGSEGV and SIGBUS handlers, once per process (later calls do
/// nothing and return the first call's success).
pub(crate) fn install_process_handler() -> io::Result<()> {
    static ONCE: Once = Once::new();
    static RESULT: OnceLock<Option<i32>> = OnceLock::new();
    ONCE.call_once(|| {
        let err = [(libc::SIGSEGV, &PREV_SEGV), (libc::SIGBUS, &PREV_BUS)]
            .into_iter()
            .find_map(|(sig, prev)| install(sig, prev).err())
            .map(|e| e.raw_os_error().unwrap_or(0));
        let _ = RESULT.set(err);
    });
    match RESULT.get().copied().flatten() {
        None => Ok(()),
        Some(errno) => Err(io::Error::from_raw_os_error(errno)),
    }
}

/// Saves the current action of `sig` in `prev`, then installs ours.
fn install(sig: libc::c_int, prev: &OnceLock<libc::sigaction>) -> io::Result<()> {
    // SAFETY: a zeroed sigaction is a valid (SIG_DFL, empty mask) value; sigaction
    // only reads `new` and writes `old`, both live locals.
    unsafe {
        let mut old: libc::sigaction = mem::zeroed();
        if libc::sigaction(sig, ptr::null(), &mut old) != 0 {
            return Err(io::Error::last_os_error());
        }
        let _ = prev.set(old);
        let mut new: libc::sigaction = mem::zeroed();
        new.sa_sigaction = handler as *const () as usize;
        new.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut new.sa_mask);
        if libc::sigaction(sig, &new, ptr::null_mut()) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// An alternate signal stack installed on this thread; dropping it reinstates
/// the one that was there before (or none) and frees the memory. `!Send`: it
/// must be dropped on the thread that made it.
#[derive(Debug)]
pub(crate) struct AltStackGuard {
    /// The memory of the installed stack.
    stack: SignalStack,
    /// The thread's previous alternate stack.
    old: libc::stack_t,
    /// Thread-bound.
    _not_send: PhantomData<*const ()>,
}

/// Gives this thread an alternate signal stack (with a guard page) and sets what
/// it does on a task's stack overflow. Call on every worker thread, before it
/// resumes any context.
pub(crate) fn install_thread_altstack(overflow: Overflow) -> io::Result<AltStackGuard> {
    let stack = SignalStack::new(altstack_size())?;
    let new = libc::stack_t {
        ss_sp: stack.start().cast(),
        ss_flags: 0,
        ss_size: stack.size(),
    };
    // SAFETY: a zeroed stack_t is valid for sigaltstack to overwrite.
    let mut old: libc::stack_t = unsafe { mem::zeroed() };
    // SAFETY: `new` describes memory owned by the returned guard, which keeps it
    // mapped until it has reinstated `old`; we are not running on an altstack now
    // (this is ordinary thread code), so replacing it is allowed.
    if unsafe { libc::sigaltstack(&new, &mut old) } != 0 {
        return Err(io::Error::last_os_error());
    }
    TRAP.set(overflow == Overflow::Trap);
    Ok(AltStackGuard {
        stack,
        old,
        _not_send: PhantomData,
    })
}

impl Drop for AltStackGuard {
    fn drop(&mut self) {
        // SAFETY: reinstating the stack that was in place before (std's, or
        // "disabled"); this runs on the owning thread, not in a signal handler,
        // so our stack is not in use and may be unmapped afterwards.
        unsafe { libc::sigaltstack(&self.old, ptr::null_mut()) };
        let _ = &self.stack; // unmapped when the field drops, after the line above
    }
}

/// The message written before aborting on an overflow with trapping off.
const ABORT_MSG: &[u8] =
    b"bream: a task overflowed its stack and trap_stack_overflow is off; aborting\n";

/// The SIGSEGV/SIGBUS handler. Runs on the alternate signal stack.
extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, uc: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo and ucontext for SA_SIGINFO.
    let (fault, sp) = unsafe { ((*info).si_addr() as usize, stack_pointer(uc.cast())) };
    // SAFETY: called from the signal handler with the fault's own address and sp;
    // on `Trapped` the registers are written back below before returning.
    match unsafe { context::on_fault(fault, sp, TRAP.get()) } {
        // SAFETY: `uc` is the interrupted context, ours to rewrite.
        Fault::Trapped(regs) => unsafe { set_regs(uc.cast(), regs) },
        Fault::Overflow => {
            // SAFETY: write(2) and abort(3) are async-signal-safe.
            unsafe {
                libc::write(2, ABORT_MSG.as_ptr().cast(), ABORT_MSG.len());
                libc::abort();
            }
        }
        // SAFETY: forwarding the handler's own arguments.
        Fault::NotOurs => unsafe { chain(sig, info, uc) },
    }
}

/// Passes a fault that is not a task overflow on: to the previous handler, else
/// to the default action.
///
/// # Safety
///
/// Only from `handler`, with its arguments.
unsafe fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, uc: *mut libc::c_void) {
    let prev = match sig {
        libc::SIGSEGV => PREV_SEGV.get(),
        _ => PREV_BUS.get(),
    };
    let action = prev.map_or(libc::SIG_DFL, |p| p.sa_sigaction);
    if action == libc::SIG_DFL || action == libc::SIG_IGN {
        // SAFETY: sigaction and raise are async-signal-safe; the re-raised signal
        // is blocked until this handler returns, then kills with the default
        // action (a hardware fault would also recur on return).
        unsafe {
            let mut dfl: libc::sigaction = mem::zeroed();
            dfl.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(sig, &dfl, ptr::null_mut());
            libc::raise(sig);
        }
        return;
    }
    let siginfo = prev.is_some_and(|p| p.sa_flags & libc::SA_SIGINFO != 0);
    if siginfo {
        // SAFETY: the previous handler was installed with SA_SIGINFO, so this is
        // its three-argument signature.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { mem::transmute(action) };
        f(sig, info, uc);
    } else {
        // SAFETY: installed without SA_SIGINFO: the one-argument signature.
        let f: extern "C" fn(libc::c_int) = unsafe { mem::transmute(action) };
        f(sig);
    }
}

/// The interrupted stack pointer.
///
/// # Safety
///
/// `uc` is the ucontext passed to a signal handler.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
unsafe fn stack_pointer(uc: *const libc::ucontext_t) -> usize {
    // SAFETY: by the caller's guarantee.
    unsafe { (*uc).uc_mcontext.gregs[libc::REG_RSP as usize] as usize }
}

/// The interrupted stack pointer.
///
/// # Safety
///
/// `uc` is the ucontext passed to a signal handler.
#[cfg(all(target_os = "linux", target_arch = "aarch64"))]
unsafe fn stack_pointer(uc: *const libc::ucontext_t) -> usize {
    // SAFETY: by the caller's guarantee.
    unsafe { (*uc).uc_mcontext.sp as usize }
}

/// Writes corosensei's trap registers into the interrupted context.
///
/// # Safety
///
/// `uc` is the ucontext passed to a signal handler, and the handler returns
/// right after.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
unsafe fn set_regs(uc: *mut libc::ucontext_t, r: context::TrapRegs) {
    // SAFETY: by the caller's guarantee.
    let g = unsafe { &mut (*uc).uc_mcontext.gregs };
    g[libc::REG_RIP as usize] = r.rip as i64;
    g[libc::REG_RSP as usize] = r.rsp as i64;
    g[libc::REG_RBP as usize] = r.rbp as i64;
    g[libc::REG_RDI as usize] = r.rdi as i64;
    g[libc::REG_RSI as usize] = r.rsi as i64;
}

/// Writes corosensei's trap registers into the interrupted context.
///
/// # Safety
///
/// `uc` is the ucontext passed to a signal handler, and the handler returns
/// right after.
#[cfg(all(target_os = "linux", target_arch = "aarch64"))]
unsafe fn set_regs(uc: *mut libc::ucontext_t, r: context::TrapRegs) {
    // SAFETY: by the caller's guarantee.
    let m = unsafe { &mut (*uc).uc_mcontext };
    m.pc = r.pc;
    m.sp = r.sp;
    m.regs[0] = r.x0;
    m.regs[1] = r.x1;
    m.regs[29] = r.x29;
    m.regs[30] = r.lr;
}
