//! The scheduler event trace, and the hooks that also keep the counters.
//!
//! Every *event site* in the scheduler (a slice begins or ends, a steal, a
//! park, a wake, a spawn, an exit) is one line calling a hook here. The hook
//! bumps the always-on counters (stats.rs) and then asks one question:
//! is any scheduler in this process tracing? That is one Relaxed load of a
//! static and one branch the CPU predicts every time (`on`); only when it
//! is taken does the hook read the clock and record.
//!
//! | module      | what it holds                                               |
//! |-------------|-------------------------------------------------------------|
//! | `buffer`    | per-thread buffers, the collector, [`Config`]               |
//! | `encode`    | events → Perfetto TrackEvent protobuf (tracks, slices, flows) |
//! | `proto`     | the few protobuf wire-format pieces both sides need         |
//! | [`decode`]  | a reader for the files this writes (tests, `bream-bench`)   |
//!
//! # Recording without locks or allocation
//!
//! A worker thread owns a buffer (a thread-local, attached when the worker
//! starts: `attach`). Recording is a push onto it: no lock, no atomic, no
//! allocation until it holds `buffer::CHUNK` events. A full buffer is
//! handed to the collector over a lock-free channel and replaced by a new
//! one: the one allocation, once per `CHUNK` events. Threads that are not
//! workers (a spawn from `main`, a process unwound at shutdown) record into
//! a shared, locked buffer: rare.
//!
//! # Writing off the hot path
//!
//! Nothing is encoded while the program runs. `Scheduler::shutdown` (or
//! dropping the last handle) collects every chunk, sorts the events by time
//! and writes the file (encode.rs): the whole trace is needed anyway to pair
//! a message's send with the receiver's next slice (a flow arrow). The
//! price: a trace is held in memory until then (about 40 bytes an event;
//! `BREAM_TRACE_MAX_EVENTS`, default 4,000,000, caps it, and the chunks past
//! the cap are counted and dropped: the file says how many).

mod buffer;
pub mod decode;
mod encode;
mod proto;

use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};
use std::sync::Arc;

pub use buffer::Config;
pub(crate) use buffer::Tracer;

use crate::context::Resumed;
use crate::scheduler::Shared;
use crate::stats::{current_worker, WorkerState};
use crate::task_ref::{Outcome, TaskRef};
use crate::worker::{Request, WorkerCtx};
use crossbeam_deque::Worker as Deque;

/// Schedulers in this process that are tracing now. The gate every event
/// site tests. std, not the loom shim: a static, and no protocol rests on
/// it (a site that misses the very first or last events of a trace loses
/// nothing but those events).
static TRACING: AtomicUsize = AtomicUsize::new(0);

/// True if any scheduler in this process is tracing: the one branch an
/// event site pays when tracing is off.
#[cfg(not(feature = "no-trace"))]
#[inline(always)]
fn on() -> bool {
    // Relaxed: a hint; see `TRACING`.
    TRACING.load(StdOrdering::Relaxed) != 0
}

/// Built with the `no-trace` feature: never, and the compiler removes every
/// event site's recording (the counters stay). What tracing compiled in
/// but off is measured against (docs/watch-it-run.md, "What it costs").
#[cfg(feature = "no-trace")]
#[inline(always)]
fn on() -> bool {
    false
}

/// What one event says. `tag` names a task (the runtime passes its pid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A task begins a time slice on the recording worker.
    SliceBegin {
        tag: u64,
    },
    /// It ends: why, and the reductions it spent.
    SliceEnd {
        tag: u64,
        why: End,
        reductions: u32,
    },
    /// A task was spawned (by `parent`, if a task spawned it).
    Spawn {
        tag: u64,
        parent: Option<u64>,
    },
    /// A task finished.
    Exit {
        tag: u64,
        outcome: OutcomeKind,
    },
    /// The recording worker stole `n` tasks from worker `victim`.
    Steal {
        victim: u32,
        n: u32,
    },
    /// The recording thread woke parked worker `worker`.
    Wake {
        worker: u32,
    },
    /// The recording worker goes to sleep / wakes up.
    Park,
    Unpark,
    /// A message from task `from` (`None`: not from a task) to task `to`.
    Send {
        from: Option<u64>,
        to: u64,
    },
    /// The runtime's label on a task (an exit reason, a hibernation).
    Mark {
        tag: u64,
        label: &'static str,
    },
    /// The recording worker fired `n` due timers.
    Timers {
        n: u32,
    },
    /// The recording thread's poll found the I/O that task `tag` waited
    /// for ready, and wakes it (io.rs, `Poller::poll`).
    IoReady {
        tag: u64,
    },
    /// Blocking-pool thread `thread` starts a job for task `tag`
    /// (`task::blocking`).
    BlockingBegin {
        tag: u64,
        thread: u32,
    },
    /// ... and finishes it.
    BlockingEnd {
        tag: u64,
        thread: u32,
    },
}

/// Why a slice ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Yield,
    Budget,
    Park,
    Exit,
}

impl End {
    pub(crate) fn name(self) -> &'static str {
        match self {
            End::Yield => "yield",
            End::Budget => "budget spent",
            End::Park => "park",
            End::Exit => "exit",
        }
    }
}

