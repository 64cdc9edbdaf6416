//! Stackful contexts: a task's code running on its own [`Stack`], able to stop in
//! the middle ([`suspend`]) and go on later, possibly on another thread. The only
//! module that imports `corosensei`.
//!
//! # Interface (what `scheduler` builds on)
//!
//! ```text
//! pub(crate) struct Context;                    // Send (proof below), !Sync
//! impl Context {
//!     pub(crate) fn new(stack: Stack, f: impl FnOnce() + Send + 'static) -> Context;
//!                                               // stack bound (get) or not (reserve)
//!     pub(crate) fn resume(&mut self) -> Resumed;   // panics if already finished
//!     pub(crate) fn is_finished(&self) -> bool;
//!     pub(crate) fn into_stack(self) -> Option<Stack>; // force-unwinds a suspended one first;
//!                                               // None: the task refused to unwind, stack leaked
//! }
//! pub(crate) enum Resumed { Suspended, Finished(Exit) }
//! pub(crate) enum Exit { Returned, Panicked(String), StackOverflow }
//! pub(crate) fn suspend();                      // inside a context: back to resume()'s caller
//! pub(crate) fn in_context() -> bool;
//! pub(crate) fn install_panic_hook();           // once per process; Scheduler build and Context::new call it
//! pub(crate) unsafe fn on_fault(fault: usize, sp: usize, foreign: bool, trap: bool) -> Fault; // SIGSEGV
//! pub(crate) unsafe fn on_step(sp: usize, foreign: bool) -> Step; // SIGTRAP (single-step)
//! pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String;
//! pub(crate) const INLINE_CLOSURE_MAX: usize;  // bigger closures are boxed
//! ```
//! Dropping a `Context` is the same as `into_stack` and dropping the stack.
//!
//! # Vocabulary
//!
//! - A **context** is one corosensei `Coroutine` on one pooled [`Stack`]. It is
//!   *not started* (the closure sits at the top of its stack, or waits in the
//!   context itself: see below), *suspended* (its frames sit on its stack, below
//!   a saved stack pointer), *running* (some thread is inside `resume`), or
//!   *finished* (its stack holds nothing).
//! - A context made on an **unbound** stack (`StackPool::reserve`) with a
//!   closure of up to [`WAITING_WORDS`] words is **waiting**: the closure sits in
//!   the `Context` value, the stack has no slot, and the first `resume` binds the
//!   stack and moves the closure onto it. A task spawned but not yet run then
//!   holds no stack memory, and the stack's first write (a page fault if the
//!   slot is fresh) comes just before the task runs on it, cache-hot. In a
//!   breadth-first tree (skynet) most spawned tasks wait behind their siblings:
//!   only the ones that have run and parked hold stacks (docs/stacks.md,
//!   "Binding a stack at the first resume"). If binding fails then (the kernel
//!   refused a guard page), the context finishes at once with
//!   `Exit::Panicked("the task could not start: ...")`.
//! - The **running record** ([`Running`]) lives in the frame of `resume` while a
//!   context runs, and a thread-local pointer (`CURRENT`) names it. `suspend`,
//!   `in_context`, the panic hook and the SIGSEGV handler all find the running
//!   context through it. It is a `const`-initialised `Cell` of a raw pointer: no
//!   lazy initialisation and no destructor, so reading it is a plain
//!   thread-pointer-relative load, safe in a signal handler.
//!
//! # How a context ends
//!
//! 1. The closure returns: `Exit::Returned`.
//! 2. The closure panics: the body's `catch_unwind` turns the payload into
//!    `Exit::Panicked(message)`. The panic hook installed by
//!    [`install_panic_hook`] prints nothing for a panic inside a context (the
//!    runtime writes a crash report, with the location its own hook, installed
//!    after this one, recorded); other panics go to the hook that was there
//!    before.
//! 3. The stack overflows into its guard zone: trap.rs's SIGSEGV handler calls
//!    [`on_fault`], which uses corosensei's trap support to reset the stack and
//!    make the coroutine return `Exit::StackOverflow` at once — unless the
//!    faulting code is foreign (C code such as `malloc`, which may hold a
//!    lock): then the yellow zone is lifted and the code single-stepped back
//!    to our own code first ([`on_step`], docs/adr/scheduler-0001-stack-overflow.md),
//!    and `resume` re-arms the zone once the coroutine has returned. **The
//!    overflowed Rust frames are not unwound**: what they own leaks, a lock
//!    they hold (a `Mutex`) stays held, and a panic that was unwinding leaves
//!    the thread's panic count raised. This is the price of going on; turn
//!    trapping off (abort) if that is not acceptable.
//! 4. The context is dropped or `into_stack` is called while it is suspended: it
//!    is force-unwound (corosensei resumes it with a special panic payload that
//!    unwinds every frame, running destructors). The body must let that payload
//!    through; the running record's `unwinding` flag tells it so. A [`suspend`]
//!    during any unwinding (a destructor that would block) returns at once. A
//!    task that catches that payload (a `catch_unwind` that swallows payloads it
//!    does not know) and suspends again cannot be unwound: after a few tries its
//!    stack is leaked, with an error through `tracing`, rather than reused under
//!    frames that are still alive.
//!
//! # Send: the proof and the rule it implies
//!
//! corosensei's `Coroutine` is `!Send`, because nothing stops its code from
//! holding a `!Send` value (an `Rc`, a `RefCell` borrow of a thread-local, a
//! `MutexGuard`) across a suspension, and moving the suspended coroutine to
//! another thread would move that value too. `Context` is `Send` because of the
//! proof at its `unsafe impl Send`, whose premise 3 is a **rule for users that
//! the compiler cannot check**: *no thread-local borrow and no `!Send` value may
//! be held across a yield point* (any bream call that can suspend: receive,
//! yield, sleep, park). For example, a `thread_local!`'s `with` closure that
//! yields and is resumed on another worker goes on writing through a reference
//! into the *first* worker's thread-local storage, racing with that worker.
//! docs/stacks.md states the rule for users.
//!
//! A second, open hazard is the compiler's: LLVM may compute the address of a
//! thread-local once in a function and reuse it after a call, assuming the thread
//! cannot change inside a call — which a stack switch breaks
//! (rust-lang/unsafe-code-guidelines#602, open). Mitigation here: no function
//! body that spans a switch computes a thread-local address before it and uses it
//! after. The body reads `CURRENT` through the `#[inline(never)]` [`current`];
//! [`suspend`] reads it before its switch, never after, and is itself
//! `#[inline(never)]`, so no caller inlines it; `resume` reads and writes it
//! directly, because the caller's side of a switch never changes thread. The
//! scheduler's worker-local state must be reached the same way (an
//! `#[inline(never)]` accessor called after each suspension, never a reference
//! kept across one).

