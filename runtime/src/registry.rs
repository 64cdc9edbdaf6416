//! Registered names (Erlang's `register/2`, `whereis/1`, `unregister/1`).
//!
//! Names are atoms: `&'static str`, like Erlang's atoms never freed. One lock
//! guards both directions of the map.
//!
//! # The dead flag
//!
//! "A name is released when its owner exits" must be exact: a `register` racing
//! with the owner's exit must never leave the name pointing at a dead process.
//! Taking the registry lock in every exit would make it exact but costs a global
//! lock per exit (a million of them in skynet). Instead each process has one
//! flags word, and both sides set their bit with a read-modify-write:
//!
//! 1. `register` (under the lock): `flags.fetch_or(NAMED)`; if the old value
//!    has `DEAD`, fail with `NoProc` (nothing inserted).
//! 2. the exit (`release`): `flags.fetch_or(DEAD)`; only if the old value has
//!    `NAMED`, take the lock and remove the name.
//!
//! The two RMWs are ordered in the word's modification order, so the second
//! one always sees the first one's bit: either `register` sees `DEAD` (and
//! inserts nothing) or the exit sees `NAMED` and, taking the lock after
//! `register` released it, removes what it inserted. One word and RMWs instead
//! of two flags and SeqCst loads: nothing needs a StoreLoad barrier.

use std::fmt;

use crate::pid::{FastMap, Pid};
use crate::process::{Process, DEAD, NAMED};
use crate::sync::{Mutex, Ordering};
use crate::table::Table;

/// Both directions of the name table, always changed together.
#[derive(Default)]
struct Names {
    by_name: FastMap<&'static str, Pid>,
    by_pid: FastMap<Pid, &'static str>,
}

/// The registry of one runtime.
#[derive(Default)]
pub(crate) struct Registry {
    /// Any thread, under this lock; never held while another lock is taken
    /// (the table's slot read lock is taken inside it, never the reverse).
    names: Mutex<Names>,
}

/// Why [`register`](crate::register) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegisterError {
    /// The name is taken by this process.
    NameTaken(Pid),
    /// The process already has this other name (a process has at most one).
    AlreadyNamed(&'static str),
    /// The process is not alive.
    NoProc,
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterError::NameTaken(pid) => write!(f, "the name is already registered to {pid}"),
            RegisterError::AlreadyNamed(n) => {
                write!(f, "the process is already registered as {n:?}")
            }
            RegisterError::NoProc => f.write_str("the process is not alive"),
        }
    }
}

impl std::error::Error for RegisterError {}

impl Registry {
    pub(crate) fn register(
        &self,
        table: &Table,
        name: &'static str,
        pid: Pid,
    ) -> Result<(), RegisterError> {
        let mut n = self.names.lock();
        if let Some(&holder) = n.by_name.get(name) {
            return Err(RegisterError::NameTaken(holder));
        }
        if let Some(&other) = n.by_pid.get(&pid) {
            return Err(RegisterError::AlreadyNamed(other));
        }
        // Relaxed RMW: step 1 of "The dead flag" (module essay); the word's
        // modification order is the whole argument, and the name table itself
        // is published by the lock.
        let alive = table.with(pid, |p, _| {
            p.flags.fetch_or(NAMED, Ordering::Relaxed) & DEAD == 0
        });
        if alive != Some(true) {
            return Err(RegisterError::NoProc);
        }
        n.by_name.insert(name, pid);
        n.by_pid.insert(pid, name);
        Ok(())
    }

    pub(crate) fn unregister(&self, name: &str) -> bool {
        let mut n = self.names.lock();
        match n.by_name.remove(name) {
            Some(pid) => {
                n.by_pid.remove(&pid);
                true
            }
            None => false,
        }
    }

    pub(crate) fn whereis(&self, name: &str) -> Option<Pid> {
        self.names.lock().by_name.get(name).copied()
    }

    pub(crate) fn name_of(&self, pid: Pid) -> Option<&'static str> {
        self.names.lock().by_pid.get(&pid).copied()
    }

    pub(crate) fn registered(&self) -> Vec<&'static str> {
        let mut v: Vec<_> = self.names.lock().by_name.keys().copied().collect();
        v.sort_unstable();
        v
    }

    /// First step of an exit: the process is dead to the registry from now on,
    /// and its name (if any) is free.
    pub(crate) fn release(&self, p: &Process) {
        // Relaxed RMW: step 2 of "The dead flag" (module essay).
        if p.flags.fetch_or(DEAD, Ordering::Relaxed) & NAMED == 0 {
            return;
        }
        let mut n = self.names.lock();
        if let Some(name) = n.by_pid.remove(&p.pid) {
            n.by_name.remove(name);
        }
    }

    /// Forgets `pid`'s name (a spawn that failed after registering).
    pub(crate) fn forget(&self, pid: Pid) {
        let mut n = self.names.lock();
        if let Some(name) = n.by_pid.remove(&pid) {
            n.by_name.remove(name);
        }
    }
}
