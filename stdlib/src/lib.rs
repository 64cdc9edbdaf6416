//! bream-stdlib: OTP's behaviours for bream, built on bream's public API only,
//! as OTP's stdlib is built on the BEAM's BIFs.
//!
//! - [`application`]: programs made of applications that start in dependency
//!   order, stop in reverse, and read their configuration (docs/application.md).
//! - [`gen_server`]: a server process with typed calls, casts and infos, and
//!   calls that never wait forever on a dead server (docs/gen_server.md).
//! - [`gen_statem`]: a process that is a state machine, with OTP's two callback
//!   modes, state enter calls, postponing, inserted events and the three kinds
//!   of timeout (docs/gen_statem.md).
//! - [`supervisor`]: trees of processes that restart what crashed, with OTP's
//!   strategies, restart types, shutdowns and restart intensity
//!   (docs/supervisor.md).
//! - [`sys`]: look inside a running behaviour process and steer it: its state,
//!   suspend and resume, trace and statistics (docs/sys.md).
//! - [`task`]: Elixir's Task and Task.Supervisor: run a function in a process
//!   and await its result; `async_stream` (docs/task.md).
//! - [`registry`], [`name`], [`pg`]: Elixir's Registry, `via` names for
//!   behaviours, OTP's process groups (docs/registry.md).
//!
//! Nothing here uses bream's internals: every call is one a user could write,
//! so this crate is also the proof that the public API is enough to build OTP on.

pub mod application;
mod flush;
pub mod gen_server;
pub mod gen_statem;
pub mod name;
pub mod pg;
pub mod registry;
mod request;
mod start;
pub mod supervisor;
pub mod sys;
pub mod task;

pub use start::StartError;

/// docs/sys.md's Rust example, compiled and run as a doc test so the chapter
/// cannot drift from the API.
#[doc = include_str!("../../docs/sys.md")]
#[cfg(doctest)]
pub struct SysChapterDoctests;
