//! Contexts: suspend/resume, migration between threads, panics as data (and no
//! stderr spam), force-unwinding runs destructors, stack overflow trapped on
//! the guard page (and a real crash staying a crash).
//!
//! Tests whose effect is on the whole process (stderr, an abort, a crash) run in
//! a child process: the test binary re-runs itself on one "child" test with
//! `BREAM_CHILD` set, and the parent checks the child's exit and stderr.

use std::cell::Cell;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use crate::context::{in_context, suspend, Context, Exit, Resumed};
use crate::stack::{StackPool, DEFAULT_STACK_SIZE};
use crate::trap::{install_process_handler, install_thread_altstack, Overflow};

/// One pool for the tests of this file (as a scheduler has one).
fn pool() -> &'static StackPool {
    static POOL: OnceLock<StackPool> = OnceLock::new();
    POOL.get_or_init(|| StackPool::new(DEFAULT_STACK_SIZE).unwrap())
}

fn context(f: impl FnOnce() + Send + 'static) -> Context {
    Context::new(pool().get().unwrap(), f)
}

/// Runs the test `name` of this file in a child process with `BREAM_CHILD` set.
fn run_child(name: &str) -> Output {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &format!("tests::context_tests::{name}")])
        .args(["--nocapture", "--test-threads=1"])
        .env("BREAM_CHILD", "1")
        .output()
        .unwrap()
}

fn is_child() -> bool {
    std::env::var_os("BREAM_CHILD").is_some()
}

/// Recurses until the stack overflows.
#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let mut buf = [0u8; 256];
    // Keep the buffer and the recursion from being optimised away.
    std::hint::black_box(&mut buf);
    buf[0] = depth as u8;
    recurse(depth + 1) + u64::from(std::hint::black_box(buf)[0])
}

#[test]
fn a_context_runs_to_its_end() {
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let mut c = context(move || r.store(true, Ordering::Relaxed));
    assert_eq!(c.resume(), Resumed::Finished(Exit::Returned));
    assert!(ran.load(Ordering::Relaxed));
    assert!(c.is_finished());
    pool().put(c.into_stack().unwrap());
}

#[test]
fn suspend_returns_to_resume_and_resume_goes_on() {
    let steps = Arc::new(AtomicUsize::new(0));
    let s = steps.clone();
    let mut c = context(move || {
        for _ in 0..3 {
            assert!(in_context());
            s.fetch_add(1, Ordering::Relaxed);
            suspend();
        }
    });
    assert!(!in_context());
    for i in 1..=3 {
        assert_eq!(c.resume(), Resumed::Suspended);
        assert_eq!(steps.load(Ordering::Relaxed), i);
        assert!(!in_context());
    }
    assert_eq!(c.resume(), Resumed::Finished(Exit::Returned));
}

#[test]
fn a_suspended_context_moves_to_another_thread() {
    let mut c = context(|| {
        let before = std::thread::current().id();
        suspend();
        assert_ne!(std::thread::current().id(), before, "resumed elsewhere");
    });
    assert_eq!(c.resume(), Resumed::Suspended);
    let exit = std::thread::spawn(move || c.resume()).join().unwrap();
    assert_eq!(exit, Resumed::Finished(Exit::Returned));
}

#[test]
fn a_nested_context_restores_the_outer_one() {
    let mut outer = context(|| {
        let mut inner = context(suspend);
        assert_eq!(inner.resume(), Resumed::Suspended);
        assert!(in_context(), "back in the outer context");
        suspend(); // suspends the outer one, not the inner
        assert_eq!(inner.resume(), Resumed::Finished(Exit::Returned));
    });
    assert_eq!(outer.resume(), Resumed::Suspended);
    assert_eq!(outer.resume(), Resumed::Finished(Exit::Returned));
}

#[test]
fn a_panic_is_an_exit_with_its_message() {
    let mut c = context(|| panic!("boom {}", 42));
    assert_eq!(
        c.resume(),
        Resumed::Finished(Exit::Panicked("boom 42".into()))
    );
    let mut c = context(|| std::panic::panic_any(7u32));
    assert_eq!(
        c.resume(),
        Resumed::Finished(Exit::Panicked("Box<dyn Any>".into()))
    );
}

#[test]
fn child_panics_silently() {
    if !is_child() {
        return;
    }
    let mut c = context(|| panic!("task-panic-message"));
    assert_eq!(
        c.resume(),
        Resumed::Finished(Exit::Panicked("task-panic-message".into()))
    );
    eprintln!("child: context done");
    // Outside a context the previous hook still reports.
    let _ = std::panic::catch_unwind(|| panic!("outside-panic-message"));
}

