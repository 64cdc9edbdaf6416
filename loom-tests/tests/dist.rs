//! loom model of bream-dist's connection-table protocol (dist/src/node.rs,
//! "Connections"; dist/src/conn.rs, step 3 "Down").
//!
//! A local process that links to or monitors a remote pid hands a command to
//! the connection's process; if the connection dies meanwhile, the command
//! must not be lost silently — the link must still fire with `NoConnection`.
//! The protocol: a sender looks the connection up *and sends its command*
//! under the table lock; a dying connection removes itself from the table
//! under that lock and only then drains its mailbox, failing each command.
//!
//! What it proves, under every interleaving loom explores:
//!
//! - `a_command_is_drained_or_never_sent`: every command is either handled by
//!   the drain (so its link fires) or was never sent to the dying connection
//!   (the sender found no entry and starts a new connection). None is left
//!   unseen in the dead connection's mailbox.
//! - `planted_bug_sending_after_unlock_loses_a_command`: the same with the
//!   send moved after the unlock (the plausible "shorter critical section"
//!   optimisation): loom finds the interleaving that loses the command.
//!
//! The mailbox is a stand-in (a loom mutex around a `Vec`): its own protocol
//! is modelled in mailbox.rs.
#![cfg(bream_loom)]

use loom::sync::{Arc, Mutex};
use loom::thread;

struct World {
    /// The table: is the connection there?
    table: Mutex<bool>,
    /// The connection's mailbox.
    mailbox: Mutex<Vec<u32>>,
}

/// One sender and one dying connection: whatever the sender sent, the drain
/// handled; nothing is left in the dead connection's mailbox.
fn model(send_under_lock: bool) {
    loom::model(move || {
        let w = Arc::new(World {
            table: Mutex::new(true),
            mailbox: Mutex::new(Vec::new()),
        });
        let w2 = Arc::clone(&w);
        let sender = thread::spawn(move || {
            if send_under_lock {
                let t = w2.table.lock().unwrap();
                if *t {
                    w2.mailbox.lock().unwrap().push(1);
                    return true;
                }
                false
            } else {
                let present = *w2.table.lock().unwrap();
                if present {
                    w2.mailbox.lock().unwrap().push(1);
                }
                present
            }
        });
        // The connection dies: leave the table, then drain.
        *w.table.lock().unwrap() = false;
        let drained: Vec<u32> = std::mem::take(&mut *w.mailbox.lock().unwrap());
        let sent = sender.join().unwrap();
        let left = w.mailbox.lock().unwrap().len();
        assert_eq!(
            left, 0,
            "a command reached the connection after its drain: lost"
        );
        assert_eq!(
            sent,
            drained.len() == 1,
            "sent = {sent}, drained = {drained:?}"
        );
    });
}

#[test]
fn a_command_is_drained_or_never_sent() {
    model(true);
}

#[test]
#[should_panic(expected = "lost")]
fn planted_bug_sending_after_unlock_loses_a_command() {
    model(false);
}