use std::any::Any;
use std::cell::Cell;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::num::NonZeroUsize;
use std::panic::{self, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{compiler_fence, Ordering};
use std::sync::Once;

use corosensei::stack::StackPointer;
use corosensei::trap::CoroutineTrapHandler;
use corosensei::{Coroutine, CoroutineResult, Yielder};

use crate::stack::{page_size, rearm_yellow, GuardMode, Stack, YELLOW_PAGES};

mod arch;
mod freeze;

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub(crate) use arch::{on_fault, on_step};
pub(crate) use arch::{Fault, Step, TrapRegs};

/// How a finished context ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    /// The closure returned.
    Returned,
    /// The closure panicked; the panic message (`"Box<dyn Any>"` if the payload
    /// was neither `&str` nor `String`).
    Panicked(String),
    /// The stack overflowed into its guard page; its frames were not unwound.
    StackOverflow,
}

/// What [`Context::resume`] came back with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Resumed {
    /// The context called [`suspend`]; resume it again later.
    Suspended,
    /// The context finished; take its stack with [`Context::into_stack`].
    Finished(Exit),
}

/// Largest closure moved onto a stack as it is (corosensei's `with_stack`
/// refuses objects over 1024 bytes, "to avoid stack overflows"); larger ones
/// are boxed.
pub(crate) const INLINE_CLOSURE_MAX: usize = 512;

/// The coroutine type: no values passed in or out at a suspension; the body
/// returns an [`Exit`].
type Co = Coroutine<(), (), Exit, Stack>;

/// The record of the context running on this thread. Lives in `resume`'s frame
/// (or `force_unwind`'s) for exactly the time the context runs; `CURRENT` points
/// at it meanwhile. Fields are touched by this thread only: the context's code,
/// `resume`, and the signal handler interrupting either.
struct Running {
    /// The coroutine's `Yielder`, which lives at the top of its stack. Null until
    /// the body's first instructions store it (first resume); `resume` copies it
    /// in from and back out to the `Context`.
    yielder: Cell<*const Yielder<(), ()>>,
    /// The corosensei trap handle of the running coroutine (stack bounds).
    trap: CoroutineTrapHandler<Exit>,
    /// The guard zone of the running stack.
    guard: GuardZone,
    /// Set while `into_stack` force-unwinds: the body must let the unwind through.
    unwinding: bool,
    /// Set by the SIGSEGV handler when it lifted the yellow zone for foreign
    /// code that overflowed into it; `resume` puts the zone back once the
    /// coroutine has returned.
    lifted: Cell<bool>,
    /// True while the thread single-steps that foreign code back to the
    /// program's own code (trap.rs's SIGTRAP handler).
    stepping: Cell<bool>,
    /// The stack pointer at the context's last [`suspend`], recorded just
    /// before the switch (0 if it never suspended); `resume` keeps it in
    /// `OnStack::sp` for freeze.rs.
    sp: Cell<usize>,
}

