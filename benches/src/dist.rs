//! The `dist` workload: two nodes on loopback, ping-pong latency and one-way
//! throughput over Erlang's distribution protocol; bream↔bream beside
//! erl↔erl (benches/peers/README.md, "dist", is the definition both follow).
//!
//! # What is measured, and only that
//!
//! Each implementation runs as two OS processes, *main* and *echo*, connected
//! as distributed nodes on 127.0.0.1 (bream: bream-dist, without EPMD, the
//! port handed over on the command line; Erlang: `erl` short names and EPMD).
//! Main starts echo, waits for `{dist_ready, Echo, Sink}`, then times:
//!
//! 1. **pingpong**: `a` round trips of an integer to the echo process
//!    (`median_ns`, `per_op_ns` = one round trip);
//! 2. **one-way**: `b` integers to the sink without waiting, until the sink
//!    reports its count and sum (`oneway_ns`, `oneway_per_sec`).
//!
//! `bream-bench dist` runs both implementations interleaved (bream, erlang,
//! bream, ...) in one sitting, each run in fresh OS processes, and prints the
//! medians and the ratios the issue asks about (bream↔bream ≥ 2× the
//! messages/s of erl↔erl; round trips no slower).
//!
//! # The processes
//!
//! This binary is bream's main node when `MAIN_ENV` is set and bream's echo
//! node when `ECHO_ENV` is set ([`node_if_child`], called first in `main`), so
//! each run starts from a fresh OS process, as the Erlang peer's do.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use bream::{receive, receive_timeout, self_pid, send, send_named_at, Pid};
use bream_dist::{pid_from_term, pid_to_term, NodeBuilder, Term};
use serde_json::{Map, Value};

use crate::measure::{lower_median, thousands, Status};
use crate::record::Record;

/// Makes this binary bream's main node; the value: `WORKERS A B`.
const MAIN_ENV: &str = "BREAM_BENCH_DIST_MAIN";
/// Makes this binary bream's echo node; the value: `WORKERS MAIN_NODE PORT`.
const ECHO_ENV: &str = "BREAM_BENCH_DIST_ECHO";
/// Both nodes' cookie: fixed, so a run never reads or writes ~/.erlang.cookie.
const COOKIE: &str = "bream_bench_dist";
/// The registered name main's dist_ready arrives at (the Erlang peer's too).
const MAIN_NAME: &str = "bream_peer_main";

/// The dist workload's options.
#[derive(clap::Args, Clone, Debug)]
pub struct DistArgs {
    /// Round trips in the ping-pong phase (a).
    #[arg(long, default_value_t = 100_000)]
    pub round_trips: u64,
    /// Messages in the one-way phase (b).
    #[arg(long, default_value_t = 1_000_000)]
    pub messages: u64,
    /// Worker threads (bream `workers`, Erlang `+S W:W`) of each node [default: the number of CPUs].
    #[arg(long)]
    pub workers: Option<usize>,
    /// Runs per implementation, interleaved; the median run is reported.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    pub runs: u64,
    /// Implementations, comma-separated [default: bream,erlang].
    #[arg(long, value_delimiter = ',')]
    pub impls: Option<Vec<String>>,
    /// Seconds one run may take before it is killed and counted as failed.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
}

/// If this OS process is one of bream's two nodes, be it and return its exit
/// code; otherwise `None`.
pub fn node_if_child() -> Option<ExitCode> {
    if let Ok(v) = std::env::var(MAIN_ENV) {
        return Some(report(main_node(&v)));
    }
    if let Ok(v) = std::env::var(ECHO_ENV) {
        return Some(report(echo_node(&v)));
    }
    None
}

fn report(r: Result<(), String>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bream dist node: {e}");
            ExitCode::FAILURE
        }
    }
}

fn fields<const N: usize>(v: &str) -> Result<[String; N], String> {
    let parts: Vec<String> = v.split_whitespace().map(String::from).collect();
    parts
        .try_into()
        .map_err(|_| format!("expected {N} fields, got {v:?}"))
}

fn num<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("not a number: {s:?}"))
}

