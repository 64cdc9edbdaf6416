//! Bytes → term, safely.
//!
//! The decoder is a loop over an explicit stack of open compound terms
//! ([`Frame`]), never a recursion:
//! 1. read one tag; a leaf (number, atom, binary, pid, ...) is a finished value;
//!    a compound with elements opens a frame (refused past `max_depth`);
//! 2. hand the finished value to the innermost open frame; when that frame has
//!    all its elements it closes into a value, which goes to the frame below —
//!    repeat until a frame still wants more, or no frame is left (done).
//!
//! Every length is checked against the bytes that remain before anything is
//! allocated for it ([`Reader::count`]): each element of a tuple or list takes at
//! least one byte, each map pair two.

use super::error::{DecodeError, DecodeErrorKind as Kind};
use super::reader::Reader;
use super::stack::Stack;
use super::{tag, VERSION};
use crate::term::{atom_from_utf8, Atom, BigInt, BitBinary, Closure, ExternalFun};
use crate::term::{ExternalPid, ExternalPort};
use crate::term::{ExternalRef, Term, MAX_ATOM_CHARS, MAX_REF_WORDS};

/// The nesting [`decode`] accepts by default.
///
/// A decoded term is dropped, cloned, compared and printed by code that recurses
/// once per level (up to ~250 bytes of stack per level in a debug build); at this
/// depth that uses under half of a process's 64 KiB stack
/// (`dist/tests/etf_hostile.rs` runs every such operation at this depth on a
/// 64 KiB thread). Erlang messages rarely nest past a few dozen levels; raise it
/// with [`DecodeOptions::max_depth`] for a process with a bigger stack.
pub const DEFAULT_MAX_DEPTH: usize = 128;

/// How [`decode_with`] reads its input.
///
/// ```
/// use bream_dist::{decode_with, DecodeOptions, Term};
/// let opts = DecodeOptions::new().without_version().max_depth(8);
/// let (t, used) = decode_with(&[97, 7, 0xff], &opts).unwrap();
/// assert_eq!((t, used), (Term::Int(7), 2));
/// ```
#[derive(Clone, Debug)]
pub struct DecodeOptions {
    max_depth: usize,
    version: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            max_depth: DEFAULT_MAX_DEPTH,
            version: true,
        }
    }
}

impl DecodeOptions {
    /// The defaults: version byte expected, [`DEFAULT_MAX_DEPTH`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Refuse terms nested deeper than `depth` compound levels (tuples, lists,
    /// maps): `{[x]}` is 2 deep.
    pub fn max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }

    /// The input starts directly with the term's tag, no version byte.
    pub fn without_version(mut self) -> Self {
        self.version = false;
        self
    }
}

/// Decodes one whole external term (version byte 131 first) from the start of
/// `bytes`; returns it and how many bytes it took. Bytes after it are left alone.
///
/// ```
/// use bream_dist::{decode, Term};
/// let (t, used) = decode(&[131, 104, 2, 100, 0, 2, b'o', b'k', 97, 1]).unwrap();
/// assert_eq!(t.to_string(), "{ok,1}");
/// assert_eq!(used, 10);
/// ```
pub fn decode(bytes: &[u8]) -> Result<(Term, usize), DecodeError> {
    decode_with(bytes, &DecodeOptions::default())
}

/// As [`decode`], for input without the version byte.
pub fn decode_body(bytes: &[u8]) -> Result<(Term, usize), DecodeError> {
    decode_with(bytes, &DecodeOptions::default().without_version())
}

/// As [`decode`], with options.
pub fn decode_with(bytes: &[u8], opts: &DecodeOptions) -> Result<(Term, usize), DecodeError> {
    let mut r = Reader { buf: bytes, pos: 0 };
    if opts.version {
        let v = r.u8()?;
        if v != VERSION {
            return Err(DecodeError::new(0, Kind::BadVersion(v)));
        }
    }
    let term = decode_term(&mut r, opts.max_depth)?;
    Ok((term, r.pos))
}

