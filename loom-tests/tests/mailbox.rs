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

use bream_mailbox::{mailbox, From, Push, Receiver};

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
