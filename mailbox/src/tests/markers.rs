use crate::{mailbox, From};

fn ints(rx: &mut crate::Receiver, from: From) -> Vec<u32> {
    // Visit everything from `from` without taking anything.
    let mut seen = Vec::new();
    let r: Option<((), _)> = rx.select(from, |e| {
        seen.push(*e.downcast_ref::<u32>().unwrap());
        None
    });
    assert!(r.is_none());
    seen
}

#[test]
fn taking_the_marked_message_moves_the_mark_back_one() {
    let (tx, mut rx) = mailbox();
    for i in 0..3u32 {
        let _ = tx.push(i);
    }
    let m = rx.set_marker();
    let marked = rx.save.mark;
    let _ = tx.push(10u32);
    // Take message 2, the last one before the marker.
    let (_, e) = rx
        .select(From::Start, |e| {
            (e.downcast_ref::<u32>() == Some(&2)).then_some(())
        })
        .unwrap();
    drop(e);
    assert_ne!(rx.save.mark, marked);
    assert_eq!(ints(&mut rx, From::Marker(m)), [10]);
    assert_eq!(ints(&mut rx, From::Start), [0, 1, 10]);
}

#[test]
fn try_recv_any_of_every_older_message_leaves_the_marker_at_the_start() {
    let (tx, mut rx) = mailbox();
    let _ = tx.push(1u32);
    let m = rx.set_marker();
    let _ = tx.push(2u32);
    assert_eq!(rx.try_recv_any().unwrap().downcast::<u32>().ok(), Some(1));
    assert!(rx.save.mark.is_null());
    assert_eq!(ints(&mut rx, From::Marker(m)), [2]);
}

#[test]
fn a_superseded_marker_scans_from_the_start() {
    let (tx, mut rx) = mailbox();
    let _ = tx.push(1u32);
    let old = rx.set_marker();
    let _ = tx.push(2u32);
    let new = rx.set_marker();
    let _ = tx.push(3u32);
    assert_eq!(ints(&mut rx, From::Marker(new)), [3]);
    assert_eq!(ints(&mut rx, From::Marker(old)), [1, 2, 3]);
}

#[test]
fn a_marker_from_another_mailbox_scans_from_the_start() {
    let (tx, mut rx) = mailbox();
    let (_tx2, mut rx2) = mailbox();
    let _ = tx.push(1u32);
    let _m = rx.set_marker();
    let foreign = rx2.set_marker();
    let _ = tx.push(2u32);
    assert_eq!(ints(&mut rx, From::Marker(foreign)), [1, 2]);
}
