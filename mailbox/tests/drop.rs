//! Every message is dropped exactly once, whoever drops it: the receiver, the
//! last sender, a push after the receiver is gone, a matcher that consumes it.

// Plain std atomics only: under `--cfg bream_loom` these run in loom-tests.
#![cfg(not(bream_loom))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bream_mailbox::{mailbox, From};

/// Counts its drops in a shared counter.
#[derive(Debug)]
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

#[test]
fn dropping_both_ends_drops_saved_and_inbound_messages_once() {
    let drops = counter();
    let (tx, mut rx) = mailbox();
    for _ in 0..10 {
        let _ = tx.push(Counted(drops.clone()));
        let _ = tx.push(0u8);
    }
    // Move some into the save queue, receive a few.
    assert_eq!(rx.try_recv::<u8>(), Some(0));
    let m = rx.set_marker();
    for _ in 0..5 {
        let _ = tx.push(Counted(drops.clone()));
    }
    drop(rx.select(From::Marker(m), |e| e.is::<Counted>().then_some(())));
    assert_eq!(drops.load(Ordering::Relaxed), 1);
    drop(rx);
    assert_eq!(drops.load(Ordering::Relaxed), 15);
    drop(tx);
    assert_eq!(drops.load(Ordering::Relaxed), 15);
}

#[test]
fn a_push_after_the_receiver_is_gone_drops_its_message_at_once() {
    let drops = counter();
    let (tx, rx) = mailbox();
    drop(rx);
    assert!(tx.is_closed());
    let _ = tx.push(Counted(drops.clone()));
    assert_eq!(drops.load(Ordering::Relaxed), 1);
    assert_eq!(tx.len(), 0);
}

#[test]
fn pushes_racing_with_the_receivers_drop_are_all_dropped_once() {
    let (rounds, per_thread) = if cfg!(miri) { (2, 200) } else { (20, 2_000) };
    for _ in 0..rounds {
        let drops = counter();
        let (tx, mut rx) = mailbox();
        let pushed = Arc::new(AtomicUsize::new(0));
        let producers: Vec<_> = (0..3)
            .map(|_| {
                let (tx, drops, pushed) = (tx.clone(), drops.clone(), pushed.clone());
                std::thread::spawn(move || {
                    for _ in 0..per_thread {
                        let _ = tx.push(Counted(drops.clone()));
                        pushed.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        // Receive until the producers are clearly running, then drop mid-stream.
        let mut got = 0;
        while got < 100 {
            if rx.try_recv::<Counted>().is_some() {
                got += 1;
            }
        }
        drop(rx);
        for p in producers {
            p.join().unwrap();
        }
        drop(tx);
        assert_eq!(
            drops.load(Ordering::Relaxed),
            pushed.load(Ordering::Relaxed)
        );
    }
}

#[test]
fn a_matcher_that_takes_and_panics_consumes_the_message_exactly_once() {
    let drops = counter();
    let (tx, mut rx) = mailbox();
    let _ = tx.push(1u32);
    let _ = tx.push(Counted(drops.clone()));
    let _ = tx.push(3u32);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rx.select(From::Start, |e| -> Option<()> {
            if let Some(c) = e.take::<Counted>() {
                drop(c);
                panic!("matcher bug");
            }
            None
        })
    }));
    assert!(r.is_err());
    assert_eq!(drops.load(Ordering::Relaxed), 1);
    assert_eq!(rx.len(), 2);
    assert_eq!(rx.try_recv_any().unwrap().downcast::<u32>().ok(), Some(1));
    assert_eq!(rx.try_recv_any().unwrap().downcast::<u32>().ok(), Some(3));
    assert!(rx.try_recv_any().is_none());
    drop((tx, rx));
    assert_eq!(drops.load(Ordering::Relaxed), 1);
}

#[test]
fn a_matcher_that_panics_without_taking_leaves_the_message_in_place() {
    let (tx, mut rx) = mailbox();
    for i in 0..3u32 {
        let _ = tx.push(i);
    }
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rx.select(From::Start, |e| -> Option<()> {
            assert_ne!(e.downcast_ref::<u32>(), Some(&1), "matcher bug");
            None
        })
    }));
    assert!(r.is_err());
    let all: Vec<u32> = std::iter::from_fn(|| rx.try_recv::<u32>()).collect();
    assert_eq!(all, [0, 1, 2]);
}

#[test]
fn a_matcher_that_takes_without_putting_back_consumes_the_message() {
    let drops = counter();
    let (tx, mut rx) = mailbox();
    let _ = tx.push(Counted(drops.clone()));
    let _ = tx.push(2u32);
    let r: Option<((), _)> = rx.select(From::Start, |e| {
        drop(e.take::<Counted>());
        None
    });
    assert!(r.is_none());
    assert_eq!(drops.load(Ordering::Relaxed), 1);
    assert_eq!(rx.len(), 1);
    assert_eq!(rx.try_recv::<u32>(), Some(2));
}

#[test]
fn a_matcher_that_replaces_the_envelope_keeps_the_replacement_in_place() {
    let drops = counter();
    let (tx, mut rx) = mailbox();
    let _ = tx.push(1u32);
    let _ = tx.push(Counted(drops.clone()));
    let _ = tx.push(3u32);
    let r: Option<((), _)> = rx.select(From::Start, |e| {
        if e.is::<Counted>() {
            *e = bream_mailbox::Envelope::new(2u32);
        }
        None
    });
    assert!(r.is_none());
    assert_eq!(drops.load(Ordering::Relaxed), 1);
    let all: Vec<u32> = std::iter::from_fn(|| rx.try_recv::<u32>()).collect();
    assert_eq!(all, [1, 2, 3]);
}

#[test]
fn a_put_of_the_wrong_type_panics_and_the_envelope_is_consumed() {
    let (tx, mut rx) = mailbox();
    let _ = tx.push(1u32);
    let _ = tx.push(2u32);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rx.select(From::Start, |e| -> Option<()> {
            let v = e.take::<u32>()?;
            e.put(u64::from(v));
            None
        })
    }));
    assert!(r.is_err());
    assert_eq!(rx.len(), 1);
    assert_eq!(rx.try_recv::<u32>(), Some(2));
}
