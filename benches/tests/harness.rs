//! bream-bench end to end: the binary itself, run at small sizes, as a user runs
//! it. Correctness only — every workload gives its checked result, the JSON
//! carries the fields benches/peers/README.md promises, errors say what to do,
//! `compare` prints its table and its chart. Never timing: speed is what the
//! harness measures, not what its tests assert.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bream-bench"))
        .args(args)
        .output()
        .expect("run bream-bench")
}

/// Run one workload with `--json`, expect success, return its record.
fn json_run(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--json", "--runs", "2", "--workers", "2"]);
    let out = bench(&all);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "bream-bench {args:?} failed:\n{stderr}"
    );
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "one JSON object per workload, got:\n{stdout}"
    );
    serde_json::from_str(lines[0]).expect("valid JSON")
}

fn u(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} missing or not an integer in {v}"))
}

#[test]
fn json_has_every_promised_field() {
    let v = json_run(&["spawn", "--processes", "1000"]);
    for key in [
        "impl",
        "workload",
        "workers",
        "n",
        "ops",
        "runs",
        "median_ns",
        "min_ns",
        "max_ns",
        "per_op_ns",
        "bytes_per_process",
        "result",
        "peak_rss_bytes",
    ] {
        assert!(v.get(key).is_some(), "field {key} missing from {v}");
    }
    assert_eq!(v["impl"], "bream");
    assert_eq!(v["workload"], "spawn");
    assert_eq!(u(&v, "runs"), 2);
    assert!(u(&v, "min_ns") <= u(&v, "median_ns") && u(&v, "median_ns") <= u(&v, "max_ns"));
    assert!(
        v["bytes_per_process"].as_f64().is_some_and(|b| b > 0.0),
        "{v}"
    );
    assert!(u(&v, "peak_rss_bytes") > 0);
}

#[test]
fn spawn_messages_every_process_and_sees_each_finish() {
    let v = json_run(&["spawn", "--processes", "10000"]);
    assert_eq!(u(&v, "n"), 10_000);
    assert_eq!(
        u(&v, "result"),
        10_000,
        "processes that got their message and finished"
    );
}

#[test]
fn ring_counts_every_hop() {
    let v = json_run(&["ring", "--processes", "100", "--laps", "20"]);
    assert_eq!(u(&v, "result"), 2_000);
    assert_eq!(u(&v, "ops"), 2_000);
}

#[test]
fn pingpong_gets_each_echo_back() {
    let v = json_run(&["pingpong", "--messages", "5000"]);
    assert_eq!(u(&v, "result"), 5_000);
}

#[test]
fn skynet_sums_its_leaves() {
    let v = json_run(&["skynet", "--processes", "10000"]);
    assert_eq!(u(&v, "result"), 10_000 * 9_999 / 2);
}

#[test]
fn fanin_receives_every_message() {
    let v = json_run(&["fanin", "--senders", "3", "--messages", "2000"]);
    assert_eq!(u(&v, "result"), 6_000);
    assert_eq!(u(&v, "n"), 6_000);
}

#[test]
fn backpressure_receives_every_message_through_the_bound() {
    // 4 × 5,000 through a bound of 1,024: the senders must wait.
    let v = json_run(&["backpressure", "--senders", "4", "--messages", "5000"]);
    assert_eq!(u(&v, "result"), 20_000);
    assert_eq!(u(&v, "n"), 20_000);
    assert!(u(&v, "peak_rss_bytes") > 0, "{v}");
}

#[test]
fn selective_finds_each_tagged_reply_behind_the_backlog() {
    let v = json_run(&["selective", "--depth", "1000", "--messages", "500"]);
    assert_eq!(u(&v, "result"), 500, "replies with the right tag and value");
    assert_eq!(u(&v, "n"), 1_000);
    assert!(v["empty_per_op_ns"].as_f64().is_some(), "{v}");
}

#[test]
fn call_round_trips_reach_the_server() {
    let v = json_run(&["call", "--messages", "2000"]);
    assert_eq!(u(&v, "result"), 2_000, "the counter after the last call");
}

#[test]
fn timers_wake_every_process_by_its_timeout() {
    let v = json_run(&["timers", "--processes", "2000", "--timeout-ms", "50"]);
    assert_eq!(u(&v, "result"), 2_000);
    assert!(v["late_ns"].is_i64(), "{v}");
    assert!(
        v["alive_at_sample"].as_u64().is_some_and(|a| a <= 2_000),
        "{v}"
    );
}

#[test]
fn idle_freezes_every_process_then_wakes_each() {
    let v = json_run(&["idle", "--processes", "2000"]);
    assert_eq!(u(&v, "result"), 2_000, "processes woken that finished");
    assert_eq!(v["freeze"], true, "{v}");
    assert!(
        u(&v, "frozen_at_sample") >= 2_000,
        "sampled before all froze: {v}"
    );
    assert!(u(&v, "wake_rtt_ns") > 0, "{v}");
    assert!(
        v["bytes_per_process"].as_f64().is_some(),
        "memory per idle process: {v}"
    );
}

