//! One million tasks spawned, parked, unparked and finished with default
//! settings, on a default-configured Linux (vm.max_map_count 65530): the spawn
//! path must add no memory mapping per stack.
//!
//! A coordinator task spawns the million and later unparks them, as a
//! process would; the test thread only checks the mappings while they are
//! all parked.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, OnceLock};

use bream_scheduler::{task, Scheduler, TaskOwner, TaskRef};
use common::{spawn, Counter};

const N: usize = 1_000_000;

fn vmas() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .count()
}

#[test]
fn a_million_tasks_park_unpark_and_finish() {
    let s = Scheduler::builder().build().unwrap();
    let c = Arc::new(Counter::default());
    let owner: Arc<dyn TaskOwner> = c.clone();
    let started = Arc::new(AtomicUsize::new(0));
    let go = Arc::new(AtomicBool::new(false));
    let coordinator: Arc<OnceLock<TaskRef>> = Arc::default();
    let (all_parked_tx, all_parked) = mpsc::channel();
    let vmas_before = vmas();

    let (st, g, co, ow) = (
        started.clone(),
        go.clone(),
        coordinator.clone(),
        owner.clone(),
    );
    let coord = spawn(&s, &owner, move || {
        co.set(task::with_current(TaskRef::clone)).unwrap();
        let sched = task::current_scheduler();
        let tasks: Vec<TaskRef> = (0..N)
            .map(|_| {
                let (st, g, co) = (st.clone(), g.clone(), co.clone());
                sched
                    .spawn(Default::default(), ow.clone(), move || {
                        if st.fetch_add(1, Ordering::SeqCst) + 1 == N {
                            co.get().unwrap().unpark();
                        }
                        while !g.load(Ordering::Acquire) {
                            task::park();
                        }
                    })
                    .unwrap()
            })
            .collect();
        while st.load(Ordering::SeqCst) < N {
            task::park();
        }
        all_parked_tx.send(()).unwrap();
        while !g.load(Ordering::Acquire) {
            task::park();
        }
        for t in &tasks {
            t.unpark();
        }
    });

    all_parked.recv().unwrap();
    let vmas_after = vmas();
    assert!(
        vmas_after < vmas_before + 200,
        "mappings grew from {vmas_before} to {vmas_after} for {N} stacks: one per stack?"
    );
    assert_eq!(
        c.done.load(Ordering::SeqCst),
        0,
        "no task finished before its unpark"
    );
    go.store(true, Ordering::Release);
    coord.unpark();
    c.wait(N + 1);
    assert_eq!(c.returned.load(Ordering::SeqCst), N + 1);
    assert_eq!(s.live_tasks(), 0);
    s.shutdown();
}
