//! The dynamic Erlang term.
//!
//! Everything an Erlang node can send is a *term*: a number, an atom, a binary, a
//! tuple, a list, a map, a pid, a port, a reference or a fun. [`Term`] is one Rust
//! value for any of them — the type for messages that have no Rust type of their
//! own, and the middle stage of the serde mapping (`crate::serde`).
//!
//! Shapes follow the wire, not the BEAM heap:
//! - integers are `i64` ([`Term::Int`]) with a [`BigInt`] for the rest;
//! - a proper list is a `Vec` ([`Term::List`], `[]` is the empty one); an improper
//!   list keeps its non-list tail ([`Term::ImproperList`]);
//! - a map keeps its pairs in wire order ([`Term::Map`]); equality and order
//!   are Erlang's (`order.rs`): `#{a => 1, b => 2}` equals `#{b => 2, a => 1}`,
//!   and `1` does not equal `1.0` (`=:=`);
//! - pids, ports and references carry the node's name and creation
//!   ([`ExternalPid`], [`ExternalPort`], [`ExternalRef`]): on the wire every pid is
//!   external. The node layer maps them to and from bream's own `Pid`.
//!
//! `Display` prints a term as Erlang's `io:format("~w", [T])` does (see
//! `display.rs`), except that pids, ports and refs show their node's name where
//! Erlang shows an index into its node table.
//!
//! Depth: `Clone`, `PartialEq`, `Ord`, `Hash`, `Debug`, `Display` and `Drop` of a term recurse once
//! per level of nesting. The decoder bounds nesting (`etf::DecodeOptions`), so a
//! decoded term is always safe to drop on a process stack.

mod bigint;
mod display;
mod intern;
mod order;

use std::fmt;
use std::sync::Arc;

pub use bigint::BigInt;
pub(crate) use intern::atom_from_utf8;

/// The most characters an atom may have (Erlang's `MAX_ATOM_CHARACTERS`).
pub const MAX_ATOM_CHARS: usize = 255;

/// An Erlang atom: an interned name such as `ok`, `'EXIT'` or `'bream@localhost'`.
///
/// Clones are cheap (a reference count). At most [`MAX_ATOM_CHARS`] characters.
///
/// ```
/// use bream_dist::Atom;
/// let ok = Atom::new("ok");
/// assert_eq!(ok.as_str(), "ok");
/// assert_eq!(ok.to_string(), "ok");
/// assert_eq!(Atom::new("EXIT").to_string(), "'EXIT'"); // printed as Erlang quotes it
/// assert!(Atom::try_new(&"x".repeat(256)).is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Atom(Arc<str>);

/// An atom name longer than [`MAX_ATOM_CHARS`] characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AtomTooLong {
    /// How many characters the name had.
    pub chars: usize,
}

impl fmt::Display for AtomTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "atom of {} characters (the limit is {MAX_ATOM_CHARS})",
            self.chars
        )
    }
}

impl std::error::Error for AtomTooLong {}

impl Atom {
    /// The atom named `name`.
    ///
    /// # Panics
    /// When `name` has more than [`MAX_ATOM_CHARS`] characters; use
    /// [`Atom::try_new`] for names that come from outside.
    pub fn new(name: &str) -> Atom {
        match Atom::try_new(name) {
            Ok(a) => a,
            Err(e) => panic!("Atom::new: {e}"),
        }
    }

    /// The atom named `name`, or an error when it is too long for Erlang.
    pub fn try_new(name: &str) -> Result<Atom, AtomTooLong> {
        // Byte length bounds character count from above: skip the count when short.
        if name.len() > MAX_ATOM_CHARS {
            let chars = name.chars().count();
            if chars > MAX_ATOM_CHARS {
                return Err(AtomTooLong { chars });
            }
        }
        Ok(Atom(Arc::from(name)))
    }

    /// The atom's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Atom({self})")
    }
}

impl From<&str> for Atom {
    /// As [`Atom::new`] (panics on a name over 255 characters).
    fn from(name: &str) -> Atom {
        Atom::new(name)
    }
}

impl AsRef<str> for Atom {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for Atom {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Atom {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A pid as the wire carries it (`NEW_PID_EXT`): the node it lives on and the
/// node-local numbers. Erlang prints it `<N.Id.Serial>`.
///
/// `creation` tells incarnations of a node apart: a pid from an earlier run of a
/// node with the same name has another creation and must not reach the new one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ExternalPid {
    /// The node's name, e.g. `'erl@localhost'`.
    pub node: Atom,
    /// The process number on that node (15 bits used by the BEAM, 32 on the wire).
    pub id: u32,
    /// The serial, bumped when `id`s wrap around.
    pub serial: u32,
    /// The node incarnation.
    pub creation: u32,
}

/// A port as the wire carries it (`V4_PORT_EXT`/`NEW_PORT_EXT`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ExternalPort {
    /// The node's name.
    pub node: Atom,
    /// The port number on that node.
    pub id: u64,
    /// The node incarnation.
    pub creation: u32,
}

/// A reference as the wire carries it (`NEWER_REFERENCE_EXT`): the node, its
/// creation and one to five 32-bit words (`make_ref()` gives three; aliases and
/// process-bound refs may carry more).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ExternalRef {
    /// The node's name.
    pub node: Atom,
    /// The node incarnation.
    pub creation: u32,
    /// The reference's words, as on the wire (first word first). 1 to 5 words.
    pub id: Vec<u32>,
}

