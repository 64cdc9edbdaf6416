//! Printing terms as Erlang's `io:format("~w", [T])` prints them.
//!
//! Two rules need care and cite their source (OTP 25 `io_lib.erl` and
//! `io_lib_format.erl`):
//! - **Atoms** are quoted unless they start with a lowercase letter, continue
//!   with letters, digits, `_` or `@` (Latin-1 letters count), and are not a
//!   reserved word (`io_lib:quote_atom/2`).
//! - **Floats** print the shortest digits that read back to the same value, in
//!   plain or exponent notation, whichever is shorter, plain on a tie, and in
//!   exponent notation from 2^53 up (`io_lib_format:fwrite_g/1`).

use std::fmt::{self, Write};

use super::{Atom, BitBinary, ExternalFun, ExternalPid, ExternalPort, ExternalRef, Term};

/// Erlang's reserved words (OTP 25's `erl_scan:reserved_word/1`), quoted when atoms.
const RESERVED: &[&str] = &[
    "after", "and", "andalso", "band", "begin", "bnot", "bor", "bsl", "bsr", "bxor", "case",
    "catch", "cond", "div", "end", "fun", "if", "let", "not", "of", "or", "orelse", "receive",
    "rem", "try", "when", "xor",
];

fn is_latin1_lower(c: char) -> bool {
    c.is_ascii_lowercase() || (('\u{df}'..='\u{ff}').contains(&c) && c != '\u{f7}')
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || c == '_'
        || c == '@'
        || (('\u{c0}'..='\u{ff}').contains(&c) && c != '\u{d7}' && c != '\u{f7}')
}

fn needs_quotes(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if is_latin1_lower(c) => {}
        _ => return true,
    }
    !chars.all(is_name_char) || RESERVED.contains(&name)
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.as_str();
        if !needs_quotes(name) {
            return f.write_str(name);
        }
        f.write_char('\'')?;
        for c in name.chars() {
            match c {
                '\'' => f.write_str("\\'")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\t' => f.write_str("\\t")?,
                '\r' => f.write_str("\\r")?,
                c if (c as u32) < 0x20 || (c as u32) > 0xff || c == '\u{7f}' => {
                    write!(f, "\\x{{{:X}}}", c as u32)?
                }
                c => f.write_char(c)?,
            }
        }
        f.write_char('\'')
    }
}

/// Writes `v` as Erlang's `~w` does (see the module docs).
pub(crate) fn write_float(f: &mut impl Write, v: f64) -> fmt::Result {
    if v == 0.0 {
        return f.write_str(if v.is_sign_negative() { "-0.0" } else { "0.0" });
    }
    if !v.is_finite() {
        // Not an Erlang value; printed so Debug output of a bad term still reads.
        return write!(f, "{v}");
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "d.ddde[-]x".
    let sci = format!("{:e}", v.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let len = digits.len() as i32;
    // The value is digits × 10^place; exp is the power of the first digit.
    let place = exp - (len - 1);
    let exp_str = exp.to_string();
    let exp_extra = if len == 1 { 2 } else { 1 } + 1 + exp_str.len() as i32;
    if v.is_sign_negative() {
        f.write_char('-')?;
    }
    let exponent_form = |f: &mut dyn Write| -> fmt::Result {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        write!(f, "{first}.{rest}e{exp_str}")
    };
    if place >= 0 {
        let plain_extra = place + 2;
        if plain_extra <= exp_extra && v.abs() < 9_007_199_254_740_992.0 {
            write!(f, "{digits}{}.0", "0".repeat(place as usize))
        } else {
            exponent_form(f)
        }
    } else if exp >= 0 {
        let (int, frac) = digits.split_at((exp + 1) as usize);
        write!(f, "{int}.{frac}")
    } else {
        let plain_extra = 1 - exp;
        if plain_extra <= exp_extra {
            write!(f, "0.{}{digits}", "0".repeat((-exp - 1) as usize))
        } else {
            exponent_form(f)
        }
    }
}

fn write_bytes(f: &mut fmt::Formatter<'_>, bytes: &[u8], tail: Option<(u8, u8)>) -> fmt::Result {
    f.write_str("<<")?;
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            f.write_char(',')?;
        }
        write!(f, "{b}")?;
    }
    if let Some((value, bits)) = tail {
        if !bytes.is_empty() {
            f.write_char(',')?;
        }
        write!(f, "{value}:{bits}")?;
    }
    f.write_str(">>")
}

fn write_seq(f: &mut fmt::Formatter<'_>, items: &[Term]) -> fmt::Result {
    for (i, t) in items.iter().enumerate() {
        if i > 0 {
            f.write_char(',')?;
        }
        write!(f, "{t}")?;
    }
    Ok(())
}

impl fmt::Display for ExternalPid {
    /// `<Node.Id.Serial>`: the node's name where Erlang prints its node-table index.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}.{}.{}>", self.node, self.id, self.serial)
    }
}

