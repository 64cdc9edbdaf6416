//! A connection's outbox: the one ordered queue of everything local processes
//! ask of it, and the batch buffer its packets are encoded into
//! (ADR dist-0002).
//!
//! # Why not a message per packet
//!
//! A remote send used to encode its packet into a `Vec` of its own, wrap it in
//! a command, and send that to the connection process, which copied it into
//! its write buffer: per message a growing `Vec`, an envelope, a wake-up and a
//! copy. Now the sending process encodes the packet *straight into* the
//! outbox's buffer, under its lock, and wakes the connection process only when
//! the outbox was empty-and-idle ([`Queue::notified`]): one [`Cmd::Flush`]
//! per batch, not per message. The connection process swaps the buffer with
//! its own empty one (both keep their capacity: no allocation once warm) and
//! writes the whole batch with one `write_all`, as the BEAM's dist entry
//! output queue does.
//!
//! # Order
//!
//! Erlang promises that the signals one process sends another arrive in the
//! order sent, messages and links and exits alike. Commands that are not
//! plain packets (a link, a monitor, an exit signal: the connection process
//! must update its records before it writes their packet) go into the same
//! queue as `(offset, Cmd)`: the command comes after exactly the bytes that
//! were in the buffer when it was queued. The connection process writes the
//! bytes up to each offset, then the command's packet, then the rest.
//!
//! # Who touches what
//!
//! - Senders (any process of the node, and a process's exit, which runs in
//!   none): lock, append a packet or a command, unlock. They find the outbox
//!   in the node's connection table *and lock it before they let go of the
//!   table's lock* (lock order: table, then outbox; never the other way), so a
//!   connection process that has removed itself from the table and then
//!   drains its outbox has seen everything anyone queued.
//! - The connection process: swaps the buffer out, takes the commands, clears
//!   `notified`; at the end, drains what is left and fails it.

use std::sync::{Mutex, MutexGuard};

use crate::conn::Cmd;

/// A batch buffer larger than this after a write is replaced by one of
/// [`KEEP`] bytes: one huge message does not pin its memory for the
/// connection's life.
const SHRINK_ABOVE: usize = 1 << 20;
/// The working size a shrunk batch buffer keeps.
const KEEP: usize = 64 << 10;

/// One connection's outbox (module essay).
#[derive(Default)]
pub(crate) struct Outbox {
    q: Mutex<Queue>,
}

/// What waits in an outbox.
#[derive(Default)]
pub(crate) struct Queue {
    /// Whole packets (length prefix included), in the order queued. Written
    /// by senders; swapped out by the connection process.
    pub bytes: Vec<u8>,
    /// Commands, each after the first `offset` bytes of `bytes`; offsets never
    /// decrease. Pushed by senders; taken by the connection process.
    pub cmds: Vec<(usize, Cmd)>,
    /// A [`Cmd::Flush`] is on its way to the connection process and it has
    /// not taken the queue since: the next sender need not send another.
    /// Set by the sender that sends it; cleared by the connection process.
    notified: bool,
}

impl Outbox {
    /// Locks the queue.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Queue> {
        self.q.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `cmd`; true if the caller must send the connection a
    /// [`Cmd::Flush`] (after unlocking is fine).
    pub(crate) fn push_cmd(&self, cmd: Cmd) -> bool {
        self.lock().push_cmd(cmd)
    }

    /// The connection process takes the queue: the packets into `spare`
    /// (which must be empty; its capacity becomes the queue's next buffer),
    /// the commands returned.
    pub(crate) fn take(&self, spare: &mut Vec<u8>) -> Vec<(usize, Cmd)> {
        debug_assert!(spare.is_empty());
        let mut q = self.lock();
        q.notified = false;
        std::mem::swap(&mut q.bytes, spare);
        std::mem::take(&mut q.cmds)
    }

    /// Moves everything queued here to the front of `to` (a connection that
    /// replaced this one during setup); true if `to` must be sent a Flush.
    pub(crate) fn move_to_front_of(&self, to: &Outbox) -> bool {
        let (bytes, cmds) = {
            let mut q = self.lock();
            q.notified = false;
            (std::mem::take(&mut q.bytes), std::mem::take(&mut q.cmds))
        };
        if bytes.is_empty() && cmds.is_empty() {
            return false;
        }
        let mut t = to.lock();
        let shift = bytes.len();
        let mut all_cmds = cmds;
        all_cmds.extend(t.cmds.drain(..).map(|(o, c)| (o + shift, c)));
        t.cmds = all_cmds;
        let mut all = bytes;
        all.extend_from_slice(&t.bytes);
        t.bytes = all;
        t.note()
    }
}

