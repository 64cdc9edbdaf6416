//! Stress: 100,000 tasks ping-ponging unparks across workers with chaos mode
//! on (random `next` slot, random steal order). No task may be lost: every
//! one finishes, having seen every round.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use bream_scheduler::{task, Scheduler, TaskOwner, TaskRef};
use common::{spawn, Counter};

const TASKS: usize = 100_000;
const ROUNDS: usize = 20;

/// Two tasks taking turns: task `i` runs round r when `turn % 2 == i`.
#[derive(Default)]
struct Pair {
    turn: AtomicUsize,
    tasks: [OnceLock<TaskRef>; 2],
}

#[test]
fn ping_pong_pairs_with_chaos_all_finish() {
    let s = Scheduler::builder().workers(4).chaos(true).build().unwrap();
    let c = Arc::new(Counter::default());
    let owner: Arc<dyn TaskOwner> = c.clone();
    let pairs: Vec<Arc<Pair>> = (0..TASKS / 2).map(|_| Arc::default()).collect();
    for p in &pairs {
        for i in 0..2 {
            let p2 = p.clone();
            let t = spawn(&s, &owner, move || {
                // Wait until both handles are known.
                while p2.tasks[1 - i].get().is_none() {
                    task::park();
                }
                let other = p2.tasks[1 - i].get().unwrap();
                for _ in 0..ROUNDS {
                    while p2.turn.load(Ordering::Acquire) % 2 != i {
                        task::park();
                    }
                    p2.turn.fetch_add(1, Ordering::AcqRel);
                    other.unpark();
                }
            });
            p.tasks[i].set(t).unwrap();
        }
        p.tasks[0].get().unwrap().unpark();
        p.tasks[1].get().unwrap().unpark();
    }
    c.wait(TASKS);
    assert_eq!(c.returned.load(Ordering::SeqCst), TASKS);
    for p in &pairs {
        assert_eq!(p.turn.load(Ordering::SeqCst), 2 * ROUNDS);
    }
    s.shutdown();
}
