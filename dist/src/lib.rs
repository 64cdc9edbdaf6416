//! bream-dist: Erlang's distribution protocol for bream.
//!
//! A bream node speaks the protocol `erl` nodes speak, so it is a real member of an
//! Erlang cluster. See docs/distribution.md.
//!
//! Layout (each module opens with its own essay):
//! - `term`, `etf`: the dynamic [`Term`] and Erlang's External Term Format codec.
//! - `serde`: mapping Rust types (serde) to natural Erlang terms and back.
//! - node, EPMD, handshake, connections: added by the node work.

#![warn(missing_docs)]