/// What main's block_on returns.
struct Timings {
    pingpong_ns: u64,
    ok: u64,
    oneway_ns: u64,
}

/// bream's main node: start, start the echo node, run both phases, print the
/// JSON line of benches/peers/README.md.
fn main_node(v: &str) -> Result<(), String> {
    let [w, a, b] = fields::<3>(v)?;
    let (workers, a, b): (usize, u64, u64) = (num(&w)?, num(&a)?, num(&b)?);
    let name = format!("bream_bench_main_{}@localhost", std::process::id());
    let rt = bream::Runtime::builder()
        .workers(workers)
        .node(&name)
        .cookie(COOKIE)
        .without_epmd(0)
        .build()
        .map_err(|e| format!("cannot start node {name}: {e}"))?;
    let t = rt.block_on(move || main_body(workers, a, b))?;
    rt.shutdown();
    let mut extra = Map::new();
    extra.insert("oneway_messages".into(), b.into());
    extra.insert("oneway_ns".into(), t.oneway_ns.into());
    let per_sec = b as f64 / (t.oneway_ns.max(1) as f64 / 1e9);
    extra.insert("oneway_per_sec".into(), Value::from(per_sec));
    let rec = Record {
        imp: "bream".into(),
        workload: "dist".into(),
        workers,
        n: a,
        ops: a,
        runs: 1,
        median_ns: t.pingpong_ns,
        min_ns: t.pingpong_ns,
        max_ns: t.pingpong_ns,
        per_op_ns: t.pingpong_ns as f64 / a.max(1) as f64,
        bytes_per_process: None,
        result: Some(t.ok),
        peak_rss_bytes: Status::now().vm_hwm,
        extra,
    };
    println!(
        "{}",
        serde_json::to_string(&rec).map_err(|e| e.to_string())?
    );
    Ok(())
}

fn main_body(workers: usize, a: u64, b: u64) -> Result<Timings, String> {
    bream_dist::register::<Option<u64>>();
    bream::register(MAIN_NAME, self_pid()).map_err(|e| format!("register: {e:?}"))?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let node = bream_dist::node_name();
    let port = bream_dist::listen_port();
    let mut echo_node = Command::new(exe)
        .env_remove(MAIN_ENV)
        .env(ECHO_ENV, format!("{workers} {node} {port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the echo node: {e}"))?;
    let (echo, sink) = match wait_ready() {
        Ok(pids) => pids,
        Err(e) => {
            let _ = echo_node.kill();
            let _ = echo_node.wait();
            return Err(e);
        }
    };
    let me = pid_to_term(self_pid());
    send(echo, Term::Tuple(vec![Term::atom("hello"), me.clone()]));

    let t0 = Instant::now();
    let mut ok = 0;
    for i in 0..a {
        send(echo, Some(i));
        if receive::<u64>() == i {
            ok += 1;
        }
    }
    let pingpong_ns = t0.elapsed().as_nanos() as u64;

    send(
        sink,
        Term::Tuple(vec![Term::atom("expect"), Term::from(b), me]),
    );
    let t1 = Instant::now();
    for i in 1..=b {
        send(sink, i);
    }
    let done: Term = receive();
    let oneway_ns = t1.elapsed().as_nanos() as u64;
    let sum = match done.as_tuple() {
        Some([tag, sum]) if tag.as_atom() == Some("sink_done") => sum.clone(),
        _ => return Err(format!("the sink said {done}, not {{sink_done, Sum}}")),
    };
    let want = Term::from(u128::from(b) * (u128::from(b) + 1) / 2);
    if sum != want {
        return Err(format!("the sink summed {sum}, not {want}"));
    }
    send(echo, None::<u64>);
    // The echo node exits when its echo process stops; wait for it (bounded).
    let deadline = Instant::now() + Duration::from_secs(10);
    while echo_node.try_wait().map_err(|e| e.to_string())?.is_none() {
        if Instant::now() > deadline {
            let _ = echo_node.kill();
            let _ = echo_node.wait();
            return Err("the echo node did not exit after stop".into());
        }
        bream::sleep(Duration::from_millis(5));
    }
    Ok(Timings {
        pingpong_ns,
        ok,
        oneway_ns,
    })
}

