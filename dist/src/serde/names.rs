//! Rust names → atoms.
//!
//! Rust names types and variants in CamelCase; Erlang atoms are snake_case. So a
//! type or variant name becomes its snake_case atom (`GetAll` → `get_all`,
//! `HTTPError` → `http_error`; a name already snake_case stays as it is), unless
//! it is written in Erlang's own quotes: `#[serde(rename = "'EXIT'")]` is the atom
//! `'EXIT'` exactly. Field names are already snake_case and are used as written.

use std::borrow::Cow;
use std::cell::RefCell;

use crate::term::{Atom, AtomTooLong};

const SLOTS: usize = 64;

thread_local! {
    /// Recently converted type and variant names, keyed by the address and
    /// length of serde's `&'static str` (one name, one address). Touched only by
    /// [`type_atom`] on this thread. Direct-mapped; a collision replaces.
    static TYPE_ATOMS: RefCell<Vec<Option<(usize, usize, Atom)>>> = RefCell::new(vec![None; SLOTS]);
}

/// The atom for a type or variant name, converted once per thread and then
/// cached: serializing a struct or matching a variant costs no allocation.
pub(crate) fn type_atom(name: &'static str) -> Result<Atom, AtomTooLong> {
    let (ptr, len) = (name.as_ptr() as usize, name.len());
    let slot = (ptr >> 3 ^ len) % SLOTS;
    let hit = TYPE_ATOMS.with(|c| match &c.borrow()[slot] {
        Some((p, l, a)) if *p == ptr && *l == len => Some(a.clone()),
        _ => None,
    });
    if let Some(a) = hit {
        return Ok(a);
    }
    let atom = Atom::try_new(&atom_name(name))?;
    TYPE_ATOMS.with(|c| c.borrow_mut()[slot] = Some((ptr, len, atom.clone())));
    Ok(atom)
}

/// The atom name for a Rust type or variant name (see the module docs).
pub(crate) fn atom_name(name: &str) -> Cow<'_, str> {
    if let Some(inner) = quoted(name) {
        return Cow::Borrowed(inner);
    }
    if !name.bytes().any(|b| b.is_ascii_uppercase()) {
        return Cow::Borrowed(name);
    }
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1);
            let boundary = match prev {
                None => false,
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                Some(_) => false,
            };
            if boundary {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A field name's atom: as written, quotes stripped.
pub(crate) fn field_name(name: &str) -> &str {
    quoted(name).unwrap_or(name)
}

fn quoted(name: &str) -> Option<&str> {
    name.strip_prefix('\'')?.strip_suffix('\'')
}

#[cfg(test)]
mod tests {
    use super::{atom_name, type_atom};

    #[test]
    fn the_cache_gives_the_converted_atom_every_time() {
        let names: Vec<&'static str> = (0..300)
            .map(|i| &*Box::leak(format!("Variant{i}").into_boxed_str()))
            .collect();
        for _ in 0..2 {
            for (i, n) in names.iter().enumerate() {
                assert_eq!(type_atom(n).unwrap().as_str(), format!("variant{i}"));
            }
        }
    }

    #[test]
    fn camel_case_becomes_snake_case() {
        for (rust, atom) in [
            ("Get", "get"),
            ("GetAll", "get_all"),
            ("get_all", "get_all"),
            ("HTTPError", "http_error"),
            ("V2Request", "v2_request"),
            ("EXIT", "exit"),
            ("'EXIT'", "EXIT"),
            ("'Elixir.Foo'", "Elixir.Foo"),
            ("Point3d", "point3d"),
        ] {
            assert_eq!(atom_name(rust), atom, "{rust}");
        }
    }
}
