//! Erlang's External Term Format (ETF): the bytes `term_to_binary/1` makes and
//! every distribution message carries.
//!
//! A term on the wire is a tag byte and a body; a whole term starts with the
//! version byte 131. The tags are OTP's (`erts/emulator/beam/external.h`, and the
//! "External Term Format" chapter of the ERTS User's Guide); [`tag`] lists them.
//!
//! # Encoding
//! [`encode`] writes what OTP 25+ writes over distribution: UTF-8 atoms
//! (`SMALL_ATOM_UTF8_EXT`), `NEW_FLOAT_EXT`, `NEW_PID_EXT`, `NEWER_REFERENCE_EXT`,
//! `V4_PORT_EXT` only for port ids over 32 bits, integers in the smallest of
//! `SMALL_INTEGER_EXT`/`INTEGER_EXT`/`SMALL_BIG_EXT`/`LARGE_BIG_EXT`, and
//! `STRING_EXT` for short lists of bytes — so a term encodes byte for byte as
//! `term_to_binary` encodes it (atoms aside: local `term_to_binary` still writes
//! Latin-1 `ATOM_EXT`).
//!
//! # Decoding hostile bytes
//! The peer may be anyone who knows the cookie, or a bug. The decoder
//! ([`decode`]) therefore:
//! 1. never recurses: compound terms are built on an explicit stack (`decode.rs`),
//!    so its own stack use is constant whatever the input;
//! 2. bounds nesting ([`DecodeOptions::max_depth`], default
//!    [`DEFAULT_MAX_DEPTH`]) because a decoded term is later dropped, cloned and
//!    printed by code that does recurse, on a process's small stack;
//! 3. checks every length against the bytes that remain before allocating: an
//!    element needs at least one byte, so a 4 GB length in a 20-byte frame is an
//!    error, not a 4 GB allocation;
//! 4. never panics: every failure is a [`DecodeError`] naming the byte offset;
//! 5. refuses a map with a duplicate key, as OTP does (and so does [`encode`]):
//!    keeping either value would lose the other silently.
//!
//! Not supported (a clear error): `COMPRESSED` (zlib; OTP never compresses
//! distribution messages on its own), `ATOM_CACHE_REF` (only inside a distribution
//! header with an atom cache), the pre-R8 `FUN_EXT`, and OTP 26's node-local
//! `LOCAL_EXT`.

mod decode;
pub(crate) mod encode;
mod error;
mod reader;
mod stack;

pub use decode::{decode, decode_body, decode_with, DecodeOptions, DEFAULT_MAX_DEPTH};
pub use encode::{encode, encode_body, encode_to_vec};
pub use error::{DecodeError, DecodeErrorKind, EncodeError};

/// The version byte that starts every encoded term.
pub const VERSION: u8 = 131;

/// ETF tag bytes (OTP's `external.h`).
pub mod tag {
    /// `NEW_FLOAT_EXT`: IEEE 754 double, big-endian.
    pub const NEW_FLOAT: u8 = 70;
    /// `BIT_BINARY_EXT`: length, bits in the last byte, bytes.
    pub const BIT_BINARY: u8 = 77;
    /// `COMPRESSED`: zlib-compressed term (not supported).
    pub const COMPRESSED: u8 = 80;
    /// `ATOM_CACHE_REF`: index into a distribution header's atom cache (not supported).
    pub const ATOM_CACHE_REF: u8 = 82;
    /// `NEW_PID_EXT`: node, id, serial, 32-bit creation.
    pub const NEW_PID: u8 = 88;
    /// `NEW_PORT_EXT`: node, 32-bit id, 32-bit creation.
    pub const NEW_PORT: u8 = 89;
    /// `NEWER_REFERENCE_EXT`: length, node, 32-bit creation, words.
    pub const NEWER_REFERENCE: u8 = 90;
    /// `SMALL_INTEGER_EXT`: one unsigned byte.
    pub const SMALL_INTEGER: u8 = 97;
    /// `INTEGER_EXT`: signed 32-bit big-endian.
    pub const INTEGER: u8 = 98;
    /// `FLOAT_EXT`: 31-byte text float (legacy, decoded only).
    pub const FLOAT: u8 = 99;
    /// `ATOM_EXT`: 16-bit length, Latin-1 (legacy, decoded only).
    pub const ATOM: u8 = 100;
    /// `REFERENCE_EXT`: node, one word, 8-bit creation (legacy, decoded only).
    pub const REFERENCE: u8 = 101;
    /// `PORT_EXT`: node, id, 8-bit creation (legacy, decoded only).
    pub const PORT: u8 = 102;
    /// `PID_EXT`: node, id, serial, 8-bit creation (legacy, decoded only).
    pub const PID: u8 = 103;
    /// `SMALL_TUPLE_EXT`: 8-bit arity.
    pub const SMALL_TUPLE: u8 = 104;
    /// `LARGE_TUPLE_EXT`: 32-bit arity.
    pub const LARGE_TUPLE: u8 = 105;
    /// `NIL_EXT`: `[]`.
    pub const NIL: u8 = 106;
    /// `STRING_EXT`: 16-bit length, bytes: a list of small integers.
    pub const STRING: u8 = 107;
    /// `LIST_EXT`: 32-bit length, elements, tail.
    pub const LIST: u8 = 108;
    /// `BINARY_EXT`: 32-bit length, bytes.
    pub const BINARY: u8 = 109;
    /// `SMALL_BIG_EXT`: 8-bit byte count, sign, little-endian magnitude.
    pub const SMALL_BIG: u8 = 110;
    /// `LARGE_BIG_EXT`: 32-bit byte count, sign, little-endian magnitude.
    pub const LARGE_BIG: u8 = 111;
    /// `NEW_FUN_EXT`: a closure.
    pub const NEW_FUN: u8 = 112;
    /// `EXPORT_EXT`: `fun M:F/A`.
    pub const EXPORT: u8 = 113;
    /// `NEW_REFERENCE_EXT`: length, node, 8-bit creation, words (legacy, decoded only).
    pub const NEW_REFERENCE: u8 = 114;
    /// `SMALL_ATOM_EXT`: 8-bit length, Latin-1 (legacy, decoded only).
    pub const SMALL_ATOM: u8 = 115;
    /// `MAP_EXT`: 32-bit pair count, key/value pairs.
    pub const MAP: u8 = 116;
    /// `FUN_EXT`: pre-R8 closure (not supported).
    pub const FUN: u8 = 117;
    /// `ATOM_UTF8_EXT`: 16-bit length, UTF-8.
    pub const ATOM_UTF8: u8 = 118;
    /// `SMALL_ATOM_UTF8_EXT`: 8-bit length, UTF-8.
    pub const SMALL_ATOM_UTF8: u8 = 119;
    /// `V4_PORT_EXT`: node, 64-bit id, 32-bit creation.
    pub const V4_PORT: u8 = 120;
    /// `LOCAL_EXT`: OTP 26 node-local encoding (not supported).
    pub const LOCAL: u8 = 121;
}