/// A stack's guard zone: `[red page][yellow zone]` from `start` (stack/pool.rs).
#[derive(Clone, Copy, Debug)]
struct GuardZone {
    /// Lowest address: the red page.
    start: usize,
    /// How its protection is made.
    mode: GuardMode,
}

impl GuardZone {
    fn red(&self) -> (usize, usize) {
        (self.start, self.start + page_size())
    }

    fn yellow(&self) -> (usize, usize) {
        let (_, end) = self.red();
        (end, end + YELLOW_PAGES * page_size())
    }
}

thread_local! {
    /// The context running on this thread, or null. `const`-initialised and
    /// destructor-free: reading it is async-signal-safe.
    static CURRENT: Cell<*const Running> = const { Cell::new(ptr::null()) };
}

/// Reads `CURRENT`. Never inlined: see "Send" in the module essay (#602).
#[inline(never)]
fn current() -> *const Running {
    CURRENT.get()
}

/// Replaces `CURRENT`, returning the old value. Never inlined (#602).
#[inline(never)]
fn set_current(r: *const Running) -> *const Running {
    CURRENT.replace(r)
}

/// True when called from code running inside a context on this thread.
#[inline(never)]
pub(crate) fn in_context() -> bool {
    !current().is_null()
}

/// A stackful coroutine on a pooled stack: not started, suspended, or finished
/// (never observed running: `resume` holds `&mut self` while it runs).
pub(crate) struct Context {
    /// Where the context is in its life; see [`State`].
    state: State,
}

/// The states of a [`Context`]. A context made with a bound stack, or with a
/// closure too big to wait in [`Waiting`], starts `OnStack`; one made with an
/// unbound stack (`StackPool::reserve`) and a small closure starts `Waiting`
/// and moves to `OnStack` (or `Failed`) at its first `resume`.
enum State {
    /// Not started, no stack memory yet: the closure waits off-stack.
    Waiting(Waiting),
    /// On its stack: not started, suspended or finished.
    OnStack(OnStack),
    /// Its stack could not be bound at the first resume (the kernel refused a
    /// guard page); the closure was dropped without running. `message` is taken
    /// by the `resume` that reports it. Finished.
    Failed {
        /// The unbound stack (dropping it gives back its reservation).
        stack: Stack,
        /// Why, until `resume` has reported it.
        message: Option<String>,
    },
    /// Taken apart by `into_stack`. Finished.
    Gone,
}

/// A context on its stack.
struct OnStack {
    /// The coroutine, owning its stack. `ManuallyDrop`: dropped only once it is
    /// finished, leaked if it cannot be unwound (see `Context::unwind`).
    co: ManuallyDrop<Co>,
    /// The lowest address of the stack's guard zone (copied out: corosensei
    /// does not lend the stack), with bit 0 set in mprotect mode (one word,
    /// not two, so that a `Context` stays small; the address is
    /// page-aligned).
    guard: usize,
    /// The coroutine's `Yielder` once it has started, else null. Written by
    /// `resume` on the thread resuming it.
    yielder: *const Yielder<(), ()>,
    /// The stack's top (`Stack::base`), copied out for freeze.rs.
    base: usize,
    /// The stack pointer at the last suspension (see `Running::sp`), 0
    /// before the first. Written by `resume`.
    sp: usize,
    /// While frozen (freeze.rs): the live frames, on the heap; the stack's
    /// pages are given back. `resume` and `unwind` thaw first.
    frozen: Option<freeze::Frozen>,
}

/// Words of closure a [`Waiting`] context holds; a bigger one makes the
/// context bind its stack at once. Eight fit in the room the `OnStack`
/// state takes anyway (the `Context` stays 96 bytes): four, when the
/// `Context` was 64 bytes, stopped fitting skynet's closure once a `Pid`
/// grew to 12 bytes (wave 2), and every spawned leaf bound its stack at
/// spawn again (skynet 1.6 s → 2.6 s; docs/stacks.md, "Binding a stack at
/// the first resume").
const WAITING_WORDS: usize = 8;

