//! Term → bytes.
//!
//! Iterative like the decoder (an explicit stack of jobs), so encoding a deep term
//! uses no more native stack than a shallow one. Each term is written in the form
//! OTP 25's `term_to_binary` picks (see the module docs in `etf/mod.rs`).

use super::error::EncodeError;
use super::stack::Stack;
use super::{tag, VERSION};
use crate::term::{Atom, BigInt, BitBinary, ExternalFun, ExternalPid, ExternalPort, ExternalRef};
use crate::term::{Term, MAX_REF_WORDS};

/// Appends `term` to `out` as a whole external term: the version byte 131, then
/// the term, as `term_to_binary/1` would.
///
/// On error `out` may hold a partial term; truncate it to its old length if you
/// keep using the buffer.
///
/// ```
/// use bream_dist::{encode, Term};
/// let mut out = Vec::new();
/// encode(&Term::Tuple(vec![Term::atom("ok"), Term::from(1)]), &mut out).unwrap();
/// assert_eq!(out, [131, 104, 2, 119, 2, b'o', b'k', 97, 1]);
/// ```
pub fn encode(term: &Term, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    out.push(VERSION);
    encode_body(term, out)
}

/// As [`encode`], without the version byte (for a term inside a larger frame that
/// has its own).
pub fn encode_body(term: &Term, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let mut jobs: Jobs<'_> = Stack::new();
    jobs.push(Job::Term(term));
    while let Some(job) = jobs.pop() {
        match job {
            Job::Nil => out.push(tag::NIL),
            Job::Term(t) => write_one(t, out, &mut jobs)?,
        }
    }
    Ok(())
}

/// A fresh buffer holding `term` with its version byte.
///
/// ```
/// use bream_dist::{encode_to_vec, Term};
/// assert_eq!(encode_to_vec(&Term::from(1)).unwrap(), [131, 97, 1]);
/// ```
pub fn encode_to_vec(term: &Term) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    encode(term, &mut out)?;
    Ok(out)
}

/// Work left for the encoder: a term to write, or the `[]` that ends a list.
enum Job<'a> {
    Term(&'a Term),
    Nil,
}

/// The encoder's stack: 32 jobs inline (a control tuple and its message fit).
type Jobs<'a> = Stack<Job<'a>, 32>;

fn len_u32(n: usize, what: &'static str) -> Result<[u8; 4], EncodeError> {
    u32::try_from(n)
        .map(u32::to_be_bytes)
        .map_err(|_| EncodeError::TooLong(what))
}

/// Writes `t`'s header (and the whole of it when it is a leaf); pushes its
/// children as jobs, last first, so they pop in order.
fn write_one<'a>(t: &'a Term, out: &mut Vec<u8>, jobs: &mut Jobs<'a>) -> Result<(), EncodeError> {
    match t {
        Term::Int(i) => write_int(*i, out),
        Term::BigInt(b) => return write_big(b, out),
        Term::Float(v) => {
            if !v.is_finite() {
                return Err(EncodeError::NonFiniteFloat);
            }
            out.push(tag::NEW_FLOAT);
            out.extend_from_slice(&v.to_be_bytes());
        }
        Term::Atom(a) => write_atom(a, out),
        Term::Binary(b) => {
            out.push(tag::BINARY);
            out.extend_from_slice(&len_u32(b.len(), "binary")?);
            out.extend_from_slice(b);
        }
        Term::BitBinary(b) => write_bits(b, out)?,
        Term::Tuple(items) => {
            if let Ok(n) = u8::try_from(items.len()) {
                out.extend_from_slice(&[tag::SMALL_TUPLE, n]);
            } else {
                out.push(tag::LARGE_TUPLE);
                out.extend_from_slice(&len_u32(items.len(), "tuple")?);
            }
            jobs.extend(items.iter().rev().map(Job::Term));
        }
        Term::List(items) if items.is_empty() => out.push(tag::NIL),
        Term::List(items) => {
            if let Some(bytes) = as_string_ext(items) {
                out.push(tag::STRING);
                out.extend_from_slice(&(items.len() as u16).to_be_bytes());
                out.extend(bytes);
            } else {
                out.push(tag::LIST);
                out.extend_from_slice(&len_u32(items.len(), "list")?);
                jobs.push(Job::Nil);
                jobs.extend(items.iter().rev().map(Job::Term));
            }
        }
        Term::ImproperList { head, tail } => {
            out.push(tag::LIST);
            out.extend_from_slice(&len_u32(head.len(), "list")?);
            jobs.push(Job::Term(tail));
            jobs.extend(head.iter().rev().map(Job::Term));
        }
        Term::Map(pairs) => {
            if super::decode::has_duplicate_key(pairs) {
                // Erlang refuses such a map (and with it the whole message).
                return Err(EncodeError::Invalid("map with a duplicate key"));
            }
            out.push(tag::MAP);
            out.extend_from_slice(&len_u32(pairs.len(), "map")?);
            for (k, v) in pairs.iter().rev() {
                jobs.push(Job::Term(v));
                jobs.push(Job::Term(k));
            }
        }
        Term::Pid(p) => write_pid(p, out),
        Term::Port(p) => write_port(p, out),
        Term::Ref(r) => write_ref(r, out)?,
        Term::Fun(f) => write_fun(f, out),
    }
    Ok(())
}