impl Queue {
    /// Queues `cmd` after the bytes queued so far; true if a Flush is due.
    pub(crate) fn push_cmd(&mut self, cmd: Cmd) -> bool {
        self.cmds.push((self.bytes.len(), cmd));
        self.note()
    }

    /// Appends one packet that `body` writes after the 4-byte length prefix
    /// (which this fills in). If `body` fails, nothing is left of the
    /// packet. `Ok(true)` if a Flush is due.
    pub(crate) fn push_packet(
        &mut self,
        body: impl FnOnce(&mut Vec<u8>) -> Result<(), String>,
    ) -> Result<bool, String> {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(&[0, 0, 0, 0]);
        let r = body(&mut self.bytes).and_then(|()| {
            u32::try_from(self.bytes.len() - start - 4)
                .map_err(|_| "a message over 4 GiB".to_string())
        });
        match r {
            Ok(len) => {
                self.bytes[start..start + 4].copy_from_slice(&len.to_be_bytes());
                Ok(self.note())
            }
            Err(e) => {
                self.bytes.truncate(start);
                Err(e)
            }
        }
    }

    /// Something was queued: true if the connection must be told.
    fn note(&mut self) -> bool {
        !std::mem::replace(&mut self.notified, true)
    }
}

/// After a batch was written: empty `buf`, and give back the memory of an
/// exceptionally large one (module essay: never below the working size).
pub(crate) fn recycle(buf: &mut Vec<u8>) {
    buf.clear();
    if buf.capacity() > SHRINK_ABOVE {
        *buf = Vec::with_capacity(KEEP);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_flush_per_batch_and_commands_keep_their_place() {
        let ob = Outbox::default();
        let ok = |out: &mut Vec<u8>| {
            out.extend_from_slice(b"ab");
            Ok(())
        };
        assert!(
            ob.lock().push_packet(ok).unwrap(),
            "the first item asks for a flush"
        );
        assert!(!ob.lock().push_packet(ok).unwrap(), "the second does not");
        assert!(!ob.push_cmd(Cmd::Disconnect));
        let mut spare = Vec::new();
        let cmds = ob.take(&mut spare);
        assert_eq!(spare, [0, 0, 0, 2, b'a', b'b', 0, 0, 0, 2, b'a', b'b']);
        assert_eq!(cmds.len(), 1);
        assert_eq!(cmds[0].0, 12, "the command follows both packets");
        assert!(
            ob.lock().push_packet(ok).unwrap(),
            "after a take, a flush is due again"
        );
    }

    #[test]
    fn a_failed_encoding_leaves_nothing_behind() {
        let ob = Outbox::default();
        let mut q = ob.lock();
        q.push_packet(|o| {
            o.push(1);
            Ok(())
        })
        .unwrap();
        let r = q.push_packet(|o| {
            o.extend_from_slice(&[9; 100]);
            Err("no".into())
        });
        assert!(r.is_err());
        assert_eq!(q.bytes, [0, 0, 0, 1, 1]);
    }

    #[test]
    fn moving_to_a_successor_puts_the_older_items_first() {
        let (a, b) = (Outbox::default(), Outbox::default());
        a.lock()
            .push_packet(|o| {
                o.push(1);
                Ok(())
            })
            .unwrap();
        a.push_cmd(Cmd::Disconnect);
        b.lock()
            .push_packet(|o| {
                o.push(2);
                Ok(())
            })
            .unwrap();
        b.push_cmd(Cmd::Flush);
        a.move_to_front_of(&b);
        let mut spare = Vec::new();
        let cmds = b.take(&mut spare);
        assert_eq!(spare, [0, 0, 0, 1, 1, 0, 0, 0, 1, 2]);
        let offs: Vec<usize> = cmds.iter().map(|c| c.0).collect();
        assert_eq!(offs, [5, 10]);
        assert!(matches!(cmds[0].1, Cmd::Disconnect));
    }

    #[test]
    fn a_huge_buffer_is_given_back_after_its_write() {
        let mut b = Vec::with_capacity(4 << 20);
        b.push(1);
        recycle(&mut b);
        assert!(b.is_empty() && b.capacity() == KEEP);
        let mut small = Vec::with_capacity(1000);
        recycle(&mut small);
        assert_eq!(small.capacity(), 1000, "a working-size buffer is kept");
    }
}