/// The most words a reference may carry on the wire (OTP 26's limit).
pub const MAX_REF_WORDS: usize = 5;

/// A bitstring whose length is not a whole number of bytes, e.g. `<<1:3>>`.
///
/// Whole-byte bitstrings are [`Term::Binary`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BitBinary {
    /// The bytes; the last one holds `last_bits` significant bits in its high end,
    /// the rest are zero.
    pub bytes: Vec<u8>,
    /// Significant bits of the last byte, 1 to 7.
    pub last_bits: u8,
}

/// A fun.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExternalFun {
    /// `fun Module:Function/Arity` (`EXPORT_EXT`): the one kind of fun that means
    /// the same thing on every node.
    Export {
        /// The module.
        module: Atom,
        /// The function.
        function: Atom,
        /// The arity.
        arity: u8,
    },
    /// A closure (`NEW_FUN_EXT`), carried opaquely: bream cannot run Erlang code,
    /// but it can hold a closure and send it back.
    Closure(Closure),
}

/// An Erlang closure received from a peer, kept as its wire bytes.
///
/// Printed as Erlang prints it, `#Fun<Module.Index.Uniq>`; encoded back unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Closure {
    pub(crate) module: Atom,
    pub(crate) arity: u8,
    pub(crate) old_index: u32,
    pub(crate) old_uniq: u32,
    /// The `NEW_FUN_EXT` body after the tag byte (Size field included).
    pub(crate) bytes: Vec<u8>,
}

impl Closure {
    /// The module that defines the fun.
    pub fn module(&self) -> &Atom {
        &self.module
    }

    /// How many arguments the fun takes.
    pub fn arity(&self) -> u8 {
        self.arity
    }
}

/// Any Erlang term. See the module docs for the shapes.
///
/// `Debug` prints the same Erlang syntax as `Display`.
///
/// ```
/// use bream_dist::{Atom, Term};
/// let t = Term::Tuple(vec![Term::atom("ok"), Term::from(42), Term::from("hi")]);
/// assert_eq!(t.to_string(), "{ok,42,<<104,105>>}"); // ~w prints binaries as bytes
/// ```
pub enum Term {
    /// An integer that fits `i64`.
    Int(i64),
    /// An integer outside `i64`.
    BigInt(BigInt),
    /// A float (always finite: Erlang has no NaN or infinity).
    Float(f64),
    /// An atom.
    Atom(Atom),
    /// A binary (a bitstring of whole bytes).
    Binary(Vec<u8>),
    /// A bitstring that is not a whole number of bytes.
    BitBinary(BitBinary),
    /// A tuple `{A, B, ...}`.
    Tuple(Vec<Term>),
    /// A proper list `[A, B, ...]`; `List(vec![])` is `[]` (nil).
    List(Vec<Term>),
    /// An improper list `[A, B | Tail]`: `head` is not empty and `tail` is not a list.
    ImproperList {
        /// The elements before the `|`.
        head: Vec<Term>,
        /// The tail, which is not a list.
        tail: Box<Term>,
    },
    /// A map `#{K => V, ...}`, pairs in wire order (equality ignores the order).
    Map(Vec<(Term, Term)>),
    /// A pid.
    Pid(ExternalPid),
    /// A port.
    Port(ExternalPort),
    /// A reference.
    Ref(ExternalRef),
    /// A fun.
    Fun(ExternalFun),
}

impl fmt::Debug for Term {
    /// Erlang syntax, as `Display`: shorter to read than the Rust structure, and
    /// lighter on the stack for deep terms.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Clone for Term {
    /// Written out (not derived) to keep the stack per level of nesting small:
    /// this frame only dispatches; the work is in out-of-line helpers.
    fn clone(&self) -> Term {
        match self {
            Term::Tuple(items) => Term::Tuple(clone_all(items)),
            Term::List(items) => Term::List(clone_all(items)),
            Term::Map(pairs) => Term::Map(clone_pairs(pairs)),
            other => other.clone_rare(),
        }
    }
}

#[inline(never)]
fn clone_all(items: &[Term]) -> Vec<Term> {
    let mut out = Vec::with_capacity(items.len());
    for t in items {
        out.push(Term::clone(t));
    }
    out
}

#[inline(never)]
fn clone_pairs(pairs: &[(Term, Term)]) -> Vec<(Term, Term)> {
    let mut out = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        out.push((Term::clone(k), Term::clone(v)));
    }
    out
}