#[test]
fn a_panic_inside_a_context_prints_nothing() {
    let out = run_child("child_panics_silently");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("child: context done"),
        "child ran: {stderr}"
    );
    assert!(!stderr.contains("task-panic-message"), "spam: {stderr}");
    assert!(stderr.contains("outside-panic-message"), "{stderr}");
}

/// Sets its flag when dropped.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        assert!(in_context(), "destructors run on the context's stack");
        suspend(); // returns at once: a destructor cannot block while unwinding
        self.0.store(true, Ordering::Relaxed);
    }
}

#[test]
fn into_stack_unwinds_a_suspended_context_running_destructors() {
    let dropped = Arc::new(AtomicBool::new(false));
    let d = SetOnDrop(dropped.clone());
    let mut c = context(move || {
        let _d = d;
        loop {
            suspend();
        }
    });
    assert_eq!(c.resume(), Resumed::Suspended);
    assert!(!dropped.load(Ordering::Relaxed));
    let stack = c.into_stack().unwrap();
    assert!(dropped.load(Ordering::Relaxed));
    pool().put(stack);
}

#[test]
fn dropping_a_context_unwinds_it_or_drops_its_closure() {
    let dropped = Arc::new(AtomicBool::new(false));
    let d = SetOnDrop(dropped.clone());
    let mut c = context(move || {
        let _d = d;
        suspend();
        unreachable!("never resumed again");
    });
    assert_eq!(c.resume(), Resumed::Suspended);
    drop(c);
    assert!(dropped.load(Ordering::Relaxed));

    // Never started: the closure (and what it captured) is dropped.
    let captured = Arc::new(());
    let held = captured.clone();
    drop(context(move || drop(held)));
    assert_eq!(Arc::strong_count(&captured), 1);
}

#[test]
fn a_stack_overflow_is_an_exit_and_the_thread_goes_on() {
    install_process_handler().unwrap();
    let _alt = install_thread_altstack(Overflow::Trap).unwrap();
    for round in 0..5 {
        let mut c = context(|| {
            recurse(0);
        });
        assert_eq!(
            c.resume(),
            Resumed::Finished(Exit::StackOverflow),
            "round {round}"
        );
        assert!(!in_context());
        pool().put(c.into_stack().unwrap());
        // The next context on this thread (likely on the same stack) runs fine.
        let mut ok = context(suspend);
        assert_eq!(ok.resume(), Resumed::Suspended);
        assert_eq!(ok.resume(), Resumed::Finished(Exit::Returned));
    }
}

#[test]
fn a_stack_overflow_after_a_migration_is_trapped_on_the_new_thread() {
    install_process_handler().unwrap();
    let mut c = context(|| {
        suspend();
        recurse(0);
    });
    assert_eq!(c.resume(), Resumed::Suspended);
    let exit = std::thread::spawn(move || {
        let _alt = install_thread_altstack(Overflow::Trap).unwrap();
        c.resume()
    })
    .join()
    .unwrap();
    assert_eq!(exit, Resumed::Finished(Exit::StackOverflow));
}

#[test]
fn child_overflows_with_trapping_off() {
    if !is_child() {
        return;
    }
    install_process_handler().unwrap();
    let _alt = install_thread_altstack(Overflow::Abort).unwrap();
    let mut c = context(|| {
        recurse(0);
    });
    let _ = c.resume();
    eprintln!("child: survived");
}

#[test]
fn with_trapping_off_an_overflow_aborts_with_a_message() {
    let out = run_child("child_overflows_with_trapping_off");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("overflowed its stack"), "{stderr}");
    assert!(!stderr.contains("child: survived"), "{stderr}");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(libc::SIGABRT), "{stderr}");
}

#[test]
fn child_crashes_inside_a_context() {
    if !is_child() {
        return;
    }
    install_process_handler().unwrap();
    let _alt = install_thread_altstack(Overflow::Trap).unwrap();
    let mut c = context(|| {
        // SAFETY: none; this deliberately faults, as a buggy FFI call would.
        unsafe { std::ptr::null_mut::<u8>().add(64).write_volatile(1) };
    });
    let _ = c.resume();
    eprintln!("child: survived");
}