/// A context whose stack is not bound yet: the closure, type-erased, in a
/// buffer of its own, and the two functions that know its type.
struct Waiting {
    /// The unbound stack; `None` once `start` took it.
    stack: Option<Stack>,
    /// The closure `F`, while `erased` is `Some` (`size_of::<F>()` fits and
    /// `align_of::<F>()` is at most a word's: checked by `Waiting::fits`).
    buf: MaybeUninit<[usize; WAITING_WORDS]>,
    /// [`erased::<F>`](erased): given a stack, moves the closure out of `buf`
    /// onto it; given none, drops it. `None` once either was done. (One
    /// function, not two, so that a `Context` stays small.)
    erased: Option<Erased>,
}

/// The type of [`erased`]`::<F>`, whatever `F`.
type Erased = unsafe fn(*mut u8, Option<Stack>) -> Option<Co>;

impl Waiting {
    /// Whether a closure of type `F` can wait in a `Waiting`.
    fn fits<F>() -> bool {
        std::mem::size_of::<F>() <= std::mem::size_of::<[usize; WAITING_WORDS]>()
            && std::mem::align_of::<F>() <= std::mem::align_of::<usize>()
    }

    /// `f` waiting for `stack` (unbound). The caller checked `fits::<F>()`.
    fn new<F: FnOnce() + Send + 'static>(stack: Stack, f: F) -> Waiting {
        debug_assert!(Self::fits::<F>());
        let mut buf = MaybeUninit::<[usize; WAITING_WORDS]>::uninit();
        // SAFETY: `buf` is large and aligned enough for `F` (`fits`); it is
        // written once here and then moved out or dropped once by `erased`
        // (which is taken before it is called).
        unsafe { buf.as_mut_ptr().cast::<F>().write(f) };
        Waiting {
            stack: Some(stack),
            buf,
            erased: Some(erased::<F>),
        }
    }

    /// The coroutine: the closure moved onto the (now bound) stack.
    fn start(&mut self) -> Co {
        let erased = self.erased.take().expect("a waiting context starts once");
        let stack = self.stack.take().expect("the stack is still here");
        // SAFETY: `erased` was `Some`, so `buf` holds the closure of the type
        // `erased` was instantiated with; taking `erased` first means the
        // closure is moved out exactly once (even if `with_stack` unwinds).
        let co = unsafe { erased(self.buf.as_mut_ptr().cast(), Some(stack)) };
        co.expect("given a stack, `erased` returns the coroutine")
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(erased) = self.erased.take() {
            // SAFETY: `erased` was `Some`: the closure is still in `buf`, and
            // this is the only drop of it.
            unsafe { erased(self.buf.as_mut_ptr().cast(), None) };
        }
    }
}

/// What `Waiting` does with its closure of type `F`: with `Some(stack)`,
/// moves it onto the stack and returns the coroutine; with `None`, drops it.
///
/// # Safety
///
/// `buf` holds an `F` that nothing else will read or drop.
unsafe fn erased<F: FnOnce() + Send + 'static>(buf: *mut u8, stack: Option<Stack>) -> Option<Co> {
    let Some(stack) = stack else {
        // SAFETY: by this function's contract.
        unsafe { ptr::drop_in_place(buf.cast::<F>()) };
        return None;
    };
    // SAFETY: by this function's contract.
    let f = unsafe { buf.cast::<F>().read() };
    Some(Co::with_stack(stack, move |y: &Yielder<(), ()>, ()| {
        body(y, f)
    }))
}

// SAFETY: `Context` may move to another thread while it is not started, suspended
// or finished (never while running: `resume` borrows it mutably). What moves:
// 1. The closure, while not started, in `Waiting::buf` or on the stack: it is
//    `Send` (bound on `new`).
// 2. The stack memory: a process-wide private mapping, valid on every thread; the
//    `Stack` handle is `Send` (an address and an `Arc`).
// 3. The frames on a suspended stack: bream's own frames (the body below, the
//    scheduler's suspension points) hold no thread-affine value across `suspend`
//    (`yielder` is a pointer into the stack itself, and `CURRENT` is re-read after
//    every switch through `#[inline(never)]` accessors). The user's frames are
//    covered by the rule stated in the module essay and docs/stacks.md: no `!Send`
//    value and no thread-local borrow held across a yield point. The compiler
//    cannot check that rule; it is the documented contract of `spawn`, as in
//    every stackful-coroutine runtime for Rust.
// 4. Registers: corosensei saves the callee-saved registers on the stack at a
//    switch and restores them on the resuming thread; the thread pointer (fs) is
//    not among them, so thread-locals read after a resume are the new thread's
//    (hence the `#[inline(never)]` accessors).
unsafe impl Send for Context {}

