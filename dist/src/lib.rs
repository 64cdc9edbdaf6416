//! bream-dist: Erlang's distribution protocol for bream.
//!
//! A bream node speaks the protocol `erl` nodes speak, so it is a real member of an
//! Erlang cluster: `erl` sees it in `nodes()`, sends to its registered processes,
//! links and monitors its processes, and bream processes do the same to theirs.
//! See docs/distribution.md (the handshake step by step, what is transparent,
//! security, failure semantics) and docs/terms.md (the term mapping).
//!
//! ```no_run
//! use bream_dist::NodeBuilder;
//! let rt = bream::Runtime::builder()
//!     .node("demo@localhost")
//!     .cookie("secret")
//!     .build()
//!     .unwrap();
//! rt.block_on(|| {
//!     // `erl -sname erl -setcookie secret` can now `net_adm:ping('demo@localhost')`.
//!     bream::register("echo", bream::self_pid()).unwrap();
//!     let t: bream_dist::Term = bream::receive();
//!     println!("got {t}");
//! });
//! ```
//!
//! Layout (each module opens with its own essay):
//! - `term`, `etf`: the dynamic [`Term`] and Erlang's External Term Format codec
//!   ([`encode`], [`decode`]).
//! - `serde`: mapping Rust types (serde) to natural Erlang terms and back
//!   ([`to_term`], [`from_term`], [`to_bytes`], [`from_bytes`]); the table is
//!   docs/terms.md.
//! - `node`: starting a node, its configuration, the connection table;
//!   `cookie`, `epmd`, `handshake`, `md5`: what starting and connecting need;
//!   `conn`: one process per connection; `control`: the control messages;
//!   `router`: what the runtime's calls on remote pids become (ADR
//!   dist-0001); `codec`: which Rust types cross the wire; `call`,
//!   `services`: OTP across nodes (gen_server calls, rpc, net_kernel, rex).

#![warn(missing_docs)]

pub mod etf;
// Private, its items re-exported below: a public module named `serde` would
// shadow serde's `#[serde(...)]` attribute in any crate that writes
// `use bream_dist::*;`.
mod serde;
mod term;

mod call;
mod codec;
mod conn;
mod control;
mod cookie;
mod epmd;
pub mod handshake;
mod md5;
mod node;
mod nodes;
mod outbox;
mod router;
mod services;

pub use etf::{
    decode, decode_body, decode_with, encode, encode_body, encode_to_vec, DecodeError,
    DecodeErrorKind, DecodeOptions, EncodeError,
};
pub use serde::{
    from_bytes, from_term, to_bytes, to_term, Error as SerdeError, MapBuilder, SeqBuilder,
    TermDeserializer, TermSerializer,
};
pub use term::{
    Atom, AtomTooLong, BigInt, BitBinary, Closure, ExternalFun, ExternalPid, ExternalPort,
    ExternalRef, Term, MAX_ATOM_CHARS, MAX_REF_WORDS,
};

pub use call::{call, call_term, cast, expose, expose_with_casts, rpc, CallError, Dest};
pub use codec::register;
pub use control::{reason_from_term, reason_to_term};
pub use node::{
    demonitor_node, disconnect_node, listen_port, monitor_node, node_name, node_of, nodes,
    pid_from_term, pid_to_term, start, DistBuilder, NodeBuilder, NodeConfig, NodeDown,
    DEFAULT_NET_TICKTIME,
};
