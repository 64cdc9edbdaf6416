//! bream-scheduler: work-stealing workers running stackful tasks on guarded,
//! pooled stacks.
//!
//! This crate knows *tasks*, not Erlang: a task is a closure running on its
//! own stack that can yield, park itself, and be unparked by anyone holding its
//! [`TaskRef`]. The `bream` runtime builds processes on it. The book chapter is
//! docs/scheduler.md; the modules read in this order:
//!
//! | module          | what it holds                                            |
//! |-----------------|----------------------------------------------------------|
//! | `scheduler`     | [`Builder`], [`Scheduler`]: spawn, timers, shutdown      |
//! | [`task`]        | what a task does to itself: yield, park, reduce, sleep   |
//! | `task_ref`      | [`TaskRef`], [`Outcome`], [`TaskOwner`]                  |
//! | `state`         | the task state word: park/unpark/cancel/finish races     |
//! | `worker`        | the worker loop, the `next` slot, stealing, the budget   |
//! | `idle`          | the idle protocol: who sleeps, whom a new task wakes     |
//! | `parker`        | how one worker sleeps (condvar, or in the I/O driver)    |
//! | [`io`]          | the mio poller and [`io::Registration`]                  |
//! | `timer`         | the hierarchical timing wheel                            |
//! | `blocking`      | the blocking pool                                        |
//! | `registry`      | every live task, for shutdown                            |
//! | [`stats`]       | per-worker counters, always on ([`Scheduler::stats`])    |
//! | [`trace`]       | the event trace (Perfetto), and the hooks at event sites |
//! | `stack`, `context`, `trap` | stacks, corosensei contexts, overflow trap (docs/stacks.md) |
//! | `sync`          | the loom shim                                            |
//!
//! # Example
//!
//! ```
//! use bream_scheduler::{task, Outcome, Scheduler, SpawnOpts, TaskOwner};
//! use std::sync::{mpsc, Arc, Mutex};
//!
//! struct Report(Mutex<mpsc::Sender<Outcome>>);
//! impl TaskOwner for Report {
//!     fn on_exit(&self, o: Outcome) { self.0.lock().unwrap().send(o).unwrap(); }
//!     fn as_any(&self) -> &dyn std::any::Any { self }
//! }
//!
//! let sched = Scheduler::builder().build().unwrap();
//! let (tx, rx) = mpsc::channel();
//! let owner = Arc::new(Report(Mutex::new(tx)));
//! let sleeper = sched.spawn(SpawnOpts::default(), owner.clone(), || task::park()).unwrap();
//! sched.spawn(SpawnOpts::default(), owner, move || sleeper.unpark()).unwrap();
//! assert_eq!(rx.recv().unwrap(), Outcome::Returned);
//! assert_eq!(rx.recv().unwrap(), Outcome::Returned);
//! sched.shutdown();
//! ```

mod blocking;
mod idle;
pub mod io;
mod monitor;
mod parker;
mod registry;
mod run_queue;
mod scheduler;
mod standin;
mod state;
pub mod stats;
mod sync;
pub mod task;
mod task_ref;
mod timer;
pub mod trace;
mod worker;

pub use monitor::{LongSchedule, DEFAULT_LONG_SCHEDULE};
pub use scheduler::{
    Builder, Scheduler, SpawnError, SpawnOpts, DEFAULT_SHUTDOWN_GRACE, MAX_STACK_SIZE,
};
pub use stats::{SchedulerStats, WorkerState, WorkerStats};
pub use task::Park;
pub use task_ref::{Outcome, TaskOwner, TaskRef};
pub use timer::TimerRef;

/// The protocol modules, public only for the loom models in `loom-tests`
/// (which drive them with plain closures in place of stack switches).
#[cfg(bream_loom)]
#[doc(hidden)]
pub mod protocol {
    pub use crate::idle::Idle;
    pub use crate::run_queue::NextSlot;
    pub use crate::state::{State, ToParked, ToRunning, ToScheduled};
}

// Owned by the "stacks" work (docs/stacks.md):
mod context;
mod stack;
#[cfg(test)]
mod tests;
mod trap;
