//! gen_statem: a process that is a state machine, OTP's behaviour for
//! protocols, devices and anything whose answer depends on what happened before.
//!
//! A gen_server can hold a state machine in its data, but the hard parts come
//! back each time: an event that cannot be handled *yet* (postpone it until the
//! state changes), a timeout that belongs to a state and must die with it, a
//! timeout reset by any event, work to do on entering a state whatever the way
//! in, events the machine sends itself. OTP's `gen_statem` writes them once;
//! this module is that, over bream's public API (design principles: OTP's
//! statem.md; reference: gen_statem(3)):
//!
//! | OTP                                        | bream_stdlib                                   |
//! |--------------------------------------------|------------------------------------------------|
//! | `-behaviour(gen_statem)`, `Data`           | `impl GenStatem for MyData`, `&mut self`        |
//! | `init/1` → `{ok, State, Data, Actions}`    | [`GenStatem::init`] → [`Init::ok`]`(state, data)` + actions |
//! | `callback_mode() -> state_functions`       | [`CallbackMode::state_functions`] + [`StateFunction`] |
//! | `callback_mode() -> handle_event_function` | [`CallbackMode::handle_event_function`]         |
//! | `state_enter`                              | [`StateFunction::with_enter`], [`CallbackMode::state_enter`] |
//! | `{call, From}`, `cast`, `info`, `internal` | [`Event::Call`], [`Event::Cast`], [`Event::Info`], [`Event::Internal`] |
//! | `timeout`, `state_timeout`, `{timeout, N}` | [`Event::EventTimeout`], [`Event::StateTimeout`], [`Event::Timeout`] |
//! | `{next_state, S, D, A}`, `keep_state`, `repeat_state` | [`Transition::next_state`], [`Transition::keep_state`], [`Transition::repeat_state`] |
//! | `stop`, `stop_and_reply`                   | [`Transition::stop`], [`Transition::stop_and_reply`] |
//! | `postpone`, `next_event`, `reply`, `hibernate` | `.postpone(event)`, `.next_event(e)`, `.reply(from, r)`, `.hibernate()` |
//! | `{timeout \| state_timeout \| {timeout,N}, T, C}` | `.event_timeout(t, c)`, `.state_timeout(t, c)`, `.timeout(n, t, c)` |
//! | `{.., cancel}`, `{.., update, C}`          | `.cancel_*timeout(..)`, `.update_*timeout(..)`  |
//! | `start/3`, `start_link/3`, `{local, Name}` | [`start`], [`start_link`], [`start_named`], [`start_link_named`] |
//! | `start/4` options (`timeout`, `hibernate_after`, `debug`) | [`start_opt`] with [`StartOpts`] |
//! | a supervisor child spec                    | [`child_spec`]                                  |
//! | `call/3`, `cast/2`, `reply/2`, `stop/3`    | [`call`], [`cast`], [`reply`], [`stop`]         |
//! | `send_request/2`, `receive_response/2`, `wait_response/2`, `check_response/2` | [`send_request`], [`receive_response`], [`wait_response`], [`check_response`] (shared with gen_server) |
//! | `reqids_new/0`, `reqids_add/3`, `reqids_size/1`, `reqids_to_list/1`, `receive_response/3` & co | [`ReqIds`] |
//! | a response in `handle_event(info, Msg, ..)` | [`Event::Response`], opened with [`check_response`] |
//! | `enter_loop/4,5,6`                         | [`enter_loop`]`(Init::ok(state, data), EnterOpts)` |
//! | `sys:get_state/1` → `{State, Data}`, `format_status/1` | [`sys`](crate::sys) on a [`StatemRef`] → [`StateData`], [`GenStatem::format_status`] |
//!
//! The chapter docs/gen_statem.md walks through each rule with examples;
//! `engine.rs` holds the loop and the numbered transition sequence,
//! `timers.rs` the three kinds of timeout, `debug.rs` what `sys` sees.

mod callbacks;
mod client;
mod debug;
mod engine;
mod server;
mod timers;
mod transition;

pub use crate::gen_server::{CallError, ReplyTo, DEFAULT_TIMEOUT, INFINITY};
pub use crate::name::{NamedRef, ToServer};
pub use crate::request::{
    check_response, receive_response, wait_response, NoResponse, ReqId, ReqIds, Response,
};
pub use crate::start::StartOpts;
pub use callbacks::{
    CallbackMode, Event, GenStatem, HandleEnterFn, HandleEventFn, Init, StateData, StateEnterFn,
    StateFn, StateFunction,
};
pub use client::{call, cast, reply, send_request, stop, StatemRef};
pub use server::{
    child_spec, enter_loop, start, start_link, start_link_named, start_named, start_opt,
    start_opt_named, EnterOpts,
};
pub use transition::{Actions, Enter, Transition};

/// docs/gen_statem.md's Rust examples, compiled and run as doc tests so the
/// chapter can never drift from the API.
#[doc = include_str!("../../../docs/gen_statem.md")]
#[cfg(doctest)]
pub struct ChapterDoctests;
