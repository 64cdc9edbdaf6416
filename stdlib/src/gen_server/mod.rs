//! gen_server: a process that serves requests, OTP's most used behaviour.
//!
//! A server is a process that owns some state and loops: take a message, run the
//! callback for it, maybe answer, repeat. Writing that loop by hand is easy to get
//! subtly wrong: a request whose caller has given up, a caller waiting forever on
//! a server that died, a reply that arrives after the timeout and lies in the
//! mailbox forever, a shutdown that skips the cleanup. OTP's `gen_server` writes
//! it once; this module is that, over bream's public API:
//!
//! | OTP                               | bream_stdlib                               |
//! |-----------------------------------|--------------------------------------------|
//! | `-behaviour(gen_server)`          | `impl GenServer for MyServer`              |
//! | `init/1`                          | [`GenServer::init`] → [`Init`]             |
//! | `handle_call/3`                   | [`GenServer::handle_call`] → [`CallResult`], or one [`HandleCall<R>`] per request type |
//! | `handle_cast/2`, `handle_info/2`  | [`GenServer::handle_cast`], [`GenServer::handle_info`] → [`Next`] |
//! | `handle_continue/2`, `terminate/2`| [`GenServer::handle_continue`], [`GenServer::terminate`] |
//! | `format_status/1`                 | [`GenServer::format_status`]               |
//! | `start/3,4`, `start_link/3,4`, `{local, Name}` | [`start`], [`start_link`], [`start_named`], [`start_link_named`], [`start_opt`] |
//! | `{via, Registry, Key}` names      | [`start_named`]`(`[`Name::via`](crate::name::Name::via)`(..), ..)`, [`NamedRef`] |
//! | `enter_loop/3,4,5`                | [`enter_loop`]                             |
//! | `call/3`, `cast/2`, `reply/2`, `stop/3` | [`call`], [`cast`], [`reply`], [`stop`] |
//! | `From`                            | [`ReplyTo`] (with the caller's [`pid`](ReplyTo::pid)) |
//! | `send_request/2,4`, `receive_response/2`, `wait_response/2`, `check_response/2` | [`send_request`], [`receive_response`], [`wait_response`], [`check_response`] |
//! | `reqids_new/0`, `reqids_add/3`, `reqids_size/1`, `reqids_to_list/1` | [`ReqIds`] |
//! | `sys:get_state/1` & co            | [`crate::sys`]                             |
//!
//! Messages are typed: a [`ServerRef<S>`] only lets a client send what `S`
//! handles, and `call` returns that request's reply type. The chapter
//! docs/gen_server.md walks through each concept with examples; `client.rs`
//! explains how a call is built (markers, monitors, aliases), `server.rs` the
//! start (its init handshake is the crate's `start.rs`, shared with
//! gen_statem), `serve.rs` the loop; the asynchronous requests are the
//! crate's `request.rs`, shared with gen_statem.

mod callbacks;
mod client;
mod serve;
mod server;

pub use crate::name::{NamedRef, ToServer};
pub use crate::request::{
    check_response, receive_response, wait_response, NoResponse, ReqId, ReqIds, Response,
};
pub use crate::start::StartOpts;
pub use callbacks::{CallResult, GenServer, HandleCall, Info, Init, Next};
pub use client::{
    call, cast, reply, send_request, stop, CallError, ReplyTo, ServerRef, DEFAULT_TIMEOUT, INFINITY,
};
pub use server::{
    enter_loop, start, start_link, start_link_named, start_named, start_opt, start_opt_named,
    EnterOpts,
};

pub(crate) use client::{call_pid, down_error, stop_pid};