/// `{dist_ready, Echo, Sink}` from the echo node, within 30 s.
fn wait_ready() -> Result<(Pid, Pid), String> {
    let t: Term = receive_timeout(Duration::from_secs(30))
        .ok_or("the echo node did not report within 30 s")?;
    match t.as_tuple() {
        Some([tag, Term::Pid(e), Term::Pid(s)]) if tag.as_atom() == Some("dist_ready") => {
            Ok((pid_from_term(e), pid_from_term(s)))
        }
        _ => Err(format!("expected {{dist_ready, Echo, Sink}}, got {t}")),
    }
}

/// bream's echo node: a sink process, and main's process as the echo.
fn echo_node(v: &str) -> Result<(), String> {
    let [w, main_node, port] = fields::<3>(v)?;
    let (workers, port): (usize, u16) = (num(&w)?, num(&port)?);
    let name = format!("bream_bench_echo_{}@localhost", std::process::id());
    let rt = bream::Runtime::builder()
        .workers(workers)
        .node(&name)
        .cookie(COOKIE)
        .without_epmd(0)
        .peer(&main_node, ([127, 0, 0, 1], port).into())
        .build()
        .map_err(|e| format!("cannot start node {name}: {e}"))?;
    let r = rt.block_on(move || echo_body(&main_node));
    rt.shutdown();
    r
}

fn echo_body(main_node: &str) -> Result<(), String> {
    bream_dist::register::<Option<u64>>();
    let sink = bream::spawn(|| {
        let t: Term = receive();
        let Some([_, Term::Int(m), Term::Pid(main)]) = t.as_tuple() else {
            return;
        };
        let main = pid_from_term(main);
        let mut sum: u128 = 0;
        for _ in 0..*m {
            sum += u128::from(receive::<u64>());
        }
        send(
            main,
            Term::Tuple(vec![Term::atom("sink_done"), Term::from(sum)]),
        );
    });
    let ready = Term::Tuple(vec![
        Term::atom("dist_ready"),
        pid_to_term(self_pid()),
        pid_to_term(sink),
    ]);
    send_named_at(MAIN_NAME, main_node, ready).map_err(|_| "main is not registered")?;
    let hello: Term = receive();
    let main = match hello.as_tuple() {
        Some([_, Term::Pid(p)]) => pid_from_term(p),
        _ => return Err(format!("expected {{hello, Main}}, got {hello}")),
    };
    while let Some(i) = receive::<Option<u64>>() {
        send(main, i);
    }
    Ok(())
}

// ---- the harness: bream-bench dist ---------------------------------------------

/// How to start one implementation's main node.
enum Program {
    /// This binary with `MAIN_ENV`.
    Bream(PathBuf),
    /// `erl` with the compiled peer's directory.
    Erlang(PathBuf),
}

fn prepare(name: &str) -> Result<Program, String> {
    match name {
        "bream" => std::env::current_exe()
            .map(Program::Bream)
            .map_err(|e| e.to_string()),
        "erlang" => {
            let out = std::env::temp_dir().join("bream-bench-dist-ebin");
            std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
            let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/erlang/bream_peer.erl");
            let st = Command::new("erlc")
                .arg("-o")
                .arg(&out)
                .arg(&src)
                .status()
                .map_err(|e| format!("erlc: {e} (apt-get install erlang-base)"))?;
            st.success()
                .then_some(Program::Erlang(out))
                .ok_or_else(|| format!("erlc failed on {}", src.display()))
        }
        other => Err(format!("unknown implementation {other:?} (bream, erlang)")),
    }
}

