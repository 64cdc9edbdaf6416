#![cfg(all(bream_loom, feature = "mailbox"))]
//! loom models of bream-mailbox (mailbox/src/waiter.rs has the protocol).
//!
//! Built with `--cfg bream_loom`, the mailbox runs on loom's atomics and its
//! leak-checking allocator, so every model also checks that each message block
//! is freed exactly once (loom fails a model that leaks a tracked allocation).
//!
//! Run:
//! `RUSTFLAGS="--cfg bream_loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p loom-tests
//! --release --no-default-features --features mailbox --test mailbox`
//!
//! The models are kept tiny (two or three messages): loom explores every
//! interleaving, and the state space grows exponentially with each atomic step.

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

use bream_mailbox::{
    mailbox, mailbox_bounded, Envelope, From, Push, Receiver, RoomWaiters, Ticket,
};

/// Receives until `n` messages of type `(usize, u32)` have arrived, checking
/// per-producer FIFO; yields while a push is half done.
fn receive_all(rx: &mut Receiver, n: usize, producers: usize) {
    let mut next = vec![0u32; producers];
    let mut got = 0;
    while got < n {
        match rx.try_recv::<(usize, u32)>() {
            Some((p, seq)) => {
                assert_eq!(seq, next[p], "producer {p} out of order");
                next[p] += 1;
                got += 1;
            }
            None => thread::yield_now(),
        }
    }
    assert!(rx.try_recv_any().is_none(), "a message arrived twice");
}

/// Two producers, two messages each, one consumer: every message arrives exactly
/// once and each producer's messages arrive in the order it sent them.
#[test]
fn two_producers_one_consumer_exact_and_fifo() {
    loom::model(|| {
        let (tx, mut rx) = mailbox();
        let handles: Vec<_> = (0..2usize)
            .map(|p| {
                let tx = tx.clone();
                thread::spawn(move || {
                    for seq in 0..2 {
                        let _ = tx.push((p, seq as u32));
                    }
                })
            })
            .collect();
        drop(tx);
        receive_all(&mut rx, 4, 2);
        for h in handles {
            h.join().unwrap();
        }
    });
}

/// The consumer sleeps through the handshake; two producers push one message
/// each and wake it when told to. No lost wake-up (loom reports a deadlock if
/// the consumer parks with no one coming), and every announcement ends either
/// withdrawn by the receiver or claimed by exactly one push.
#[test]
fn handshake_no_lost_wakeup_no_double_wake() {
    loom::model(|| {
        let (tx, mut rx) = mailbox();
        let wakes = Arc::new(AtomicUsize::new(0));
        let me = thread::current();
        let handles: Vec<_> = (0..2usize)
            .map(|p| {
                let (tx, wakes, me) = (tx.clone(), wakes.clone(), me.clone());
                thread::spawn(move || {
                    if tx.push((p, 0u32)) == Push::Wake {
                        wakes.fetch_add(1, Ordering::Relaxed);
                        me.unpark();
                    }
                })
            })
            .collect();
        drop(tx);

        let (mut got, mut claimed) = (0, 0);
        while got < 2 {
            if rx.try_recv::<(usize, u32)>().is_some() {
                got += 1;
                continue;
            }
            if rx.prepare_wait() {
                thread::park();
                // Woken (loom's park is not spurious): the announcement must
                // have been claimed by a push.
                assert!(rx.cancel_wait(), "woken without a Wake");
                claimed += 1;
            } else {
                thread::yield_now();
            }
        }
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(wakes.load(Ordering::Relaxed), claimed, "one Wake per claim");
    });
}