/// A compound term still being read.
enum Frame {
    Tuple {
        items: Vec<Term>,
        left: usize,
    },
    /// `left` elements still to come, then the tail.
    List {
        items: Vec<Term>,
        left: usize,
    },
    Map {
        pairs: Vec<(Term, Term)>,
        key: Option<Term>,
        left: usize,
    },
}

impl Frame {
    /// Takes the next finished element; returns the closed term when this was the last.
    fn accept(&mut self, value: Term) -> Option<Term> {
        match self {
            Frame::Tuple { items, left } => {
                items.push(value);
                *left -= 1;
                (*left == 0).then(|| Term::Tuple(std::mem::take(items)))
            }
            Frame::List { items, left } if *left > 0 => {
                items.push(value);
                *left -= 1;
                None
            }
            Frame::List { items, .. } => Some(close_list(std::mem::take(items), value)),
            Frame::Map { pairs, key, left } => match key.take() {
                None => {
                    *key = Some(value);
                    None
                }
                Some(k) => {
                    pairs.push((k, value));
                    *left -= 1;
                    (*left == 0).then(|| Term::Map(std::mem::take(pairs)))
                }
            },
        }
    }
}

/// `[items... | tail]`, normalised: a list tail is spliced in, so the result is a
/// `List` or an `ImproperList` whose tail is not a list.
fn close_list(mut items: Vec<Term>, tail: Term) -> Term {
    match tail {
        Term::List(rest) => {
            items.extend(rest);
            Term::List(items)
        }
        Term::ImproperList { head, tail } => {
            items.extend(head);
            Term::ImproperList { head: items, tail }
        }
        tail if items.is_empty() => tail,
        tail => Term::ImproperList {
            head: items,
            tail: Box::new(tail),
        },
    }
}

fn decode_term(r: &mut Reader<'_>, max_depth: usize) -> Result<Term, DecodeError> {
    // Eight open compounds inline: deeper terms spill to the heap.
    let mut stack: Stack<Frame, 8> = Stack::new();
    loop {
        let start = r.pos;
        let mut value = read_item(r)?;
        if let Some(frame) = value.open_frame() {
            if stack.len() >= max_depth {
                return Err(DecodeError::new(start, Kind::TooDeep { max_depth }));
            }
            stack.push(frame);
            continue;
        }
        // Step 2: hand the value down until a frame still wants more.
        loop {
            let Some(top) = stack.last_mut() else {
                return value.into_term();
            };
            match top.accept(value.into_term()?) {
                None => break,
                Some(closed) => {
                    stack.pop();
                    if let Term::Map(pairs) = &closed {
                        if has_duplicate_key(pairs) {
                            // OTP's binary_to_term refuses these too; taking one
                            // value would silently drop the other.
                            return Err(DecodeError::new(
                                r.pos,
                                Kind::Invalid("map with a duplicate key"),
                            ));
                        }
                    }
                    value = Item::Done(closed);
                }
            }
        }
    }
}

/// Whether two pairs share a key (exact equality, as Erlang's map keys).
pub(crate) fn has_duplicate_key(pairs: &[(Term, Term)]) -> bool {
    if pairs.len() <= 16 {
        return pairs
            .iter()
            .enumerate()
            .any(|(i, (k, _))| pairs[..i].iter().any(|(j, _)| j == k));
    }
    let mut keys: Vec<&Term> = pairs.iter().map(|(k, _)| k).collect();
    keys.sort_unstable();
    keys.windows(2).any(|w| w[0] == w[1])
}

/// What one tag read gives: a finished value or the header of a compound.
enum Item {
    Done(Term),
    Tuple(usize),
    List(usize),
    Map(usize),
}