impl fmt::Display for ExternalPort {
    /// `#Port<Node.Id>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#Port<{}.{}>", self.node, self.id)
    }
}

impl fmt::Display for ExternalRef {
    /// `#Ref<Node.W3.W2.W1>`: words last first, as Erlang prints them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#Ref<{}", self.node)?;
        for w in self.id.iter().rev() {
            write!(f, ".{w}")?;
        }
        f.write_char('>')
    }
}

impl fmt::Display for ExternalFun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExternalFun::Export {
                module,
                function,
                arity,
            } => write!(f, "fun {module}:{function}/{arity}"),
            ExternalFun::Closure(c) => {
                write!(f, "#Fun<{}.{}.{}>", c.module, c.old_index, c.old_uniq)
            }
        }
    }
}

impl fmt::Display for Term {
    /// As Erlang's `io:format("~w", [Term])`.
    ///
    /// ```
    /// use bream_dist::Term;
    /// let t = Term::List(vec![Term::Float(1.0e10), Term::Float(0.1), Term::atom("Hello")]);
    /// assert_eq!(t.to_string(), "[1.0e10,0.1,'Hello']");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Term::Int(i) => write!(f, "{i}"),
            Term::BigInt(b) => write!(f, "{b}"),
            Term::Float(v) => write_float(f, *v),
            Term::Atom(a) => write!(f, "{a}"),
            Term::Binary(b) => write_bytes(f, b, None),
            Term::BitBinary(BitBinary { bytes, last_bits }) => {
                let bits = (*last_bits).clamp(1, 7);
                let (last, whole) = bytes.split_last().map_or((0, &[][..]), |(l, w)| (*l, w));
                write_bytes(f, whole, Some((last >> (8 - bits), bits)))
            }
            Term::Tuple(items) => {
                f.write_char('{')?;
                write_seq(f, items)?;
                f.write_char('}')
            }
            Term::List(items) => {
                f.write_char('[')?;
                write_seq(f, items)?;
                f.write_char(']')
            }
            Term::ImproperList { head, tail } => {
                f.write_char('[')?;
                write_seq(f, head)?;
                write!(f, "|{tail}]")
            }
            Term::Map(pairs) => {
                // Keys in term order, as Erlang prints (small) maps.
                let mut sorted: Vec<&(Term, Term)> = pairs.iter().collect();
                sorted.sort_by(|a, b| a.0.cmp(&b.0));
                f.write_str("#{")?;
                for (i, (k, v)) in sorted.into_iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write!(f, "{k} => {v}")?;
                }
                f.write_char('}')
            }
            Term::Pid(p) => write!(f, "{p}"),
            Term::Port(p) => write!(f, "{p}"),
            Term::Ref(r) => write!(f, "{r}"),
            Term::Fun(fun) => write!(f, "{fun}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(v: f64) -> String {
        let mut s = String::new();
        write_float(&mut s, v).unwrap();
        s
    }

    /// Expected strings are OTP 25.2's `io:format("~w", [V])`.
    #[test]
    fn floats_print_as_erlang_does() {
        let cases: &[(f64, &str)] = &[
            (1.0e10, "1.0e10"),
            (1.0e21, "1.0e21"),
            (0.1, "0.1"),
            (1.0e-5, "1.0e-5"),
            (123.456, "123.456"),
            (-0.0, "-0.0"),
            (1.0e300, "1.0e300"),
            (5.0e-324, "5.0e-324"),
            (100.0, "100.0"),
            (1000.0, "1.0e3"),
            (0.01, "0.01"),
            (0.001, "0.001"),
            (1234567.0, "1234567.0"),
            (12345678901234567.0, "1.2345678901234568e16"),
            (9007199254740992.0, "9.007199254740992e15"),
            (9007199254740990.0, "9007199254740990.0"),
            (0.00012, "1.2e-4"),
            (0.0001, "0.0001"),
            (0.0012, "0.0012"),
            (120.0, "120.0"),
            (1200.0, "1.2e3"),
            (2.5, "2.5"),
            (-2.5, "-2.5"),
            (1.0, "1.0"),
            (10.0, "10.0"),
        ];
        for (v, want) in cases {
            assert_eq!(&float(*v), want, "float {v:?}");
        }
    }

    #[test]
    fn atoms_quote_as_erlang_does() {
        let cases: &[(&str, &str)] = &[
            ("ok", "ok"),
            ("a@b", "a@b"),
            ("ok_A", "ok_A"),
            ("a-b", "'a-b'"),
            ("1a", "'1a'"),
            ("_a", "'_a'"),
            ("and", "'and'"),
            ("Hello", "'Hello'"),
            ("", "''"),
            ("it's", "'it\\'s'"),
            ("a.b", "'a.b'"),
            ("\u{436}", "'\\x{436}'"),
            ("maybe", "maybe"),
        ];
        for (name, want) in cases {
            assert_eq!(&Atom::new(name).to_string(), want);
        }
    }
}