/// The receiver announces, then times out (withdraws) while a push races: the
/// push reports `Wake` exactly when the withdrawal says it was claimed, and the
/// message is never lost.
#[test]
fn handshake_cancel_races_with_push() {
    loom::model(|| {
        let (tx, mut rx) = mailbox();
        let producer = thread::spawn(move || tx.push(1u32));
        let announced = rx.prepare_wait();
        let claimed = rx.cancel_wait();
        let push = producer.join().unwrap();
        if announced {
            assert_eq!(push == Push::Wake, claimed);
        } else {
            assert_eq!(push, Push::Queued);
            assert!(!claimed);
        }
        // The message is there (the push is complete after join).
        assert_eq!(rx.try_recv::<u32>(), Some(1));
        // The handshake is reusable: a fresh announcement, a fresh Wake.
        assert!(rx.prepare_wait());
        assert_eq!(rx.sender().push(2u32), Push::Wake);
        rx.finish_wait();
        assert_eq!(rx.try_recv::<u32>(), Some(2));
    });
}

/// Selective receive from a marker races with two producers: the scan finds the
/// tagged reply, skips nothing it should see, and leaves the rest in order.
#[test]
fn select_from_marker_races_with_pushes() {
    loom::model(|| {
        let (tx, mut rx) = mailbox();
        let _ = tx.push(0u32); // the backlog, before the marker
        let marker = rx.set_marker();
        let other = {
            let tx = tx.clone();
            thread::spawn(move || {
                let _ = tx.push(1u32);
            })
        };
        let replier = thread::spawn(move || {
            let _ = tx.push("reply");
        });
        let reply = loop {
            // Test the payload by value, as `receive!` does: take, then put back.
            let hit = rx.select(From::Marker(marker), |e| {
                let s = e.take::<&str>()?;
                Some(s)
            });
            match hit {
                Some((s, _)) => break s,
                None => thread::yield_now(),
            }
        };
        assert_eq!(reply, "reply");
        other.join().unwrap();
        replier.join().unwrap();
        // The backlog is first; the racing int is still there.
        assert_eq!(rx.try_recv::<u32>(), Some(0));
        assert_eq!(rx.try_recv::<u32>(), Some(1));
        assert!(rx.try_recv_any().is_none());
    });
}

/// A push races with the receiver's drop: the message is dropped exactly once,
/// by the receiver, by the push itself (closed mailbox) or by the last sender.
#[test]
fn push_racing_with_receiver_drop_drops_once() {
    #[derive(Debug)]
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mailbox();
        let producer = {
            let drops = drops.clone();
            thread::spawn(move || {
                let _ = tx.push(Counted(drops.clone()));
                let _ = tx.push(Counted(drops));
            })
        };
        drop(rx);
        producer.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 2);
    });
}

/// `prepare_wait`'s promise (runtime/src/lifecycle.rs relies on it): what the
/// receiver wrote before announcing, even with Relaxed stores, is visible to
/// the sender whose push reports `Wake`.
#[test]
fn announcement_publishes_the_receivers_prior_writes_to_the_waker() {
    loom::model(|| {
        let (tx, mut rx) = mailbox();
        let state = Arc::new(AtomicUsize::new(0));
        let producer = {
            let state = state.clone();
            thread::spawn(move || {
                if tx.push(1u32) == Push::Wake {
                    assert_eq!(state.load(Ordering::Relaxed), 1, "stale state after Wake");
                }
            })
        };
        state.store(1, Ordering::Relaxed);
        if rx.prepare_wait() {
            rx.finish_wait();
        }
        producer.join().unwrap();
    });
}

/// The runtime's receive loop (runtime/src/receive.rs, `select` and `wait`):
/// scan; nothing there, so announce Waiting; if the announcement is refused
/// (a message arrived, or a push is half done: its sender swapped the tail
/// but has not linked its block yet), yield and scan again. `yield_first`
/// is the fix of issue 13: without the yield, a receiver whose sender was
/// preempted mid-push scans again at once, forever, on its worker.
fn receive_loop(yield_first: bool) {
    loom::model(move || {
        let (tx, mut rx) = mailbox();
        let me = thread::current();
        let sender = thread::spawn(move || {
            if tx.push(7u32) == Push::Wake {
                me.unpark();
            }
        });
        let got = loop {
            if let Some(v) = rx.try_recv::<u32>() {
                break v;
            }
            if rx.prepare_wait() {
                thread::park();
                rx.finish_wait();
            } else if yield_first {
                thread::yield_now();
            }
        };
        assert_eq!(got, 7);
        sender.join().unwrap();
    });
}

