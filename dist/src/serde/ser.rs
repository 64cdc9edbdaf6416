//! Rust value → [`Term`], by serde's data model. The table is docs/terms.md.

use ::serde::ser::{self, Serialize};

use super::error::Error;
use super::names::type_atom as cached_type_atom;
use super::{ATOM_TOKEN, TERM_TOKEN};
use crate::term::{Atom, Term};

/// The serde `Serializer` whose output is a [`Term`]. Use [`to_term`](crate::to_term).
#[derive(Clone, Copy, Debug, Default)]
pub struct TermSerializer;

fn atom(name: &str) -> Result<Term, Error> {
    Atom::try_new(name)
        .map(Term::Atom)
        .map_err(|e| Error::Message(format!("cannot be an atom: {e}")))
}

fn type_atom(name: &'static str) -> Result<Term, Error> {
    cached_type_atom(name)
        .map(Term::Atom)
        .map_err(|e| Error::Message(format!("cannot be an atom: {e}")))
}

/// Elements of a list or tuple being built; `tagged` puts an atom first.
#[derive(Debug)]
pub struct SeqBuilder {
    items: Vec<Term>,
    tuple: bool,
}

impl SeqBuilder {
    fn new(tag: Option<Term>, len: usize, tuple: bool) -> Self {
        let mut items = Vec::with_capacity(len + usize::from(tag.is_some()));
        items.extend(tag);
        SeqBuilder { items, tuple }
    }

    fn push<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Error> {
        self.items.push(v.serialize(TermSerializer)?);
        Ok(())
    }

    fn finish(self) -> Term {
        if self.tuple {
            Term::Tuple(self.items)
        } else {
            Term::List(self.items)
        }
    }
}

/// Pairs of a map being built.
#[derive(Debug)]
pub struct MapBuilder {
    pairs: Vec<(Term, Term)>,
    key: Option<Term>,
}

impl ser::Serializer for TermSerializer {
    type Ok = Term;
    type Error = Error;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = SeqBuilder;
    type SerializeMap = MapBuilder;
    type SerializeStruct = SeqBuilder;
    type SerializeStructVariant = SeqBuilder;

    fn serialize_bool(self, v: bool) -> Result<Term, Error> {
        Ok(Term::from(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Term, Error> {
        Ok(Term::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<Term, Error> {
        Ok(Term::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<Term, Error> {
        Ok(Term::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<Term, Error> {
        Ok(Term::from(v))
    }
    fn serialize_i128(self, v: i128) -> Result<Term, Error> {
        Ok(Term::from(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Term, Error> {
        Ok(Term::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<Term, Error> {
        Ok(Term::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<Term, Error> {
        Ok(Term::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<Term, Error> {
        Ok(Term::from(v))
    }
    fn serialize_u128(self, v: u128) -> Result<Term, Error> {
        Ok(Term::from(v))
    }
    fn serialize_f32(self, v: f32) -> Result<Term, Error> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Term, Error> {
        if v.is_finite() {
            Ok(Term::Float(v))
        } else {
            Err(Error::Message(format!(
                "cannot send {v}: Erlang floats are finite"
            )))
        }
    }
    fn serialize_char(self, v: char) -> Result<Term, Error> {
        Ok(Term::Int(i64::from(u32::from(v))))
    }
    fn serialize_str(self, v: &str) -> Result<Term, Error> {
        Ok(Term::Binary(v.as_bytes().to_vec()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Term, Error> {
        Ok(Term::Binary(v.to_vec()))
    }
    fn serialize_none(self) -> Result<Term, Error> {
        Ok(Term::atom("undefined"))
    }
    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Result<Term, Error> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Term, Error> {
        Ok(Term::atom("ok"))
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<Term, Error> {
        type_atom(name)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Term, Error> {
        type_atom(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        v: &T,
    ) -> Result<Term, Error> {
        match name {
            // Term, ExternalPid, ...: their ETF bytes; decode them back.
            TERM_TOKEN => match v.serialize(self)? {
                Term::Binary(bytes) => Ok(crate::etf::decode(&bytes)?.0),
                other => Err(Error::Message(format!(
                    "embedded term must serialize as bytes, not {}",
                    other.type_name()
                ))),
            },
            ATOM_TOKEN => match v.serialize(self)? {
                Term::Binary(bytes) => {
                    let name = std::str::from_utf8(&bytes)
                        .map_err(|_| Error::Message("atom name is not UTF-8".into()))?;
                    atom(name)
                }
                other => Err(Error::Message(format!(
                    "atom must serialize as a string, not {}",
                    other.type_name()
                ))),
            },
            _ => v.serialize(self),
        }
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<Term, Error> {
        Ok(Term::Tuple(vec![type_atom(variant)?, v.serialize(self)?]))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, Error> {
        Ok(SeqBuilder::new(None, len.unwrap_or(0), false))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, Error> {
        Ok(SeqBuilder::new(None, len, true))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<SeqBuilder, Error> {
        Ok(SeqBuilder::new(None, len, true))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqBuilder, Error> {
        Ok(SeqBuilder::new(Some(type_atom(variant)?), len, true))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder, Error> {
        Ok(MapBuilder {
            pairs: Vec::with_capacity(len.unwrap_or(0)),
            key: None,
        })
    }
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<SeqBuilder, Error> {
        Ok(SeqBuilder::new(Some(type_atom(name)?), len, true))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqBuilder, Error> {
        Ok(SeqBuilder::new(Some(type_atom(variant)?), len, true))
    }
    fn is_human_readable(&self) -> bool {
        false
    }
}

impl ser::SerializeSeq for SeqBuilder {
    type Ok = Term;
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Error> {
        self.push(v)
    }
    fn end(self) -> Result<Term, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeTuple for SeqBuilder {
    type Ok = Term;
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Error> {
        self.push(v)
    }
    fn end(self) -> Result<Term, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Term;
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Error> {
        self.push(v)
    }
    fn end(self) -> Result<Term, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleVariant for SeqBuilder {
    type Ok = Term;
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Error> {
        self.push(v)
    }
    fn end(self) -> Result<Term, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeStruct for SeqBuilder {
    type Ok = Term;
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        _key: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        self.push(v)
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), Error> {
        // A record's fields are positional: a skipped field would shift the rest.
        Err(Error::Message(format!(
            "field `{key}` skipped: structs are sent as records (tuples), so every \
             field must be present; use Option (sent as `undefined`) instead"
        )))
    }
    fn end(self) -> Result<Term, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeStructVariant for SeqBuilder {
    type Ok = Term;
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        _key: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        self.push(v)
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), Error> {
        ser::SerializeStruct::skip_field(self, key)
    }
    fn end(self) -> Result<Term, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Term;
    type Error = Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, k: &T) -> Result<(), Error> {
        self.key = Some(k.serialize(TermSerializer)?);
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Error> {
        let k = self
            .key
            .take()
            .ok_or_else(|| Error::Message("map value without a key".into()))?;
        self.pairs.push((k, v.serialize(TermSerializer)?));
        Ok(())
    }
    fn end(self) -> Result<Term, Error> {
        Ok(Term::Map(self.pairs))
    }
}
