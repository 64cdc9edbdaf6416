//! Erlang's term order, and the equality and hashing that agree with it.
//!
//! Erlang orders all terms (Erlang Reference Manual, "Term Comparisons"):
//!
//! ```text
//! number < atom < reference < fun < port < pid < tuple < map < nil < list < bit string
//! ```
//!
//! - numbers by value; an integer and a float of the same value are *not* equal
//!   here (`=:=`, exact equality, the equality of map keys and pattern matching);
//!   the integer sorts first. Integers beyond 2^53 compare with floats through
//!   `f64`, so that comparison can be off by rounding;
//! - atoms by their text; tuples by size, then element by element; maps by
//!   size, then keys in term order, then values in key order (so a map's pair
//!   order does not matter: `#{a => 1, b => 2}` equals `#{b => 2, a => 1}`);
//! - lists element by element, as chains of cons cells (`[1] < [1, 2]`,
//!   `[1 | a] < [1, 2]`);
//! - binaries byte by byte, then by length;
//! - pids, ports, references and funs by node and numbers: a fixed order, not
//!   necessarily the one a BEAM picks between two of them.
//!
//! `PartialEq`, `Eq`, `Ord` and `Hash` of [`Term`] all follow this, so a `Term`
//! can key a `HashMap` or a `BTreeMap`. Comparison recurses once per level of
//! nesting (see `DecodeOptions::max_depth`).

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use super::{BigInt, ExternalFun, Term};

/// The rank of a term's type in Erlang's order.
fn class(t: &Term) -> u8 {
    match t {
        Term::Int(_) | Term::BigInt(_) | Term::Float(_) => 0,
        Term::Atom(_) => 1,
        Term::Ref(_) => 2,
        Term::Fun(_) => 3,
        Term::Port(_) => 4,
        Term::Pid(_) => 5,
        Term::Tuple(_) => 6,
        Term::Map(_) => 7,
        Term::List(l) if l.is_empty() => 8,
        Term::List(_) | Term::ImproperList { .. } => 9,
        Term::Binary(_) | Term::BitBinary(_) => 10,
    }
}

fn big_cmp(a: &BigInt, b: &BigInt) -> Ordering {
    match (a.is_negative(), b.is_negative()) {
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
        (neg, _) => {
            let (x, y) = (a.magnitude_le(), b.magnitude_le());
            let by_mag = x
                .len()
                .cmp(&y.len())
                .then_with(|| x.iter().rev().cmp(y.iter().rev()));
            if neg {
                by_mag.reverse()
            } else {
                by_mag
            }
        }
    }
}

fn as_big(t: &Term) -> Option<BigInt> {
    match t {
        Term::Int(i) => Some(BigInt::from(*i)),
        Term::BigInt(b) => Some(b.clone()),
        _ => None,
    }
}

fn as_f64(t: &Term) -> f64 {
    match t {
        Term::Int(i) => *i as f64,
        Term::BigInt(b) => b.to_f64(),
        Term::Float(f) => *f,
        _ => 0.0,
    }
}

