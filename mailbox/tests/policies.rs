//! Bounded mailboxes and priority messages, through the public API
//! (mailbox/src/bounded.rs and mailbox/src/extra.rs have the protocols).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bream_mailbox::{
    mailbox, mailbox_bounded, mailbox_limited, Envelope, From, Refused, RoomWaiters, Ticket,
};

fn prio<T: Send + 'static>(v: T) -> Envelope {
    let mut e = Envelope::new(v);
    e.set_priority(true);
    e
}

#[test]
fn a_bounded_mailbox_refuses_past_its_bound_and_hands_the_message_back() {
    let (tx, mut rx) = mailbox_bounded(3);
    for i in 0..3u32 {
        assert!(tx.try_push(i).is_ok());
    }
    assert_eq!(tx.try_push(9u32), Err(Refused::Full(9)));
    assert_eq!(tx.len(), 3);
    // Signals (plain push) are never refused.
    let _ = tx.push("signal");
    assert_eq!(tx.len(), 4);
    assert_eq!(rx.try_recv::<&str>(), Some("signal"));
    assert_eq!(rx.try_recv::<u32>(), Some(0));
    assert!(tx.try_push(3u32).is_ok());
    drop(rx);
    assert!(matches!(tx.try_push(4u32), Err(Refused::Closed(4))));
}

#[test]
fn a_plain_mailbox_never_refuses_and_reports_closed() {
    let (tx, rx) = mailbox();
    for i in 0..1000u32 {
        assert!(tx.try_push(i).is_ok());
    }
    assert_eq!(tx.limit(), None);
    drop(rx);
    assert!(matches!(tx.try_push(1u8), Err(Refused::Closed(1))));
}

#[test]
fn the_room_callback_runs_once_a_waiting_sender_announced_itself() {
    let (tx, mut rx) = mailbox_bounded(1);
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    rx.on_room(move |n| {
        assert_eq!(n, 1, "one message removed");
        c.fetch_add(1, Ordering::Relaxed);
        false
    });
    assert!(tx.try_push(1u8).is_ok());
    assert!(tx.try_push(2u8).is_err());
    assert!(!tx.announce_waiting(1), "still full: the sender must wait");
    assert_eq!(rx.try_recv_any().unwrap().downcast::<u8>().ok(), Some(1));
    assert_eq!(calls.load(Ordering::Relaxed), 1, "the receive made room");
    assert!(tx.try_push(2u8).is_ok());
    assert_eq!(rx.try_recv::<u8>(), Some(2));
    assert_eq!(calls.load(Ordering::Relaxed), 1, "no one waited this time");
}

#[test]
fn four_threads_through_a_bound_of_eight_never_exceed_it_and_lose_nothing() {
    const PER: u64 = 20_000;
    let (tx, mut rx) = mailbox_bounded(8);
    let producers: Vec<_> = (0..4u64)
        .map(|p| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for i in 0..PER {
                    let mut m = (p, i);
                    loop {
                        match tx.try_push(m) {
                            Ok(_) => break,
                            Err(r) => {
                                m = r.into_inner();
                                std::thread::yield_now();
                            }
                        }
                    }
                    assert!(tx.len() <= 8, "the bound held");
                }
            })
        })
        .collect();
    let mut next = [0u64; 4];
    let mut got = 0;
    // Watchdog: a lost message or a stuck reservation fails, not hangs.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while got < 4 * PER {
        assert!(
            std::time::Instant::now() < deadline,
            "only {got} of {} messages arrived in 60 s",
            4 * PER
        );
        assert!(rx.len() <= 8);
        match rx.try_recv::<(u64, u64)>() {
            Some((p, i)) => {
                assert_eq!(next[p as usize], i, "per-sender order");
                next[p as usize] += 1;
                got += 1;
            }
            None => std::thread::yield_now(),
        }
    }
    for p in producers {
        p.join().unwrap();
    }
    assert!(rx.try_recv_any().is_none());
}

