//! bream-mailbox: the per-process mailbox of bream, an Erlang-style runtime.
//!
//! # What a mailbox must do
//!
//! Every bream process has one mailbox. Any number of threads send to it, and
//! one process, the owner, receives from it. Receiving is *selective*, as in
//! Erlang: the owner asks for "the first message that matches one of these
//! patterns", messages that do not match stay where they are, in arrival order,
//! and a later receive sees them again. A process that finds nothing waits, and
//! the sender of the next message must wake it, exactly once.
//!
//! This crate knows nothing of processes, threads or schedulers: a push reports
//! [`Push::Wake`] and the runtime schedules the process. That keeps the one racy
//! part (sleeping without missing a message) small enough to model-check.
//!
//! # The pieces
//!
//! - **Inbound queue** (`inbound.rs`): Dmitry Vyukov's intrusive MPSC queue. A
//!   push is one `swap` and one store: wait-free, and one allocation per message,
//!   because the queue node and the message are the same heap block
//!   (`envelope.rs` draws it). Rejected: a mutex-guarded `VecDeque` (senders
//!   contend on a lock and a slow receiver blocks them); a bounded ring (Erlang
//!   mailboxes are unbounded, and a full ring would make `send` fail); crossbeam's
//!   channels (not intrusive, so a selective receive could not unlink a message
//!   from the middle).
//! - **Block cache** (`cache.rs`): blocks of small messages come from, and go
//!   back to, a free list per size class in the current thread, so a message
//!   between two processes on one worker costs no `malloc`/`free`.
//! - **Save queue** (`save.rs`): messages the receiver has popped from the inbound
//!   queue but not taken. Receiver-private, so scanning and unlinking from the
//!   middle need no atomics; intrusive, reusing the same `next` field.
//! - **Selective receive** ([`Receiver::select`]): visits the save queue, then
//!   pulls from the inbound queue, in arrival order; the first message the
//!   matcher accepts is unlinked and returned by value.
//! - **Markers** ([`Receiver::set_marker`]): OTP 24's receive optimisation. A
//!   `gen_server` call makes a fresh reference, sends a request carrying it and
//!   waits for the reply carrying it; no message that arrived *before* the
//!   reference was made can match. The marker remembers the position, and a scan
//!   from it skips the backlog: O(1) behind 10,000 unmatched messages.
//! - **Waiting handshake** (`waiter.rs`): the receiver's Waiting announcement is
//!   a bit in the inbound queue's tail pointer, so the push that queues a message
//!   is the same atomic swap that discovers the receiver sleeps. No barrier, no
//!   lost wake-up, never two wakes for one wait. The module's essay has the
//!   numbered recipe and the argument.
//!
//! The book's chapter, `docs/mailbox.md`, has the pictures and the measurements.
//!
//! # Example
//!
//! ```
//! use bream_mailbox::{mailbox, From, Push};
//!
//! #[derive(Debug, PartialEq)]
//! struct Reply(u64, &'static str);
//!
//! let (tx, mut rx) = mailbox();
//!
//! // A backlog the process is not interested in right now.
//! for i in 0..100u32 {
//!     let _ = tx.push(i);
//! }
//!
//! // A call: mark the mailbox, then wait for the reply tagged with our ref.
//! let marker = rx.set_marker();
//! let reference = 7;
//! let server = tx.clone();
//! std::thread::spawn(move || {
//!     let _ = server.push(Reply(reference, "pong"));
//! })
//! .join()
//! .unwrap();
//!
//! let (reply, _) = rx
//!     .select(From::Marker(marker), |env| match env.downcast_ref::<Reply>() {
//!         Some(Reply(r, _)) if *r == reference => env.take::<Reply>(),
//!         _ => None,
//!     })
//!     .expect("the reply is there");
//! assert_eq!(reply, Reply(7, "pong"));
//! assert_eq!(rx.len(), 100); // the backlog is untouched, in order
//! assert_eq!(rx.try_recv::<u32>(), Some(0));
//!
//! // Waiting: announce, and the next push reports that it must wake us.
//! while rx.try_recv_any().is_some() {}
//! assert!(rx.prepare_wait());
//! assert_eq!(tx.push("wake up"), Push::Wake);
//! rx.finish_wait();
//! assert_eq!(rx.try_recv::<&str>(), Some("wake up"));
//! ```
//!
//! # Drop
//!
//! Dropping the [`Receiver`] drops every message in the mailbox; pushes after
//! that drop their message at once, and a message racing with the receiver's
//! drop is dropped when the last [`Sender`] goes. Every message is dropped
//! exactly once.

