//! The waiting handshake through the public API, one thread (the interleavings
//! are in loom-tests/tests/mailbox.rs; real threads in stress.rs).

// Plain std atomics only: under `--cfg bream_loom` these run in loom-tests.
#![cfg(not(bream_loom))]

use bream_mailbox::{mailbox, Envelope, Push};

#[test]
fn no_push_reports_wake_unless_the_receiver_announced() {
    let (tx, mut rx) = mailbox();
    for i in 0..10u32 {
        assert_eq!(tx.push(i), Push::Queued);
    }
    while rx.try_recv_any().is_some() {}
    assert_eq!(tx.push(0u32), Push::Queued);
}

#[test]
fn exactly_one_push_per_announcement_reports_wake() {
    let (tx, mut rx) = mailbox();
    for round in 0..3u32 {
        assert!(rx.prepare_wait());
        assert!(rx.prepare_wait(), "announcing twice changes nothing");
        assert_eq!(tx.push(round), Push::Wake);
        assert_eq!(tx.push(round), Push::Queued);
        rx.finish_wait();
        assert!(!rx.prepare_wait(), "two messages are waiting");
        assert_eq!(rx.try_recv::<u32>(), Some(round));
        assert_eq!(rx.try_recv::<u32>(), Some(round));
    }
}

#[test]
fn prepare_wait_refuses_while_unseen_messages_are_inbound() {
    let (tx, mut rx) = mailbox();
    let _ = tx.push(1u32);
    assert!(!rx.prepare_wait());
    // A message saved (seen, not taken) does not keep the receiver awake.
    assert!(rx.try_recv::<String>().is_none());
    assert!(rx.prepare_wait());
    assert!(!rx.cancel_wait(), "no push came: nothing to tolerate");
}

#[test]
fn cancel_wait_reports_a_claimed_announcement() {
    let (tx, mut rx) = mailbox();
    assert!(rx.prepare_wait());
    assert_eq!(tx.push(1u32), Push::Wake);
    assert!(rx.cancel_wait(), "a Wake is on its way");
    assert!(!rx.cancel_wait(), "already Running");
    rx.finish_wait(); // a no-op when Running
    assert_eq!(rx.try_recv::<u32>(), Some(1));
}

#[test]
fn a_spurious_wakeup_then_finish_wait_leaves_no_stale_announcement() {
    let (tx, mut rx) = mailbox();
    assert!(rx.prepare_wait());
    rx.finish_wait(); // woken by something else: withdraws
    assert_eq!(tx.push(1u32), Push::Queued);
}

#[test]
fn an_empty_envelope_is_not_a_message() {
    let (tx, mut rx) = mailbox();
    let mut env = Envelope::new(5u8);
    assert_eq!(env.take::<u8>(), Some(5));
    assert!(rx.prepare_wait());
    assert_eq!(tx.push_envelope(env), Push::Queued);
    assert!(!rx.cancel_wait());
    assert_eq!(tx.len(), 0);
    assert!(rx.try_recv_any().is_none());
}

#[test]
fn an_envelope_can_be_forwarded_to_another_mailbox() {
    let (tx, mut rx) = mailbox();
    let (tx2, mut rx2) = mailbox();
    let _ = tx.push(String::from("relay"));
    let _ = tx.push(1u8);
    let env = rx.try_recv_any().unwrap();
    let _ = tx2.push_envelope(env);
    let _ = tx2.push_envelope(rx.try_recv_any().unwrap());
    assert_eq!(rx2.try_recv::<u8>(), Some(1));
    assert_eq!(rx2.try_recv::<String>().as_deref(), Some("relay"));
}
