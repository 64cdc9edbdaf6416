//! Catching a task's stack overflow: SIGSEGV/SIGBUS (and SIGTRAP) handlers on an alternate
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
//! 3. The handler asks context/arch.rs ([`on_fault`](crate::context::on_fault)) whether
//!    the fault address lies in the guard page of the context running on *this*
//!    thread and the interrupted stack pointer lies in that context's stack.
//! 4. If so, and the thread traps ([`Overflow::Trap`]), the handler looks at
//!    *who* faulted (docs/adr/scheduler-0001-stack-overflow.md):
//!    - the program's own code (the instruction pointer lies in the text of
//!      the object bream is linked into — the main executable, usually,
//!      where the program's Rust code lives too): corosensei resets the
//!      task's stack and the handler rewrites the interrupted registers so
//!      that, when the handler returns, the task's coroutine returns
//!      `Exit::StackOverflow` to `Context::resume`. The overflowed frames are
//!      abandoned, not unwound (context/mod.rs, "How a context ends", point 3);
//!    - foreign code (a shared library: libc's `malloc`, which may hold its
//!      arena lock) faulting in the *yellow zone* (the guarded pages above
//!      the red page, stack/pool.rs): abandoning its frames would leave the
//!      lock held and wedge every thread that allocates. So the handler lifts
//!      the yellow zone (room for the foreign code to finish), sets the CPU's
//!      trap flag and returns; the SIGTRAP handler then runs after every
//!      instruction until the instruction pointer is back in our code (the
//!      foreign frames have returned, their locks released) and traps the
//!      task there. The context re-arms the yellow zone once it has returned;
//!    - foreign code faulting in the red page (it used the whole yellow zone),
//!      or on a target without single-stepping (aarch64): the handler writes
//!      one line to stderr and aborts the process; a hang would be worse.
//! 5. If so, and the thread does not trap ([`Overflow::Abort`]), the handler
//!    writes one line to stderr and aborts the process.
//! 6. Any other fault is not ours: the handler passes it to the handler that was
//!    installed before ours (Rust's std reports a *thread's* stack overflow this
//!    way), or, if there was none, restores the default action and re-raises it:
//!    a real crash stays a crash, with its core dump.
//!
//! Everything the handlers do is async-signal-safe: thread-local loads of
//! `const`-initialised cells, atomic loads, reads of a record on the thread's
//! own stack, `madvise`/`mprotect`, `write(2)`, `abort`, `sigaction`, `raise`.
//! The text ranges of the object bream is in are read once, at install, with
//! `dl_iterate_phdr` (not async-signal-safe, so never from a handler).
//!
//! A thread without an alternate signal stack that overflows a task stack dies
//! of SIGSEGV (the kernel cannot deliver the signal). Rust's std gives each
//! thread it spawns a small one; bream's workers get a larger one here.

use std::cell::Cell;
use std::io;
use std::marker::PhantomData;
use std::mem;
use std::ptr;
// std's atomics, not the loom shim's: written once before the signal
// handlers exist, then only read (scheduler/src/sync.rs).
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Once, OnceLock};

use crate::context::{self, Fault, Step};
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
/// As `PREV_SEGV`, for SIGTRAP (the single-step trap of foreign code).
static PREV_TRAP: OnceLock<libc::sigaction> = OnceLock::new();

/// The executable segments of the object bream is in (the main executable,
/// usually), `[start, end)` pairs (at most [`MAX_TEXT`]); `TEXT_N` of them
/// are valid. Written once at install,
/// before the handlers; read by the handlers (atomics: async-signal-safe).
static TEXT: [AtomicUsize; 2 * MAX_TEXT] = [const { AtomicUsize::new(0) }; 2 * MAX_TEXT];
/// Valid pairs in `TEXT`; 0 if they could not be read (then every fault
/// counts as our own code: the behaviour before the yellow zone).
static TEXT_N: AtomicUsize = AtomicUsize::new(0);
/// Executable segments kept.
const MAX_TEXT: usize = 4;

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
        read_main_text();
        let mut signals = vec![(libc::SIGSEGV, &PREV_SEGV), (libc::SIGBUS, &PREV_BUS)];
        if cfg!(target_arch = "x86_64") {
            signals.push((libc::SIGTRAP, &PREV_TRAP));
        }
        let err = signals
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
        new.sa_sigaction = if sig == libc::SIGTRAP {
            step_handler as *const () as usize
        } else {
            handler as *const () as usize
        };
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

