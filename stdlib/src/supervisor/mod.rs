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
//! | `Module:init(Args)` → `{ok, {SupFlags, Specs}}` \| `ignore`, at every (re)start | an init closure → [`Init::Ready`]`(Supervisor)` \| [`Init::Ignore`], given to [`start_link`] / [`child_spec`] |
//! | a fixed `{SupFlags, Specs}`          | [`Supervisor::new`]`(strategy).intensity(..).period(..).child(..)` |
//! | `supervisor:start_link/2,3`          | [`start_link`], [`start_link_named`], [`Supervisor::start_link`], [`Supervisor::start`], [`Supervisor::name`] |
//! | `one_for_one`, `one_for_all`, `rest_for_one`, `simple_one_for_one` | [`Strategy`] |
//! | `auto_shutdown => never \| any_significant \| all_significant` | [`AutoShutdown`], [`Supervisor::auto_shutdown`] |
//! | child spec `#{id, start, restart, significant, shutdown, type}` | [`ChildSpec`], [`Restart`], [`ChildSpec::significant`], [`Shutdown`], [`ChildType`] |
//! | `start_child/2` (`{ok, undefined}` for `ignore`) | [`start_child`], [`start_dynamic_child`] → `Ok(None)` |
//! | `terminate_child/2`, `restart_child/2`, `delete_child/2` | [`terminate_child`], [`restart_child`], [`delete_child`] |
//! | `get_childspec/2`, `check_childspecs/2` | [`get_childspec`], [`check_childspecs`] |
//! | `which_children/1`, `count_children/1` | [`which_children`], [`count_children`]      |
//! | `gen_server:stop(Sup)`               | [`stop`]                                      |
//! | `sys:get_state/1`, `suspend/1`, `resume/1`, `get_status/1` on a supervisor | `sys::get_state(&sup)` → [`SupervisorState`], `sys::suspend(&sup)`, ... ([`SupervisorRef`] is a `sys::SysRef`) |
//! | SASL supervisor reports              | `tracing` events, target `bream_stdlib::supervisor` |
//!
//! The supervisor is itself a gen_server that traps exits (`server.rs` has the
//! restart logic, `child.rs` how a child is terminated, `intensity.rs` when
//! to give up, `publish.rs` how it shows its children to the observer's
//! tree view). The chapter docs/supervisor.md explains each concept with
//! examples.

mod api;
mod child;
mod intensity;
mod manage;
mod publish;
mod report;
mod server;
mod spec;

pub use api::{
    child_spec, start, start_link, start_link_named, start_named, stop, Init, Supervisor,
    SupervisorRef, DEFAULT_INTENSITY, DEFAULT_PERIOD,
};
pub use child::ChildState;
pub use manage::{
    count_children, delete_child, get_childspec, restart_child, start_child, start_dynamic_child,
    terminate_child, which_children, ChildCounts, ChildError, ChildInfo, ChildKey,
};
pub use server::SupervisorState;
pub use spec::{
    check_childspecs, AutoShutdown, ChildSpec, ChildType, Restart, Shutdown, SpecError, StartFn,
    Strategy, DEFAULT_WORKER_SHUTDOWN,
};