/// Tells corosensei where a pooled stack is.
// SAFETY: corosensei requires (a) a guard page that catches overflow and (b) at
// least MIN_STACK_SIZE (4096) usable bytes. (a) `Stack::limit()` is the start of
// its guard page, installed by stack/pool.rs before the stack is first handed out;
// (b) stack/pool.rs rounds every stack up to at least 2 pages. `base` and `limit` are
// page-aligned, hence STACK_ALIGNMENT-aligned, and non-zero (mmap'd addresses).
// Only bound stacks reach corosensei: `Context` binds a stack before `with_stack`.
unsafe impl corosensei::stack::Stack for Stack {
    fn base(&self) -> StackPointer {
        StackPointer::new(Stack::base(self)).expect("a mapped stack is not at 0")
    }

    fn limit(&self) -> StackPointer {
        NonZeroUsize::new(Stack::limit(self)).expect("a mapped stack is not at 0")
    }
}

impl Context {
    /// A context that will run `f` on `stack` when first resumed.
    ///
    /// With an unbound `stack` (`StackPool::reserve`) and a closure of up to
    /// [`WAITING_WORDS`] words, nothing touches the stack yet: the closure waits
    /// in the context and the stack is bound at the first resume (docs/stacks.md,
    /// "Binding a stack at the first resume"). Otherwise the stack is bound now
    /// and a closure of up to [`INLINE_CLOSURE_MAX`] bytes is moved onto its
    /// top (no allocation); a larger one is boxed first, as corosensei refuses
    /// to place more than 1 KiB there.
    pub(crate) fn new<F: FnOnce() + Send + 'static>(mut stack: Stack, f: F) -> Context {
        install_panic_hook();
        if !stack.is_bound() && Waiting::fits::<F>() {
            return Context {
                state: State::Waiting(Waiting::new(stack, f)),
            };
        }
        if let Err(e) = stack.bind() {
            return Context::failed(stack, &e);
        }
        if std::mem::size_of::<F>() <= INLINE_CLOSURE_MAX {
            Self::with_body(stack, f)
        } else {
            let f: Box<dyn FnOnce() + Send> = Box::new(f);
            Self::with_body(stack, f)
        }
    }

    /// `new`, once the stack is bound and the closure small enough.
    fn with_body<F: FnOnce() + Send + 'static>(stack: Stack, f: F) -> Context {
        let guard = tagged_guard(&stack);
        let base = stack.base();
        let co = Co::with_stack(stack, move |y: &Yielder<(), ()>, ()| body(y, f));
        Context {
            state: State::OnStack(OnStack::new(co, guard, base)),
        }
    }

    /// A context whose stack could not be bound: it finishes at its first
    /// resume with a panic that says why.
    #[cold]
    fn failed(stack: Stack, e: &crate::stack::StackError) -> Context {
        Context {
            state: State::Failed {
                stack,
                message: Some(format!("the task could not start: {e}")),
            },
        }
    }

    /// Runs the context until it suspends or finishes.
    ///
    /// # Panics
    ///
    /// If the context has finished already.
    #[inline]
    pub(crate) fn resume(&mut self) -> Resumed {
        if !matches!(self.state, State::OnStack(_)) {
            if let Some(finished) = self.start() {
                return finished;
            }
        }
        let State::OnStack(on) = &mut self.state else {
            unreachable!("`start` leaves the context on its stack or reports why not")
        };
        on.thaw();
        let running = Running {
            yielder: Cell::new(on.yielder),
            trap: on.co.trap_handler(),
            guard: on.guard_zone(),
            unwinding: false,
            lifted: Cell::new(false),
            stepping: Cell::new(false),
            sp: Cell::new(0),
        };
        // The record is complete before `CURRENT` names it, and named before the
        // switch: a signal interrupts this thread only, so compiler fences are
        // the partners of the handler's read of `CURRENT` and of the record.
        compiler_fence(Ordering::SeqCst);
        // Direct TLS access is fine here: the caller's side of `resume` never
        // changes thread.
        let prev = CURRENT.replace(&running);
        compiler_fence(Ordering::SeqCst);
        let result = on.co.resume(());
        CURRENT.set(prev);
        on.yielder = running.yielder.get();
        on.sp = running.sp.get();
        if running.lifted.get() {
            rearm(running.guard);
        }
        match result {
            CoroutineResult::Yield(()) => Resumed::Suspended,
            CoroutineResult::Return(exit) => Resumed::Finished(exit),
        }
    }

    /// The first resume of a context that is not on its stack: binds the stack
    /// and moves the waiting closure onto it (`None`: go on and run it), or
    /// reports that it could not (`Some`: the context is finished).
    ///
    /// # Panics
    ///
    /// If the context has finished already.
    fn start(&mut self) -> Option<Resumed> {
        match &mut self.state {
            State::Waiting(w) => {
                let stack = w.stack.as_mut().expect("a waiting context has its stack");
                if let Err(e) = stack.bind() {
                    let stack = w.stack.take().expect("checked above");
                    // Drops the closure, unrun.
                    *self = Context::failed(stack, &e);
                    return self.start();
                }
                let guard = tagged_guard(stack);
                let base = stack.base();
                let co = w.start();
                self.state = State::OnStack(OnStack::new(co, guard, base));
                None
            }
            State::Failed { message, .. } => {
                let message = message.take().expect("resumed a finished context");
                Some(Resumed::Finished(Exit::Panicked(message)))
            }
            State::OnStack(_) => None,
            State::Gone => unreachable!("a context taken apart cannot be resumed"),
        }
    }

    /// True once the context has finished.
    #[cfg_attr(not(test), allow(dead_code))] // tests and diagnostics
    pub(crate) fn is_finished(&self) -> bool {
        match &self.state {
            State::Waiting(_) => false,
            State::OnStack(on) => on.co.done(),
            State::Failed { message, .. } => message.is_none(),
            State::Gone => true,
        }
    }

    /// True once the context has its stack memory (always, unless it is
    /// waiting for its first resume).
    #[cfg_attr(any(not(test), bream_loom), allow(dead_code))] // tests and diagnostics
    pub(crate) fn is_on_stack(&self) -> bool {
        matches!(self.state, State::OnStack(_))
    }

    /// Freezes a suspended context (freeze.rs): its live frames move to the
    /// heap and its stack pages go back to the kernel, until the next
    /// `resume` (or unwind) puts the frames back at the same addresses. True
    /// if it was frozen; false if there was nothing to do (not on its stack,
    /// not started, finished, already frozen) or the kernel refused.
    ///
    /// The caller holds the run right of a suspended context (`&mut self`
    /// while it is not running: `resume` holds the only other `&mut`).
    pub(crate) fn freeze(&mut self) -> bool {
        let State::OnStack(on) = &mut self.state else {
            return false;
        };
        let (_, bottom) = on.guard_zone().yellow();
        let base = on.base;
        on.freeze((bottom, base))
    }

    /// Heap bytes the frozen frames take, or `None` if not frozen.
    #[cfg_attr(not(test), allow(dead_code))] // tests and diagnostics
    pub(crate) fn frozen_bytes(&self) -> Option<usize> {
        match &self.state {
            State::OnStack(on) => on.frozen_bytes(),
            _ => None,
        }
    }

    /// The usable stack `[bottom, base)`, if on its stack (tests).
    #[cfg(test)]
    pub(crate) fn usable_range(&self) -> Option<(usize, usize)> {
        match &self.state {
            State::OnStack(on) => Some((on.guard_zone().yellow().1, on.base)),
            _ => None,
        }
    }

    /// The stack back, for the pool. A finished or never-started context gives it
    /// at once (a never-started closure is dropped; a waiting context's stack is
    /// still unbound); a suspended one is first force-unwound: its frames'
    /// destructors run, on its own stack. `None` if the task would not unwind
    /// (module essay, point 4): the stack is leaked.
    pub(crate) fn into_stack(mut self) -> Option<Stack> {
        let finished = self.unwind();
        match std::mem::replace(&mut self.state, State::Gone) {
            State::Waiting(mut w) => w.stack.take(),
            State::Failed { stack, .. } => Some(stack),
            State::OnStack(on) => {
                let co = ManuallyDrop::into_inner(on.co);
                if finished {
                    Some(co.into_stack())
                } else {
                    std::mem::forget(co);
                    None
                }
            }
            State::Gone => None,
        }
    }

    /// Force-unwinds a suspended context (no-op otherwise), with a running record
    /// in place so that the body lets the unwind through and `in_context` holds.
    /// Returns whether the context is finished now (a context that is not on
    /// its stack has no frames: true).
    fn unwind(&mut self) -> bool {
        let State::OnStack(on) = &mut self.state else {
            return true;
        };
        if on.co.done() {
            return true;
        }
        if !on.co.started() {
            on.co.force_unwind(); // drops the closure; runs no code on the stack
            return true;
        }
        on.thaw(); // the unwind runs the frames' destructors
        let running = Running {
            yielder: Cell::new(on.yielder),
            trap: on.co.trap_handler(),
            guard: on.guard_zone(),
            unwinding: true,
            lifted: Cell::new(false),
            stepping: Cell::new(false),
            sp: Cell::new(0),
        };
        compiler_fence(Ordering::SeqCst); // as in `resume`
        let prev = set_current(&running);
        compiler_fence(Ordering::SeqCst);
        for _ in 0..UNWIND_TRIES {
            // corosensei panics if the unwind did not reach the root: the task
            // caught the payload, or a destructor overflowed its stack (then the
            // context is finished all the same). Either way, look at `done`.
            let _ = panic::catch_unwind(AssertUnwindSafe(|| on.co.force_unwind()));
            if on.co.done() {
                break;
            }
        }
        set_current(prev);
        on.yielder = running.yielder.get();
        if running.lifted.get() {
            rearm(running.guard);
        }
        let finished = on.co.done();
        if !finished {
            tracing::error!(
                "bream-scheduler: a task caught the unwind that cancels it and suspended \
                 again {UNWIND_TRIES} times; its stack is leaked"
            );
        }
        finished
    }
}

