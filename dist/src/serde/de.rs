//! [`Term`] → Rust value, by serde's data model. The table is docs/terms.md.
//!
//! Decoding is liberal where Erlang has two spellings of one thing: a `String`
//! accepts a binary or a charlist, bytes accept a binary or a list of bytes, a
//! float accepts an integer, `None` accepts `undefined` or `nil`, a struct
//! accepts its record tuple or a map keyed by field atoms. Nothing is dropped:
//! an integer that does not fit, a tuple of the wrong arity or an unknown atom is
//! an error naming what was found.

use ::serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::error::Error;
use super::names::{atom_name, field_name, type_atom};
use super::{ATOM_TOKEN, TERM_TOKEN};
use crate::term::Term;

/// The serde `Deserializer` reading a [`Term`]. Use [`from_term`](crate::from_term).
#[derive(Clone, Copy, Debug)]
pub struct TermDeserializer<'a> {
    term: &'a Term,
}

impl<'a> TermDeserializer<'a> {
    /// A deserializer reading `term`.
    pub fn new(term: &'a Term) -> Self {
        TermDeserializer { term }
    }

    fn mismatch(&self, want: &str) -> Error {
        Error::Message(format!(
            "expected {want}, found {} {}",
            self.term.type_name(),
            Short(self.term)
        ))
    }

    /// The integer as `i128`, when it is an integer that fits.
    fn int(&self) -> Result<i128, Error> {
        match self.term {
            Term::Int(i) => Ok(i128::from(*i)),
            Term::BigInt(b) => b
                .to_i128()
                .ok_or_else(|| Error::Message(format!("integer {b} does not fit 128 bits"))),
            _ => Err(self.mismatch("an integer")),
        }
    }

    fn string(&self) -> Result<Option<String>, Error> {
        match self.term {
            Term::List(items) => items
                .iter()
                .map(|t| match t {
                    Term::Int(c) => u32::try_from(*c).ok().and_then(char::from_u32),
                    _ => None,
                })
                .collect::<Option<String>>()
                .map(Some)
                .ok_or_else(|| self.mismatch("a string (binary or charlist)")),
            _ => Ok(None),
        }
    }
}

/// A term printed for an error message, cut short.
struct Short<'a>(&'a Term);

impl std::fmt::Display for Short<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.0.to_string();
        match s.char_indices().nth(60) {
            Some((i, _)) => write!(f, "{}...", &s[..i]),
            None => f.write_str(&s),
        }
    }
}

macro_rules! int_method {
    ($method:ident, $t:ty, $visit:ident) => {
        fn $method<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
            let i = self.int()?;
            let v = <$t>::try_from(i).map_err(|_| {
                Error::Message(format!("integer {i} does not fit {}", stringify!($t)))
            })?;
            visitor.$visit(v)
        }
    };
}

