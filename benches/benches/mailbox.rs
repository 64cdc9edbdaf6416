//! Criterion benches of bream-mailbox alone (no scheduler, no processes).
//!
//! What each measures, and only that:
//!
//! - `mailbox/push_pop`: one thread pushes one `u64` and receives it again with
//!   `try_recv_any` (then `try_recv::<u64>`): the uncontended cost of a message's
//!   whole life: allocation, swap, link, pop, stub re-insert, free. Target
//!   (issue 2): at most 40 ns.
//! - `mailbox/fan_in_4p1c`: four producer threads push 25,000 messages each
//!   while the bench thread receives all 100,000 (spinning on `try_recv_any`):
//!   time per message delivered under contention on the tail. Thread spawn is
//!   inside the measurement, amortized over 100,000 messages. On a 2-core machine
//!   five threads share two cores, so this mostly measures the queue under
//!   preemption, not parallel throughput.
//! - `mailbox/marker_scan/*`: the OTP 24 receive optimisation. Each iteration
//!   sets a marker, pushes one tagged reply and selects it (then drops it):
//!     - `behind_10k_with_marker`: 10,000 unmatched messages sit in the mailbox
//!       (already in the save queue, as after the first receive that skipped
//!       them), and the scan starts from the marker;
//!     - `behind_10k_from_start`: the same mailbox, the scan starts from the
//!       oldest message (what a receive without the optimisation does);
//!     - `empty_with_marker`: the same scan on an otherwise empty mailbox.
//!
//!   Target: `behind_10k_with_marker` within 2x of `empty_with_marker`.
//! - `mailbox/policies/*` (issue 14): one push and one receive, as
//!   `push_pop/try_recv_any`, on each kind of mailbox:
//!     - `plain_try_push`: a plain mailbox through `try_push` (what the
//!       runtime's send now calls): must equal `push_pop/try_recv_any`;
//!     - `bounded_1024`: a mailbox bounded at 1,024 (CAS reservation, the
//!       receiver's room RMW);
//!     - `priority_enabled_ordinary`: a receiver that enabled priority,
//!       receiving an ordinary message (the sorting scan);
//!     - `priority_behind_1k`: a priority message received ahead of 1,000
//!       ordinary ones that stay queued.
//!
//! The machine these run on is shared (2 cores, other engineers compiling), so
//! wall-clock samples include time the bench thread spent preempted. The
//! single-threaded benches are therefore run twice: under criterion's wall clock
//! (`mailbox/...`) and under this thread's CPU time (`mailbox_cpu/...`, via
//! `CLOCK_THREAD_CPUTIME_ID`), which excludes preemption but not the cache
//! damage other processes do. Report both.
//!
//! Run: `cargo bench -p bream-bench --no-default-features --features mailbox
//! --bench mailbox`. The numbers and the machine they came from are in
//! docs/mailbox.md.

use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

use bream_mailbox::{mailbox, mailbox_bounded, Envelope, From, Receiver, Sender};
#[path = "common/clock.rs"]
mod clock;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// Criterion's measurement of this thread's CPU time.
mod thread_cpu {
    use criterion::measurement::{Measurement, ValueFormatter};
    use criterion::Throughput;

    /// Measures CPU time consumed by the calling thread, in nanoseconds.
    pub struct ThreadCpu;

    fn now_ns() -> u64 {
        super::clock::thread_cpu().as_nanos() as u64
    }

    impl Measurement for ThreadCpu {
        type Intermediate = u64;
        type Value = u64;
        fn start(&self) -> u64 {
            now_ns()
        }
        fn end(&self, start: u64) -> u64 {
            now_ns() - start
        }
        fn add(&self, a: &u64, b: &u64) -> u64 {
            a + b
        }
        fn zero(&self) -> u64 {
            0
        }
        fn to_f64(&self, v: &u64) -> f64 {
            *v as f64
        }
        fn formatter(&self) -> &dyn ValueFormatter {
            &Nanos
        }
    }

    /// Shows every value in CPU nanoseconds (the benches here are all in the
    /// nanosecond range).
    struct Nanos;

    impl ValueFormatter for Nanos {
        fn scale_values(&self, _typical: f64, _values: &mut [f64]) -> &'static str {
            "ns (cpu)"
        }
        fn scale_throughputs(&self, _t: f64, tp: &Throughput, values: &mut [f64]) -> &'static str {
            let n = match *tp {
                Throughput::Bytes(n) | Throughput::BytesDecimal(n) | Throughput::Elements(n) => n,
            };
            for v in values {
                *v = n as f64 * 1e3 / *v; // per ns -> millions per s
            }
            "Melem/s (cpu)"
        }
        fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
            "ns"
        }
    }
}

fn push_pop<M: criterion::measurement::Measurement>(c: &mut Criterion<M>, group: &str) {
    let mut g = c.benchmark_group(format!("{group}/push_pop"));
    g.throughput(Throughput::Elements(1));
    let (tx, mut rx) = mailbox();
    g.bench_function("try_recv_any", |b| {
        b.iter(|| {
            let _ = tx.push(black_box(7u64));
            black_box(rx.try_recv_any())
        })
    });
    g.bench_function("try_recv_typed", |b| {
        b.iter(|| {
            let _ = tx.push(black_box(7u64));
            black_box(rx.try_recv::<u64>())
        })
    });
    g.finish();
}