impl OnStack {
    /// A coroutine not started yet, on a stack whose guard page starts at
    /// `guard` and whose top is `base`.
    fn new(co: Co, guard: usize, base: usize) -> OnStack {
        OnStack {
            co: ManuallyDrop::new(co),
            guard,
            yielder: ptr::null(),
            base,
            sp: 0,
            frozen: None,
        }
    }

    /// The guard zone.
    fn guard_zone(&self) -> GuardZone {
        GuardZone {
            start: self.guard & !1,
            mode: if self.guard & 1 == 0 {
                GuardMode::Madvise
            } else {
                GuardMode::Mprotect
            },
        }
    }
}

/// The stack's guard zone start, with bit 0 set in mprotect mode (see
/// `OnStack::guard`).
fn tagged_guard(stack: &Stack) -> usize {
    stack.guard().0 | usize::from(stack.guard_mode() == GuardMode::Mprotect)
}

/// Puts back the yellow zone the SIGSEGV handler lifted, once the coroutine
/// that overflowed has returned (nothing runs on its stack).
#[cold]
fn rearm(guard: GuardZone) {
    // SAFETY: the zone is this finished coroutine's, whose stack nothing uses.
    if !unsafe { rearm_yellow(guard.start, guard.mode) } {
        // The red page still guards the stack; only the headroom for foreign
        // code is gone on it.
        tracing::error!(
            "bream-scheduler: could not re-arm a stack's yellow zone ({})",
            std::io::Error::last_os_error()
        );
    }
}

