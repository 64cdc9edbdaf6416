//! Criterion benches of the stdlib Registry under 2-worker contention.
//!
//! What each measures, and only that (a runtime of exactly 2 workers; two
//! processes run the timed loop at the same time, one per worker; an
//! iteration is one operation *in each* of the two processes, so the time
//! per iteration is the time for two concurrent operations):
//!
//! - `registry/register_unregister`: `register` of a fresh unique key then
//!   `unregister` of it, in a unique registry of 2 partitions (each process's
//!   first registration links it to a partition process; the link stays while
//!   it holds a key, so the loop pays the table work and one link/unlink).
//! - `registry/lookup`: `lookup` of a key held by a live process, among 1,000
//!   keys (a hash, one partition lock, a clone of the value, `is_alive`).
//! - `registry/dispatch`: `dispatch` on a duplicate-registry topic with 10
//!   subscribers, whose function only counts the entries (no send): the cost
//!   of visiting every partition and copying out the live entries.
//!
//! Setup (registries, keys, subscribers) is outside the timed loop. As in
//! `stdlib.rs`, each bench runs under the wall clock (`registry/...`) and the
//! OS process's CPU time (`registry_cpu/...`); the machine is shared, report
//! both.
//!
//! Run: `cargo bench -p bream-bench --bench registry`.

use std::hint::black_box;
use std::time::Duration;

use bream::{Pid, Runtime};
use bream_stdlib::registry::{Keys, Registry};
#[path = "common/clock.rs"]
mod clock;
#[path = "common/groups.rs"]
mod groups;

use clock::{Clock, Stamp};
use criterion::{criterion_group, criterion_main, Criterion};

/// Run `work(process_index)` in 2 processes at once and time them together,
/// from the moment both are ready.
fn contended(clock: Clock, work: impl Fn(u64) + Clone + Send + Sync + 'static) -> Duration {
    let me = bream::self_pid();
    let workers: Vec<Pid> = (0..2u64)
        .map(|i| {
            let work = work.clone();
            bream::spawn(move || {
                bream::send(me, ());
                bream::receive::<&str>();
                work(i);
                bream::send(me, i);
            })
        })
        .collect();
    for _ in 0..2 {
        bream::receive::<()>();
    }
    let t = Stamp::now(clock);
    for pid in &workers {
        bream::send(*pid, "go");
    }
    for _ in 0..2 {
        bream::receive::<u64>();
    }
    t.elapsed()
}

fn register_unregister(rt: &Runtime, iters: u64, clock: Clock) -> Duration {
    rt.block_on(move || {
        let reg: Registry<(u64, u64)> = Registry::new(Keys::Unique)
            .partitions(2)
            .start_link()
            .unwrap();
        contended(clock, move |p| {
            // A key held through the loop keeps the link in place.
            reg.register((p, u64::MAX), ()).unwrap();
            for i in 0..iters {
                reg.register((p, i), ()).unwrap();
                reg.unregister(&(p, i));
            }
        })
    })
}

fn lookup(rt: &Runtime, iters: u64, clock: Clock) -> Duration {
    rt.block_on(move || {
        let reg: Registry<u64, u64> = Registry::new(Keys::Unique)
            .partitions(2)
            .start_link()
            .unwrap();
        for k in 0..1000 {
            reg.register(k, k).unwrap();
        }
        contended(clock, move |p| {
            for i in 0..iters {
                black_box(reg.lookup(&((i * 7 + p) % 1000)));
            }
        })
    })
}

fn dispatch(rt: &Runtime, iters: u64, clock: Clock) -> Duration {
    rt.block_on(move || {
        let topics: Registry<&str> = Registry::new(Keys::Duplicate)
            .partitions(2)
            .start_link()
            .unwrap();
        let me = bream::self_pid();
        let subscribers: Vec<Pid> = (0..10)
            .map(|_| {
                let topics = topics.clone();
                bream::spawn(move || {
                    topics.register("topic", ()).unwrap();
                    bream::send(me, ());
                    bream::receive::<&str>();
                })
            })
            .collect();
        for _ in 0..10 {
            bream::receive::<()>();
        }
        let d = contended(clock, move |_| {
            for _ in 0..iters {
                topics.dispatch(&"topic", |entries| {
                    black_box(entries.len());
                });
            }
        });
        for pid in subscribers {
            bream::send(pid, "stop");
        }
        d
    })
}

type Bench = groups::Bench<Runtime>;

const BENCHES: [(&str, Bench); 3] = [
    ("register_unregister", register_unregister),
    ("lookup", lookup),
    ("dispatch", dispatch),
];

fn benches(c: &mut Criterion) {
    let rt = Runtime::builder().workers(2).build().expect("runtime");
    groups::wall_and_cpu(c, "registry", &rt, &BENCHES);
    rt.shutdown();
}

criterion_group!(registry, benches);
criterion_main!(registry);
