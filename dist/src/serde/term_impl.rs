//! serde for the term types themselves, so they embed in serde messages.
//!
//! A [`Term`] serializes as a newtype struct named `TERM_TOKEN` around its ETF
//! bytes; [`TermSerializer`](super::TermSerializer) recognises the name and decodes
//! the bytes back into the term (and `TermDeserializer` does the reverse), so an
//! embedded term arrives exactly. An [`Atom`] is a newtype named `ATOM_TOKEN`
//! around its name. Pids, refs and ports go through `Term`.

use std::fmt;

use ::serde::de::{self, Deserialize, Deserializer, Visitor};
use ::serde::ser::{Error as _, Serialize, Serializer};

use super::{ATOM_TOKEN, TERM_TOKEN};
use crate::term::{Atom, ExternalPid, ExternalPort, ExternalRef, Term};

/// The bytes of an encoded term, serialized with `serialize_bytes`.
struct Bytes<'a>(&'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

impl Serialize for Term {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let bytes = crate::etf::encode_to_vec(self).map_err(S::Error::custom)?;
        s.serialize_newtype_struct(TERM_TOKEN, &Bytes(&bytes))
    }
}

struct TermVisitor;

impl<'de> Visitor<'de> for TermVisitor {
    type Value = Term;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an Erlang term in external term format")
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Term, D::Error> {
        d.deserialize_bytes(self)
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Term, E> {
        match crate::etf::decode(v) {
            Ok((t, used)) if used == v.len() => Ok(t),
            Ok(_) => Err(E::custom("bytes left after the term")),
            Err(e) => Err(E::custom(e)),
        }
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Term, A::Error> {
        let mut bytes = Vec::new();
        while let Some(b) = seq.next_element::<u8>()? {
            bytes.push(b);
        }
        self.visit_bytes(&bytes)
    }
}

impl<'de> Deserialize<'de> for Term {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Term, D::Error> {
        d.deserialize_newtype_struct(TERM_TOKEN, TermVisitor)
    }
}

impl Serialize for Atom {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(ATOM_TOKEN, self.as_str())
    }
}

struct AtomVisitor;

impl<'de> Visitor<'de> for AtomVisitor {
    type Value = Atom;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an atom")
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Atom, D::Error> {
        d.deserialize_str(self)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Atom, E> {
        Atom::try_new(v).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for Atom {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Atom, D::Error> {
        d.deserialize_newtype_struct(ATOM_TOKEN, AtomVisitor)
    }
}

/// serde through `Term` for the identifier types (pid, ref, port).
macro_rules! via_term {
    ($t:ident, $variant:ident, $what:literal) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                Term::$variant(self.clone()).serialize(s)
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$t, D::Error> {
                match Term::deserialize(d)? {
                    Term::$variant(v) => Ok(v),
                    other => Err(de::Error::custom(format_args!(
                        "expected a {}, found {} {other}",
                        $what,
                        other.type_name()
                    ))),
                }
            }
        }
    };
}

via_term!(ExternalPid, Pid, "pid");
via_term!(ExternalRef, Ref, "reference");
via_term!(ExternalPort, Port, "port");