/// A task's outcome, without its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutcomeKind {
    Returned,
    Panicked,
    StackOverflow,
    Cancelled,
}

impl OutcomeKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            OutcomeKind::Returned => "returned",
            OutcomeKind::Panicked => "panicked",
            OutcomeKind::StackOverflow => "stack overflow",
            OutcomeKind::Cancelled => "cancelled",
        }
    }
}

/// One recorded event: when (ns since the trace began) and what.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Event {
    pub(crate) ts: u64,
    pub(crate) kind: Kind,
}

/// Records `kind` for `shared`'s trace, if it traces. The slow path of
/// every hook: never inlined, so a site costs a call only when tracing.
#[cold]
#[inline(never)]
fn record(shared: &Shared, kind: Kind) {
    shared.trace.record(kind);
}

/// Records with a computed `Kind` only if tracing.
macro_rules! trace_event {
    ($shared:expr, $kind:expr) => {
        if on() {
            record($shared, $kind);
        }
    };
}

// ---- the hooks: each called from one line at its event site ----

/// Worker slot `index` of `shared` starts: its thread's buffer (if tracing)
/// and its time accounting. The returned guard hands the buffer to the
/// collector when the thread leaves `worker::run`.
pub(crate) fn attach(shared: &Arc<Shared>, index: usize) -> buffer::Attached {
    buffer::Attached {
        shared: shared.trace.attach(index).then(|| shared.clone()),
    }
}

/// The start of a slice; what `slice_end` needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slice {
    budget: i32,
}

/// A task's slice begins on worker `w` (worker.rs, `run_task`).
#[inline(always)]
pub(crate) fn slice_begin(w: &WorkerCtx, task: &TaskRef) -> Slice {
    w.shared.stats.enter(w, WorkerState::Running);
    trace_event!(&w.shared, Kind::SliceBegin { tag: task.task.tag });
    Slice {
        budget: w.budget.get(),
    }
}

/// The slice ends: `resumed` and the request the task left say why.
#[inline(always)]
pub(crate) fn slice_end(w: &WorkerCtx, task: &TaskRef, start: Slice, resumed: &Resumed) {
    let spent = start.budget.saturating_sub(w.budget.get()).max(0) as u32;
    w.shared.stats.slice(w, u64::from(spent) + 1);
    if on() {
        let why = match (resumed, w.request.get()) {
            (Resumed::Finished(_), _) => End::Exit,
            (_, Request::Park | Request::ParkFrozen) => End::Park,
            (_, Request::Budget) => End::Budget,
            (_, Request::Yield | Request::None) => End::Yield,
        };
        let tag = task.task.tag;
        record(
            &w.shared,
            Kind::SliceEnd {
                tag,
                why,
                reductions: spent + 1,
            },
        );
    }
}

/// Worker `w` stole from `victim` (the batch is now in its deque, `t`
/// about to run): counts and records, and hands `t` back.
#[inline]
pub(crate) fn stole(w: &WorkerCtx, victim: usize, local: &Deque<TaskRef>, t: TaskRef) -> TaskRef {
    let n = local.len() + 1;
    w.shared.stats.stole(w, victim, n);
    trace_event!(
        &w.shared,
        Kind::Steal {
            victim: victim as u32,
            n: n as u32
        }
    );
    t
}

/// Worker `w` fired `n` due timers (a sleep ending, a `send_after`).
#[inline]
pub(crate) fn timers_fired(w: &WorkerCtx, n: usize) {
    trace_event!(&w.shared, Kind::Timers { n: n as u32 });
}

/// Worker `w` looks for work elsewhere (worker.rs, `search`).
#[inline]
pub(crate) fn searching(w: &WorkerCtx) {
    w.shared.stats.enter(w, WorkerState::Searching);
}

/// Worker `w` goes to sleep (its parker's `park` comes next).
#[inline]
pub(crate) fn park_begin(w: &WorkerCtx) {
    let stats = &w.shared.stats;
    stats.parked(w);
    stats.enter(w, WorkerState::Parked);
    trace_event!(&w.shared, Kind::Park);
}

/// Worker `w` woke up and looks for work.
#[inline]
pub(crate) fn park_end(w: &WorkerCtx) {
    trace_event!(&w.shared, Kind::Unpark);
    w.shared.stats.enter(w, WorkerState::Searching);
}

/// Worker `w` polls I/O without blocking (a maintenance round).
#[inline]
pub(crate) fn poll_begin(w: &WorkerCtx) {
    w.shared.stats.enter(w, WorkerState::Poller);
}

/// The poll is over; maintenance goes on to run tasks.
#[inline]
pub(crate) fn poll_end(w: &WorkerCtx) {
    w.shared.stats.enter(w, WorkerState::Running);
}

/// The calling thread woke parked worker `worker` (`Shared::notify_parked`).
#[inline]
pub(crate) fn woke(shared: &Shared, worker: usize) {
    shared.stats.woke(current_worker(shared));
    trace_event!(
        shared,
        Kind::Wake {
            worker: worker as u32
        }
    );
}