impl Term {
    /// Clone of the variants `Clone::clone` does not spell out (kept out of line
    /// so its frame does not weigh on every level).
    #[inline(never)]
    fn clone_rare(&self) -> Term {
        match self {
            Term::Int(i) => Term::Int(*i),
            Term::Float(v) => Term::Float(*v),
            Term::Atom(a) => Term::Atom(a.clone()),
            Term::BigInt(b) => Term::BigInt(b.clone()),
            Term::Binary(b) => Term::Binary(b.clone()),
            Term::BitBinary(b) => Term::BitBinary(b.clone()),
            Term::ImproperList { head, tail } => Term::ImproperList {
                head: clone_all(head),
                tail: Box::new(Term::clone(tail)),
            },
            Term::Pid(p) => Term::Pid(p.clone()),
            Term::Port(p) => Term::Port(p.clone()),
            Term::Ref(r) => Term::Ref(r.clone()),
            Term::Fun(f) => Term::Fun(f.clone()),
            Term::Tuple(_) | Term::List(_) | Term::Map(_) => Term::clone(self),
        }
    }

    /// The atom `name` as a term. Panics as [`Atom::new`] does.
    pub fn atom(name: &str) -> Term {
        Term::Atom(Atom::new(name))
    }

    /// The empty list `[]`.
    pub fn nil() -> Term {
        Term::List(Vec::new())
    }

    /// The atom's name, if this term is an atom.
    pub fn as_atom(&self) -> Option<&str> {
        match self {
            Term::Atom(a) => Some(a.as_str()),
            _ => None,
        }
    }

    /// The integer as `i64`, if this term is one that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Term::Int(i) => Some(*i),
            Term::BigInt(b) => b.to_i64(),
            _ => None,
        }
    }

    /// The tuple's elements, if this term is a tuple.
    pub fn as_tuple(&self) -> Option<&[Term]> {
        match self {
            Term::Tuple(t) => Some(t),
            _ => None,
        }
    }

    /// The elements, if this term is a proper list.
    pub fn as_list(&self) -> Option<&[Term]> {
        match self {
            Term::List(l) => Some(l),
            _ => None,
        }
    }

    /// The bytes, if this term is a binary.
    pub fn as_binary(&self) -> Option<&[u8]> {
        match self {
            Term::Binary(b) => Some(b),
            _ => None,
        }
    }

    /// The value under `key`, if this term is a map that has it.
    pub fn map_get(&self, key: &Term) -> Option<&Term> {
        match self {
            Term::Map(pairs) => pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Erlang's name for this term's type, for error messages: `integer`, `atom`, ...
    pub fn type_name(&self) -> &'static str {
        match self {
            Term::Int(_) | Term::BigInt(_) => "integer",
            Term::Float(_) => "float",
            Term::Atom(_) => "atom",
            Term::Binary(_) => "binary",
            Term::BitBinary(_) => "bitstring",
            Term::Tuple(_) => "tuple",
            Term::List(l) if l.is_empty() => "nil",
            Term::List(_) => "list",
            Term::ImproperList { .. } => "improper list",
            Term::Map(_) => "map",
            Term::Pid(_) => "pid",
            Term::Port(_) => "port",
            Term::Ref(_) => "reference",
            Term::Fun(_) => "fun",
        }
    }
}

macro_rules! from_small_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Term {
            fn from(v: $t) -> Term {
                Term::Int(i64::from(v))
            }
        }
    )*};
}
from_small_int!(i8, i16, i32, i64, u8, u16, u32);

macro_rules! from_wide_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Term {
            fn from(v: $t) -> Term {
                match i64::try_from(v) {
                    Ok(i) => Term::Int(i),
                    Err(_) => Term::BigInt(BigInt::from(v)),
                }
            }
        }
    )*};
}
from_wide_int!(u64, i128, u128);

impl From<BigInt> for Term {
    /// `Term::Int` when the value fits `i64` (the canonical form), else `Term::BigInt`.
    fn from(b: BigInt) -> Term {
        match b.to_i64() {
            Some(i) => Term::Int(i),
            None => Term::BigInt(b),
        }
    }
}

impl From<f64> for Term {
    fn from(v: f64) -> Term {
        Term::Float(v)
    }
}

impl From<bool> for Term {
    /// The atoms `true` and `false`.
    fn from(v: bool) -> Term {
        Term::atom(if v { "true" } else { "false" })
    }
}

impl From<&str> for Term {
    /// A UTF-8 binary, as Elixir strings and modern Erlang code use.
    fn from(v: &str) -> Term {
        Term::Binary(v.as_bytes().to_vec())
    }
}

impl From<String> for Term {
    /// A UTF-8 binary.
    fn from(v: String) -> Term {
        Term::Binary(v.into_bytes())
    }
}

impl From<Atom> for Term {
    fn from(a: Atom) -> Term {
        Term::Atom(a)
    }
}

impl From<ExternalPid> for Term {
    fn from(p: ExternalPid) -> Term {
        Term::Pid(p)
    }
}

impl From<ExternalRef> for Term {
    fn from(r: ExternalRef) -> Term {
        Term::Ref(r)
    }
}

impl From<ExternalPort> for Term {
    fn from(p: ExternalPort) -> Term {
        Term::Port(p)
    }
}

impl From<Vec<Term>> for Term {
    /// A proper list.
    fn from(v: Vec<Term>) -> Term {
        Term::List(v)
    }
}
