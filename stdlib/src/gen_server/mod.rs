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
//! | `handle_call/3`                   | [`GenServer::handle_call`] → [`CallResult`]|
//! | `handle_cast/2`, `handle_info/2`  | [`GenServer::handle_cast`], [`GenServer::handle_info`] → [`Next`] |
//! | `handle_continue/2`, `terminate/2`| [`GenServer::handle_continue`], [`GenServer::terminate`] |
//! | `start/3`, `start_link/3`, `{local, Name}` | [`start`], [`start_link`], [`start_named`], [`start_link_named`] |
//! | `{via, Registry, Key}` names              | [`start_named`]`(`[`Name::via`](crate::name::Name::via)`(..), ..)`, [`NamedRef`] |
//! | `call/3`, `cast/2`, `reply/2`, `stop/3` | [`call`], [`cast`], [`reply`], [`stop`] |
//!
//! Messages are typed: a [`ServerRef<S>`] only lets a client send `S::Call` and
//! `S::Cast`, and `call` returns `S::Reply`. The chapter docs/gen_server.md walks
//! through each concept with examples; `client.rs` explains how a call is built
//! (markers, monitors, aliases), `server.rs` the init handshake and the loop.

mod callbacks;
mod client;
mod server;

pub use callbacks::{CallResult, GenServer, Info, Init, Next};
pub use client::{
    call, cast, reply, stop, CallError, From, NamedRef, ServerRef, ToServer, DEFAULT_TIMEOUT,
    INFINITY,
};
pub use server::{start, start_link, start_link_named, start_named};
