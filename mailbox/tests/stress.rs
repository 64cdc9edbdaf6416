//! Real threads: 4 producers, 1 consumer that sleeps through the waiting
//! handshake. Every message arrives exactly once, each producer's messages in
//! the order it sent them, and no wake-up is lost (a lost one would hang here).

// Plain std atomics only: under `--cfg bream_loom` these run in loom-tests.
#![cfg(not(bream_loom))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use bream_mailbox::{mailbox, Push};

const PRODUCERS: usize = 4;
/// Under Miri (an interpreter, ~1000x slower) a smaller run still interleaves.
const PER_PRODUCER: u64 = if cfg!(miri) { 300 } else { 50_000 };

#[test]
fn four_producers_exact_accounting_and_per_producer_fifo() {
    let (tx, mut rx) = mailbox();
    let wakes = Arc::new(AtomicUsize::new(0));
    let consumer = thread::current();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let (tx, wakes, consumer) = (tx.clone(), wakes.clone(), consumer.clone());
            thread::spawn(move || {
                for seq in 0..PER_PRODUCER {
                    if tx.push((p, seq)) == Push::Wake {
                        wakes.fetch_add(1, Ordering::Relaxed);
                        consumer.unpark();
                    }
                }
            })
        })
        .collect();
    drop(tx);

    let mut next = [0u64; PRODUCERS];
    let mut received = 0;
    let mut waits = 0;
    while received < PRODUCERS as u64 * PER_PRODUCER {
        while let Some((p, seq)) = rx.try_recv::<(usize, u64)>() {
            assert_eq!(seq, next[p], "producer {p}'s messages out of order");
            next[p] += 1;
            received += 1;
        }
        if received == PRODUCERS as u64 * PER_PRODUCER {
            break;
        }
        if rx.prepare_wait() {
            waits += 1;
            // Spurious returns are fine: finish_wait withdraws, we scan again.
            thread::park();
            rx.finish_wait();
        } else {
            thread::yield_now(); // a push is half done: let it finish
        }
    }
    for p in producers {
        p.join().unwrap();
    }
    assert!(rx.try_recv_any().is_none());
    assert_eq!(next, [PER_PRODUCER; PRODUCERS]);
    assert!(
        wakes.load(Ordering::Relaxed) <= waits,
        "a Wake without a wait"
    );
}

#[test]
fn len_from_another_thread_never_exceeds_what_was_pushed() {
    let (tx, mut rx) = mailbox();
    let watcher = {
        let tx = tx.clone();
        thread::spawn(move || {
            let mut max = 0;
            while !tx.is_closed() {
                max = max.max(tx.len());
            }
            max
        })
    };
    for round in 0..if cfg!(miri) { 5 } else { 200u32 } {
        for i in 0..50u32 {
            let _ = tx.push(round * 50 + i);
        }
        while rx.try_recv::<u32>().is_some() {}
        assert_eq!(tx.len(), 0);
    }
    drop(rx);
    assert!(watcher.join().unwrap() <= 50);
}
