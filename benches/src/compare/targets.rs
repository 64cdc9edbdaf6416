//! bream's performance targets (issues 6 and 13), checked against a comparison: one line
//! per target with the measured figure, the target, and MET or MISSED. A target
//! whose peer did not run says so instead of guessing.

use std::fmt::Write;

use super::{Cell, Impl, Results};
use crate::measure::{bytes, duration_ns};
use crate::record::Record;
use crate::workload::Workload;

/// 5 KiB: the memory target for a waiting process (spawn and timers).
const MEMORY_TARGET: f64 = 5.0 * 1024.0;

fn ran(results: &Results, w: Workload, imp: Impl) -> Option<&Record> {
    match results.get(&w)?.get(&imp)? {
        Cell::Ran(r) => Some(r),
        Cell::Failed(_) => None,
    }
}

fn verdict(met: bool) -> &'static str {
    if met {
        "MET"
    } else {
        "MISSED"
    }
}

/// `bream's time ÷ peer's time` against `at_most`, as a line.
fn time_ratio(results: &Results, w: Workload, peer: Impl, at_most: f64, what: &str) -> String {
    match (ran(results, w, Impl::Bream), ran(results, w, peer)) {
        (Some(b), Some(p)) => {
            let r = b.median_ns as f64 / p.median_ns.max(1) as f64;
            format!(
                "bream's time is {r:.2}× {what} (target ≤ {at_most:.2}×): {}",
                verdict(r <= at_most)
            )
        }
        _ => format!("not measured: bream or {peer} did not run"),
    }
}

fn memory(r: &Record) -> String {
    let complete = r
        .extra_f64("alive_at_sample")
        .is_none_or(|a| a >= r.n as f64);
    match r.bytes_per_process {
        Some(b) if complete => format!(
            "{} per process (target ≤ 5 KiB): {}",
            bytes(b),
            verdict(b <= MEMORY_TARGET)
        ),
        Some(_) => {
            "memory not measured: not every process was alive at the sample (a longer --timeout-ms)"
                .into()
        }
        None => "memory not measured".into(),
    }
}

/// 1.5 KiB: the memory target for a process idle in `receive` (issue 13).
const IDLE_MEMORY_TARGET: f64 = 1.5 * 1024.0;

/// 5 µs: the target for waking one idle process (issue 13).
const IDLE_WAKE_TARGET_NS: f64 = 5_000.0;

/// `idle`'s two lines: memory per idle process (≤ 1.5 KiB and below the
/// BEAM's), and the wake (per process of the mass wake ≤ 5 µs; the round
/// trip to one idle process beside it).
fn idle(b: &Record, beam: Option<&Record>) -> [String; 2] {
    let frozen = b.extra.get("freeze").and_then(serde_json::Value::as_bool) != Some(false);
    let beam_mem = beam.and_then(|e| e.bytes_per_process);
    let mem = match b.bytes_per_process {
        Some(_) if !frozen => "memory not judged: run without --no-freeze".to_string(),
        Some(m) => {
            let below = beam_mem.is_none_or(|e| m < e);
            let vs = beam_mem.map_or("the BEAM did not run".into(), |e| {
                format!("the BEAM {}", bytes(e))
            });
            format!(
                "{} per idle process (target ≤ 1.5 KiB, below the BEAM's; {vs}): {}",
                bytes(m),
                verdict(m <= IDLE_MEMORY_TARGET && below)
            )
        }
        None => "memory not measured".into(),
    };
    let rtt = b.extra_f64("wake_rtt_ns").map_or(String::new(), |r| {
        format!("; one round trip {}", duration_ns(r))
    });
    let wake = format!(
        "{} per wake (target ≤ 5 µs{rtt}): {}",
        duration_ns(b.per_op_ns),
        verdict(b.per_op_ns <= IDLE_WAKE_TARGET_NS)
    );
    [mem, wake]
}