const PRODUCERS: usize = 4;
const PER_PRODUCER: usize = 25_000;

/// One round of fan-in: returns the time from spawning the producers until the
/// last message is received.
fn fan_in_round() -> Duration {
    let (tx, mut rx) = mailbox();
    let start = Instant::now();
    let handles: Vec<_> = (0..PRODUCERS)
        .map(|_| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..PER_PRODUCER {
                    let _ = tx.push(i as u64);
                }
            })
        })
        .collect();
    let mut got = 0;
    while got < PRODUCERS * PER_PRODUCER {
        match rx.try_recv_any() {
            Some(e) => {
                black_box(e);
                got += 1;
            }
            None => std::hint::spin_loop(),
        }
    }
    let elapsed = start.elapsed();
    for h in handles {
        h.join().unwrap();
    }
    elapsed
}

fn fan_in(c: &mut Criterion) {
    let mut g = c.benchmark_group("mailbox/fan_in_4p1c");
    g.throughput(Throughput::Elements((PRODUCERS * PER_PRODUCER) as u64));
    g.sample_size(20);
    g.bench_function("100k_messages", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| fan_in_round()).sum())
    });
    g.finish();
}

/// The reply a `gen_server` call waits for.
struct Reply(u64);

/// A mailbox holding `backlog` unmatched messages, all in the save queue.
fn with_backlog(backlog: u32) -> (Sender, Receiver) {
    let (tx, mut rx) = mailbox();
    for i in 0..backlog {
        let _ = tx.push(i);
    }
    // A receive that skips them all moves them to the save queue.
    assert!(rx.select(From::Start, |e| e.take::<Reply>()).is_none());
    (tx, rx)
}

/// One call's receive: mark, the reply arrives, select it.
fn call(tx: &Sender, rx: &mut Receiver, use_marker: bool) -> u64 {
    let m = rx.set_marker();
    let _ = tx.push(Reply(42));
    let from = if use_marker {
        From::Marker(m)
    } else {
        From::Start
    };
    let (Reply(v), _) = rx
        .select(from, |e| match e.downcast_ref::<Reply>() {
            Some(Reply(42)) => e.take::<Reply>(),
            _ => None,
        })
        .expect("the reply is there");
    v
}

fn marker_scan<M: criterion::measurement::Measurement>(c: &mut Criterion<M>, group: &str) {
    let mut g = c.benchmark_group(format!("{group}/marker_scan"));
    let cases = [
        ("behind_10k_with_marker", 10_000, true),
        ("behind_10k_from_start", 10_000, false),
        ("empty_with_marker", 0, true),
    ];
    for (name, backlog, use_marker) in cases {
        let (tx, mut rx) = with_backlog(backlog);
        g.bench_function(name, |b| {
            b.iter(|| black_box(call(&tx, &mut rx, use_marker)))
        });
        assert_eq!(rx.len(), backlog as usize);
    }
    g.finish();
}

/// Each policy's push and receive beside the plain mailbox's (module doc).
fn policies<M: criterion::measurement::Measurement>(c: &mut Criterion<M>, group: &str) {
    let mut g = c.benchmark_group(format!("{group}/policies"));
    g.throughput(Throughput::Elements(1));
    let (tx, mut rx) = mailbox();
    g.bench_function("plain_try_push", |b| {
        b.iter(|| {
            let _ = tx.try_push(black_box(7u64));
            black_box(rx.try_recv_any())
        })
    });
    let (tx, mut rx) = mailbox_bounded(1024);
    g.bench_function("bounded_1024", |b| {
        b.iter(|| {
            let _ = tx.try_push(black_box(7u64));
            black_box(rx.try_recv_any())
        })
    });
    let (tx, mut rx) = mailbox();
    rx.enable_priority();
    g.bench_function("priority_enabled_ordinary", |b| {
        b.iter(|| {
            let _ = tx.push(black_box(7u64));
            black_box(rx.try_recv_any())
        })
    });
    let (tx, mut rx) = mailbox();
    rx.enable_priority();
    for i in 0..1000u32 {
        let _ = tx.push(i);
    }
    g.bench_function("priority_behind_1k", |b| {
        b.iter(|| {
            let mut e = Envelope::new(black_box(7u64));
            e.set_priority(true);
            let _ = tx.push_envelope(e);
            black_box(rx.try_recv::<u64>())
        })
    });
    g.finish();
}

fn wall(c: &mut Criterion) {
    push_pop(c, "mailbox");
    fan_in(c);
    marker_scan(c, "mailbox");
    policies(c, "mailbox");
}

fn cpu(c: &mut Criterion<thread_cpu::ThreadCpu>) {
    push_pop(c, "mailbox_cpu");
    marker_scan(c, "mailbox_cpu");
    policies(c, "mailbox_cpu");
}

fn config<M: criterion::measurement::Measurement>(c: Criterion<M>) -> Criterion<M> {
    c.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = wall_clock;
    config = config(Criterion::default());
    targets = wall
}
criterion_group! {
    name = cpu_time;
    config = config(Criterion::default().with_measurement(thread_cpu::ThreadCpu));
    targets = cpu
}
criterion_main!(wall_clock, cpu_time);
