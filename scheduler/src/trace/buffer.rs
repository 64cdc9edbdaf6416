//! Per-thread event buffers and the collector that gathers them.
//!
//! Who touches what:
//! - `LOCAL` (a thread-local): the worker thread it belongs to, only. Set by
//!   [`Tracer::attach`] on the worker's own stack when it starts, taken
//!   back by the [`Attached`] guard when it leaves; read by hooks that run
//!   on that thread (in the worker loop, or inside the task it runs: a push
//!   never suspends, so no thread-local address is held across a stack
//!   switch; the accessor is `#[inline(never)]`, as `worker_ptr`).
//! - `Inner::chunks`: a lock-free channel; any worker sends full buffers,
//!   `finish` drains it.
//! - `Inner::foreign`: a mutex; threads that are not workers.
//! - `Inner::finished`: set once by `finish`; events after it are dropped.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

use super::{Event, Kind, TRACING};

/// Events per thread buffer before it is handed to the collector.
pub(crate) const CHUNK: usize = 16 * 1024;
/// The default cap on events kept (`BREAM_TRACE_MAX_EVENTS`).
const DEFAULT_MAX_EVENTS: u64 = 4_000_000;
/// The track of events recorded by threads that are not workers.
pub(crate) const FOREIGN: u32 = u32::MAX;

/// How a scheduler traces ([`Builder::trace`](crate::Builder::trace)).
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Where to write the trace; `None`: the `BREAM_TRACE` environment
    /// variable, if set; else no trace.
    pub path: Option<PathBuf>,
    /// Names a task's track from its tag (the runtime formats a pid);
    /// `None`: `task <tag>`.
    pub names: Option<fn(u64) -> String>,
}

/// A scheduler's trace: off (`inner` is `None`) or collecting.
pub(crate) struct Tracer {
    inner: Option<Box<Inner>>,
}

struct Inner {
    path: PathBuf,
    names: fn(u64) -> String,
    /// The clock's zero. Immutable.
    base: Instant,
    tx: Sender<(u32, Vec<Event>)>,
    rx: Receiver<(u32, Vec<Event>)>,
    foreign: Mutex<Vec<Event>>,
    /// Events handed to the collector so far, and the cap.
    kept: AtomicU64,
    max: u64,
    /// Events dropped past the cap.
    dropped: AtomicU64,
    finished: AtomicBool,
    /// Regular workers (slots past it are spare). Immutable.
    workers: usize,
}

/// A worker thread's buffer.
struct Local {
    /// Whose buffer: the `Inner` it belongs to (identity only).
    owner: *const Inner,
    track: u32,
    events: Vec<Event>,
}

thread_local! {
    static LOCAL: RefCell<Option<Local>> = const { RefCell::new(None) };
}

/// Runs `f` on this thread's buffer if it belongs to `inner`. Never
/// inlined, so no caller keeps the thread-local's address across a stack
/// switch (see worker.rs, "Thread-locals").
#[inline(never)]
fn with_local(inner: &Inner, f: impl FnOnce(&mut Local)) -> bool {
    LOCAL.with(|l| {
        let mut l = l.borrow_mut();
        match l.as_mut() {
            Some(local) if std::ptr::eq(local.owner, inner) => {
                f(local);
                true
            }
            _ => false,
        }
    })
}

/// Hands this thread's buffer to the collector when the worker leaves
/// `worker::run`. Holds the scheduler (`None` when not tracing), so the
/// collector outlives the buffer.
pub(crate) struct Attached {
    pub(crate) shared: Option<std::sync::Arc<crate::scheduler::Shared>>,
}

impl Drop for Attached {
    fn drop(&mut self) {
        let Some(inner) = self.shared.as_ref().and_then(|s| s.trace.inner.as_deref()) else {
            return;
        };
        let local = LOCAL.with(|l| l.borrow_mut().take());
        if let Some(local) = local.filter(|l| std::ptr::eq(l.owner, inner)) {
            inner.hand_over(local.track, local.events);
        }
    }
}

static NTH_ENV_TRACE: AtomicUsize = AtomicUsize::new(0);

