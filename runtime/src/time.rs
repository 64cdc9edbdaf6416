//! Time and scheduling: [`send_after`], [`send_after_named`],
//! [`send_interval`], [`cancel_timer`], [`sleep`], [`yield_now`], [`reduce`],
//! [`hibernate`], [`blocking`].
//!
//! Every wait here re-checks signals when the scheduler's park returns, so a
//! process parked in `sleep` that is killed unwinds at once (exit.rs's sender
//! recipe unparks it).
//!
//! Every duration means "at most that long" (or, for a timer, "not before"):
//! one past the end of `Instant`'s range (`Duration::MAX`,
//! `gen_server::INFINITY`) is forever — a sleep that only a kill ends, a
//! timer that never fires.
//!
//! # Interval timers
//!
//! [`send_interval`] is a chain of one-shot timers in the scheduler's wheel:
//! each firing delivers a clone of the message and arms the next. Its
//! [`TimerRef`] shares a `stopped` flag with the chain; a firing that finds the
//! flag set (a cancel, or a destination that is gone) delivers nothing and
//! arms nothing. Cancelling also cancels the armed timer when it can, but the
//! flag alone is what guarantees that nothing is delivered after
//! [`cancel_timer`] returned (a firing that already passed the check may be
//! delivering right then, as with any timer that fires while it is
//! cancelled).

use std::fmt;
use std::panic;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bream_scheduler::task;

use crate::exit;
use crate::lifecycle::HibernatePayload;
use crate::pid::Pid;
use crate::process::{current, with_status, Status};
use crate::runtime::Shared;
use crate::sync::{AtomicU8, Mutex, Ordering};

/// A timer started by [`send_after`], [`send_after_named`] or
/// [`send_interval`]; [`cancel_timer`] stops it.
pub struct TimerRef(Kind);

enum Kind {
    Once(bream_scheduler::TimerRef),
    Interval(Arc<Interval>),
}

/// The state an interval timer's chain shares with its `TimerRef` (module
/// essay, "Interval timers"). Any thread.
struct Interval {
    /// 1 once a cancel, or a firing whose destination is gone, stopped the
    /// chain. It orders nothing else: Acquire/Release only for the reader's
    /// peace of mind.
    stopped: AtomicU8,
    /// The armed timer, replaced by each firing; a cancel cancels it.
    timer: Mutex<Option<bream_scheduler::TimerRef>>,
}

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
    TimerRef(Kind::Once(me.rt.scheduler.timer_after(d, move || {
        rt.deliver(pid, msg);
    })))
}

/// Sends `msg` after `d` to the process registered as `name` *when the timer
/// fires* (Erlang's `erlang:send_after/3` with an atom): if no process has the
/// name then, the message is dropped.
///
/// ```
/// use std::time::Duration;
/// bream::run(|| {
///     bream::register("alarm_clock", bream::self_pid()).unwrap();
///     bream::send_after_named(Duration::from_millis(1), "alarm_clock", "ring");
///     assert_eq!(bream::receive::<&str>(), "ring");
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn send_after_named<T: Send + 'static>(d: Duration, name: &'static str, msg: T) -> TimerRef {
    let me = current("send_after_named");
    let rt = Arc::clone(&me.rt);
    TimerRef(Kind::Once(me.rt.scheduler.timer_after(d, move || {
        if let Some(pid) = rt.registry.whereis(name) {
            rt.deliver(pid, msg);
        }
    })))
}

/// Sends a clone of `msg` to `pid` every `d` (at least 1 ms), until
/// [`cancel_timer`] or until `pid` is no longer alive (Erlang's
/// `timer:send_interval/3`; the first message comes after `d`). Like every
/// bream timer it lives in the scheduler's timing wheel: no process runs it.
///
/// ```
/// use std::time::Duration;
/// bream::run(|| {
///     let t = bream::send_interval(Duration::from_millis(1), bream::self_pid(), "tick");
///     for _ in 0..3 {
///         assert_eq!(bream::receive::<&str>(), "tick");
///     }
///     assert!(bream::cancel_timer(t)); // it was running; no tick after this
/// });
/// ```
///
/// # Panics
/// Outside a bream process.
pub fn send_interval<T: Clone + Send + 'static>(d: Duration, pid: Pid, msg: T) -> TimerRef {
    let me = current("send_interval");
    let iv = Arc::new(Interval {
        stopped: AtomicU8::new(0),
        timer: Mutex::new(None),
    });
    arm(
        Arc::clone(&me.rt),
        Arc::clone(&iv),
        d.max(Duration::from_millis(1)),
        pid,
        msg,
    );
    TimerRef(Kind::Interval(iv))
}

/// Arms the next timer of an interval's chain (module essay).
fn arm<T: Clone + Send + 'static>(
    rt: Arc<Shared>,
    iv: Arc<Interval>,
    d: Duration,
    pid: Pid,
    msg: T,
) {
    let (rt2, iv2) = (Arc::clone(&rt), Arc::clone(&iv));
    let t = rt.scheduler.timer_after(d, move || {
        if iv2.stopped.load(Ordering::Acquire) != 0 {
            return;
        }
        if !rt2.deliver(pid, msg.clone()) {
            iv2.stopped.store(1, Ordering::Release);
            return;
        }
        arm(rt2, iv2, d, pid, msg);
    });
    // Not held across `timer_after`: a timer due at once runs right there.
    let mut slot = iv.timer.lock();
    *slot = Some(t);
}

/// Cancels a timer; true if it had not fired yet (its message will never be
/// sent), false if it already fired. An interval timer is stopped: true if
/// it was still running.
///
/// ```
/// use std::time::Duration;
/// bream::run(|| {
///     let t = bream::send_after(Duration::from_secs(60), bream::self_pid(), ());
///     assert!(bream::cancel_timer(t));
/// });
/// ```
pub fn cancel_timer(t: TimerRef) -> bool {
    match t.0 {
        Kind::Once(t) => t.cancel(),
        Kind::Interval(iv) => {
            let was_running = iv.stopped.swap(1, Ordering::AcqRel) == 0;
            if let Some(t) = iv.timer.lock().take() {
                t.cancel();
            }
            was_running
        }
    }
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
    // Saturating: past `Instant`'s range, only a kill ends the sleep.
    let deadline = Instant::now().checked_add(d);
    with_status(me, Status::Suspended, || loop {
        exit::handle_signals(me);
        let Some(deadline) = deadline else {
            task::park();
            continue;
        };
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
/// Outside a bream process; if `f` panics, the panic is resumed in the
/// caller, and if that ends the process its crash report names the process
/// and the place in `f` that panicked, as for a panic in the process itself.
pub fn blocking<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let me = current("blocking");
    let pid = me.pid;
    let r = with_status(me, Status::Suspended, || {
        task::blocking(move || crate::report::run_job(pid, f))
    });
    let r = match r {
        Ok(r) => r,
        Err(job_panic) => crate::report::resume_job_panic(me, job_panic),
    };
    exit::handle_signals(me);
    r
}