fn one_run(prog: &Program, workers: usize, args: &DistArgs) -> Result<Record, String> {
    let (a, b) = (args.round_trips, args.messages);
    let mut cmd = match prog {
        Program::Bream(exe) => {
            let mut c = Command::new(exe);
            c.env(MAIN_ENV, format!("{workers} {a} {b}"));
            c
        }
        Program::Erlang(ebin) => {
            let mut c = Command::new("erl");
            c.args(["-noshell", "+S", &format!("{workers}:{workers}"), "-pa"])
                .arg(ebin)
                .args(["-run", "bream_peer", "main", "dist"])
                .args([workers.to_string(), a.to_string(), b.to_string()]);
            c
        }
    };
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start: {e}"))?;
    let (stdout, stderr) = wait_with_timeout(&mut child, Duration::from_secs(args.timeout))?;
    let rec = Record::from_output(&stdout).map_err(|e| format!("{e}; stderr: {stderr}"))?;
    if rec.result != Some(a) {
        return Err(format!(
            "{} of {a} round trips came back right",
            rec.result.unwrap_or(0)
        ));
    }
    Ok(rec)
}

/// The child's stdout and stderr once it exits successfully within `limit`.
fn wait_with_timeout(child: &mut Child, limit: Duration) -> Result<(String, String), String> {
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let t0 = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            break st;
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("killed after {} s", limit.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (stdout, stderr) = (
        reader.join().unwrap_or_default(),
        err_reader.join().unwrap_or_default(),
    );
    if status.success() {
        Ok((stdout, stderr))
    } else {
        Err(format!("exited with {status}: {}", stderr.trim()))
    }
}

/// `bream-bench dist`.
pub fn run(args: &DistArgs) -> Result<(), String> {
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let impls = args
        .impls
        .clone()
        .unwrap_or_else(|| vec!["bream".into(), "erlang".into()]);
    let mut ready = Vec::new();
    for name in &impls {
        match prepare(name) {
            Ok(p) => ready.push((name.clone(), p)),
            Err(why) => eprintln!("dist: skipping {name}: {why}"),
        }
    }
    println!(
        "dist: {} round trips, then {} one-way messages, between two nodes on loopback; {workers} workers per node, {} run(s)",
        thousands(args.round_trips),
        thousands(args.messages),
        args.runs
    );
    let mut results: Vec<(String, Vec<Record>)> =
        ready.iter().map(|(n, _)| (n.clone(), Vec::new())).collect();
    for _ in 0..args.runs {
        for (i, (name, prog)) in ready.iter().enumerate() {
            let rec = one_run(prog, workers, args).map_err(|e| format!("{name}: {e}"))?;
            eprintln!(
                "  {name}: round trip {:.1} µs, one-way {:.0} msgs/s",
                rec.per_op_ns / 1000.0,
                oneway_per_sec(&rec)
            );
            results[i].1.push(rec);
        }
    }
    print_table(&results);
    Ok(())
}

fn oneway_per_sec(r: &Record) -> f64 {
    r.extra
        .get("oneway_per_sec")
        .and_then(Value::as_f64)
        .unwrap_or(0.0)
}

/// Medians per implementation, and bream over erlang.
fn print_table(results: &[(String, Vec<Record>)]) {
    let medians: Vec<(&str, f64, f64)> = results
        .iter()
        .filter(|(_, runs)| !runs.is_empty())
        .map(|(name, runs)| {
            let mut rt: Vec<u64> = runs.iter().map(|r| r.per_op_ns as u64).collect();
            let mut tp: Vec<u64> = runs.iter().map(|r| oneway_per_sec(r) as u64).collect();
            (
                name.as_str(),
                lower_median(&mut rt) as f64,
                lower_median(&mut tp) as f64,
            )
        })
        .collect();
    println!(
        "{:<10} {:>16} {:>18}",
        "impl", "round trip (µs)", "one-way (msgs/s)"
    );
    for (name, rt, tp) in &medians {
        println!(
            "{name:<10} {:>16.1} {:>18}",
            rt / 1000.0,
            thousands(*tp as u64)
        );
    }
    let find = |n: &str| medians.iter().find(|m| m.0 == n);
    if let (Some(b), Some(e)) = (find("bream"), find("erlang")) {
        println!(
            "bream/erlang: one-way throughput {:.2}x (target >= 2x); round-trip latency {:.2}x (target <= 1x)",
            b.2 / e.2.max(1.0),
            b.1 / e.1.max(1.0)
        );
    }
}