/// How many times a suspended context is force-unwound before it is leaked.
const UNWIND_TRIES: usize = 3;

impl Drop for Context {
    fn drop(&mut self) {
        if self.unwind() {
            if let State::OnStack(on) = &mut self.state {
                // SAFETY: `co` is dropped here once; `self` is being dropped.
                unsafe { ManuallyDrop::drop(&mut on.co) };
            }
        }
        // Else leaked: dropping it would make corosensei try (and abort) again.
        // Any other state drops its parts (closure, unbound stack) as usual.
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let started = match &self.state {
            State::OnStack(on) => on.co.started(),
            State::Waiting(_) => false,
            State::Failed { .. } | State::Gone => true,
        };
        f.debug_struct("Context")
            .field("started", &started)
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// The code at the root of every context: records the yielder, runs `f`, turns
/// its panic into an `Exit`, lets a forced unwind through.
fn body(y: &Yielder<(), ()>, f: impl FnOnce()) -> Exit {
    let running = current();
    // SAFETY: the body runs only from `resume`, whose `Running` stays alive (and
    // `CURRENT` names it) until the first switch back, which is after this line.
    unsafe { (*running).yielder.set(y) };
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(()) => Exit::Returned,
        Err(payload) => {
            // Re-read: the context may have been resumed on another thread.
            let running = current();
            // SAFETY: we run inside `resume` or `unwind`, whose record is alive.
            if unsafe { (*running).unwinding } {
                panic::resume_unwind(payload);
            }
            Exit::Panicked(panic_message(&*payload))
        }
    }
}

/// The message of a panic payload, as the default hook prints it.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}

/// Inside a running context: switches back to the caller of [`Context::resume`],
/// which returns `Resumed::Suspended`; returns when the context is resumed again,
/// possibly on another thread. Returns at once while the thread is unwinding (a
/// destructor cannot block).
///
/// # Panics
///
/// Outside a context.
#[inline(never)]
pub(crate) fn suspend() {
    // Read inline, before the switch; nothing after the switch touches TLS here,
    // and `#[inline(never)]` keeps callers from caching an address across it.
    let running = CURRENT.get();
    assert!(!running.is_null(), "suspend() called outside a task");
    if std::thread::panicking() {
        return;
    }
    // SAFETY: `running` is this thread's live record (see `body`); its yielder was
    // stored by the body before any user code could call `suspend`.
    let yielder = unsafe { &*(*running).yielder.get() };
    // For freeze.rs: below this address lie only the switch's own frames.
    // SAFETY: as above.
    unsafe { (*running).sp.set(arch::stack_pointer().unwrap_or(0)) };
    // After this call we may be on another thread: `running` is not used again.
    yielder.suspend(());
}

/// Installs (once per process) a panic hook that prints nothing for a panic
/// inside a context and defers to the previous hook for every other panic.
pub(crate) fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !in_context() {
                previous(info);
            }
        }));
    });
}

