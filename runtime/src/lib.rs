//! bream: Erlang-style processes for Rust.
//!
//! Millions of stackful green-thread processes, each with a pid, a mailbox with
//! selective receive, links, monitors and exit signals with Erlang's semantics,
//! multiplexed over a work-stealing scheduler (the design: docs/architecture.md;
//! the book: docs/README.md in the repository).
//!
//! The OTP layer — `gen_server`, `supervisor` — is the companion crate
//! [bream-stdlib](https://docs.rs/bream-stdlib), built on this crate's public
//! API only. Most programs want both.
//!
//! ```
//! use bream::{receive, ExitReason};
//!
//! bream::run(|| {
//!     let me = bream::self_pid();
//!     let (worker, _) = bream::spawn_monitor(move || {
//!         let n: u64 = bream::receive();
//!         bream::send(me, n * 2);
//!     });
//!     bream::send(worker, 21u64);
//!     receive! {
//!         n: u64 => assert_eq!(n, 42),
//!     }
//!     let down: bream::Down = bream::receive();
//!     assert_eq!(down.reason, ExitReason::Normal);
//! });
//! ```
//!
//! # Seeing crashes
//!
//! A process that crashes (a panic, a stack overflow, an abnormal `exit_self`)
//! gets a crash report, as in Erlang; a process killed by an exit signal does
//! not. With no [`tracing`](https://docs.rs/tracing) subscriber installed, the
//! report is one line on stderr, with where the panic happened (and the
//! backtrace, if `RUST_BACKTRACE=1`):
//!
//! ```text
//! =CRASH REPORT==== process <0.4.0> crashed: panic at src/main.rs:12:5: index out of bounds: ...
//! ```
//!
//! With a subscriber (e.g. `tracing_subscriber::fmt().with_writer(std::io::stderr).init()`)
//! it is an `error` event with `pid`, `message` and `location` fields. The same
//! path reports a receive that waits while its mailbox holds messages of a type
//! no arm takes (the `21` versus `21u64` pitfall, see [`send`]): in debug
//! builds after 2 s, in release builds when
//! [`Builder::unmatched_message_warning`] asks. A panic in the first process
//! leaves [`run`] with its original payload.
//!
//! # Map of the crate
//!
//! - processes: [`spawn`], [`spawn_link`], [`spawn_monitor`], [`spawn_opt`],
//!   [`Pid`], [`self_pid`], [`process_info`] (lifecycle.rs, spawn.rs, table.rs,
//!   process.rs, info.rs — book: docs/processes.md);
//! - messages: [`send`], [`receive()`], [`receive!`], [`Message`], [`flush`],
//!   [`make_ref`], aliases (receive.rs, macros.rs — docs/messages.md);
//! - links, monitors, exit signals: [`link`], [`monitor`], [`exit`],
//!   [`trap_exit`] (exit.rs, relations.rs, links.rs — docs/links-monitors.md);
//! - names and time: [`register`], [`send_after`], [`send_interval`], [`sleep`],
//!   [`hibernate`] (registry.rs, info.rs, time.rs — docs/names-timers.md);
//! - crash reports: [`ExitReason`], [`PanicInfo`] (report.rs, reason.rs —
//!   docs/processes.md, docs/adr/runtime-0002-crash-reports.md);
//! - the runtime: [`run`], [`Runtime`] (runtime.rs);
//! - watching it: [`stats`], [`observer`] (snapshots, `serve` for
//!   `bream-observer`, `publish_children` for its supervision tree),
//!   `Builder::trace` and `BREAM_TRACE` (observer/ — docs/watch-it-run.md).
//!
//! # The one rule the compiler cannot check
//!
//! Processes move between worker threads whenever they wait. Do not hold a
//! thread-local borrow or a `!Send` value (an `Rc`, a `RefCell` borrow of a
//! thread-local, a `MutexGuard` of a std mutex) across a call that can wait
//! (receive, sleep, yield, send, spawn, ...). See docs/stacks.md.

#![warn(missing_docs)]

mod bounded;
pub mod dead_letters;
mod exit;
mod info;
mod lifecycle;
mod links;
mod macros;
pub mod observer;
mod pid;
mod priority;
mod process;
mod reason;
mod receive;
mod registry;
#[cfg(bream_loom)]
#[doc(hidden)]
pub mod relations;
#[cfg(not(bream_loom))]
mod relations;
mod remote;
mod report;
mod runtime;
mod spawn;
mod sync;
mod table;
mod time;

pub mod net;

pub use bounded::{send_timeout, try_send, MailboxLimit, Overflow, SendTimeoutError, TrySendError};
pub use info::{
    is_alive, process_info, processes, register, registered, unregister, whereis, ProcessInfo,
};
pub use links::{demonitor, exit, exit_self, link, monitor, trap_exit, unlink};
pub use observer::{stats, Stats};
pub use pid::{Alias, MonitorRef, Pid, Ref};
pub use priority::{alias_priority, send_priority};
pub use process::Status;
pub use reason::{Down, Exit, ExitReason, PanicInfo, PanicLocation};
pub use receive::{
    alias, flush, make_ref, receive, receive_timeout, self_pid, send, send_alias, send_named,
    send_named_at, unalias, Message, NotRegistered,
};
pub use registry::RegisterError;
pub use runtime::{
    run, Builder, Runtime, DEFAULT_MAX_PROCESSES, DEFAULT_UNMATCHED_MESSAGE_WARNING,
};
pub use spawn::{spawn, spawn_link, spawn_monitor, spawn_opt, try_spawn, SpawnError, SpawnOpts};
pub use time::{
    blocking, cancel_timer, hibernate, reduce, send_after, send_after_named, send_interval, sleep,
    yield_now, TimerRef,
};

/// The distribution hook (ADR dist-0001): for bream-dist only. Not public API.
#[doc(hidden)]
pub mod __remote {
    pub use crate::remote::{
        add_link, add_watcher, current, deliver, handle, install, monitor_ref_from_id,
        monitor_ref_id, new_monitor_ref, remove_link, remove_watcher, signal_down, signal_exit,
        Handle, RemoteSignal, Router, Wire,
    };
}

/// What `receive!` expands to. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::receive::{any, downcast, message, put, select, take, ArmType, Selected};
}

/// README.md's Rust examples, compiled and run as doc tests so the quick start
/// can never drift from the API.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
