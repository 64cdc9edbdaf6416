//! A small per-thread cache of recently decoded atoms.
//!
//! Every distribution message names atoms again and again: the node name inside
//! each pid and reference, `'$gen_call'`, `ok`, record tags. Building an
//! [`Atom`] allocates (`Arc<str>`) and validates UTF-8; the cache turns a repeat
//! into a byte comparison and a reference-count increment.
//!
//! Direct-mapped, 256 slots, keyed by an FNV-1a hash of the name's bytes; a
//! collision simply replaces the slot. Per thread, so there is no lock: the
//! decoder never yields while it holds the cache, so a process that migrates
//! between workers cannot observe another thread's slot half-written. A slot
//! keeps its atom alive until replaced: at most 256 small strings per thread.
//! (The size is a guess, not tuned: a node talks to a handful of peers and
//! uses a few dozen atoms per protocol.)

use std::cell::RefCell;

use super::{Atom, AtomTooLong};

const SLOTS: usize = 256;

thread_local! {
    /// Slot i holds the last atom whose name hashed to i. Touched only by
    /// `atom_from_utf8` on this thread.
    static CACHE: RefCell<Vec<Option<Atom>>> = RefCell::new(vec![None; SLOTS]);
}

fn slot(bytes: &[u8]) -> usize {
    let mut h: u32 = 0x811c_9dc5;
    for &b in bytes {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    (h as usize) & (SLOTS - 1)
}

/// Why bytes are not an atom name.
pub(crate) enum BadName {
    NotUtf8,
    TooLong,
}

impl From<AtomTooLong> for BadName {
    fn from(_: AtomTooLong) -> Self {
        BadName::TooLong
    }
}

/// The atom whose UTF-8 name is `bytes`, from the cache when it was seen lately.
pub(crate) fn atom_from_utf8(bytes: &[u8]) -> Result<Atom, BadName> {
    let i = slot(bytes);
    let hit = CACHE.with(|c| {
        c.borrow()[i]
            .as_ref()
            .filter(|a| a.as_str().as_bytes() == bytes)
            .cloned()
    });
    if let Some(a) = hit {
        return Ok(a);
    }
    let name = std::str::from_utf8(bytes).map_err(|_| BadName::NotUtf8)?;
    let atom = Atom::try_new(name)?;
    CACHE.with(|c| c.borrow_mut()[i] = Some(atom.clone()));
    Ok(atom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeat_is_the_same_allocation_and_collisions_stay_correct() {
        let a = atom_from_utf8(b"erl@localhost").ok().unwrap();
        let b = atom_from_utf8(b"erl@localhost").ok().unwrap();
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        for i in 0..2000 {
            let name = format!("atom_{i}");
            assert_eq!(atom_from_utf8(name.as_bytes()).ok().unwrap().as_str(), name);
        }
        assert!(atom_from_utf8(&[0xff]).is_err());
        assert!(atom_from_utf8("é".repeat(256).as_bytes()).is_err());
    }
}