#[cfg(all(test, not(bream_loom)))]
mod tests {
    use std::sync::Arc;

    use super::{suspend, Context, Exit, Resumed};
    use crate::stack::{GuardMode, StackPool};

    /// A pool whose `reserve` hands out unbound stacks (madvise mode; in
    /// mprotect mode `reserve` is `get`, checked by the first test).
    fn pool() -> StackPool {
        StackPool::new(16 * 1024).unwrap()
    }

    fn lazy(pool: &StackPool) -> bool {
        pool.stats().guard == GuardMode::Madvise
    }

    /// Every task carries one inside its heap record: a regression guard (64
    /// bytes before the waiting state, and 64 still; 96 since freezing, which
    /// keeps the stack's top, the last stack pointer and the frozen frames'
    /// box: 32 bytes a task, against the 4 KiB page a frozen stack gives back).
    #[test]
    fn a_context_is_96_bytes() {
        assert_eq!(std::mem::size_of::<Context>(), 96);
    }

    #[test]
    fn a_context_on_a_reserved_stack_takes_its_slot_at_its_first_resume() {
        let pool = pool();
        let mut c = Context::new(pool.reserve().unwrap(), suspend);
        let s = pool.stats();
        if !lazy(&pool) {
            assert!(c.is_on_stack() && s.in_use == 1 && s.reserved == 0, "{s:?}");
            return;
        }
        assert!(!c.is_on_stack());
        assert_eq!((s.reserved, s.in_use, s.carved), (1, 0, 0), "{s:?}");
        assert_eq!(c.resume(), Resumed::Suspended);
        assert!(c.is_on_stack());
        let s = pool.stats();
        assert_eq!((s.reserved, s.in_use), (0, 1), "{s:?}");
        assert_eq!(c.resume(), Resumed::Finished(Exit::Returned));
        drop(c);
        assert_eq!(pool.stats().in_use, 0);
    }

    #[test]
    fn a_context_dropped_unrun_drops_its_closure_and_its_reservation() {
        let pool = pool();
        let token = Arc::new(());
        let t = Arc::clone(&token);
        let c = Context::new(pool.reserve().unwrap(), move || drop(t));
        assert_eq!(Arc::strong_count(&token), 2, "the closure waits, alive");
        let stack = c
            .into_stack()
            .expect("an unrun context gives its stack back");
        assert_eq!(stack.is_bound(), !lazy(&pool));
        assert_eq!(Arc::strong_count(&token), 1, "the closure was dropped");
        drop(stack);
        let t = Arc::clone(&token);
        drop(Context::new(pool.reserve().unwrap(), move || drop(t)));
        assert_eq!(Arc::strong_count(&token), 1);
        let s = pool.stats();
        assert_eq!((s.reserved, s.in_use), (0, 0), "{s:?}");
    }

    #[test]
    fn a_closure_of_eight_words_waits_for_its_first_resume() {
        let pool = pool();
        if !lazy(&pool) {
            return; // mprotect mode: `reserve` is `get` (first test)
        }
        let words = [7u64; 8];
        let mut c = Context::new(pool.reserve().unwrap(), move || assert_eq!(words[7], 7));
        assert!(!c.is_on_stack(), "64 bytes of closure wait off the stack");
        assert_eq!(c.resume(), Resumed::Finished(Exit::Returned));
    }

    #[test]
    fn a_closure_too_big_to_wait_binds_its_stack_at_once() {
        let pool = pool();
        let big = [7u64; 9];
        let mut c = Context::new(pool.reserve().unwrap(), move || assert_eq!(big[8], 7));
        assert!(c.is_on_stack());
        assert_eq!(pool.stats().reserved, 0);
        assert_eq!(c.resume(), Resumed::Finished(Exit::Returned));
    }

    #[test]
    fn reservations_map_room_for_themselves_and_carve_nothing() {
        let pool = pool();
        if !lazy(&pool) {
            return; // mprotect mode: `reserve` is `get` (first test)
        }
        let stacks: Vec<_> = (0..1000).map(|_| pool.reserve().unwrap()).collect();
        let s = pool.stats();
        assert_eq!((s.reserved, s.carved, s.in_use), (1000, 0, 0), "{s:?}");
        let slot = pool.stack_size() + crate::stack::page_size();
        let room: usize = pool.slab_ranges().iter().map(|(a, b)| (b - a) / slot).sum();
        assert!(room >= 1000, "{room} slots mapped for 1000 reservations");
        drop(stacks);
        assert_eq!(pool.stats().reserved, 0);
    }
}
