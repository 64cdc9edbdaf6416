//! The shape every runtime bench file registers its benches in: one
//! criterion group on the wall clock and one on the process's CPU time
//! (`<name>` and `<name>_cpu`), each bench a function of a shared context,
//! an iteration count and a [`Clock`]. Included with
//! `#[path = "common/groups.rs"] mod groups;` beside `mod clock;`.
// Each bench file uses some of these.
#![allow(dead_code)]

use std::time::Duration;

use criterion::Criterion;

use super::clock::Clock;

/// A bench: runs `iters` iterations on `ctx`, timed on the clock given.
pub type Bench<T> = fn(&T, u64, Clock) -> Duration;

/// Registers `benches` twice, as group `name` (wall clock) and `name_cpu`
/// (process CPU time), 3 s of measurement each.
pub fn wall_and_cpu<T>(c: &mut Criterion, name: &str, ctx: &T, benches: &[(&str, Bench<T>)]) {
    for (group, clock) in [
        (name.to_owned(), Clock::Wall),
        (format!("{name}_cpu"), Clock::ProcessCpu),
    ] {
        let mut g = c.benchmark_group(group);
        g.measurement_time(Duration::from_secs(3));
        for &(bench, f) in benches {
            g.bench_function(bench, |b| b.iter_custom(|iters| f(ctx, iters, clock)));
        }
        g.finish();
    }
}