impl Item {
    /// A frame for a compound that has elements; `None` for a finished value
    /// (empty compounds are finished at once).
    fn open_frame(&mut self) -> Option<Frame> {
        match *self {
            Item::Done(_) => None,
            Item::Tuple(0) => {
                *self = Item::Done(Term::Tuple(Vec::new()));
                None
            }
            Item::Map(0) => {
                *self = Item::Done(Term::Map(Vec::new()));
                None
            }
            Item::Tuple(n) => Some(Frame::Tuple {
                items: Vec::with_capacity(n),
                left: n,
            }),
            // A list of n elements is still open for its tail when n is 0.
            Item::List(n) => Some(Frame::List {
                items: Vec::with_capacity(n),
                left: n,
            }),
            Item::Map(n) => Some(Frame::Map {
                pairs: Vec::with_capacity(n),
                key: None,
                left: n,
            }),
        }
    }

    fn into_term(self) -> Result<Term, DecodeError> {
        match self {
            Item::Done(t) => Ok(t),
            // open_frame turned every other item into a frame or a Done.
            _ => Err(DecodeError::new(0, Kind::Invalid("decoder state"))),
        }
    }
}

/// Reads one tag and what belongs to it.
fn read_item(r: &mut Reader<'_>) -> Result<Item, DecodeError> {
    let at = r.pos;
    let t = r.u8()?;
    let done = |t: Term| Ok(Item::Done(t));
    match t {
        tag::SMALL_INTEGER => done(Term::Int(i64::from(r.u8()?))),
        tag::INTEGER => done(Term::Int(i64::from(r.u32()? as i32))),
        tag::SMALL_BIG => {
            let n = usize::from(r.u8()?);
            done(read_big(r, n)?)
        }
        tag::LARGE_BIG => {
            let n = r.count(u64::from(r.peek_u32()?), 1, 5)?;
            r.pos += 4;
            done(read_big(r, n)?)
        }
        tag::NEW_FLOAT => {
            let v = f64::from_be_bytes(r.array()?);
            if !v.is_finite() {
                return Err(DecodeError::new(at, Kind::BadFloat));
            }
            done(Term::Float(v))
        }
        tag::FLOAT => done(read_old_float(r, at)?),
        tag::ATOM | tag::SMALL_ATOM | tag::ATOM_UTF8 | tag::SMALL_ATOM_UTF8 => {
            done(Term::Atom(read_atom_body(r, t, at)?))
        }
        tag::BINARY => {
            let n = r.count(u64::from(r.peek_u32()?), 1, 4)?;
            r.pos += 4;
            done(Term::Binary(r.bytes(n)?.to_vec()))
        }
        tag::BIT_BINARY => done(read_bits(r, at)?),
        tag::SMALL_TUPLE => Ok(Item::Tuple(usize::from(r.u8()?))),
        tag::LARGE_TUPLE => {
            let n = r.count(u64::from(r.peek_u32()?), 1, 4)?;
            r.pos += 4;
            Ok(Item::Tuple(n))
        }
        tag::NIL => done(Term::List(Vec::new())),
        tag::STRING => {
            let n = usize::from(r.u16()?);
            done(Term::List(
                r.bytes(n)?
                    .iter()
                    .map(|b| Term::Int(i64::from(*b)))
                    .collect(),
            ))
        }
        tag::LIST => {
            // n elements and a tail: at least n + 1 bytes.
            let n = r.count(u64::from(r.peek_u32()?) + 1, 1, 4)? - 1;
            r.pos += 4;
            Ok(Item::List(n))
        }
        tag::MAP => {
            let n = r.count(u64::from(r.peek_u32()?), 2, 4)?;
            r.pos += 4;
            Ok(Item::Map(n))
        }
        tag::NEW_PID | tag::PID => done(Term::Pid(read_pid(r, t)?)),
        tag::NEW_PORT | tag::V4_PORT | tag::PORT => done(Term::Port(read_port(r, t)?)),
        tag::NEWER_REFERENCE | tag::NEW_REFERENCE | tag::REFERENCE => {
            done(Term::Ref(read_ref(r, t, at)?))
        }
        tag::EXPORT => done(Term::Fun(read_export(r)?)),
        tag::NEW_FUN => done(Term::Fun(read_closure(r, at)?)),
        tag::COMPRESSED => Err(DecodeError::new(at, Kind::Unsupported("a COMPRESSED term"))),
        tag::ATOM_CACHE_REF => Err(DecodeError::new(
            at,
            Kind::Unsupported("ATOM_CACHE_REF outside a distribution header"),
        )),
        tag::FUN => Err(DecodeError::new(
            at,
            Kind::Unsupported("FUN_EXT (pre-R8 fun)"),
        )),
        tag::LOCAL => Err(DecodeError::new(at, Kind::Unsupported("LOCAL_EXT"))),
        other => Err(DecodeError::new(at, Kind::UnknownTag(other))),
    }
}