#[test]
fn priority_messages_overtake_the_backlog_in_their_own_order() {
    let (tx, mut rx) = mailbox();
    rx.enable_priority();
    for i in 0..100_000u32 {
        let _ = tx.push(i);
    }
    let _ = tx.push_envelope(prio("p1"));
    let _ = tx.push(100_000u32);
    let _ = tx.push_envelope(prio("p2"));
    assert_eq!(
        rx.try_recv_any().unwrap().downcast::<&str>().ok(),
        Some("p1")
    );
    assert_eq!(
        rx.try_recv_any().unwrap().downcast::<&str>().ok(),
        Some("p2")
    );
    for i in 0..=100_000u32 {
        assert_eq!(rx.try_recv::<u32>(), Some(i));
    }
    assert!(rx.is_empty());
}

#[test]
fn a_receiver_that_did_not_enable_priority_sees_arrival_order() {
    let (tx, mut rx) = mailbox();
    let _ = tx.push(1u32);
    let _ = tx.push_envelope(prio(2u32));
    assert_eq!(rx.try_recv::<u32>(), Some(1));
    assert_eq!(rx.try_recv::<u32>(), Some(2));
}

#[test]
fn selective_receive_spans_both_lists_and_the_marker_still_skips_the_backlog() {
    let (tx, mut rx) = mailbox();
    rx.enable_priority();
    for i in 0..10_000u32 {
        let _ = tx.push(i);
    }
    let m = rx.set_marker();
    let _ = tx.push_envelope(prio("urgent"));
    let _ = tx.push(("reply", 7u64));
    let mut visited = 0;
    // A selective receive for the reply: the priority message is visited
    // (it is first), the backlog before the marker is not.
    let (v, _) = rx
        .select(From::Marker(m), |e| {
            visited += 1;
            e.downcast_ref::<(&str, u64)>().map(|r| r.1)
        })
        .unwrap();
    assert_eq!(v, 7);
    assert_eq!(visited, 2, "the priority message, then the reply");
    // Selective over both: take an ordinary one while a priority one waits.
    assert_eq!(rx.try_recv::<u32>(), Some(0));
    assert_eq!(
        rx.try_recv_any().unwrap().downcast::<&str>().ok(),
        Some("urgent")
    );
    assert_eq!(rx.len(), 9_999);
}

#[test]
fn dropping_a_receiver_with_both_lists_frees_everything() {
    let (tx, mut rx) = mailbox_bounded(10);
    rx.enable_priority();
    let _ = tx.try_push(String::from("a"));
    let _ = tx.try_push_envelope(prio(String::from("b")));
    assert!(rx.select(From::Start, |_| None::<()>).is_none());
    let _ = tx.try_push(String::from("c"));
    drop(rx);
    assert!(tx.is_closed());
}

#[test]
fn a_byte_budget_refuses_what_would_pass_it_and_counts_what_leaves() {
    let (tx, mut rx) = mailbox_limited(1_000, Some(100));
    assert_eq!(tx.byte_limit(), Some(100));
    assert!(tx.try_push([0u8; 60]).is_ok());
    assert!(tx.try_push([1u8; 30]).is_ok());
    assert_eq!(tx.bytes(), Some(90));
    // 90 + 16 > 100: refused, handed back; a 10-byte message still fits.
    assert_eq!(tx.try_push(7u128), Err(Refused::Full(7)));
    assert!(tx.try_push([2u8; 10]).is_ok());
    assert_eq!(tx.bytes(), Some(100));
    // Larger than the whole budget: never fits, even when empty.
    assert!(tx.try_push([0u8; 101]).unwrap_err().is_full());
    // A signal ignores the budget but is counted, and uncounted when taken.
    let _ = tx.push(5u64);
    assert_eq!(tx.bytes(), Some(108));
    assert_eq!(rx.try_recv::<u64>(), Some(5));
    assert_eq!(rx.try_recv::<[u8; 60]>(), Some([0u8; 60]));
    assert_eq!(tx.bytes(), Some(40));
    assert!(tx.try_push(7u128).is_ok());
    // Selective receive (a message of another type stays) and a consumed
    // (emptied) envelope both count right.
    let _ = rx.select(From::Start, |e| {
        let v = e.take::<u128>()?;
        assert_eq!(v, 7);
        None::<()> // emptied: consumed
    });
    assert_eq!(tx.bytes(), Some(40));
    while rx.try_recv_any().is_some() {}
    assert_eq!((tx.bytes(), tx.len()), (Some(0), 0));
}

