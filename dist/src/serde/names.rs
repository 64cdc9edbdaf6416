//! Rust names → atoms.
//!
//! Rust names types and variants in CamelCase; Erlang atoms are snake_case. So a
//! type or variant name becomes its snake_case atom (`GetAll` → `get_all`,
//! `HTTPError` → `http_error`; a name already snake_case stays as it is), unless
//! it is written in Erlang's own quotes: `#[serde(rename = "'EXIT'")]` is the atom
//! `'EXIT'` exactly. Field names are already snake_case and are used as written.

use std::borrow::Cow;

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
    use super::atom_name;

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
