//! Criterion benches of bream-scheduler alone (tasks, no processes, no mailboxes).
//!
//! What each measures, and only that. Every measured loop runs *inside* a task
//! and times itself with `Instant` (criterion's `iter_custom`), so the bench
//! thread's hand-off to the scheduler is not in the numbers.
//!
//! - `scheduler/yield/alone`: one task on a one-worker scheduler calls
//!   `yield_now` in a loop. Nothing else is runnable, so the worker resumes it
//!   in place: the cost is two stack switches plus the worker's check that its
//!   queues are empty. Target (issue 3): yield round trip ≤ 25 ns.
//! - `scheduler/yield/two_tasks`: two tasks on one worker yield in turn, so
//!   each yield goes through the run queue (state word CAS to SCHEDULED, push
//!   to the back of the deque, pop, CAS to RUNNING): time per yield.
//! - `scheduler/spawn_finish/empty`: a task spawns 64 empty tasks, parks until
//!   the last one unparks it, and repeats: time per child for spawn, run and
//!   finish, with stacks from the warm pool (the pool is warmed before
//!   measuring). Includes the registry insert/remove and the owner's
//!   `on_exit`. Target: ≤ 150 ns.
//! - `scheduler/unpark_to_run/foreign_thread`: the bench thread stamps the
//!   time and unparks a task parked on a worker that is asleep; the task
//!   stamps the time when it runs. One-way latency across threads, including
//!   waking the worker (a futex or the I/O driver's eventfd).
//!
//! The machine is shared (2 cores, other engineers compiling): wall-clock
//! numbers include time the worker spent preempted. So the single-worker
//! benches run twice: under the wall clock (`scheduler/...`) and under the
//! worker thread's CPU time (`scheduler_cpu/...`, `CLOCK_THREAD_CPUTIME_ID`,
//! read inside the task: everything measured runs on that one thread), which
//! excludes preemption but not the cache damage other processes do. Memory per parked task is measured by
//! `cargo run --release -p bream-scheduler --example parked_memory`.
//!
//! Run: `cargo bench -p bream-bench --no-default-features --features scheduler
//! --bench scheduler`. The numbers are in docs/scheduler.md.

use std::any::Any;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::time::{Duration, Instant};

use bream_scheduler::{task, Outcome, Scheduler, SpawnOpts, TaskOwner, TaskRef};
#[path = "common/clock.rs"]
mod clock;

use criterion::{criterion_group, criterion_main, Criterion};

/// An owner that does nothing.
struct Nobody;
impl TaskOwner for Nobody {
    fn on_exit(&self, _: Outcome) {}
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Run `f` in a task on `s` and return what it returns.
fn in_task<R: Send + 'static>(s: &Scheduler, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    s.spawn(SpawnOpts::default(), Arc::new(Nobody), move || {
        tx.send(f()).unwrap();
    })
    .unwrap();
    rx.recv().unwrap()
}

/// A clock read inside a task: time since an arbitrary origin.
type Clock = fn() -> Duration;

/// Wall-clock time.
fn wall() -> Duration {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed()
}

/// Both clocks, with the group-name prefix each reports under.
const CLOCKS: [(&str, Clock); 2] = [("scheduler", wall), ("scheduler_cpu", clock::thread_cpu)];

fn yields(c: &mut Criterion) {
    for (prefix, clock) in CLOCKS {
        yields_with(c, prefix, clock);
    }
}

fn yields_with(c: &mut Criterion, prefix: &str, clock: Clock) {
    let s = Scheduler::builder().workers(1).build().unwrap();
    let mut g = c.benchmark_group(format!("{prefix}/yield"));
    g.bench_function("alone", |b| {
        b.iter_custom(|iters| {
            in_task(&s, move || {
                let t0 = clock();
                for _ in 0..iters {
                    task::yield_now();
                }
                clock() - t0
            })
        })
    });
    g.bench_function("two_tasks", |b| {
        b.iter_custom(|iters| {
            let half = iters.div_ceil(2);
            let (tx, rx) = mpsc::channel();
            let start = Arc::new(OnceLock::<Duration>::new());
            for _ in 0..2 {
                let (tx, start) = (tx.clone(), start.clone());
                s.spawn(SpawnOpts::default(), Arc::new(Nobody), move || {
                    start.get_or_init(clock);
                    for _ in 0..half {
                        task::yield_now();
                    }
                    tx.send(clock()).unwrap();
                })
                .unwrap();
            }
            let end = rx.recv().unwrap().max(rx.recv().unwrap());
            end - *start.get().unwrap()
        })
    });
    g.finish();
    s.shutdown();
}

