//! supervisor: a process that starts, watches and restarts other processes.
//!
//! Erlang's answer to failure is not to prevent every crash but to contain it:
//! a worker that gets into a bad state crashes, and a supervisor starts a fresh
//! one from a known good state. Supervisors supervise supervisors, so a program
//! is a tree, and a failure that restarting cannot fix climbs the tree until a
//! level restarts enough of it to fix it (or the whole program stops).
//!
//! | OTP                                  | bream_stdlib                                  |
//! |--------------------------------------|-----------------------------------------------|
//! | `init/1` → `{ok, {SupFlags, Specs}}` | [`Supervisor::new`]`(strategy).intensity(..).period(..).child(..)` |
//! | `supervisor:start_link/2,3`          | [`Supervisor::start_link`], [`Supervisor::start`], [`Supervisor::name`] |
//! | `one_for_one`, `one_for_all`, `rest_for_one`, `simple_one_for_one` | [`Strategy`] |
//! | child spec `#{id, start, restart, shutdown, type}` | [`ChildSpec`], [`Restart`], [`Shutdown`], [`ChildType`] |
//! | `start_child/2`                      | [`start_child`], [`start_dynamic_child`]      |
//! | `terminate_child/2`, `restart_child/2`, `delete_child/2` | [`terminate_child`], [`restart_child`], [`delete_child`] |
//! | `which_children/1`, `count_children/1` | [`which_children`], [`count_children`]      |
//! | SASL supervisor reports              | `tracing` events, target `bream_stdlib::supervisor` |
//!
//! The supervisor is itself a gen_server that traps exits (`server.rs` has the
//! restart logic, `child.rs` how a child is terminated). The chapter
//! docs/supervisor.md explains each concept with examples.

mod api;
mod child;
mod report;
mod server;
mod spec;

pub use api::{
    count_children, delete_child, restart_child, start_child, start_dynamic_child, terminate_child,
    which_children, ChildCounts, ChildError, ChildInfo, ChildKey, Supervisor, SupervisorRef,
    DEFAULT_INTENSITY, DEFAULT_PERIOD,
};
pub use child::ChildState;
pub use spec::{
    ChildSpec, ChildType, Restart, Shutdown, StartFn, Strategy, DEFAULT_WORKER_SHUTDOWN,
};