#[test]
fn a_fault_that_is_not_an_overflow_stays_a_crash() {
    let out = run_child("child_crashes_inside_a_context");
    let stderr = String::from_utf8_lossy(&out.stderr);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(libc::SIGSEGV), "{stderr}");
    assert!(!stderr.contains("child: survived"), "{stderr}");
}

thread_local! {
    static LOCAL: Cell<u32> = const { Cell::new(0) };
}

#[test]
fn a_context_sees_the_thread_locals_of_the_thread_resuming_it() {
    // The documented hazard, shown with the safe pattern: re-read a
    // thread-local after each suspension, never hold a borrow across it.
    let mut c = context(|| {
        LOCAL.set(1);
        suspend();
        assert_eq!(LOCAL.get(), 0, "a fresh thread's value, not ours");
    });
    assert_eq!(c.resume(), Resumed::Suspended);
    assert_eq!(LOCAL.get(), 1, "the context wrote this thread's cell");
    let exit = std::thread::spawn(move || c.resume()).join().unwrap();
    assert_eq!(exit, Resumed::Finished(Exit::Returned));
}

/// Fills the usable part of a fresh stack with a pattern, runs `f` in a context
/// on it to the end, and returns how deep the context went: bytes from the base
/// down to the lowest byte that no longer holds the pattern.
fn high_water(f: impl FnOnce() + Send + 'static) -> usize {
    const PATTERN: u8 = 0xA5;
    let stack = pool().get().unwrap();
    let (_, start) = stack.guard();
    let base = stack.base();
    // SAFETY: the usable range of a stack we own and no context uses.
    unsafe { std::ptr::write_bytes(start as *mut u8, PATTERN, base - start) };
    let mut c = Context::new(stack, f);
    assert_eq!(c.resume(), Resumed::Finished(Exit::Returned));
    let stack = c.into_stack().unwrap();
    // SAFETY: as above; the context is finished.
    let bytes = unsafe { std::slice::from_raw_parts(start as *const u8, base - start) };
    let lowest = bytes.iter().position(|&b| b != PATTERN).unwrap();
    pool().put(stack);
    base - (start + lowest)
}