impl<'a> de::Deserializer<'a> for TermDeserializer<'a> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.term {
            Term::Int(i) => visitor.visit_i64(*i),
            Term::BigInt(b) => match (b.to_i128(), b.to_u128()) {
                (Some(i), _) => visitor.visit_i128(i),
                (_, Some(u)) => visitor.visit_u128(u),
                _ => Err(Error::Message(format!("integer {b} does not fit 128 bits"))),
            },
            Term::Float(v) => visitor.visit_f64(*v),
            Term::Atom(a) => match a.as_str() {
                "true" => visitor.visit_bool(true),
                "false" => visitor.visit_bool(false),
                name => visitor.visit_borrowed_str(name),
            },
            Term::Binary(b) => match std::str::from_utf8(b) {
                Ok(s) => visitor.visit_borrowed_str(s),
                Err(_) => visitor.visit_borrowed_bytes(b),
            },
            Term::Tuple(items) | Term::List(items) => visit_seq(items, visitor),
            Term::Map(pairs) => visitor.visit_map(MapAccess { pairs, value: None }),
            _ => Err(self.mismatch("a term with a Rust shape (use Term or ExternalPid)")),
        }
    }

    fn deserialize_bool<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.term.as_atom() {
            Some("true") => visitor.visit_bool(true),
            Some("false") => visitor.visit_bool(false),
            _ => Err(self.mismatch("the atom true or false")),
        }
    }

    int_method!(deserialize_i8, i8, visit_i8);
    int_method!(deserialize_i16, i16, visit_i16);
    int_method!(deserialize_i32, i32, visit_i32);
    int_method!(deserialize_i64, i64, visit_i64);
    int_method!(deserialize_i128, i128, visit_i128);
    int_method!(deserialize_u8, u8, visit_u8);
    int_method!(deserialize_u16, u16, visit_u16);
    int_method!(deserialize_u32, u32, visit_u32);
    int_method!(deserialize_u64, u64, visit_u64);

    fn deserialize_u128<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.term {
            Term::BigInt(b) => match b.to_u128() {
                Some(u) => visitor.visit_u128(u),
                None => Err(Error::Message(format!("integer {b} does not fit u128"))),
            },
            _ => {
                let i = self.int()?;
                let u = u128::try_from(i)
                    .map_err(|_| Error::Message(format!("integer {i} does not fit u128")))?;
                visitor.visit_u128(u)
            }
        }
    }

    fn deserialize_f32<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.term {
            Term::Float(v) => visitor.visit_f64(*v),
            Term::Int(i) => visitor.visit_f64(*i as f64),
            Term::BigInt(b) => visitor.visit_f64(b.to_f64()),
            _ => Err(self.mismatch("a float")),
        }
    }

    fn deserialize_char<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        let i = self.int()?;
        let c = u32::try_from(i).ok().and_then(char::from_u32);
        c.map_or_else(
            || Err(self.mismatch("a character code")),
            |c| visitor.visit_char(c),
        )
    }

    fn deserialize_str<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.term {
            Term::Binary(b) => match std::str::from_utf8(b) {
                Ok(s) => visitor.visit_borrowed_str(s),
                Err(_) => Err(self.mismatch("a UTF-8 binary")),
            },
            _ => match self.string()? {
                Some(s) => visitor.visit_string(s),
                None => Err(self.mismatch("a string (binary or charlist)")),
            },
        }
    }

    fn deserialize_string<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.term {
            Term::Binary(b) => visitor.visit_borrowed_bytes(b),
            Term::List(items) => {
                let bytes: Option<Vec<u8>> = items
                    .iter()
                    .map(|t| match t {
                        Term::Int(b) => u8::try_from(*b).ok(),
                        _ => None,
                    })
                    .collect();
                match bytes {
                    Some(b) => visitor.visit_byte_buf(b),
                    None => Err(self.mismatch("a binary")),
                }
            }
            _ => Err(self.mismatch("a binary")),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.term.as_atom() {
            Some("undefined" | "nil") => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.term {
            Term::Atom(a) if a == "ok" => visitor.visit_unit(),
            Term::Tuple(t) if t.is_empty() => visitor.visit_unit(),
            _ => Err(self.mismatch("the atom ok")),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'a>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let want = type_atom(name).map_err(|e| Error::Message(e.to_string()))?;
        match self.term {
            Term::Atom(a) if *a == want => visitor.visit_unit(),
            _ => Err(self.mismatch(&format!("the atom {want}"))),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        match name {
            TERM_TOKEN => visitor.visit_byte_buf(crate::etf::encode_to_vec(self.term)?),
            ATOM_TOKEN => match self.term {
                Term::Atom(a) => visitor.visit_borrowed_str(a.as_str()),
                _ => Err(self.mismatch("an atom")),
            },
            _ => visitor.visit_newtype_struct(self),
        }
    }

    fn deserialize_seq<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.term {
            Term::List(items) | Term::Tuple(items) => visit_seq(items, visitor),
            Term::Binary(b) => {
                visitor.visit_seq(de::value::SeqDeserializer::new(b.iter().copied()))
            }
            _ => Err(self.mismatch("a list")),
        }
    }

    fn deserialize_tuple<V: Visitor<'a>>(self, len: usize, visitor: V) -> Result<V::Value, Error> {
        match self.term {
            Term::Tuple(items) | Term::List(items) if items.len() == len => {
                visit_seq(items, visitor)
            }
            _ => Err(self.mismatch(&format!("a tuple of {len}"))),
        }
    }

    fn deserialize_tuple_struct<V: Visitor<'a>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.term {
            Term::Tuple(items) if items.len() == len + 1 && is_type_atom(&items[0], name) => {
                visit_seq(&items[1..], visitor)
            }
            _ => self.deserialize_tuple(len, visitor),
        }
    }

    fn deserialize_map<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.term {
            Term::Map(pairs) => visitor.visit_map(MapAccess { pairs, value: None }),
            _ => Err(self.mismatch("a map")),
        }
    }

    fn deserialize_struct<V: Visitor<'a>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.term {
            Term::Tuple(items)
                if items.len() == fields.len() + 1 && is_type_atom(&items[0], name) =>
            {
                visit_seq(&items[1..], visitor)
            }
            Term::Map(pairs) => visitor.visit_map(MapAccess { pairs, value: None }),
            _ => Err(self.mismatch(&format!(
                "a record {{{}, ...}} of {} fields or a map",
                atom_name(name),
                fields.len()
            ))),
        }
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let (tag, rest): (&Term, &'a [Term]) = match self.term {
            Term::Atom(_) => (self.term, &[]),
            Term::Tuple(items) if !items.is_empty() && items[0].as_atom().is_some() => {
                (&items[0], &items[1..])
            }
            _ => return Err(self.mismatch(&format!("an atom or tagged tuple for enum {name}"))),
        };
        let atom = tag.as_atom().unwrap_or_default();
        let variant = variants
            .iter()
            .find(|v| type_atom(v).is_ok_and(|a| a.as_str() == atom))
            .ok_or_else(|| Error::Message(format!("unknown variant `{atom}` of enum {name}")))?;
        visitor.visit_enum(EnumAccess { variant, rest })
    }

    fn deserialize_identifier<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.term {
            Term::Atom(a) => visitor.visit_borrowed_str(field_name(a.as_str())),
            Term::Binary(_) => self.deserialize_str(visitor),
            Term::Int(i) => {
                visitor.visit_u64(u64::try_from(*i).map_err(|_| self.mismatch("a field name"))?)
            }
            _ => Err(self.mismatch("a field name")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    fn is_human_readable(&self) -> bool {
        false
    }
}

/// Whether `t` is the atom for the Rust type name `name` (cached, see names.rs).
fn is_type_atom(t: &Term, name: &'static str) -> bool {
    match t {
        Term::Atom(a) => type_atom(name).is_ok_and(|want| *a == want),
        _ => false,
    }
}

fn visit_seq<'a, V: Visitor<'a>>(items: &'a [Term], visitor: V) -> Result<V::Value, Error> {
    let mut seq = SeqAccess {
        items: items.iter(),
    };
    let value = visitor.visit_seq(&mut seq)?;
    match seq.items.len() {
        0 => Ok(value),
        n => Err(Error::Message(format!("{n} elements left over"))),
    }
}

struct SeqAccess<'a> {
    items: std::slice::Iter<'a, Term>,
}