fn read_big(r: &mut Reader<'_>, n: usize) -> Result<Term, DecodeError> {
    let at = r.pos;
    let negative = match r.u8()? {
        0 => false,
        1 => true,
        _ => {
            return Err(DecodeError::new(
                at,
                Kind::Invalid("integer sign byte is not 0 or 1"),
            ))
        }
    };
    let mag = r.bytes(n)?.to_vec();
    Ok(Term::from(BigInt::from_sign_magnitude(negative, mag)))
}

/// `FLOAT_EXT`: 31 bytes of `printf("%.20e")` text, NUL-padded.
fn read_old_float(r: &mut Reader<'_>, at: usize) -> Result<Term, DecodeError> {
    let text = r.bytes(31)?;
    let end = text.iter().position(|b| *b == 0).unwrap_or(text.len());
    let v: f64 = std::str::from_utf8(&text[..end])
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| DecodeError::new(at, Kind::BadFloat))?;
    if !v.is_finite() {
        return Err(DecodeError::new(at, Kind::BadFloat));
    }
    Ok(Term::Float(v))
}

fn read_bits(r: &mut Reader<'_>, at: usize) -> Result<Term, DecodeError> {
    let n = r.count(u64::from(r.peek_u32()?), 1, 5)?;
    r.pos += 4;
    let bits = r.u8()?;
    let bytes = r.bytes(n)?;
    match (n, bits) {
        (0, _) => Ok(Term::Binary(Vec::new())),
        (_, 8) => Ok(Term::Binary(bytes.to_vec())),
        (_, 1..=7) => {
            let mut bytes = bytes.to_vec();
            if let Some(last) = bytes.last_mut() {
                *last &= 0xffu8 << (8 - bits);
            }
            Ok(Term::BitBinary(BitBinary {
                bytes,
                last_bits: bits,
            }))
        }
        _ => Err(DecodeError::new(
            at,
            Kind::Invalid("bit count outside 1..=8"),
        )),
    }
}

/// An atom, tag included (the node of a pid, a fun's module, ...).
fn read_atom(r: &mut Reader<'_>) -> Result<Atom, DecodeError> {
    let at = r.pos;
    match r.u8()? {
        t @ (tag::ATOM | tag::SMALL_ATOM | tag::ATOM_UTF8 | tag::SMALL_ATOM_UTF8) => {
            read_atom_body(r, t, at)
        }
        tag::ATOM_CACHE_REF => Err(DecodeError::new(
            at,
            Kind::Unsupported("ATOM_CACHE_REF outside a distribution header"),
        )),
        _ => Err(DecodeError::new(at, Kind::Invalid("expected an atom"))),
    }
}

fn read_atom_body(r: &mut Reader<'_>, t: u8, at: usize) -> Result<Atom, DecodeError> {
    let n = match t {
        tag::ATOM | tag::ATOM_UTF8 => usize::from(r.u16()?),
        _ => usize::from(r.u8()?),
    };
    let bytes = r.bytes(n)?;
    let bad = |_| DecodeError::new(at, Kind::BadAtom);
    match t {
        // Latin-1: every byte is the code point of the same value; ASCII is
        // already UTF-8.
        tag::ATOM | tag::SMALL_ATOM if !bytes.is_ascii() => {
            if n > MAX_ATOM_CHARS {
                return Err(DecodeError::new(at, Kind::BadAtom));
            }
            let name: String = bytes.iter().map(|b| char::from(*b)).collect();
            atom_from_utf8(name.as_bytes()).map_err(bad)
        }
        _ => atom_from_utf8(bytes).map_err(bad),
    }
}

