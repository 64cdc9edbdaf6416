//! Scheduler scenarios that need private access: timers and blocking threads
//! leave nothing behind; shutdown empties the registry.

use std::sync::{mpsc, Arc};
use std::time::Duration;

use crate::task_ref::{Outcome, TaskOwner};
use crate::{task, Scheduler, SpawnOpts};

struct Tx(std::sync::Mutex<mpsc::Sender<Outcome>>);
impl TaskOwner for Tx {
    fn on_exit(&self, o: Outcome) {
        let _ = self.0.lock().unwrap().send(o);
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn owner() -> (Arc<dyn TaskOwner>, mpsc::Receiver<Outcome>) {
    let (tx, rx) = mpsc::channel();
    (Arc::new(Tx(std::sync::Mutex::new(tx))), rx)
}

#[test]
fn unparked_park_timeout_leaves_no_timer_behind() {
    let s = Scheduler::builder().workers(2).build().unwrap();
    let (o, rx) = owner();
    let t = s
        .spawn(SpawnOpts::default(), o, || {
            task::park_timeout(Duration::from_secs(3600));
        })
        .unwrap();
    while !t.is_parked() {
        std::thread::yield_now();
    }
    assert_eq!(s.shared.timers.len(), 1);
    t.unpark();
    assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    assert_eq!(s.shared.timers.len(), 0, "the timer was cancelled in O(1)");
    s.shutdown();
}

#[test]
fn blocking_threads_are_made_on_demand_and_joined() {
    let s = Scheduler::builder().workers(1).build().unwrap();
    assert_eq!(
        s.shared.blocking.threads(),
        0,
        "no blocking thread until needed"
    );
    let (o, rx) = owner();
    s.spawn(SpawnOpts::default(), o, || {
        assert_eq!(task::blocking(|| 6 * 7), 42);
    })
    .unwrap();
    assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    assert_eq!(s.shared.blocking.threads(), 1);
    let sh = s.shared.clone();
    s.shutdown();
    assert_eq!(sh.blocking.threads(), 0, "shutdown joined it");
    assert_eq!(sh.registry.len(), 0);
}

/// The state letters of this process's threads named `bream-worker-*`.
fn worker_thread_states() -> Vec<char> {
    let mut states = Vec::new();
    for entry in std::fs::read_dir("/proc/self/task").unwrap() {
        let dir = entry.unwrap().path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if !comm.starts_with("bream-worker") {
            continue;
        }
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
        // "pid (comm) S ...": the state follows the last ')'.
        if let Some(rest) = stat.rsplit_once(')') {
            states.extend(rest.1.trim_start().chars().next());
        }
    }
    states
}

#[test]
fn an_idle_scheduler_puts_every_worker_to_sleep() {
    let s = Scheduler::builder().workers(3).build().unwrap();
    let (o, rx) = owner();
    for _ in 0..10 {
        s.spawn(SpawnOpts::default(), o.clone(), task::yield_now)
            .unwrap();
    }
    for _ in 0..10 {
        assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    }
    // Every worker reaches the sleepers list and blocks in the kernel (a
    // futex or epoll_wait: state S). A worker that spun would never be S.
    let mut tries = 0;
    loop {
        // The long-schedule monitor too: it sleeps without a timeout while
        // every worker is parked (monitor.rs), so an idle runtime makes no
        // periodic wake-up.
        let asleep = s.shared.idle.num_unparked() == 0
            && worker_thread_states().iter().filter(|&&c| c == 'S').count() == 3
            && s.shared.monitor.is_asleep();
        if asleep {
            break;
        }
        tries += 1;
        assert!(tries < 1_000_000, "workers never all went to sleep");
        std::thread::yield_now();
    }
    assert_eq!(s.shared.idle.num_searching(), 0);
    s.shutdown();
}

#[test]
fn shutdown_returns_every_stack_and_forgets_every_task() {
    let s = Scheduler::builder().workers(2).build().unwrap();
    let (o, rx) = owner();
    let big = SpawnOpts {
        stack_size: Some(256 * 1024),
        ..Default::default()
    };
    for i in 0..100 {
        let opts = if i % 10 == 0 {
            big.clone()
        } else {
            SpawnOpts::default()
        };
        s.spawn(opts, o.clone(), || loop {
            task::park_timeout(Duration::from_secs(3600));
        })
        .unwrap();
    }
    s.spawn(SpawnOpts::default(), o, || {}).unwrap();
    assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    let sh = s.shared.clone();
    assert!(sh.stacks_in_use() > 0);
    s.shutdown();
    for _ in 0..100 {
        assert_eq!(rx.recv().unwrap(), Outcome::Cancelled);
    }
    assert_eq!(sh.stacks_in_use(), 0, "every stack went back");
    assert_eq!(sh.registry.len(), 0);
    assert_eq!(sh.timers.len(), 0, "pending timers dropped");
}

#[test]
fn a_worker_running_a_task_is_not_counted_searching() {
    // A task spawned from outside lands in the injector and wakes the parked
    // worker, counted as searching; the worker takes the task in
    // `find_local`. While it runs it, it must no longer count as searching
    // (a searcher suppresses every other wakeup).
    let s = Scheduler::builder().workers(1).build().unwrap();
    let (o, rx) = owner();
    for _ in 0..20 {
        while s.shared.idle.num_unparked() > 0 {
            std::thread::yield_now();
        }
        let (tx, seen) = mpsc::channel();
        let sh = s.shared.clone();
        s.spawn(SpawnOpts::default(), o.clone(), move || {
            tx.send(sh.idle.num_searching()).unwrap();
        })
        .unwrap();
        assert_eq!(
            seen.recv().unwrap(),
            0,
            "counted searching while running a task"
        );
        assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    }
    s.shutdown();
}

#[test]
fn after_shutdown_nothing_keeps_the_scheduler_alive() {
    // Parked tasks, queued tasks, tasks waiting on timers and a pending
    // timer callback: once shut down and every handle dropped, the shared
    // state must be freed (no reference cycle through queues, timers or the
    // registry).
    let s = Scheduler::builder().workers(2).build().unwrap();
    let (o, _rx) = owner();
    let mut handles = Vec::new();
    for i in 0..200 {
        handles.push(
            s.spawn(SpawnOpts::default(), o.clone(), move || loop {
                match i % 3 {
                    0 => task::park(),
                    1 => task::yield_now(),
                    _ => {
                        task::park_timeout(Duration::from_secs(3600));
                    }
                }
            })
            .unwrap(),
        );
    }
    let t = s.timer_after(Duration::from_secs(3600), || {});
    let weak = Arc::downgrade(&s.shared);
    s.shutdown();
    drop((handles, t));
    assert!(weak.upgrade().is_none(), "the scheduler's state leaked");
}