/// The message written before aborting on an overflow in foreign code that
/// could not be given room to finish.
const FOREIGN_MSG: &[u8] = b"bream: a task overflowed its stack inside foreign (C) code, such as \
malloc, which may hold a lock; that code needed more than the stack's yellow zone to return \
(or this target cannot single-step it), and ending only the task would leave the lock held \
and hang every thread that needs it, so the process aborts. Give the task a larger stack \
(SpawnOpts::stack_size) or bound its recursion.\n";

/// Reads the executable segments of the object bream's own code is in into
/// `TEXT`: the main executable, usually (with the program's Rust code), or
/// the shared library bream was linked into (a `cdylib`).
fn read_main_text() {
    /// `dl_iterate_phdr`'s callback: records the object whose code contains
    /// the address `data` points to, and stops there.
    unsafe extern "C" fn ours(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        data: *mut libc::c_void,
    ) -> libc::c_int {
        let here = data as usize;
        // SAFETY: the loader passes a valid record whose `dlpi_phdr` points at
        // `dlpi_phnum` program headers, for the duration of the call.
        let info = unsafe { &*info };
        // SAFETY: as above.
        let headers = unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum.into()) };
        let text = |h: &&libc::Elf64_Phdr| h.p_type == libc::PT_LOAD && h.p_flags & libc::PF_X != 0;
        let range = |h: &libc::Elf64_Phdr| {
            let start = info.dlpi_addr as usize + h.p_vaddr as usize;
            (start, start + h.p_memsz as usize)
        };
        if !headers.iter().filter(text).any(|h| {
            let (start, end) = range(h);
            (start..end).contains(&here)
        }) {
            return 0; // not this object: go on
        }
        let mut n = 0;
        for h in headers.iter().filter(text).take(MAX_TEXT) {
            let (start, end) = range(h);
            TEXT[2 * n].store(start, Ordering::Relaxed);
            TEXT[2 * n + 1].store(end, Ordering::Relaxed);
            n += 1;
        }
        // Release: the ranges before the count (the handlers Acquire it).
        TEXT_N.store(n, Ordering::Release);
        1 // found: stop
    }
    let here = read_main_text as *const () as *mut libc::c_void;
    // SAFETY: `ours` only reads what the loader passes and writes statics.
    unsafe { libc::dl_iterate_phdr(Some(ours), here) };
}

/// True if `pc` lies outside the code of the object bream is in (usually
/// the main executable): in a shared library such as libc, the loader, the
/// vDSO. False if the ranges are unknown.
fn is_foreign(pc: usize) -> bool {
    // Acquire: pairs with the Release in `read_main_text`.
    let n = TEXT_N.load(Ordering::Acquire);
    n != 0
        && !(0..n).any(|i| {
            let start = TEXT[2 * i].load(Ordering::Relaxed);
            let end = TEXT[2 * i + 1].load(Ordering::Relaxed);
            (start..end).contains(&pc)
        })
}

/// Writes `msg` to stderr and aborts.
fn die(msg: &[u8]) -> ! {
    // SAFETY: write(2) and abort(3) are async-signal-safe.
    unsafe {
        libc::write(2, msg.as_ptr().cast(), msg.len());
        libc::abort()
    }
}

