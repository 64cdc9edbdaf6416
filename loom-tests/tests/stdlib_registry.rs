//! loom model of the stdlib Registry's exit cleanup racing a takeover
//! (stdlib/src/registry/mod.rs, "How it stays correct when processes exit",
//! race 2; docs/adr/registry-0001-links-not-monitors.md).
//!
//! What it proves, under every interleaving loom explores:
//!
//! - `registry_takeover_races_cleanup`: process A registers a unique key and
//!   exits; its partition process then cleans up after it. Process B registers
//!   the same key at any moment meanwhile (before A, too: then A is refused).
//!   B is refused only while A is alive and holds the key;
//!   if B got the key, B still holds it after A's cleanup (the cleanup removes
//!   A's entry only, comparing pids); and A's entry never outlives the cleanup.
//! - `registry_without_the_pid_check_loses_the_new_holder`: the same model with
//!   the pid comparison planted out of the cleanup: loom finds the interleaving
//!   where the late cleanup deletes B's entry (the test expects that panic).
//!
//! Modelled with the same operations in the same order as `Registry::register`,
//! `insert_unique` and `Tables::remove_pid`, since the real registry needs a
//! live runtime: one partition (a loom mutex around the key table and the
//! pid index), `is_alive` as a flag that A clears when it starts exiting
//! (before its links fire, as the runtime does). The partition process's
//! `Exit`, which the runtime sends only after A died, is A's own thread going
//! on with the cleanup: every point where B can interleave with a later
//! cleanup is also a point where it can interleave with this one.
#![cfg(bream_loom)]

use std::collections::HashMap;

use loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use loom::sync::{Arc, Mutex};
use loom::thread;

const A: u8 = 1;
const B: u8 = 2;

/// One partition: the key table (`"k"` → holder) and the pid index.
#[derive(Default)]
struct Partition {
    holder: Option<u8>,
    index: HashMap<u8, u32>,
}

struct World {
    part: Mutex<Partition>,
    a_alive: AtomicBool,
}

impl World {
    /// `bream::is_alive`: B lives throughout; A until it exits.
    fn is_alive(&self, pid: u8) -> bool {
        pid == B || self.a_alive.load(SeqCst)
    }
}

/// `Registry::register` of the key by `me`: `insert_unique`, then the index.
fn register(w: &World, me: u8) -> Result<(), u8> {
    {
        let mut p = w.part.lock().unwrap();
        match p.holder {
            Some(h) if h == me || w.is_alive(h) => return Err(h),
            // The holder died and its cleanup has not run: take over.
            Some(_) | None => p.holder = Some(me),
        }
    }
    *w.part.lock().unwrap().index.entry(me).or_default() += 1;
    Ok(())
}

/// `Tables::remove_pid(dead)`: take its index, then drop its entries.
fn cleanup(w: &World, dead: u8, check_pid: bool) {
    let Some(_keys) = w.part.lock().unwrap().index.remove(&dead) else {
        return;
    };
    let mut p = w.part.lock().unwrap();
    if !check_pid || p.holder == Some(dead) {
        p.holder = None;
    }
}

fn model(check_pid: bool) {
    loom::model(move || {
        let w = Arc::new(World {
            part: Mutex::new(Partition::default()),
            a_alive: AtomicBool::new(true),
        });
        let wa = w.clone();
        let a = thread::spawn(move || {
            // Refused if B got there first: then A has nothing to clean.
            let _ = register(&wa, A);
            // A exits: not alive from here on; then its partition cleans up.
            wa.a_alive.store(false, SeqCst);
            cleanup(&wa, A, check_pid);
        });
        let b = register(&w, B);
        a.join().unwrap();
        let holder = w.part.lock().unwrap().holder;
        match b {
            Ok(()) => assert_eq!(holder, Some(B), "the new holder's entry was removed"),
            Err(h) => {
                assert_eq!(h, A, "B was refused by someone else");
                assert_eq!(holder, None, "A's entry outlived its cleanup");
            }
        }
    });
}

#[test]
fn registry_takeover_races_cleanup() {
    model(true);
}

#[test]
#[should_panic(expected = "the new holder's entry was removed")]
fn registry_without_the_pid_check_loses_the_new_holder() {
    model(false);
}
