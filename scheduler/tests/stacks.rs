//! Task stacks through the public API: an overflow ends only the task that
//! overflowed (docs/architecture.md §3: "the process dies with reason StackOverflow ...
//! the runtime and every other process go on"), stack sizes are honoured, and
//! `trap_stack_overflow(false)` aborts instead.
//!
//! The abort test runs in a child process: this test binary re-runs itself on
//! one "child" test with `BREAM_CHILD` set, and the parent checks how it died.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use bream_scheduler::{task, Outcome, Scheduler, SpawnOpts};
use common::{report, spawn};

/// Uses `kib` KiB of stack (a little more): recurses with 1 KiB frames until
/// the deepest frame lies `kib` KiB below the first one.
fn use_stack(kib: usize) -> u8 {
    let mut top = [0u8; 16];
    let top = std::hint::black_box(&mut top).as_ptr() as usize;
    deeper(top.saturating_sub(kib * 1024))
}

#[inline(never)]
fn deeper(bottom: usize) -> u8 {
    let mut frame = [0u8; 1024];
    let here = std::hint::black_box(&mut frame).as_ptr() as usize;
    if here <= bottom {
        return frame[0];
    }
    frame[1] = deeper(bottom);
    std::hint::black_box(frame)[1]
}

/// Recurses until the stack overflows.
fn overflow() {
    deeper(0);
}

fn is_child() -> bool {
    std::env::var_os("BREAM_CHILD").is_some()
}

#[test]
fn an_overflowing_task_dies_alone_and_the_worker_goes_on() {
    let s = Scheduler::builder().workers(1).build().unwrap();
    let (owner, rx) = report();
    // A bystander parked on the same (only) worker before the overflows.
    let bystander = spawn(&s, &owner, task::park);
    for _ in 0..10 {
        let t = spawn(&s, &owner, overflow);
        assert_eq!(rx.recv().unwrap(), Outcome::StackOverflow);
        assert_eq!(t.outcome(), Some(Outcome::StackOverflow));
        // The same worker thread runs the next task on a reused stack.
        spawn(&s, &owner, || assert_eq!(use_stack(32), 0));
        assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    }
    assert_eq!(bystander.outcome(), None, "still parked");
    bystander.unpark();
    assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    s.shutdown();
}

#[test]
fn overflows_on_every_worker_at_once_are_all_trapped() {
    let s = Scheduler::builder().workers(2).build().unwrap();
    let (owner, rx) = report();
    for _ in 0..50 {
        spawn(&s, &owner, overflow);
    }
    for _ in 0..50 {
        assert_eq!(rx.recv().unwrap(), Outcome::StackOverflow);
    }
    s.shutdown();
}

#[test]
fn the_stack_size_is_honoured() {
    let small = Scheduler::builder()
        .workers(1)
        .stack_size(16 * 1024)
        .build()
        .unwrap();
    let (owner, rx) = report();
    spawn(&small, &owner, || {
        use_stack(8);
    });
    assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    spawn(&small, &owner, || {
        use_stack(40);
    });
    assert_eq!(rx.recv().unwrap(), Outcome::StackOverflow, "40 KiB in 16");
    // A bigger stack for one task.
    let big = SpawnOpts {
        stack_size: Some(256 * 1024),
        ..Default::default()
    };
    small
        .spawn(big, owner.clone(), || {
            use_stack(200);
        })
        .unwrap();
    assert_eq!(rx.recv().unwrap(), Outcome::Returned, "200 KiB in 256");
    small.shutdown();

    // The default size holds 40 KiB.
    let s = Scheduler::builder().workers(1).build().unwrap();
    spawn(&s, &owner, || {
        use_stack(40);
    });
    assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    s.shutdown();
}

#[test]
fn child_overflows_with_trapping_off() {
    if !is_child() {
        return;
    }
    let s = Scheduler::builder()
        .workers(1)
        .trap_stack_overflow(false)
        .build()
        .unwrap();
    let (owner, rx) = report();
    spawn(&s, &owner, overflow);
    let outcome = rx.recv();
    eprintln!("child: survived with {outcome:?}");
}

#[test]
fn with_trapping_off_an_overflow_aborts_the_process() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_overflows_with_trapping_off"])
        .args(["--nocapture", "--test-threads=1"])
        .env("BREAM_CHILD", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.signal(), Some(libc::SIGABRT), "{stderr}");
    assert!(stderr.contains("overflowed its stack"), "{stderr}");
    assert!(!stderr.contains("child: survived"), "{stderr}");
}
