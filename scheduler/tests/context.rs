//! Task contexts through the public API: what runs on a task's own stack and
//! what the outside sees of it. docs/architecture.md §3: "a panic inside a process becomes
//! its exit reason ... The default panic hook prints nothing for it; the crash
//! report does, once".
//!
//! The stderr test runs in a child process: this test binary re-runs itself on
//! one "child" test with `BREAM_CHILD` set, and the parent reads its stderr.

mod common;

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bream_scheduler::{task, Outcome, Scheduler};
use common::{report, spawn};

fn is_child() -> bool {
    std::env::var_os("BREAM_CHILD").is_some()
}

#[test]
fn child_panics_in_and_out_of_tasks() {
    if !is_child() {
        return;
    }
    let s = Scheduler::builder().workers(1).build().unwrap();
    let (owner, rx) = report();
    spawn(&s, &owner, || panic!("panic-inside-a-task"));
    assert_eq!(
        rx.recv().unwrap(),
        Outcome::Panicked("panic-inside-a-task".into())
    );
    s.shutdown();
    eprintln!("child: task done");
    let _ = std::panic::catch_unwind(|| panic!("panic-outside-tasks"));
}

#[test]
fn a_panicking_task_prints_nothing_but_other_panics_still_do() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_panics_in_and_out_of_tasks"])
        .args(["--nocapture", "--test-threads=1"])
        .env("BREAM_CHILD", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("child: task done"), "{stderr}");
    assert!(!stderr.contains("panic-inside-a-task"), "{stderr}");
    assert!(stderr.contains("panic-outside-tasks"), "{stderr}");
}

#[test]
fn a_task_whose_closure_captures_16_kib_runs() {
    let s = Scheduler::builder().workers(1).build().unwrap();
    let (owner, rx) = report();
    let big = [7u8; 16 * 1024];
    spawn(&s, &owner, move || {
        task::yield_now();
        assert!(big.iter().all(|&b| b == 7));
    });
    assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    s.shutdown();
}

/// Checks, when dropped, that it runs inside its task, and records that it ran.
struct InTaskOnDrop(Arc<AtomicBool>);

impl Drop for InTaskOnDrop {
    fn drop(&mut self) {
        assert!(task::in_task(), "destructors of a cancelled task run in it");
        task::yield_now(); // cannot suspend while unwinding: returns at once
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn a_cancelled_task_unwinds_on_its_own_stack() {
    let s = Scheduler::builder().workers(1).build().unwrap();
    let (owner, rx) = report();
    let dropped = Arc::new(AtomicBool::new(false));
    let guard = InTaskOnDrop(dropped.clone());
    let t = spawn(&s, &owner, move || {
        let _guard = guard;
        loop {
            task::park();
        }
    });
    // Wait until it has started and parked: a yield from a second task on the
    // one worker runs after the first task's park.
    spawn(&s, &owner, task::yield_now);
    assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    t.cancel();
    assert_eq!(rx.recv().unwrap(), Outcome::Cancelled);
    assert!(dropped.load(Ordering::SeqCst));
    s.shutdown();
}