#[test]
fn idle_without_freezing_freezes_nothing() {
    let v = json_run(&["idle", "--processes", "2000", "--no-freeze"]);
    assert_eq!(u(&v, "result"), 2_000);
    assert_eq!(v["freeze"], false, "{v}");
    assert_eq!(u(&v, "frozen_at_sample"), 0, "{v}");
}

#[test]
fn the_human_report_names_what_it_measured() {
    let out = bench(&["spawn", "--processes", "1000", "--runs", "1"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("per process")
            && text.contains("VmRSS + VmPTE")
            && text.contains("1,000 (checked)"),
        "{text}"
    );
}

#[test]
fn a_machine_too_small_is_told_before_the_run() {
    let out = bench(&["spawn", "--processes", "1000000000000"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("MemAvailable") && err.contains("--processes"),
        "{err}"
    );
}

#[test]
fn a_bad_size_is_refused_with_the_rule() {
    let out = bench(&["skynet", "--processes", "1234"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("power of 10"), "{err}");
}

#[test]
fn a_process_limit_names_the_knob() {
    let out = bench(&[
        "spawn",
        "--processes",
        "5000",
        "--max-processes",
        "100",
        "--runs",
        "1",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "spawned 5000 under a limit of 100?");
    assert!(
        err.contains("could not spawn") && err.contains("--max-processes"),
        "{err}"
    );
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("bream-bench-test-{}-{name}", std::process::id()))
}

#[test]
fn compare_prints_a_table_and_draws_a_chart() {
    let svg = temp_path("compare.svg");
    let out = bench(&[
        "compare",
        "pingpong",
        "--impls",
        "bream",
        "--messages",
        "2000",
        "--runs",
        "2",
        "--plot",
        svg.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("pingpong") && text.contains("bream") && text.contains("2 runs"),
        "{text}"
    );
    let chart = std::fs::read_to_string(&svg).expect("the chart was written");
    let _ = std::fs::remove_file(&svg);
    assert!(
        chart.starts_with("<svg") && chart.contains("pingpong"),
        "not the chart: {}",
        &chart[..chart.len().min(200)]
    );
}

#[test]
fn compare_json_has_one_record_per_implementation() {
    let out = bench(&[
        "compare",
        "ring",
        "--impls",
        "bream",
        "--processes",
        "10",
        "--laps",
        "5",
        "--runs",
        "3",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).expect("one JSON line");
    assert_eq!(
        (v["impl"].as_str(), u(&v, "runs"), u(&v, "result")),
        (Some("bream"), 3, 50)
    );
}

#[test]
fn compare_skips_a_missing_peer_and_says_how_to_install_it() {
    let empty = temp_path("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bream-bench"))
        .args([
            "compare",
            "pingpong",
            "--impls",
            "bream,erlang,go",
            "--messages",
            "100",
            "--runs",
            "1",
        ])
        .env("PATH", &empty)
        .output()
        .expect("run bream-bench");
    let _ = std::fs::remove_dir(&empty);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("skipping erlang") && err.contains("apt-get install -y erlang-base"),
        "{err}"
    );
    assert!(
        err.contains("skipping go") && err.contains("apt-get install -y golang-go"),
        "{err}"
    );
}

/// `trace`: the workload runs traced, the summary has one row per worker and
/// counts every message as a flow, the SVG names the workers; `--from` draws
/// the same file again.
#[test]
fn trace_summarises_and_draws_a_workload() {
    let dir = std::env::temp_dir();
    let pid = std::process::id();
    let trace: PathBuf = dir.join(format!("bream-bench-trace-{pid}.pftrace"));
    let svg: PathBuf = dir.join(format!("bream-bench-trace-{pid}.svg"));
    let out = bench(&[
        "trace",
        "pingpong",
        "--messages",
        "200",
        "--workers",
        "2",
        "--out",
        trace.to_str().unwrap(),
        "--svg",
        svg.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "trace failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A round trip is two messages: at least 400 flows (the workload may
    // send a few more, to start and stop).
    let flows_of = |out: &str| -> u64 {
        out.lines()
            .find_map(|l| l.strip_prefix("message flows: "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no flow count in:\n{out}"))
    };
    let flows = flows_of(&stdout);
    assert!((400..410).contains(&flows), "{stdout}");
    let rows = stdout
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .count();
    assert!(rows >= 1, "a row per worker that ran:\n{stdout}");
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(picture.contains("worker 0"), "the rows are labelled");
    let again = bench(&["trace", "--from", trace.to_str().unwrap()]);
    assert!(again.status.success());
    assert_eq!(flows_of(&String::from_utf8_lossy(&again.stdout)), flows);
    std::fs::remove_file(&trace).ok();
    std::fs::remove_file(&svg).ok();
}