fn number_cmp(a: &Term, b: &Term) -> Ordering {
    match (a, b) {
        (Term::Int(x), Term::Int(y)) => x.cmp(y),
        (Term::Float(x), Term::Float(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Term::Float(_), _) | (_, Term::Float(_)) => {
            let by_value = as_f64(a).partial_cmp(&as_f64(b)).unwrap_or(Ordering::Equal);
            // Same value: the integer first (they are not exactly equal).
            by_value.then_with(|| matches!(a, Term::Float(_)).cmp(&matches!(b, Term::Float(_))))
        }
        _ => match (as_big(a), as_big(b)) {
            (Some(x), Some(y)) => big_cmp(&x, &y),
            _ => Ordering::Equal,
        },
    }
}

/// A list as its elements and its tail (`None` for `[]`).
fn list_parts(t: &Term) -> (&[Term], Option<&Term>) {
    match t {
        Term::List(items) => (items, None),
        Term::ImproperList { head, tail } => (head, Some(tail)),
        _ => (&[], Some(t)),
    }
}

fn list_cmp(a: &Term, b: &Term) -> Ordering {
    let (xs, xt) = list_parts(a);
    let (ys, yt) = list_parts(b);
    for (x, y) in xs.iter().zip(ys) {
        match x.cmp(y) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    // One side ran out of elements: its tail meets the rest of the other side,
    // which is a non-empty list when elements remain (class 9).
    let tail_class = |t: Option<&Term>| t.map_or(8, class);
    match xs.len().cmp(&ys.len()) {
        Ordering::Less => tail_class(xt).cmp(&9).then(Ordering::Less),
        Ordering::Greater => 9.cmp(&tail_class(yt)).then(Ordering::Greater),
        Ordering::Equal => match (xt, yt) {
            (None, None) => Ordering::Equal,
            (Some(x), Some(y)) => x.cmp(y),
            (None, Some(y)) => 8.cmp(&class(y)),
            (Some(x), None) => class(x).cmp(&8),
        },
    }
}

/// A map's pairs in key order.
fn sorted(pairs: &[(Term, Term)]) -> Vec<&(Term, Term)> {
    let mut v: Vec<&(Term, Term)> = pairs.iter().collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn map_cmp(a: &[(Term, Term)], b: &[(Term, Term)]) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| {
        let (x, y) = (sorted(a), sorted(b));
        let keys = x.iter().map(|p| &p.0).cmp(y.iter().map(|p| &p.0));
        keys.then_with(|| x.iter().map(|p| &p.1).cmp(y.iter().map(|p| &p.1)))
    })
}

fn bits_of(t: &Term) -> (&[u8], usize) {
    match t {
        Term::Binary(b) => (b, b.len() * 8),
        Term::BitBinary(b) => (
            &b.bytes,
            (b.bytes.len().saturating_sub(1)) * 8 + usize::from(b.last_bits),
        ),
        _ => (&[], 0),
    }
}

fn fun_key(f: &ExternalFun) -> (u8, &str, &str, u32, &[u8]) {
    match f {
        ExternalFun::Closure(c) => (0, c.module.as_str(), "", c.old_index, &c.bytes),
        ExternalFun::Export {
            module,
            function,
            arity,
        } => (
            1,
            module.as_str(),
            function.as_str(),
            u32::from(*arity),
            &[],
        ),
    }
}

impl Ord for Term {
    fn cmp(&self, other: &Term) -> Ordering {
        let by_class = class(self).cmp(&class(other));
        if by_class != Ordering::Equal {
            return by_class;
        }
        match (self, other) {
            (Term::Atom(a), Term::Atom(b)) => a.as_str().cmp(b.as_str()),
            (Term::Tuple(a), Term::Tuple(b)) => a.len().cmp(&b.len()).then_with(|| a.iter().cmp(b)),
            (Term::Map(a), Term::Map(b)) => map_cmp(a, b),
            (Term::Pid(a), Term::Pid(b)) => {
                (&a.node, a.serial, a.id, a.creation).cmp(&(&b.node, b.serial, b.id, b.creation))
            }
            (Term::Port(a), Term::Port(b)) => {
                (&a.node, a.id, a.creation).cmp(&(&b.node, b.id, b.creation))
            }
            (Term::Ref(a), Term::Ref(b)) => (&a.node, a.creation)
                .cmp(&(&b.node, b.creation))
                .then_with(|| a.id.iter().rev().cmp(b.id.iter().rev())),
            (Term::Fun(a), Term::Fun(b)) => fun_key(a).cmp(&fun_key(b)),
            _ => match class(self) {
                0 => number_cmp(self, other),
                8 => Ordering::Equal,
                9 => list_cmp(self, other),
                _ => {
                    let ((x, xl), (y, yl)) = (bits_of(self), bits_of(other));
                    x.cmp(y).then(xl.cmp(&yl))
                }
            },
        }
    }
}

impl PartialOrd for Term {
    fn partial_cmp(&self, other: &Term) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Term {
    /// Exact equality (`=:=`): `1` and `1.0` differ, maps compare as sets of pairs.
    fn eq(&self, other: &Term) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Term {}

impl Hash for Term {
    fn hash<H: Hasher>(&self, h: &mut H) {
        class(self).hash(h);
        match self {
            Term::Int(i) => i.hash(h),
            Term::BigInt(b) => match b.to_i64() {
                Some(i) => i.hash(h),
                None => b.hash(h),
            },
            // 0.0 and -0.0 are equal, so they hash alike.
            Term::Float(f) => (if *f == 0.0 { 0.0f64 } else { *f }).to_bits().hash(h),
            Term::Atom(a) => a.hash(h),
            Term::Binary(_) | Term::BitBinary(_) => bits_of(self).hash(h),
            Term::Tuple(items) | Term::List(items) => items.hash(h),
            Term::ImproperList { head, tail } => {
                head.hash(h);
                tail.hash(h);
            }
            Term::Map(pairs) => {
                // Order-insensitive: a sum of per-pair hashes.
                let mut sum = 0u64;
                for p in pairs {
                    let mut one = std::collections::hash_map::DefaultHasher::new();
                    p.hash(&mut one);
                    sum = sum.wrapping_add(one.finish());
                }
                (pairs.len(), sum).hash(h);
            }
            Term::Pid(p) => p.hash(h),
            Term::Port(p) => p.hash(h),
            Term::Ref(r) => r.hash(h),
            Term::Fun(f) => f.hash(h),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &[Term]) -> Vec<Term> {
        let mut v = s.to_vec();
        v.sort();
        v
    }

    #[test]
    fn the_order_of_types_is_erlangs() {
        let sorted = vec![
            Term::from(-(1i128 << 70)),
            Term::from(-1),
            Term::from(1),
            Term::Float(1.0),
            Term::Float(1.5),
            Term::from(1u128 << 70),
            Term::atom("a"),
            Term::atom("b"),
            Term::Tuple(vec![]),
            Term::Tuple(vec![Term::from(9)]),
            Term::Map(vec![]),
            Term::nil(),
            // [1|a] < [1] < [1,2] < [1|<<>>]: tails compare as terms, atom < nil
            // < list < bitstring.
            Term::ImproperList {
                head: vec![Term::from(1)],
                tail: Box::new(Term::atom("a")),
            },
            Term::List(vec![Term::from(1)]),
            Term::List(vec![Term::from(1), Term::from(2)]),
            Term::ImproperList {
                head: vec![Term::from(1)],
                tail: Box::new(Term::Binary(vec![])),
            },
            Term::Binary(vec![]),
            Term::Binary(vec![0]),
        ];
        let mut shuffled = sorted.clone();
        shuffled.reverse();
        assert_eq!(t(&shuffled), sorted);
    }

    #[test]
    fn maps_are_equal_whatever_their_pair_order_and_hash_alike() {
        use std::collections::hash_map::DefaultHasher;
        let a = Term::Map(vec![
            (Term::atom("a"), Term::from(1)),
            (Term::atom("b"), Term::from(2)),
        ]);
        let b = Term::Map(vec![
            (Term::atom("b"), Term::from(2)),
            (Term::atom("a"), Term::from(1)),
        ]);
        assert_eq!(a, b);
        let hash = |t: &Term| {
            let mut h = DefaultHasher::new();
            t.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&a), hash(&b));
        assert_ne!(Term::from(1), Term::Float(1.0));
        assert_eq!(Term::Float(0.0), Term::Float(-0.0));
        assert_eq!(hash(&Term::Float(0.0)), hash(&Term::Float(-0.0)));
        let c = Term::Map(vec![
            (Term::atom("a"), Term::from(1)),
            (Term::atom("b"), Term::from(3)),
        ]);
        assert_ne!(a, c);
    }
}