/// The targets this comparison can judge, one line each.
pub fn render(results: &Results) -> String {
    let mut lines: Vec<(Workload, String)> = Vec::new();
    let has = |w: Workload| results.contains_key(&w);
    if has(Workload::Spawn) {
        lines.push((
            Workload::Spawn,
            time_ratio(results, Workload::Spawn, Impl::Erlang, 0.5, "the BEAM's"),
        ));
        if let Some(b) = ran(results, Workload::Spawn, Impl::Bream) {
            lines.push((Workload::Spawn, memory(b)));
        }
    }
    if has(Workload::Pingpong) {
        if let Some(b) = ran(results, Workload::Pingpong, Impl::Bream) {
            let t = ran(results, Workload::Pingpong, Impl::Tokio);
            let ahead = t.is_none_or(|t| b.per_op_ns < t.per_op_ns);
            let tokio = t.map_or("tokio did not run".into(), |t| {
                format!("tokio {}", duration_ns(t.per_op_ns))
            });
            lines.push((
                Workload::Pingpong,
                format!(
                    "{} per round trip (target ≤ 150 ns, ahead of tokio; {tokio}): {}",
                    duration_ns(b.per_op_ns),
                    verdict(b.per_op_ns <= 150.0 && ahead)
                ),
            ));
        }
    }
    if has(Workload::Ring) {
        lines.push((
            Workload::Ring,
            time_ratio(
                results,
                Workload::Ring,
                Impl::Erlang,
                0.5,
                "the BEAM's (≥ 2× its msg/s)",
            ),
        ));
    }
    if has(Workload::Skynet) {
        lines.push((
            Workload::Skynet,
            time_ratio(results, Workload::Skynet, Impl::Go, 1.0, "Go's"),
        ));
    }
    if has(Workload::Fanin) {
        lines.push((
            Workload::Fanin,
            time_ratio(
                results,
                Workload::Fanin,
                Impl::Erlang,
                1.0 / 3.0,
                "the BEAM's (≥ 3× its msg/s)",
            ),
        ));
    }
    if let Some(b) = ran(results, Workload::Timers, Impl::Bream) {
        if let Some(late) = b.extra_f64("late_ns") {
            lines.push((
                Workload::Timers,
                format!(
                    "last wakeup {} after the last deadline (target ≤ 1.5 s): {}",
                    duration_ns(late.max(0.0)),
                    verdict(late <= 1.5e9)
                ),
            ));
        }
        lines.push((Workload::Timers, memory(b)));
    }
    if let Some(b) = ran(results, Workload::Selective, Impl::Bream) {
        if let Some(empty) = b.extra_f64("empty_per_op_ns") {
            let r = b.per_op_ns / empty.max(f64::MIN_POSITIVE);
            lines.push((
                Workload::Selective,
                format!(
                    "behind the backlog {r:.2}× the empty-mailbox receive (target ≤ 2×): {}",
                    verdict(r <= 2.0)
                ),
            ));
        }
    }
    if let Some(b) = ran(results, Workload::Idle, Impl::Bream) {
        lines.extend(
            idle(b, ran(results, Workload::Idle, Impl::Erlang)).map(|l| (Workload::Idle, l)),
        );
    }
    let mut s = String::new();
    if !lines.is_empty() {
        let _ = writeln!(s, "\nbream's targets (issues 6 and 13):");
        for (w, line) in lines {
            let _ = writeln!(s, "  {:<10} {line}", w.name());
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn rec(imp: &str, w: &str, ns: u64, extra: &str) -> Cell {
        Cell::Ran(
            Record::from_output(&format!(
                "{{\"impl\":\"{imp}\",\"workload\":\"{w}\",\"workers\":2,\"n\":100,\"ops\":100,\"runs\":1,\
                 \"median_ns\":{ns},\"min_ns\":{ns},\"max_ns\":{ns},\"per_op_ns\":{},\
                 \"bytes_per_process\":4000.0,\"result\":100,\"peak_rss_bytes\":1{extra}}}",
                ns as f64 / 100.0
            ))
            .unwrap(),
        )
    }

    #[test]
    fn judges_ratios_and_memory() {
        let mut results = Results::new();
        let spawn: BTreeMap<Impl, Cell> = [
            (Impl::Bream, rec("bream", "spawn", 400, "")),
            (Impl::Erlang, rec("erlang", "spawn", 1000, "")),
        ]
        .into();
        results.insert(Workload::Spawn, spawn);
        let sky: BTreeMap<Impl, Cell> = [(Impl::Bream, rec("bream", "skynet", 300, ""))].into();
        results.insert(Workload::Skynet, sky);
        let out = render(&results);
        assert!(
            out.contains("0.40× the BEAM's (target ≤ 0.50×): MET"),
            "{out}"
        );
        assert!(
            out.contains("3.9 KiB per process (target ≤ 5 KiB): MET"),
            "{out}"
        );
        assert!(
            out.contains("not measured: bream or go did not run"),
            "{out}"
        );
    }

    #[test]
    fn judges_idle_memory_against_the_beam() {
        let mut results = Results::new();
        let mut b = rec(
            "bream",
            "idle",
            300_000,
            ",\"freeze\":true,\"wake_rtt_ns\":2500",
        );
        if let Cell::Ran(r) = &mut b {
            r.bytes_per_process = Some(1200.0);
        }
        let row: BTreeMap<Impl, Cell> = [
            (Impl::Bream, b),
            (Impl::Erlang, rec("erlang", "idle", 100, "")),
        ]
        .into();
        results.insert(Workload::Idle, row);
        let out = render(&results);
        assert!(
            out.contains("1.2 KiB per idle process (target ≤ 1.5 KiB, below the BEAM's; the BEAM 3.9 KiB): MET"),
            "{out}"
        );
        assert!(
            out.contains("3.00 µs per wake (target ≤ 5 µs; one round trip 2.50 µs): MET"),
            "{out}"
        );
    }

    #[test]
    fn timers_memory_needs_every_process_alive() {
        let mut results = Results::new();
        let t: BTreeMap<Impl, Cell> = [(
            Impl::Bream,
            rec(
                "bream",
                "timers",
                100,
                ",\"alive_at_sample\":7,\"late_ns\":1000",
            ),
        )]
        .into();
        results.insert(Workload::Timers, t);
        let out = render(&results);
        assert!(out.contains("(target ≤ 1.5 s): MET"), "{out}");
        assert!(
            out.contains("memory not measured: not every process"),
            "{out}"
        );
    }
}