/// The poller found task `tag`'s I/O ready and is about to wake it
/// (io.rs). A flow arrow runs from here to the task's next slice.
#[inline]
pub(crate) fn io_ready(shared: &Shared, tag: u64) {
    trace_event!(shared, Kind::IoReady { tag });
}

/// Which blocking-pool thread this is (its trace track), numbered from 0
/// in the order they first record.
fn blocking_thread() -> u32 {
    use std::cell::Cell;
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    thread_local! {
        static ID: Cell<u32> = const { Cell::new(u32::MAX) };
    }
    ID.with(|id| {
        if id.get() == u32::MAX {
            // Relaxed: only uniqueness matters.
            id.set(NEXT.fetch_add(1, StdOrdering::Relaxed));
        }
        id.get()
    })
}

/// A blocking-pool thread starts a job for the task tagged `tag`
/// (task.rs, `blocking`); what `blocking_end` needs.
#[inline]
pub(crate) fn blocking_begin(shared: &Shared, tag: u64) -> Option<u32> {
    if !on() {
        return None;
    }
    let thread = blocking_thread();
    record(shared, Kind::BlockingBegin { tag, thread });
    Some(thread)
}

/// The job `blocking_begin` started is done.
#[inline]
pub(crate) fn blocking_end(shared: &Shared, tag: u64, started: Option<u32>) {
    if let Some(thread) = started {
        record(shared, Kind::BlockingEnd { tag, thread });
    }
}

/// The tag of the task running on this thread, if it is one of `shared`'s.
fn current_tag(shared: &Shared) -> Option<u64> {
    let w = current_worker(shared)?;
    let t = w.current.get();
    // SAFETY: a non-null `current` points at the `TaskRef` in `run_task`'s
    // frame, alive while its task runs, and this code runs on that task (or
    // between tasks, when it is null).
    unsafe { t.as_ref() }.map(|t| t.task.tag)
}

/// A task tagged `tag` was spawned (`Scheduler::spawn`).
#[inline]
pub(crate) fn spawned(shared: &Shared, tag: u64) {
    shared.stats.spawned(current_worker(shared));
    trace_event!(
        shared,
        Kind::Spawn {
            tag,
            parent: current_tag(shared)
        }
    );
}

/// Worker `w` froze task `t`'s stack as it parked (context/freeze.rs).
#[inline]
pub(crate) fn frozen(w: &WorkerCtx, t: &TaskRef) {
    w.shared.stats.froze(w);
    trace_event!(
        &w.shared,
        Kind::Mark {
            tag: t.task.tag,
            label: "stack frozen"
        }
    );
}

/// A task finished with `outcome` (worker.rs `complete`, or at shutdown).
#[inline]
pub(crate) fn exited(shared: &Shared, tag: u64, outcome: &Outcome) {
    shared.stats.finished(current_worker(shared));
    let outcome = match outcome {
        Outcome::Returned => OutcomeKind::Returned,
        Outcome::Panicked(_) => OutcomeKind::Panicked,
        Outcome::StackOverflow => OutcomeKind::StackOverflow,
        Outcome::Cancelled => OutcomeKind::Cancelled,
    };
    trace_event!(shared, Kind::Exit { tag, outcome });
}

impl crate::Builder {
    /// Write a trace of this scheduler's events to `path` (Perfetto's
    /// TrackEvent protobuf: open it at ui.perfetto.dev, or draw it with
    /// `bream-bench trace`), written when the scheduler shuts down. Without
    /// this, the `BREAM_TRACE` environment variable names the file.
    /// docs/watch-it-run.md reads one.
    pub fn trace(self, path: impl Into<std::path::PathBuf>) -> Self {
        self.trace_config(Config {
            path: Some(path.into()),
            names: None,
        })
    }

    /// Trace as `config` says (a path, and how to name a task's track).
    pub fn trace_config(mut self, config: Config) -> Self {
        let path = config.path.clone();
        let old = self.config.trace.take().unwrap_or_default();
        self.config.trace = Some(Config {
            path: path.or(old.path),
            names: config.names.or(old.names),
        });
        self
    }
}

impl crate::Scheduler {
    /// Records a message from the running task (if any) to the task tagged
    /// `to`, as a flow arrow from the send to the receiver's next slice,
    /// and counts it in the runtime's counter `counter`
    /// ([`Scheduler::count`](crate::Scheduler::count)). The runtime calls
    /// it on every send.
    #[inline]
    pub fn note_send(&self, to: u64, counter: usize) {
        let sh = &self.shared;
        sh.stats.app(current_worker(sh), counter);
        if on() {
            let from = current_tag(sh);
            record(sh, Kind::Send { from, to });
        }
    }

    /// Records `label` on the track of the task tagged `tag` (the runtime
    /// marks an exit reason or a hibernation this way), if tracing.
    #[inline]
    pub fn note(&self, tag: u64, label: &'static str) {
        trace_event!(&self.shared, Kind::Mark { tag, label });
    }

    /// True if this scheduler writes a trace.
    pub fn is_tracing(&self) -> bool {
        self.shared.trace.enabled()
    }
}
