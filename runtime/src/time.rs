//! Time and scheduling: [`send_after`], [`cancel_timer`], [`sleep`],
//! [`yield_now`], [`reduce`], [`hibernate`], [`blocking`].
//!
//! Every wait here re-checks signals when the scheduler's park returns, so a
//! process parked in `sleep` that is killed unwinds at once (exit.rs's sender
//! recipe unparks it).

use std::fmt;
use std::panic;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bream_scheduler::task;

use crate::exit;
use crate::lifecycle::HibernatePayload;
use crate::pid::Pid;
use crate::process::{current, with_status, Status};

/// A timer started by [`send_after`]; [`cancel_timer`] stops it.
pub struct TimerRef(bream_scheduler::TimerRef);

impl fmt::Debug for TimerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TimerRef")
    }
}

/// Sends `msg` to `pid` after `d` (Erlang's `erlang:send_after/3`). The timer
/// lives in the scheduler's timing wheel, not in a process.
///
/// ```
/// use std::time::Duration;
/// bream::run(|| {
///     let me = bream::self_pid();
///     bream::send_after(Duration::from_millis(1), me, "tick");
///     assert_eq!(bream::receive::<&str>(), "tick");
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn send_after<T: Send + 'static>(d: Duration, pid: Pid, msg: T) -> TimerRef {
    let me = current("send_after");
    let rt = Arc::clone(&me.rt);
    TimerRef(me.rt.scheduler.timer_after(d, move || {
        rt.deliver(pid, msg);
    }))
}

/// Cancels a timer; true if it had not fired yet (its message will never be
/// sent), false if it already fired.
///
/// ```
/// use std::time::Duration;
/// bream::run(|| {
///     let t = bream::send_after(Duration::from_secs(60), bream::self_pid(), ());
///     assert!(bream::cancel_timer(t));
/// });
/// ```
pub fn cancel_timer(t: TimerRef) -> bool {
    t.0.cancel()
}

/// Suspends the caller for `d`. Messages queue meanwhile; a killing signal
/// ends the sleep (and the process) at once.
///
///
/// ```
/// use std::time::{Duration, Instant};
/// bream::run(|| {
///     let t = Instant::now();
///     bream::sleep(Duration::from_millis(2));
///     assert!(t.elapsed() >= Duration::from_millis(2));
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn sleep(d: Duration) {
    let me = current("sleep");
    let deadline = Instant::now() + d;
    with_status(me, Status::Suspended, || loop {
        exit::handle_signals(me);
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let _ = task::park_timeout(deadline - now);
    });
    exit::handle_signals(me);
}

/// Lets other processes run: the caller goes to the back of its worker's queue.
///
///
/// ```
/// bream::run(|| {
///     let me = bream::self_pid();
///     bream::spawn(move || bream::send(me, ()));
///     while bream::receive_timeout::<()>(std::time::Duration::ZERO).is_none() {
///         bream::yield_now(); // let the child run
///     }
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn yield_now() {
    let me = current("yield_now");
    task::yield_now();
    exit::handle_signals(me);
}

/// Spends `n` reductions of the caller's time slice (4000, as the BEAM's); when
/// the slice is spent the process yields. Long computations call it to stay
/// fair, as BIFs bump reductions in the BEAM.
///
///
/// ```
/// bream::run(|| {
///     let mut sum = 0u64;
///     for i in 0..100_000u64 {
///         sum += i;
///         if i % 1000 == 0 {
///             bream::reduce(1000); // stay fair in a long loop
///         }
///     }
///     assert_eq!(sum, 4_999_950_000);
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn reduce(n: u32) {
    let me = current("reduce");
    let o = me.owned();
    o.reductions.set(o.reductions.get() + u64::from(n));
    task::reduce(n);
    exit::handle_signals(me);
}

/// Gives the caller's stack back and waits, with no stack at all, for its next
/// message; then runs `f` on a fresh stack (Erlang's `erlang:hibernate/3`).
/// Everything on the current stack is dropped first (its destructors run), so
/// `f` must own what it needs. The process keeps its pid, mailbox, links,
/// monitors and name; a hibernating process costs only those.
///
/// ```
/// bream::run(|| {
///     let me = bream::self_pid();
///     let pid = bream::spawn(move || {
///         let state = vec![1, 2, 3];
///         bream::hibernate(move || {
///             let n: i32 = bream::receive();
///             bream::send(me, state.iter().sum::<i32>() + n);
///         })
///     });
///     bream::send(pid, 4);
///     assert_eq!(bream::receive::<i32>(), 10);
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn hibernate(f: impl FnOnce() + Send + 'static) -> ! {
    let _ = current("hibernate");
    panic::resume_unwind(Box::new(HibernatePayload(Box::new(f))))
}

/// Runs `f` on the blocking thread pool (the BEAM's dirty schedulers) and parks
/// the caller until it returns; the worker runs other processes meanwhile. Use it
/// for blocking system calls and long computations that cannot call [`reduce`].
///
/// A kill that arrives meanwhile takes effect when `f` returns (`f` itself is
/// not interrupted).
///
/// ```
/// bream::run(|| {
///     let n = bream::blocking(|| std::fs::read_dir(".").map(|d| d.count()).unwrap_or(0));
///     let _ = n;
/// });
/// ```
///
/// # Panics
/// Outside a bream process; if `f` panics, the panic is resumed in the caller.
pub fn blocking<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let me = current("blocking");
    let r = with_status(me, Status::Suspended, || task::blocking(f));
    exit::handle_signals(me);
    r
}

/// Runs one of the scheduler's parks (`park`, `park_timeout`, an I/O
/// registration's wait) as a process wait: status `Suspended` meanwhile, and
/// pending signals handled when it returns (a kill unwinds right here). For
/// runtime modules that wait on something other than the mailbox (net/).
///
/// # Panics
/// Outside a bream process, naming `what`.
#[allow(dead_code)]
pub(crate) fn park_with<R>(what: &str, park: impl FnOnce() -> R) -> R {
    let me = current(what);
    exit::handle_signals(me);
    let r = with_status(me, Status::Suspended, park);
    exit::handle_signals(me);
    r
}
