//! Memory per parked task: spawn N tasks (default 1,000,000) that each park
//! once, and when all are parked print ((VmRSS + VmPTE) after - before) / N
//! from /proc/self/status (docs/architecture.md §8's definition). Then unpark them all,
//! wait for them to finish and shut down.
//!
//! Run: `cargo run --release -p bream-scheduler --example parked_memory [N]`
//! Target (issue 3): at most 5 KiB per parked task at N = 1,000,000.

use std::any::Any;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::time::Instant;

use bream_scheduler::{task, Outcome, Scheduler, TaskOwner, TaskRef};

struct Count(AtomicUsize, mpsc::Sender<()>, usize);
impl TaskOwner for Count {
    fn on_exit(&self, _: Outcome) {
        if self.0.fetch_add(1, Ordering::SeqCst) + 1 == self.2 {
            self.1.send(()).unwrap();
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// VmRSS + VmPTE in KiB.
fn rss_pte_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .filter(|l| l.starts_with("VmRSS:") || l.starts_with("VmPTE:"))
        .map(|l| l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap())
        .sum()
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(1_000_000, |a| a.parse().unwrap());
    let s = Scheduler::builder().build().unwrap();
    let (done_tx, done) = mpsc::channel();
    let owner: Arc<dyn TaskOwner> = Arc::new(Count(AtomicUsize::new(0), done_tx, n + 1));
    let started = Arc::new(AtomicUsize::new(0));
    let go = Arc::new(AtomicBool::new(false));
    let coordinator: Arc<OnceLock<TaskRef>> = Arc::default();
    let (parked_tx, parked) = mpsc::channel();
    let before = rss_pte_kib();
    let t0 = Instant::now();

    let (st, g, co, ow) = (
        started.clone(),
        go.clone(),
        coordinator.clone(),
        owner.clone(),
    );
    let coord = s
        .spawn(Default::default(), owner, move || {
            co.set(task::with_current(TaskRef::clone)).unwrap();
            let sched = task::current_scheduler();
            let tasks: Vec<TaskRef> = (0..n)
                .map(|_| {
                    let (st, g, co) = (st.clone(), g.clone(), co.clone());
                    sched
                        .spawn(Default::default(), ow.clone(), move || {
                            if st.fetch_add(1, Ordering::SeqCst) + 1 == n {
                                co.get().unwrap().unpark();
                            }
                            while !g.load(Ordering::Acquire) {
                                task::park();
                            }
                        })
                        .unwrap()
                })
                .collect();
            while st.load(Ordering::SeqCst) < n {
                task::park();
            }
            parked_tx.send(()).unwrap();
            while !g.load(Ordering::Acquire) {
                task::park();
            }
            for t in &tasks {
                t.unpark();
            }
        })
        .unwrap();

    parked.recv().unwrap();
    let spawned = t0.elapsed();
    let after = rss_pte_kib();
    let per_task = (after - before) as f64 * 1024.0 / n as f64;
    println!(
        "{n} parked tasks: (VmRSS+VmPTE) grew {} KiB -> {per_task:.0} B per parked task",
        after - before
    );
    println!(
        "spawn+park of all: {spawned:?} ({:.0} ns per task)",
        spawned.as_nanos() as f64 / n as f64
    );
    go.store(true, Ordering::Release);
    let t1 = Instant::now();
    coord.unpark();
    done.recv().unwrap();
    println!("unpark+finish of all: {:?}", t1.elapsed());
    s.shutdown();
}