fn read_pid(r: &mut Reader<'_>, t: u8) -> Result<ExternalPid, DecodeError> {
    let node = read_atom(r)?;
    let id = r.u32()?;
    let serial = r.u32()?;
    let creation = if t == tag::NEW_PID {
        r.u32()?
    } else {
        u32::from(r.u8()?)
    };
    Ok(ExternalPid {
        node,
        id,
        serial,
        creation,
    })
}

fn read_port(r: &mut Reader<'_>, t: u8) -> Result<ExternalPort, DecodeError> {
    let node = read_atom(r)?;
    let id = if t == tag::V4_PORT {
        r.u64()?
    } else {
        u64::from(r.u32()?)
    };
    let creation = if t == tag::PORT {
        u32::from(r.u8()?)
    } else {
        r.u32()?
    };
    Ok(ExternalPort { node, id, creation })
}

fn read_ref(r: &mut Reader<'_>, t: u8, at: usize) -> Result<ExternalRef, DecodeError> {
    let words = if t == tag::REFERENCE {
        1
    } else {
        usize::from(r.u16()?)
    };
    if words == 0 || words > MAX_REF_WORDS {
        return Err(DecodeError::new(
            at,
            Kind::Invalid("reference with 0 or more than 5 words"),
        ));
    }
    let node = read_atom(r)?;
    let (creation, id) = if t == tag::REFERENCE {
        let id = vec![r.u32()?];
        (u32::from(r.u8()?), id)
    } else {
        let creation = if t == tag::NEWER_REFERENCE {
            r.u32()?
        } else {
            u32::from(r.u8()?)
        };
        let id = (0..words).map(|_| r.u32()).collect::<Result<_, _>>()?;
        (creation, id)
    };
    Ok(ExternalRef { node, creation, id })
}

fn read_export(r: &mut Reader<'_>) -> Result<ExternalFun, DecodeError> {
    let module = read_atom(r)?;
    let function = read_atom(r)?;
    let at = r.pos;
    if r.u8()? != tag::SMALL_INTEGER {
        return Err(DecodeError::new(
            at,
            Kind::Invalid("export arity is not a small integer"),
        ));
    }
    Ok(ExternalFun::Export {
        module,
        function,
        arity: r.u8()?,
    })
}

/// `NEW_FUN_EXT`, kept opaque: Size (which counts itself) bounds the whole body;
/// the header is read only to print the fun as Erlang does.
fn read_closure(r: &mut Reader<'_>, at: usize) -> Result<ExternalFun, DecodeError> {
    let size = r.peek_u32()? as usize;
    if size < 4 {
        return Err(DecodeError::new(
            at,
            Kind::Invalid("NEW_FUN_EXT size below 4"),
        ));
    }
    let bytes = r.bytes(size)?;
    let mut h = Reader { buf: bytes, pos: 4 };
    let arity = h.u8()?;
    h.bytes(16 + 4 + 4)?; // Uniq, Index, NumFree
    let module = read_atom(&mut h)?;
    let old_index = read_small_u32(&mut h)?;
    let old_uniq = read_small_u32(&mut h)?;
    Ok(ExternalFun::Closure(Closure {
        module,
        arity,
        old_index,
        old_uniq,
        bytes: bytes.to_vec(),
    }))
}

/// A `SMALL_INTEGER_EXT` or `INTEGER_EXT` read as the `u32` it holds.
fn read_small_u32(r: &mut Reader<'_>) -> Result<u32, DecodeError> {
    let at = r.pos;
    match r.u8()? {
        tag::SMALL_INTEGER => Ok(u32::from(r.u8()?)),
        tag::INTEGER => Ok(r.u32()?),
        _ => Err(DecodeError::new(at, Kind::Invalid("expected an integer"))),
    }
}