//!
//! # Send and Sync
//!
//! [`Sender`] is `Send + Sync` and cheap to clone. [`Receiver`] is `Send` (a
//! process migrates between worker threads) but not `Sync`: only its owner
//! receives. [`Envelope`] is `Send` but not `Sync` (its payload need not be).
//! The proofs are on the `unsafe impl`s in `receiver.rs` and `envelope.rs`.
//!
//! ```
//! fn send_sync<T: Send + Sync>() {}
//! fn send<T: Send>() {}
//! send_sync::<bream_mailbox::Sender>();
//! send::<bream_mailbox::Receiver>();
//! send::<bream_mailbox::Envelope>();
//! ```
//!
//! ```compile_fail
//! fn sync<T: Sync>() {}
//! sync::<bream_mailbox::Receiver>(); // error: `Receiver` is not `Sync`
//! ```
//!
//! ```compile_fail
//! fn sync<T: Sync>() {}
//! sync::<bream_mailbox::Envelope>(); // error: `Envelope` is not `Sync`
//! ```

#![deny(unsafe_op_in_unsafe_fn)]

mod bounded;
#[cfg(not(bream_loom))]
mod cache;
mod envelope;
mod extra;
mod inbound;
mod receiver;
mod save;
mod sender;
mod sync;
mod waiter;

pub use bounded::{RoomWaiters, Ticket};
pub use envelope::Envelope;
pub use receiver::{From, Marker, Receiver};
pub use sender::{Push, Refused, Sender};

/// Creates a mailbox: one receiving end for the owner, and a first sender.
/// More senders come from [`Sender::clone`] or [`Receiver::sender`].
pub fn mailbox() -> (Sender, Receiver) {
    let inner = sync::Arc::new(inbound::Inner::new(None));
    inner.init();
    (Sender::new(inner.clone()), Receiver::new(inner))
}

/// Creates a bounded mailbox: [`Sender::try_push`] refuses a message while
/// `limit` messages are in it (at least 1), and the queue never holds more
/// (`bounded.rs` has the argument). [`Sender::push`] ignores the bound (for
/// signals that must never be refused).
///
/// ```
/// let (tx, _rx) = bream_mailbox::mailbox_bounded(1);
/// assert!(tx.try_push(1u8).is_ok());
/// assert!(tx.try_push(2u8).unwrap_err().is_full());
/// assert_eq!(tx.limit(), Some(1));
/// ```
pub fn mailbox_bounded(limit: usize) -> (Sender, Receiver) {
    mailbox_limited(limit, None)
}

/// Creates a bounded mailbox with, optionally, a byte budget too:
/// [`Sender::try_push`] refuses a message if `limit` messages are in it, or if
/// its payload ([`Envelope::payload_size`], `size_of` of its type) would take
/// the payload bytes in it past `bytes`. A message larger than the whole
/// budget is always refused. Neither bound is ever exceeded by `try_push`
/// (`bounded.rs`, "A byte budget").
///
/// ```
/// // At most 100 messages and 16 bytes: two u64s fit, a third does not.
/// let (tx, mut rx) = bream_mailbox::mailbox_limited(100, Some(16));
/// assert!(tx.try_push(1u64).is_ok());
/// assert!(tx.try_push(2u64).is_ok());
/// assert!(tx.try_push(3u64).unwrap_err().is_full());
/// assert!(tx.try_push(4u8).unwrap_err().is_full());
/// assert_eq!((tx.len(), tx.bytes(), tx.byte_limit()), (2, Some(16), Some(16)));
/// assert_eq!(rx.try_recv::<u64>(), Some(1));
/// assert!(tx.try_push(4u8).is_ok()); // 9 bytes now
/// ```
pub fn mailbox_limited(limit: usize, bytes: Option<usize>) -> (Sender, Receiver) {
    let inner = sync::Arc::new(inbound::Inner::new(Some(bounded::Limits::new(
        limit, bytes,
    ))));
    inner.init();
    (Sender::new(inner.clone()), Receiver::new(inner))
}

#[cfg(all(test, not(bream_loom)))]
mod tests;