#[test]
fn a_count_bound_reports_bytes_held_and_a_plain_mailbox_does_not() {
    let (tx, mut rx) = mailbox_bounded(4);
    assert!(tx.try_push(1u32).is_ok());
    assert!(tx.try_push(String::new()).is_ok());
    assert_eq!(tx.bytes(), Some(4 + std::mem::size_of::<String>()));
    assert_eq!(tx.byte_limit(), None);
    assert_eq!(rx.try_recv::<String>(), Some(String::new()));
    assert_eq!(tx.bytes(), Some(4));
    let (plain, _rx) = mailbox();
    assert!(plain.try_push(1u32).is_ok());
    assert_eq!(plain.bytes(), None, "not counted without a bound");
}

#[test]
fn four_threads_through_a_byte_budget_never_exceed_it_and_lose_nothing() {
    const PER: u64 = 20_000;
    // (u64, u64) is 16 bytes: the budget holds 3, the count bound 100.
    let (tx, mut rx) = mailbox_limited(100, Some(48));
    let producers: Vec<_> = (0..4u64)
        .map(|p| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for i in 0..PER {
                    let mut m = (p, i);
                    while let Err(r) = tx.try_push(m) {
                        m = r.into_inner();
                        std::thread::yield_now();
                    }
                }
            })
        })
        .collect();
    let mut next = [0u64; 4];
    let mut got = 0;
    while got < 4 * PER {
        assert!(tx.bytes().unwrap() <= 48, "above the byte budget");
        assert!(rx.len() <= 3, "above what the budget holds");
        match rx.try_recv::<(u64, u64)>() {
            Some((p, i)) => {
                assert_eq!(next[p as usize], i, "per-sender order");
                next[p as usize] += 1;
                got += 1;
            }
            None => std::thread::yield_now(),
        }
    }
    for p in producers {
        p.join().unwrap();
    }
    assert_eq!(tx.bytes(), Some(0));
}

#[test]
fn room_waiters_wake_oldest_first_one_per_slot_and_keep_a_woken_senders_turn() {
    let q = RoomWaiters::new();
    let mut t: Vec<Ticket> = (0..3).map(|_| Ticket::default()).collect();
    for (i, t) in t.iter_mut().enumerate() {
        q.register(t, i);
    }
    q.register(&mut t[1], 1); // a spurious wake-up: still queued, no change
    assert_eq!(q.len(), 3);
    let mut woken = Vec::new();
    assert!(q.wake(1, |w| woken.push(w)));
    assert_eq!(woken, [0]);
    // 0 lost the race for its room: it registers again, at the front.
    q.register(&mut t[0], 0);
    assert!(q.wake(2, |w| woken.push(w)));
    assert_eq!(woken, [0, 0, 1]);
    // 2 gives up while queued: nothing to pass on.
    assert!(!q.leave(&mut t[2]));
    assert!(q.is_empty());
    // 1 was woken and gives up: it holds a wake to pass on.
    assert!(q.leave(&mut t[1]));
    assert!(!q.wake(1, |_| panic!("no one is left")));
}

#[test]
fn the_room_callback_is_called_again_while_it_says_senders_wait() {
    let (tx, mut rx) = mailbox_bounded(2);
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    // Two senders wait; the callback wakes one per call and says whether
    // one is left.
    rx.on_room(move |n| {
        assert_eq!(n, 1);
        c.fetch_add(1, Ordering::Relaxed) == 0
    });
    assert!(tx.try_push(1u8).is_ok());
    assert!(tx.try_push(2u8).is_ok());
    assert!(!tx.announce_waiting(1));
    assert_eq!(rx.try_recv::<u8>(), Some(1));
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    // Nobody announced again, but the callback said one still waits.
    assert_eq!(rx.try_recv::<u8>(), Some(2));
    assert_eq!(calls.load(Ordering::Relaxed), 2);
    assert!(tx.try_push(3u8).is_ok());
    assert_eq!(rx.try_recv::<u8>(), Some(3));
    assert_eq!(calls.load(Ordering::Relaxed), 2, "it said no one is left");
}