/// The SIGSEGV/SIGBUS handler. Runs on the alternate signal stack.
extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, uc: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo and ucontext for SA_SIGINFO.
    let (fault, sp, pc) = unsafe {
        (
            (*info).si_addr() as usize,
            stack_pointer(uc.cast()),
            instruction_pointer(uc.cast()),
        )
    };
    // SAFETY: called from the signal handler with the fault's own address and sp;
    // on `Trapped` the registers are written back below before returning, on
    // `Step` the trap flag is set.
    match unsafe { context::on_fault(fault, sp, is_foreign(pc), TRAP.get()) } {
        // SAFETY: `uc` is the interrupted context, ours to rewrite.
        Fault::Trapped(regs) => unsafe { set_regs(uc.cast(), regs) },
        // SAFETY: as above.
        Fault::Step => unsafe { set_trap_flag(uc.cast(), true) },
        Fault::Overflow => die(ABORT_MSG),
        Fault::Foreign => die(FOREIGN_MSG),
        // SAFETY: forwarding the handler's own arguments.
        Fault::NotOurs => unsafe { chain(sig, info, uc) },
    }
}

/// The SIGTRAP handler: the single-step trap of foreign code being stepped
/// out of an overflow (see the module essay). Runs on the alternate stack.
extern "C" fn step_handler(sig: libc::c_int, info: *mut libc::siginfo_t, uc: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid ucontext for SA_SIGINFO.
    let (sp, pc) = unsafe { (stack_pointer(uc.cast()), instruction_pointer(uc.cast())) };
    // SAFETY: called from the signal handler with its own sp; the registers
    // and the trap flag are written back below before returning.
    match unsafe { context::on_step(sp, is_foreign(pc)) } {
        // SAFETY: `uc` is the interrupted context, ours to rewrite.
        Step::Continue => unsafe { set_trap_flag(uc.cast(), true) },
        // SAFETY: as above.
        Step::Trapped(regs) => unsafe {
            set_trap_flag(uc.cast(), false);
            set_regs(uc.cast(), regs);
        },
        // SAFETY: forwarding the handler's own arguments.
        Step::NotOurs => unsafe { chain(sig, info, uc) },
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
        libc::SIGTRAP => PREV_TRAP.get(),
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

/// The interrupted instruction pointer.
///
/// # Safety
///
/// `uc` is the ucontext passed to a signal handler.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
unsafe fn instruction_pointer(uc: *const libc::ucontext_t) -> usize {
    // SAFETY: by the caller's guarantee.
    unsafe { (*uc).uc_mcontext.gregs[libc::REG_RIP as usize] as usize }
}

/// The interrupted instruction pointer.
///
/// # Safety
///
/// `uc` is the ucontext passed to a signal handler.
#[cfg(all(target_os = "linux", target_arch = "aarch64"))]
unsafe fn instruction_pointer(uc: *const libc::ucontext_t) -> usize {
    // SAFETY: by the caller's guarantee.
    unsafe { (*uc).uc_mcontext.pc as usize }
}

/// Sets or clears the trap flag (EFLAGS.TF, bit 8) of the interrupted
/// context: with it set, the CPU raises SIGTRAP after each instruction.
///
/// # Safety
///
/// `uc` is the ucontext passed to a signal handler, and the handler returns
/// right after.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
unsafe fn set_trap_flag(uc: *mut libc::ucontext_t, on: bool) {
    const TF: i64 = 1 << 8;
    // SAFETY: by the caller's guarantee.
    let g = unsafe { &mut (*uc).uc_mcontext.gregs };
    let flags = &mut g[libc::REG_EFL as usize];
    *flags = if on { *flags | TF } else { *flags & !TF };
}

/// No single-stepping on this target: `on_fault` never returns `Step` here.
///
/// # Safety
///
/// None needed; it does nothing.
#[cfg(all(target_os = "linux", target_arch = "aarch64"))]
unsafe fn set_trap_flag(_uc: *mut libc::ucontext_t, _on: bool) {}

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