impl<'a> de::SeqAccess<'a> for SeqAccess<'a> {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'a>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.items
            .next()
            .map(|t| seed.deserialize(TermDeserializer::new(t)))
            .transpose()
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapAccess<'a> {
    pairs: &'a [(Term, Term)],
    value: Option<&'a Term>,
}

impl<'a> de::MapAccess<'a> for MapAccess<'a> {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(((k, v), rest)) = self.pairs.split_first() else {
            return Ok(None);
        };
        self.pairs = rest;
        self.value = Some(v);
        seed.deserialize(TermDeserializer::new(k)).map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let v = self
            .value
            .take()
            .ok_or_else(|| Error::Message("map value without a key".into()))?;
        seed.deserialize(TermDeserializer::new(v))
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.pairs.len())
    }
}

struct EnumAccess<'a> {
    variant: &'static str,
    rest: &'a [Term],
}

impl<'a> de::EnumAccess<'a> for EnumAccess<'a> {
    type Error = Error;
    type Variant = Self;
    fn variant_seed<V: DeserializeSeed<'a>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        let de: de::value::StrDeserializer<'_, Error> = self.variant.into_deserializer();
        Ok((seed.deserialize(de)?, self))
    }
}

impl<'a> de::VariantAccess<'a> for EnumAccess<'a> {
    type Error = Error;
    fn unit_variant(self) -> Result<(), Error> {
        match self.rest.len() {
            0 => Ok(()),
            n => Err(Error::Message(format!(
                "variant {} takes no fields, found {n}",
                atom_name(self.variant)
            ))),
        }
    }
    fn newtype_variant_seed<T: DeserializeSeed<'a>>(self, seed: T) -> Result<T::Value, Error> {
        match self.rest {
            [one] => seed.deserialize(TermDeserializer::new(one)),
            _ => Err(self.arity(1)),
        }
    }
    fn tuple_variant<V: Visitor<'a>>(self, len: usize, visitor: V) -> Result<V::Value, Error> {
        if self.rest.len() != len {
            return Err(self.arity(len));
        }
        visit_seq(self.rest, visitor)
    }
    fn struct_variant<V: Visitor<'a>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.rest {
            [Term::Map(pairs)] => visitor.visit_map(MapAccess { pairs, value: None }),
            rest if rest.len() == fields.len() => visit_seq(rest, visitor),
            _ => Err(self.arity(fields.len())),
        }
    }
}

impl EnumAccess<'_> {
    fn arity(&self, want: usize) -> Error {
        Error::Message(format!(
            "variant {} takes {want} fields, found {}",
            atom_name(self.variant),
            self.rest.len()
        ))
    }
}

/// Lets `Term` be a serde map key or seq element deserializer directly.
impl<'a> IntoDeserializer<'a, Error> for &'a Term {
    type Deserializer = TermDeserializer<'a>;
    fn into_deserializer(self) -> TermDeserializer<'a> {
        TermDeserializer::new(self)
    }
}
