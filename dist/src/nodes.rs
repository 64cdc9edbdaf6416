//! The node table: which node a remote [`Pid`]'s node slot names.
//!
//! A bream `Pid` carries a 32-bit node index (ADR dist-0001); this table,
//! global to the OS process, gives each `(node name, creation)` pair one index
//! the first time a pid of it is seen, and never reuses it. A node that
//! restarts gets a new creation, hence a new index: a pid of its previous
//! incarnation keeps naming the old one, and the connection drops what is sent
//! to it (its creation is not the connected peer's). Index 0 is "this node".
//!
//! Entries are never removed: the table grows by one entry per incarnation of
//! a peer ever seen, as the BEAM's node table does until its entries' pids are
//! garbage (bream cannot know when a `Pid` value is gone).

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

use crate::Atom;

/// One incarnation of a node. Cheap to clone (the name is an `Arc`): the send
/// path reads it for every message to a remote pid.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct NodeId {
    pub name: Atom,
    pub creation: u32,
}

#[derive(Default)]
struct Table {
    /// `index - 1` → the incarnation.
    list: Vec<NodeId>,
    index: HashMap<NodeId, u32>,
}

fn table() -> &'static RwLock<Table> {
    static T: OnceLock<RwLock<Table>> = OnceLock::new();
    T.get_or_init(RwLock::default)
}

/// The index of `(name, creation)`, made on first sight. Never 0.
pub(crate) fn intern(name: &Atom, creation: u32) -> u32 {
    let id = NodeId {
        name: name.clone(),
        creation,
    };
    if let Some(&i) = table()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .index
        .get(&id)
    {
        return i;
    }
    let mut t = table().write().unwrap_or_else(|e| e.into_inner());
    if let Some(&i) = t.index.get(&id) {
        return i;
    }
    t.list.push(id.clone());
    let i = u32::try_from(t.list.len()).expect("more than 2^32 node incarnations");
    t.index.insert(id, i);
    i
}

/// The incarnation behind a non-zero index.
pub(crate) fn lookup(index: u32) -> Option<NodeId> {
    let t = table().read().unwrap_or_else(|e| e.into_inner());
    t.list.get(index.checked_sub(1)? as usize).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_incarnation_gets_its_own_index_for_good() {
        let n = Atom::new("t_a@h");
        let a1 = intern(&n, 1);
        let a2 = intern(&n, 2);
        assert_ne!(a1, 0);
        assert_ne!(a1, a2, "a new creation is another node");
        assert_eq!(intern(&n, 1), a1);
        assert_eq!(lookup(a2).unwrap().creation, 2);
        assert_eq!(lookup(0), None);
    }
}