/// Issue 13: with the yield, the receive loop ends whatever the interleaving
/// (the sender preempted between its tail swap and its link included).
#[test]
fn receive_loop_yields_while_a_push_is_half_done() {
    receive_loop(true);
}

/// The planted bug: without the yield, loom finds the interleaving where the
/// receiver spins while the sender is preempted mid-push (it exceeds loom's
/// branch bound: "requiring the processor to make progress").
#[test]
#[should_panic(expected = "maximum number of branches")]
fn receive_loop_without_the_yield_spins_on_a_half_done_push() {
    receive_loop(false);
}

/// Bounded push racing with receive (mailbox/src/bounded.rs): one sender
/// pushes two messages into a mailbox bounded at 1, waiting for room the way
/// the runtime's `Overflow::Block` does (announce, re-check, wait for the
/// room callback); the receiver takes both. Proves: the queue never holds
/// more than its bound (checked on both sides after every step), and a
/// blocked sender is never left waiting (a lost wake-up would leave the
/// sender in `Notify::wait` with no one to notify: loom reports a deadlock).
///
/// Planted bug (tried, fails): `announce_waiting` checking for room *before*
/// setting `SENDER_WAITING` instead of after. The receiver can then make
/// room and find no bit between the sender's check and its announcement;
/// the sender then sleeps in `Notify::wait` for good, and loom stops the
/// model when the receiver, waiting for the second message, spins past the
/// path-length limit (loom/src/rt/path.rs: "Model exceeded maximum number of
/// branches"), in the first iterations.
#[test]
fn bounded_block_no_lost_wakeup_and_never_above_the_bound() {
    loom::model(|| {
        let (tx, mut rx) = mailbox_bounded(1);
        let room = Arc::new(loom::sync::Notify::new());
        {
            let room = room.clone();
            rx.on_room(move |_| {
                room.notify();
                false
            });
        }
        let sender = thread::spawn(move || {
            for i in 0..2u32 {
                let mut m = i;
                loop {
                    match tx.try_push(m) {
                        Ok(_) => break,
                        Err(r) => {
                            m = r.into_inner();
                            // Registered already (the one `room`); announce.
                            if tx.announce_waiting(4) {
                                continue;
                            }
                            room.wait();
                        }
                    }
                }
                assert!(tx.len() <= 1, "above the bound");
            }
        });
        let mut next = 0u32;
        while next < 2 {
            assert!(rx.len() <= 1, "above the bound");
            match rx.try_recv::<u32>() {
                Some(v) => {
                    assert_eq!(v, next);
                    next += 1;
                }
                None => thread::yield_now(),
            }
        }
        sender.join().unwrap();
    });
}

/// A priority push racing with a selective scan (mailbox/src/extra.rs): a
/// producer pushes an ordinary message, then a priority one, then raises a
/// flag. A receive that starts after it saw the flag must return the
/// priority message first; every message arrives exactly once (and loom's
/// allocator checks none leaks).
///
/// Planted bug (tried, fails): `select_extra` scanning the save queue before
/// the priority list; the first receive after the flag returns the ordinary
/// message and the assertion fires.
#[test]
fn priority_push_racing_with_a_selective_scan() {
    loom::model(|| {
        let (tx, mut rx) = mailbox();
        rx.enable_priority();
        let done = Arc::new(AtomicUsize::new(0));
        let producer = {
            let done = done.clone();
            thread::spawn(move || {
                let _ = tx.push(0u32);
                let mut p = Envelope::new(1u32);
                p.set_priority(true);
                let _ = tx.push_envelope(p);
                done.store(1, Ordering::Release);
            })
        };
        let mut got = Vec::new();
        while got.len() < 2 {
            let all_pushed = done.load(Ordering::Acquire) == 1;
            // A selective receive over both lists: any u32.
            match rx.select(From::Start, |e| e.is::<u32>().then_some(())) {
                Some((_, env)) => {
                    let v = env.downcast::<u32>().unwrap();
                    if all_pushed && got.is_empty() {
                        assert_eq!(v, 1, "the priority message must come first");
                    }
                    got.push(v);
                }
                None => thread::yield_now(),
            }
        }
        got.sort_unstable();
        assert_eq!(got, [0, 1], "exactly once");
        producer.join().unwrap();
    });
}

