//! Chapter 15: tasks — run work concurrently and collect the results.
//!
//! What it teaches: Elixir's `Task` in bream. `task::spawn` + `await_` for one
//! concurrent computation; `await_many` for several with one deadline;
//! `async_stream` to map a function over many items with at most N tasks alive
//! (it prints the peak it observed); a timeout that comes back as a value and
//! kills the slow task; and `TaskSupervisor::async_nolink`, whose task can
//! crash without taking the caller along.
//!
//! What it prints: the results of each step, the peak concurrency of the
//! stream (never above its bound), the timeout, and the crash reported as an
//! error (with the crash report on stderr).
//!
//! Run: `cargo run -p bream-stdlib --example 15_task_stream`

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bream_stdlib::task::{self, TaskError, TaskSupervisor};

const PATIENCE: Duration = Duration::from_secs(5);

/// A "slow" computation: the sum of the digits of n², after a short nap.
fn digit_sum_of_square(n: u64) -> u64 {
    bream::sleep(Duration::from_millis(n % 7));
    (n * n)
        .to_string()
        .bytes()
        .map(|b| u64::from(b - b'0'))
        .sum()
}

fn main() {
    bream::run(|| {
        // One task: start it, do something else, collect the result.
        let t = task::spawn(|| digit_sum_of_square(12_345));
        println!("meanwhile, the owner keeps working...");
        println!("await_: {:?}", task::await_(t, PATIENCE));

        // Several, with one deadline for all, results in order.
        let tasks = (1..=5)
            .map(|n| task::spawn(move || digit_sum_of_square(n * 111)))
            .collect();
        println!("await_many: {:?}", task::await_many(tasks, PATIENCE));

        // A stream over 100 items, at most 4 tasks at once, results in order.
        const MAX: usize = 4;
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (r, p) = (Arc::clone(&running), Arc::clone(&peak));
        let sums: Vec<u64> = task::async_stream(
            1..=100u64,
            move |n| {
                p.fetch_max(r.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                let s = digit_sum_of_square(n);
                r.fetch_sub(1, Ordering::SeqCst);
                s
            },
            MAX,
            true,
        )
        .map(|r| r.expect("no task fails"))
        .collect();
        println!(
            "async_stream: {} results, first ten {:?}, peak concurrency {} (bound {MAX})",
            sums.len(),
            &sums[..10],
            peak.load(Ordering::SeqCst)
        );

        // A timeout is a value; the slow task is killed.
        let slow = task::spawn(|| {
            bream::sleep(Duration::from_secs(60));
            0u64
        });
        let pid = slow.pid();
        let r = task::await_(slow, Duration::from_millis(50));
        println!(
            "await_ with a 50 ms timeout: {r:?}; task still alive: {}",
            bream::is_alive(pid)
        );
        assert_eq!(r, Err(TaskError::Timeout));

        // async_nolink: a crash comes back as an error, the caller lives on.
        let sup = TaskSupervisor::start_link().expect("task supervisor");
        let bad = sup.async_nolink(|| -> u64 { panic!("division by zero, on purpose") });
        println!(
            "async_nolink crash: {:?}",
            task::await_(bad.unwrap(), PATIENCE)
        );
        let good = sup.async_nolink(|| digit_sum_of_square(99)).unwrap();
        println!(
            "async_nolink: {:?}; the caller is fine",
            task::await_(good, PATIENCE)
        );
    });
}