/// What typical task code needs, printed with `--nocapture` (docs/stacks.md
/// quotes these numbers); the default size must hold each with 2x to spare.
#[test]
fn the_default_stack_holds_typical_code_with_room_to_spare() {
    type Case = (&'static str, Box<dyn FnOnce() + Send>);
    let cases: Vec<Case> = vec![
        ("empty", Box::new(|| {})),
        (
            "format",
            Box::new(|| {
                let s = format!("{:?} {:>8.3} {}", vec![1, 2, 3], 1.5f64, "x");
                std::hint::black_box(s);
            }),
        ),
        (
            "collections",
            Box::new(|| {
                let mut m = std::collections::HashMap::new();
                for i in 0..1000 {
                    m.insert(i.to_string(), i);
                }
                let mut v: Vec<_> = m.into_values().collect();
                v.sort_unstable();
                std::hint::black_box(v);
            }),
        ),
        (
            "file read",
            Box::new(|| {
                let s = std::fs::read_to_string("/proc/self/status").unwrap();
                std::hint::black_box(s);
            }),
        ),
        (
            "panic caught",
            Box::new(|| {
                let r = std::panic::catch_unwind(|| panic!("caught {}", 1));
                std::hint::black_box(r.is_err());
            }),
        ),
        (
            "panic caught, backtrace",
            Box::new(|| {
                let r = std::panic::catch_unwind(|| {
                    let bt = std::backtrace::Backtrace::force_capture();
                    std::hint::black_box(bt.to_string());
                    panic!("caught {}", 1)
                });
                std::hint::black_box(r.is_err());
            }),
        ),
    ];
    for (name, f) in cases {
        let depth = high_water(f);
        println!("stack high-water: {name:>24}: {depth:>6} bytes");
        assert!(depth * 2 <= DEFAULT_STACK_SIZE, "{name}: {depth} bytes");
    }
}

#[test]
fn a_parked_context_touches_one_page_of_its_stack() {
    let pool = StackPool::new(DEFAULT_STACK_SIZE).unwrap();
    // A stack fresh from the kernel: nothing resident yet.
    let stack = pool.get().unwrap();
    let range = (stack.guard().1, stack.base());
    assert_eq!(stack.resident_pages().unwrap(), 0);
    let mut c = Context::new(stack, suspend);
    assert_eq!(c.resume(), Resumed::Suspended);
    let touched = crate::stack::resident_pages(range.0, range.1).unwrap();
    assert_eq!(touched, 1, "a parked context touched {touched} pages");
    assert_eq!(c.resume(), Resumed::Finished(Exit::Returned));
}

#[test]
fn a_released_stack_keeps_its_guard_page() {
    use crate::stack::{RELEASE_BATCH, WARM_CAP};
    install_process_handler().unwrap();
    let _alt = install_thread_altstack(Overflow::Trap).unwrap();
    let pool = StackPool::new(16 * 1024).unwrap();
    let stacks: Vec<_> = (0..WARM_CAP + RELEASE_BATCH)
        .map(|_| pool.get().unwrap())
        .collect();
    drop(stacks);
    assert_eq!(pool.stats().cold, RELEASE_BATCH);
    // Take every free stack; the last ones handed out were released (cold).
    let mut all: Vec<_> = (0..pool.stats().carved)
        .map(|_| pool.get().unwrap())
        .collect();
    let cold = all.pop().unwrap();
    assert_eq!(cold.resident_pages().unwrap(), 0, "released");
    let mut c = Context::new(cold, || {
        recurse(0);
    });
    // Without its guard the overflow would run on into the next stack down
    // and fault in *its* guard page: not ours, a crash.
    assert_eq!(c.resume(), Resumed::Finished(Exit::StackOverflow));
}

/// A field of /proc/self/status, in KiB.
fn status_kib(key: &str) -> usize {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = s.lines().find(|l| l.starts_with(key)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Contexts the memory test parks (the scheduler's tests go to 1,000,000).
const PARKED: usize = 100_000;

#[test]
fn child_parks_many_contexts() {
    if !is_child() {
        return;
    }
    let pool = StackPool::new(DEFAULT_STACK_SIZE).unwrap();
    let mut parked: Vec<Context> = Vec::with_capacity(PARKED);
    let before = status_kib("VmRSS:") + status_kib("VmPTE:");
    for _ in 0..PARKED {
        let mut c = Context::new(pool.get().unwrap(), suspend);
        assert_eq!(c.resume(), Resumed::Suspended);
        parked.push(c);
    }
    let after = status_kib("VmRSS:") + status_kib("VmPTE:");
    eprintln!("parked-bytes-each={}", (after - before) * 1024 / PARKED);
    for c in &mut parked {
        assert_eq!(c.resume(), Resumed::Finished(Exit::Returned));
    }
}

/// docs/architecture.md §3's budget: a parked process costs at most 5 KiB of RAM and page
/// tables (VmRSS + VmPTE over N), stack included; THP must not inflate it.
#[test]
fn a_parked_context_costs_at_most_5_kib() {
    let out = run_child("child_parks_many_contexts");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let each: usize = stderr
        .lines()
        .find_map(|l| l.strip_prefix("parked-bytes-each="))
        .expect("the child reports")
        .parse()
        .unwrap();
    println!("memory per parked context: {each} B");
    assert!(each <= 5 * 1024, "{each} bytes per parked context");
}

#[test]
fn closures_of_any_size_run() {
    let small = [1u8; crate::context::INLINE_CLOSURE_MAX - 8];
    let mut c = context(move || {
        suspend();
        assert!(small.iter().all(|&b| b == 1));
    });
    assert_eq!(c.resume(), Resumed::Suspended);
    assert_eq!(c.resume(), Resumed::Finished(Exit::Returned));
    let big = [2u8; 64 * 1024]; // as large as the stack itself: boxed
    let mut c = context(move || {
        suspend();
        assert!(big.iter().all(|&b| b == 2));
    });
    assert_eq!(c.resume(), Resumed::Suspended);
    assert_eq!(c.resume(), Resumed::Finished(Exit::Returned));
}

#[test]
fn a_task_that_swallows_its_unwind_is_leaked_not_reused() {
    // Catches every panic, the forced unwind included, and suspends again.
    let mut stubborn = context(|| loop {
        let _ = std::panic::catch_unwind(suspend);
    });
    assert_eq!(stubborn.resume(), Resumed::Suspended);
    assert!(stubborn.into_stack().is_none(), "leaked, not handed back");

    // Catches the unwind once and then returns: finished, the stack comes back.
    let mut c = context(|| {
        let _ = std::panic::catch_unwind(suspend);
    });
    assert_eq!(c.resume(), Resumed::Suspended);
    assert!(c.into_stack().is_some());
}