impl Tracer {
    /// A tracer for `config`, or for `BREAM_TRACE` if it names no path.
    /// A second scheduler in one process traced by the environment variable
    /// writes `path.1`, the third `path.2`, and so on.
    pub(crate) fn new(config: Option<Config>, workers: usize) -> Tracer {
        let config = config.unwrap_or_default();
        let path = config.path.or_else(|| {
            let p = PathBuf::from(std::env::var_os("BREAM_TRACE").filter(|v| !v.is_empty())?);
            match NTH_ENV_TRACE.fetch_add(1, Ordering::Relaxed) {
                0 => Some(p),
                n => {
                    let mut s = p.into_os_string();
                    s.push(format!(".{n}"));
                    Some(PathBuf::from(s))
                }
            }
        });
        let Some(path) = path else {
            return Tracer { inner: None };
        };
        if cfg!(feature = "no-trace") {
            tracing::warn!(
                "bream-scheduler: built with the `no-trace` feature: no trace is written to {}",
                path.display()
            );
            return Tracer { inner: None };
        }
        let max = std::env::var("BREAM_TRACE_MAX_EVENTS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_MAX_EVENTS);
        let (tx, rx) = crossbeam_channel::unbounded();
        TRACING.fetch_add(1, Ordering::Relaxed);
        Tracer {
            inner: Some(Box::new(Inner {
                path,
                names: config.names.unwrap_or(default_name),
                base: Instant::now(),
                tx,
                rx,
                foreign: Mutex::new(Vec::new()),
                kept: AtomicU64::new(0),
                max,
                dropped: AtomicU64::new(0),
                finished: AtomicBool::new(false),
                workers,
            })),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Gives this (worker) thread a buffer, if tracing; true if it did.
    pub(crate) fn attach(&self, index: usize) -> bool {
        let Some(inner) = self.inner.as_deref() else {
            return false;
        };
        LOCAL.with(|l| {
            *l.borrow_mut() = Some(Local {
                owner: inner,
                track: index as u32,
                events: Vec::with_capacity(CHUNK),
            })
        });
        true
    }

    /// Records `kind` now: into this thread's buffer if it is one of this
    /// scheduler's workers, else into the shared one.
    pub(crate) fn record(&self, kind: Kind) {
        let Some(inner) = self.inner.as_deref() else {
            return;
        };
        let ev = Event {
            ts: inner.base.elapsed().as_nanos() as u64,
            kind,
        };
        let mine = with_local(inner, |local| {
            local.events.push(ev);
            if local.events.len() >= CHUNK {
                // The one allocation: once per CHUNK events.
                let full = std::mem::replace(&mut local.events, Vec::with_capacity(CHUNK));
                inner.hand_over(local.track, full);
            }
        });
        if !mine && !inner.finished.load(Ordering::Acquire) {
            inner.foreign.lock().push(ev);
        }
    }

    /// Collects every chunk and writes the file. Called by
    /// `Scheduler::shutdown` after the workers were joined (their guards
    /// handed their buffers over); again (a no-op) on drop.
    pub(crate) fn finish(&self) {
        let Some(inner) = self.inner.as_deref() else {
            return;
        };
        // Acquire/Release: pairs with the check in `record` and `hand_over`.
        if inner.finished.swap(true, Ordering::AcqRel) {
            return;
        }
        TRACING.fetch_sub(1, Ordering::Relaxed);
        let mut events: Vec<(u32, Event)> = Vec::new();
        while let Ok((track, chunk)) = inner.rx.try_recv() {
            events.extend(chunk.into_iter().map(|e| (track, e)));
        }
        events.extend(
            std::mem::take(&mut *inner.foreign.lock())
                .into_iter()
                .map(|e| (FOREIGN, e)),
        );
        let summary = super::encode::Summary {
            workers: inner.workers,
            dropped: inner.dropped.load(Ordering::Relaxed),
            names: inner.names,
        };
        let bytes = super::encode::encode(events, &summary);
        if let Err(e) = std::fs::write(&inner.path, bytes) {
            tracing::error!(
                "bream-scheduler: cannot write the trace to {}: {e}",
                inner.path.display()
            );
        }
    }
}

impl Inner {
    fn hand_over(&self, track: u32, events: Vec<Event>) {
        let n = events.len() as u64;
        if self.finished.load(Ordering::Acquire)
            || self.kept.fetch_add(n, Ordering::Relaxed) + n > self.max
        {
            self.dropped.fetch_add(n, Ordering::Relaxed);
            return;
        }
        let _ = self.tx.send((track, events));
    }
}

impl Drop for Tracer {
    fn drop(&mut self) {
        self.finish();
    }
}

fn default_name(tag: u64) -> String {
    format!("task {tag}")
}
