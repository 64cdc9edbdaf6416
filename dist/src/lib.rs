//! bream-dist: Erlang's distribution protocol for bream.
//!
//! A bream node speaks the protocol `erl` nodes speak, so it is a real member of an
//! Erlang cluster. See docs/distribution.md.
//!
//! Layout (each module opens with its own essay):
//! - `term`, `etf`: the dynamic [`Term`] and Erlang's External Term Format codec
//!   ([`encode`], [`decode`]).
//! - `serde`: mapping Rust types (serde) to natural Erlang terms and back
//!   ([`to_term`], [`from_term`], [`to_bytes`], [`from_bytes`]); the table is
//!   docs/terms.md.
//! - node, EPMD, handshake, connections: added by the node work.

#![warn(missing_docs)]

pub mod etf;
pub mod serde;
mod term;

pub use etf::{
    decode, decode_body, decode_with, encode, encode_body, encode_to_vec, DecodeError,
    DecodeErrorKind, DecodeOptions, EncodeError,
};
pub use serde::{from_bytes, from_term, to_bytes, to_term, Error as SerdeError};
pub use term::{
    Atom, AtomTooLong, BigInt, BitBinary, Closure, ExternalFun, ExternalPid, ExternalPort,
    ExternalRef, Term, MAX_ATOM_CHARS, MAX_REF_WORDS,
};