fn spawn_finish(c: &mut Criterion) {
    for (prefix, clock) in CLOCKS {
        spawn_finish_with(c, prefix, clock);
    }
}

fn spawn_finish_with(c: &mut Criterion, prefix: &str, clock: Clock) {
    const BATCH: u64 = 64;
    let s = Scheduler::builder().workers(1).build().unwrap();
    let owner: Arc<dyn TaskOwner> = Arc::new(Nobody);
    let run = move |s: &Scheduler, iters: u64| {
        let owner = owner.clone();
        in_task(s, move || {
            let sched = task::current_scheduler();
            let me = task::with_current(TaskRef::clone);
            let left = Arc::new(AtomicUsize::new(0));
            let t0 = clock();
            let mut done = 0;
            while done < iters {
                let n = BATCH.min(iters - done);
                left.store(n as usize, Ordering::Relaxed);
                for _ in 0..n {
                    let (left, me) = (left.clone(), me.clone());
                    sched
                        .spawn(SpawnOpts::default(), owner.clone(), move || {
                            if left.fetch_sub(1, Ordering::AcqRel) == 1 {
                                me.unpark();
                            }
                        })
                        .unwrap();
                }
                while left.load(Ordering::Acquire) > 0 {
                    task::park();
                }
                done += n;
            }
            clock() - t0
        })
    };
    run(&s, 10_000); // warm the stack pool
    let mut g = c.benchmark_group(format!("{prefix}/spawn_finish"));
    g.bench_function("empty", |b| b.iter_custom(|iters| run(&s, iters)));
    g.finish();
    s.shutdown();
}

fn unpark_to_run(c: &mut Criterion) {
    let s = Scheduler::builder().workers(2).build().unwrap();
    let mut g = c.benchmark_group("scheduler/unpark_to_run");
    g.bench_function("foreign_thread", |b| {
        b.iter_custom(|iters| {
            let epoch = Instant::now();
            let ran_at = Arc::new(AtomicU64::new(0));
            let round = Arc::new(AtomicU64::new(0));
            let (r, rd) = (ran_at.clone(), round.clone());
            let t = s
                .spawn(SpawnOpts::default(), Arc::new(Nobody), move || {
                    for i in 1..=iters {
                        while rd.load(Ordering::Acquire) < i {
                            task::park();
                        }
                        r.store(epoch.elapsed().as_nanos() as u64, Ordering::Release);
                    }
                })
                .unwrap();
            let mut total = Duration::ZERO;
            for i in 1..=iters {
                while !t.is_parked() {
                    std::hint::spin_loop();
                }
                // Wait until the workers are asleep, as between messages.
                while !workers_asleep() {
                    std::hint::spin_loop();
                }
                let sent = epoch.elapsed().as_nanos() as u64;
                round.store(i, Ordering::Release);
                t.unpark();
                let mut got;
                loop {
                    got = ran_at.load(Ordering::Acquire);
                    if got >= sent {
                        break;
                    }
                    std::hint::spin_loop();
                }
                total += Duration::from_nanos(got - sent);
            }
            black_box(&t);
            total
        })
    });
    g.finish();
    s.shutdown();
}

/// True when every scheduler worker thread of this OS process sleeps in the
/// kernel (state `S` in /proc: a futex or `epoll_wait`). Read outside the
/// timed part of a sample.
fn workers_asleep() -> bool {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return true; // no /proc: measure whatever state they are in
    };
    tasks.flatten().all(|t| {
        let dir = t.path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if !comm.starts_with("bream-worker") {
            return true;
        }
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
        // "pid (comm) S ...": the state follows the last ')'.
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('S'))
    })
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = yields, spawn_finish, unpark_to_run
}
criterion_main!(benches);