/// A list that `term_to_binary` would write as `STRING_EXT`: under 65536
/// elements, each an integer 0..=255.
fn as_string_ext(items: &[Term]) -> Option<impl Iterator<Item = u8> + '_> {
    if items.len() > usize::from(u16::MAX) {
        return None;
    }
    let all_bytes = items
        .iter()
        .all(|t| matches!(t, Term::Int(i) if (0..=255).contains(i)));
    all_bytes.then(|| {
        items.iter().map(|t| match t {
            Term::Int(i) => *i as u8,
            _ => 0,
        })
    })
}

fn write_int(i: i64, out: &mut Vec<u8>) {
    if let Ok(b) = u8::try_from(i) {
        out.extend_from_slice(&[tag::SMALL_INTEGER, b]);
    } else if let Ok(w) = i32::try_from(i) {
        out.push(tag::INTEGER);
        out.extend_from_slice(&w.to_be_bytes());
    } else {
        let mag = i.unsigned_abs().to_le_bytes();
        let n = 8 - (i.unsigned_abs().leading_zeros() / 8) as usize;
        out.extend_from_slice(&[tag::SMALL_BIG, n as u8, u8::from(i < 0)]);
        out.extend_from_slice(&mag[..n]);
    }
}

fn write_big(b: &BigInt, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    if let Some(i) = b.to_i64() {
        write_int(i, out);
        return Ok(());
    }
    let mag = b.magnitude_le();
    if let Ok(n) = u8::try_from(mag.len()) {
        out.extend_from_slice(&[tag::SMALL_BIG, n]);
    } else {
        out.push(tag::LARGE_BIG);
        out.extend_from_slice(&len_u32(mag.len(), "integer")?);
    }
    out.push(u8::from(b.is_negative()));
    out.extend_from_slice(mag);
    Ok(())
}

pub(crate) fn write_atom(a: &Atom, out: &mut Vec<u8>) {
    let name = a.as_str().as_bytes();
    // At most 255 characters of at most 4 bytes: always fits 16 bits.
    if let Ok(n) = u8::try_from(name.len()) {
        out.extend_from_slice(&[tag::SMALL_ATOM_UTF8, n]);
    } else {
        out.push(tag::ATOM_UTF8);
        out.extend_from_slice(&(name.len() as u16).to_be_bytes());
    }
    out.extend_from_slice(name);
}

fn write_bits(b: &BitBinary, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    if b.bytes.is_empty() || !(1..=7).contains(&b.last_bits) {
        return Err(EncodeError::Invalid(
            "a BitBinary needs at least one byte and last_bits in 1..=7",
        ));
    }
    out.push(tag::BIT_BINARY);
    out.extend_from_slice(&len_u32(b.bytes.len(), "bitstring")?);
    out.push(b.last_bits);
    let (last, whole) = b.bytes.split_last().unwrap_or((&0, &[]));
    out.extend_from_slice(whole);
    // Erlang requires the unused low bits to be zero.
    out.push(last & (0xffu8 << (8 - b.last_bits)));
    Ok(())
}

fn write_pid(p: &ExternalPid, out: &mut Vec<u8>) {
    out.push(tag::NEW_PID);
    write_atom(&p.node, out);
    out.extend_from_slice(&p.id.to_be_bytes());
    out.extend_from_slice(&p.serial.to_be_bytes());
    out.extend_from_slice(&p.creation.to_be_bytes());
}

fn write_port(p: &ExternalPort, out: &mut Vec<u8>) {
    match u32::try_from(p.id) {
        Ok(id) => {
            out.push(tag::NEW_PORT);
            write_atom(&p.node, out);
            out.extend_from_slice(&id.to_be_bytes());
        }
        Err(_) => {
            out.push(tag::V4_PORT);
            write_atom(&p.node, out);
            out.extend_from_slice(&p.id.to_be_bytes());
        }
    }
    out.extend_from_slice(&p.creation.to_be_bytes());
}

fn write_ref(r: &ExternalRef, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    if r.id.is_empty() || r.id.len() > MAX_REF_WORDS {
        return Err(EncodeError::Invalid("a reference has 1 to 5 words"));
    }
    out.push(tag::NEWER_REFERENCE);
    out.extend_from_slice(&(r.id.len() as u16).to_be_bytes());
    write_atom(&r.node, out);
    out.extend_from_slice(&r.creation.to_be_bytes());
    for w in &r.id {
        out.extend_from_slice(&w.to_be_bytes());
    }
    Ok(())
}

fn write_fun(f: &ExternalFun, out: &mut Vec<u8>) {
    match f {
        ExternalFun::Export {
            module,
            function,
            arity,
        } => {
            out.push(tag::EXPORT);
            write_atom(module, out);
            write_atom(function, out);
            out.extend_from_slice(&[tag::SMALL_INTEGER, *arity]);
        }
        ExternalFun::Closure(c) => {
            out.push(tag::NEW_FUN);
            out.extend_from_slice(&c.bytes);
        }
    }
}
