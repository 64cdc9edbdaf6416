//! Rust types ↔ natural Erlang terms, through serde.
//!
//! A message type opts in with `#[derive(Serialize, Deserialize)]` and an Erlang
//! process pattern-matches what bream sends, and the other way round. The whole
//! table, with Erlang examples, is docs/terms.md; in short:
//!
//! | Rust | Erlang |
//! |---|---|
//! | integers, `i128`/`u128` | integers (bignums when large) |
//! | `f32`, `f64` | floats (NaN and infinities are an error) |
//! | `bool` | `true`, `false` |
//! | `String`, `&str` | UTF-8 binary `<<"text">>` (charlists accepted back) |
//! | bytes (`serde_bytes`) | binary |
//! | `char` | integer (code point) |
//! | `()` | `ok` |
//! | `None` / `Some(x)` | `undefined` / `x` |
//! | `struct Ping;` | `ping` |
//! | `struct Point { x, y }` | record `{point, X, Y}` (a map accepted back) |
//! | `struct Meters(f64)` | `F` (newtypes are transparent) |
//! | `struct Pair(a, b)`, `(a, b)` | `{A, B}` |
//! | `enum E { Get }` | `get` |
//! | `E::Set(v)` / `E::Move(a, b)` / `E::Put { k, v }` | `{set, V}` / `{move, A, B}` / `{put, K, V}` |
//! | `Vec<T>`, slices, sets | lists |
//! | `HashMap`, `BTreeMap` | maps |
//! | [`Term`], [`ExternalPid`](crate::ExternalPid), [`Atom`](crate::Atom) | themselves |
//!
//! Type and variant names become snake_case atoms (`GetAll` → `get_all`); a name
//! in Erlang quotes, `#[serde(rename = "'EXIT'")]`, is taken as written.
//!
//! **Why records for structs.** Erlang's records are tagged tuples, the shape
//! gen_server messages and OTP APIs use: `-record(point, {x, y})` *is*
//! `{point, X, Y}`, so `#point{x = X}` matches what bream sends. A map would be
//! the better fit for optional fields; decoding accepts one, and a struct that
//! must be a map can be sent as a `HashMap`/`BTreeMap` or a [`Term`].
//!
//! **Nothing is lost silently.** NaN, a skipped field (which would shift a
//! record's positions), an atom name over 255 characters: errors, not guesses.
//! Known ambiguity: `Some(None)` and `None` both send `undefined`, and a
//! `String` field never decodes from an atom.
//!
//! [`Term`] and the pid/ref/port types serialize as their ETF bytes inside a
//! newtype marker that this serializer recognises, so they embed exactly; with
//! another serde format (JSON, bincode) they appear as those bytes.

mod de;
mod error;
mod names;
mod ser;
mod term_impl;

use ::serde::{Deserialize, Serialize};

pub use de::TermDeserializer;
pub use error::Error;
pub use ser::{MapBuilder, SeqBuilder, TermSerializer};

use crate::term::Term;

/// Newtype-struct name marking "these bytes are an encoded term".
pub(crate) const TERM_TOKEN: &str = "$bream_dist::Term";
/// Newtype-struct name marking "this string is an atom".
pub(crate) const ATOM_TOKEN: &str = "$bream_dist::Atom";

/// The term for a Rust value (see the module table).
///
/// ```
/// use bream_dist::to_term;
/// use serde::Serialize;
///
/// #[derive(Serialize)]
/// enum Request { Get, Put(String, u32) }
///
/// assert_eq!(to_term(&Request::Get).unwrap().to_string(), "get");
/// assert_eq!(
///     to_term(&Request::Put("k".into(), 7)).unwrap().to_string(),
///     "{put,<<107>>,7}"
/// );
/// ```
pub fn to_term<T: ?Sized + Serialize>(value: &T) -> Result<Term, Error> {
    value.serialize(TermSerializer)
}

/// The Rust value a term stands for (see the module table).
///
/// ```
/// use bream_dist::{from_term, Term};
/// use serde::Deserialize;
///
/// #[derive(Deserialize, Debug, PartialEq)]
/// struct Point { x: i32, y: i32 }
///
/// // {point, 1, 2}, as -record(point, {x, y}) makes it
/// let t = Term::Tuple(vec![Term::atom("point"), Term::from(1), Term::from(2)]);
/// assert_eq!(from_term::<Point>(&t).unwrap(), Point { x: 1, y: 2 });
/// ```
pub fn from_term<'a, T: Deserialize<'a>>(term: &'a Term) -> Result<T, Error> {
    T::deserialize(TermDeserializer::new(term))
}

/// A Rust value as a whole external term (version byte first), ready to send.
///
/// ```
/// use bream_dist::to_bytes;
/// assert_eq!(to_bytes(&(true, 1)).unwrap(), [131, 104, 2, 119, 4, b't', b'r', b'u', b'e', 97, 1]);
/// ```
pub fn to_bytes<T: ?Sized + Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    Ok(crate::etf::encode_to_vec(&to_term(value)?)?)
}

/// A Rust value from a whole external term; bytes left after the term are an error.
///
/// ```
/// use bream_dist::{from_bytes, to_bytes};
/// let bytes = to_bytes(&vec![1u8, 2, 3]).unwrap();
/// assert_eq!(from_bytes::<Vec<u8>>(&bytes).unwrap(), [1, 2, 3]);
/// ```
pub fn from_bytes<T: ::serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let (term, used) = crate::etf::decode(bytes)?;
    if used != bytes.len() {
        return Err(Error::Message(format!(
            "{} bytes left after the term",
            bytes.len() - used
        )));
    }
    from_term(&term)
}