/// A dead letter at exit racing with a push: the runtime's protocol
/// (runtime/src/dead_letters.rs, "Exactly once"), modelled with the real
/// mailbox and a loom `RwLock` standing in for the process table's slot (the
/// real table needs a live runtime). A sender pushes under the slot's read
/// lock, or counts a dead letter (`NoProcess`) if the slot is empty; the
/// exiting receiver receives one message, clears the slot under the write
/// lock, then drains and counts what is left (`LeftAtExit`). Proves:
/// received + left at exit + no process = sent, under every interleaving.
///
/// Planted bug (tried, fails): draining *before* clearing the slot. A push
/// then lands after the drain, is freed uncounted when the last sender
/// goes, and the sum comes out one short.
#[test]
fn dead_letter_at_exit_races_with_push() {
    loom::model(|| {
        let (tx, mut rx) = mailbox();
        let slot = Arc::new(loom::sync::RwLock::new(Some(tx)));
        let dead = Arc::new(AtomicUsize::new(0));
        let sender = {
            let (slot, dead) = (slot.clone(), dead.clone());
            thread::spawn(move || {
                for i in 0..2u32 {
                    let g = slot.read().unwrap();
                    match &*g {
                        Some(tx) => {
                            if tx.try_push(i).is_err() {
                                dead.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        None => {
                            dead.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        };
        let mut received = usize::from(rx.try_recv::<u32>().is_some());
        // The exit: clear the slot, then drain.
        let gone = slot.write().unwrap().take();
        drop(gone);
        let mut left = 0;
        while rx.try_recv_any().is_some() {
            left += 1;
        }
        sender.join().unwrap();
        // Nothing can arrive any more: the slot is empty.
        received += usize::from(rx.try_recv::<u32>().is_some());
        assert_eq!(received + left + dead.load(Ordering::Relaxed), 2);
    });
}

/// One blocked send: the runtime's `block`, with `patient` false for a
/// sender that gives up after its first wake-up. True if delivered.
/// `rx_wake` is the receiver's (the mailbox's own waiting handshake).
fn send(
    tx: &bream_mailbox::Sender,
    q: &RoomWaiters<Arc<loom::sync::Notify>>,
    me: &Arc<loom::sync::Notify>,
    rx_wake: &loom::sync::Notify,
    v: u64,
    patient: bool,
) -> bool {
    let mut ticket = Ticket::default();
    let delivered = loop {
        if let Ok(p) = tx.try_push(v) {
            if p == Push::Wake {
                rx_wake.notify();
            }
            break true;
        }
        q.register(&mut ticket, me.clone());
        if tx.announce_waiting(8) {
            continue;
        }
        me.wait();
        if !patient {
            break false;
        }
    };
    if q.leave(&mut ticket) && (!delivered || tx.has_room(8)) {
        q.wake(1, |w| w.notify());
    }
    delivered
}

/// The wake protocol of a `Block` mailbox (mailbox/src/bounded.rs, "Waking
/// as few senders as needed"): one wake per removed message, oldest waiter
/// first, the bit re-armed while senders are left, and a woken sender that
/// did not use its room passing the wake on. The runtime's `block`
/// (runtime/src/bounded.rs) in miniature, on the real `RoomWaiters` and the
/// real mailbox; the receiver waits through the mailbox's own handshake.
///
/// A mailbox of one message is full when the threads start.
/// Two senders wait for room: `patient` until its message is in; `quitter`
/// gives up after its first wake-up (a timeout, in the runtime) and must
/// then pass the wake on. The receiver takes what comes. Proves: nobody is
/// left asleep with room free (a lost wake-up leaves a sender and the
/// receiver blocked: loom reports the deadlock), the queue never holds more
/// than its bound, nothing is lost or duplicated.
///
/// At one preemption (see `wake_model`). Planted bugs (tried, each fails,
/// (1) and (2) in the `_both_queued` model, (3) in this one): (1) `after_removals` (extra.rs) not
/// re-arming `SENDER_WAITING` when the callback says senders are left: with
/// both queued, the first removal wakes one, the second removal finds the
/// bit clear and wakes no one, and the other sleeps for good; (2) the
/// quitter giving up without passing its wake on: woken first, it takes
/// the only wake with it and `patient` sleeps with the mailbox empty;
/// (3) a sender whose message is in never passing its wake on (the first
/// version of this protocol): it found room at its announcement, pushed,
/// and was taken off the queue by the next removal's callback before it
/// left; the wake meant for the other sender went nowhere.
#[test]
fn bounded_block_wakes_one_per_slot_fifo() {
    wake_model(false);
}

/// [`bounded_block_wakes_one_per_slot_fifo`] with both senders queued
/// before the receiver takes anything: the receiver waits for that. The
/// first model reaches this state only with more preemptions than it can
/// afford; here it is the start, and the planted bugs (1) and (2) fail in
/// it (both orders of the queue are explored).
#[test]
fn bounded_block_wakes_one_per_slot_fifo_both_queued() {
    wake_model(true);
}

fn wake_model(both_queued_first: bool) {
    // Three threads and a lock: at the suite's two preemptions this model
    // runs for far more than ten minutes; at one it takes about a minute (the
    // pair, on a loaded 2-core machine) and each planted bug above fails in
    // one of the two starting states.
    let mut model = loom::model::Builder::new();
    model.preemption_bound = Some(1);
    model.check(move || {
        let (tx, mut rx) = mailbox_bounded(1);
        assert!(tx.try_push(0u64).is_ok()); // full
        let q = Arc::new(RoomWaiters::new());
        {
            let q = q.clone();
            rx.on_room(move |n| q.wake(n, |w: Arc<loom::sync::Notify>| w.notify()));
        }
        let rx_wake = Arc::new(loom::sync::Notify::new());
        let quit_done = Arc::new(AtomicUsize::new(0));
        let patient = {
            let (tx, q, rw) = (tx.clone(), q.clone(), rx_wake.clone());
            thread::spawn(move || {
                let me = Arc::new(loom::sync::Notify::new());
                assert!(send(&tx, &q, &me, &rw, 1, true));
            })
        };
        let quitter = {
            let (tx, q, rw, done) = (tx.clone(), q.clone(), rx_wake.clone(), quit_done.clone());
            thread::spawn(move || {
                let me = Arc::new(loom::sync::Notify::new());
                let delivered = send(&tx, &q, &me, &rw, 2, false);
                done.store(if delivered { 2 } else { 1 }, Ordering::Release);
                rw.notify();
            })
        };
        if both_queued_first {
            // (Unless the quitter woke spuriously, a timeout, and left.)
            while q.len() < 2 && quit_done.load(Ordering::Acquire) == 0 {
                thread::yield_now();
            }
        }
        let mut got = Vec::new();
        loop {
            assert!(rx.len() <= 1, "above the bound");
            if let Some(v) = rx.try_recv::<u64>() {
                got.push(v);
                continue;
            }
            let q = quit_done.load(Ordering::Acquire);
            let want = if q == 2 { 3 } else { 2 };
            if q != 0 && got.len() == want {
                break;
            }
            // Nothing to take: wait (the mailbox's handshake, or the
            // quitter's word), rather than spin.
            if rx.prepare_wait() {
                rx_wake.wait();
                rx.finish_wait();
            } else {
                thread::yield_now();
            }
        }
        patient.join().unwrap();
        quitter.join().unwrap();
        got.sort_unstable();
        assert!(got == [0, 1] || got == [0, 1, 2], "exactly once: {got:?}");
        assert_eq!(tx.bytes(), Some(0));
    });
}
