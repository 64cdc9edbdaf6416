//! The event trace and the counters, checked against what the program did.
//!
//! Each test runs a small program on a traced runtime, decodes the file it
//! wrote (bream-scheduler's `trace::decode`) and checks the events: every
//! spawned process has a spawn and an exit, every steal names a real
//! worker, every message's flow arrow pairs up, and the trace agrees with
//! `bream::stats()` (both are fed by the same event sites).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use bream::{ExitReason, Pid, Runtime};
use bream_scheduler::trace::decode::{self, ArgValue, EventType, Trace};

/// Runs `f` on a thread; panics if it takes longer than `secs`.
fn watchdog<R: Send + 'static>(secs: u64, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("test did not finish within {secs} s (or panicked)"))
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("bream-{name}-{}.pftrace", std::process::id()))
}

/// What the program did, as it saw it.
struct Done {
    pids: Vec<Pid>,
    messages: u64,
    stats: bream::Stats,
}

/// A program with steals (one process spawns many yielding workers), messages
/// (each worker reports back) and exits of three kinds.
fn program() -> Done {
    let me = bream::self_pid();
    let mut pids = vec![me];
    let mut messages = 0;
    // Busy processes spawned from one worker: the other worker, woken by
    // the pushes, steals some. Its wake-up may come late on a loaded
    // machine, so rounds go on (at most 100) until a steal was counted.
    for _round in 0..100 {
        for i in 0..100u64 {
            let pid = bream::spawn(move || {
                for _ in 0..20 {
                    bream::reduce(1000);
                }
                bream::send(me, i);
            });
            pids.push(pid);
        }
        for _ in 0..100 {
            let _: u64 = bream::receive();
        }
        messages += 100;
        if bream::stats().workers.iter().any(|w| w.steals > 0) {
            break;
        }
    }
    // A ping-pong pair: flows both ways.
    let pong = bream::spawn(move || loop {
        let (from, n): (Pid, u32) = bream::receive();
        bream::send(from, n);
        if n == 0 {
            break;
        }
    });
    pids.push(pong);
    for n in (0..50u32).rev() {
        bream::send(pong, (me, n));
        let _: u32 = bream::receive();
        messages += 2;
    }
    // A panic and a kill.
    let (p, _) = bream::spawn_monitor(|| panic!("on purpose"));
    pids.push(p);
    let _: bream::Down = bream::receive();
    let (k, _) = bream::spawn_monitor(|| loop {
        let () = bream::receive();
    });
    pids.push(k);
    bream::exit(k, ExitReason::Kill);
    let _: bream::Down = bream::receive();
    Done {
        pids,
        messages,
        stats: bream::stats(),
    }
}

fn run_traced(path: &std::path::Path) -> Done {
    let path = path.to_path_buf();
    watchdog(60, move || {
        let rt = Runtime::builder().workers(2).trace(&path).build().unwrap();
        let done = rt.block_on(program);
        rt.shutdown();
        done
    })
}

fn name_of(e: &decode::TraceEvent) -> &str {
    e.name.as_deref().unwrap_or("")
}

#[test]
fn every_spawned_process_has_a_spawn_and_an_exit() {
    let path = temp("spawn-exit");
    let done = run_traced(&path);
    let t = decode::read(&path).unwrap();
    std::fs::remove_file(&path).ok();
    let mut seen: HashMap<(String, &str), usize> = HashMap::new();
    for e in &t.events {
        if let what @ ("spawn" | "exit") = name_of(e) {
            *seen
                .entry((t.track_name(e.track).to_string(), what))
                .or_default() += 1;
        }
    }
    for &pid in &done.pids {
        let n = |what| seen.get(&(pid.to_string(), what)).copied().unwrap_or(0);
        assert_eq!(n("spawn"), 1, "{pid}: one spawn");
        assert_eq!(n("exit"), 1, "{pid}: one exit");
    }
    // Every process track belongs to a process the program spawned.
    let known: HashSet<String> = done.pids.iter().map(Pid::to_string).collect();
    for tr in t.tracks.values().filter(|tr| t.is_process(tr.uuid)) {
        assert!(
            known.contains(&tr.name),
            "unknown process track {}",
            tr.name
        );
    }
    // The runtime's reasons: the panic and the kill are marked as such.
    let marks = |what: &str| t.events.iter().filter(|e| name_of(e) == what).count();
    assert_eq!(marks("exit: panic"), 1);
    assert_eq!(marks("exit: killed"), 1);
    assert_eq!(marks("exit: normal"), done.pids.len() - 2);
    // The counters saw the same (the root process had not exited yet).
    assert_eq!(done.stats.exits.panic, 1);
    assert_eq!(done.stats.exits.killed, 1);
    assert_eq!(done.stats.exits.normal as usize, done.pids.len() - 3);
    assert_eq!(done.stats.processes_spawned as usize, done.pids.len());
}

/// Per worker track, begins and ends nest: a slice ends only while one is open.
fn check_nesting(t: &Trace) {
    let mut depth: HashMap<u64, i64> = HashMap::new();
    for e in &t.events {
        let d = depth.entry(e.track).or_default();
        match e.kind {
            EventType::Begin => *d += 1,
            EventType::End => {
                *d -= 1;
                assert!(
                    *d >= 0,
                    "a slice ends on {} with none open",
                    t.track_name(e.track)
                );
            }
            _ => {}
        }
    }
}

#[test]
fn steals_name_real_workers_and_agree_with_the_counters() {
    let path = temp("steals");
    let done = run_traced(&path);
    let t = decode::read(&path).unwrap();
    std::fs::remove_file(&path).ok();
    check_nesting(&t);
    let mut steals = 0u64;
    for e in t
        .events
        .iter()
        .filter(|e| name_of(e).starts_with("steal from"))
    {
        let thief = t.worker_of(e.track).expect("a steal is on a worker track");
        let Some(ArgValue::Uint(victim)) = e.arg("victim") else {
            panic!("a steal names its victim")
        };
        assert!(
            *victim < 2 && *victim != u64::from(thief),
            "steal from {victim} by {thief}"
        );
        assert!(matches!(e.arg("tasks"), Some(ArgValue::Uint(n)) if *n >= 1));
        steals += 1;
    }
    let counted: u64 = done.stats.workers.iter().map(|w| w.steals).sum();
    let suffered: u64 = done.stats.workers.iter().map(|w| w.steals_suffered).sum();
    assert_eq!(
        steals, counted,
        "the trace and the counters count the same steals"
    );
    assert_eq!(counted, suffered);
    assert!(
        steals >= 1,
        "busy processes spawned on one worker: the other steals"
    );
    // Slices: the counters' tasks_run per worker = slice begins on its track
    // (the root process's last slice ends after the snapshot: at most one more).
    for w in done.stats.workers.iter().filter(|w| !w.spare) {
        let uuid = t
            .tracks
            .values()
            .find(|tr| tr.name == format!("worker {}", w.index))
            .map(|tr| tr.uuid);
        let begins = t
            .events
            .iter()
            .filter(|e| {
                Some(e.track) == uuid && e.kind == EventType::Begin && name_of(e) != "parked"
            })
            .count() as u64;
        assert!(
            begins == w.tasks_run || begins == w.tasks_run + 1,
            "worker {}: {begins} slices traced, {} counted",
            w.index,
            w.tasks_run
        );
    }
}

#[test]
fn every_message_flow_pairs_up() {
    let path = temp("flows");
    let done = run_traced(&path);
    let t = decode::read(&path).unwrap();
    std::fs::remove_file(&path).ok();
    let sends: Vec<_> = t
        .events
        .iter()
        .filter(|e| name_of(e).starts_with("send → "))
        .collect();
    // Every message the program sent (and nothing else: the runtime's
    // Downs are signals) is a send event, and the counter agrees.
    assert_eq!(sends.len() as u64, done.messages);
    assert_eq!(done.stats.messages_sent, done.messages);
    let mut started: HashMap<u64, &decode::TraceEvent> = HashMap::new();
    for s in &sends {
        assert!(t.is_process(s.track), "sent by a process");
        for &id in &s.flows {
            assert!(started.insert(id, s).is_none(), "flow {id} starts twice");
        }
    }
    let mut ended = HashSet::new();
    for e in t.events.iter().filter(|e| !e.terminating_flows.is_empty()) {
        assert_eq!(e.kind, EventType::Begin, "a flow ends at a slice");
        for id in &e.terminating_flows {
            assert!(ended.insert(*id), "flow {id} ends twice");
            let s = started
                .get(id)
                .unwrap_or_else(|| panic!("flow {id} ends but never starts"));
            assert!(s.ts <= e.ts, "flow {id} ends before it starts");
            let to = match s.arg("to") {
                Some(ArgValue::Str(to)) => to.as_str(),
                _ => panic!("a send names its receiver"),
            };
            assert_eq!(t.track_name(e.track), to, "flow {id} ends at its receiver");
        }
    }
    assert_eq!(ended.len(), started.len(), "every flow that starts ends");
    // Every receiver here ran after each message: every send has an arrow.
    assert!(sends.iter().all(|s| s.flows.len() == 1));
}

#[test]
fn the_environment_variable_traces_without_a_code_change() {
    // A child process of this test binary, so the variable reaches only it.
    if std::env::var_os("BREAM_TRACE_CHILD").is_some() {
        bream::run(|| {
            let p = bream::spawn(|| {});
            let _ = p;
        });
        return;
    }
    let path = temp("env");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "the_environment_variable_traces_without_a_code_change",
            "--exact",
        ])
        .env("BREAM_TRACE_CHILD", "1")
        .env("BREAM_TRACE", &path)
        .status()
        .unwrap();
    assert!(status.success());
    let t = decode::read(&path).unwrap();
    std::fs::remove_file(&path).ok();
    let spawns = t.events.iter().filter(|e| name_of(e) == "spawn").count();
    assert_eq!(spawns, 2, "the root process and its child");
}

#[test]
fn counters_without_a_trace() {
    watchdog(30, || {
        let rt = Runtime::builder().workers(2).build().unwrap();
        let s = rt.block_on(|| {
            let me = bream::self_pid();
            for _ in 0..10 {
                bream::spawn(move || bream::send(me, ()));
            }
            for _ in 0..10 {
                let () = bream::receive();
            }
            bream::stats()
        });
        assert_eq!(s.processes_spawned, 11);
        assert_eq!(s.messages_sent, 10);
        assert_eq!(s.exits.normal, 10);
        let after = rt.stats();
        assert!(after.processes_alive <= 1);
        let w = &after.workers[0];
        assert!(w.running + w.searching + w.parked + w.poller > Duration::ZERO);
        assert!(after.workers.iter().map(|w| w.tasks_run).sum::<u64>() >= 11);
        rt.shutdown();
    });
}

#[test]
fn signals_timers_and_hibernation_are_marked() {
    let path = temp("marks");
    let p = path.clone();
    watchdog(60, move || {
        let rt = Runtime::builder().workers(2).trace(&p).build().unwrap();
        rt.block_on(|| {
            let (child, _) = bream::spawn_monitor(|| {
                bream::sleep(Duration::from_millis(5));
                bream::hibernate(|| {
                    let () = bream::receive();
                });
            });
            bream::sleep(Duration::from_millis(50));
            bream::send(child, ());
            let _: bream::Down = bream::receive();
        });
        rt.shutdown();
    });
    let t = decode::read(&path).unwrap();
    std::fs::remove_file(&path).ok();
    let count = |what: &str| t.events.iter().filter(|e| name_of(e) == what).count();
    assert_eq!(count("hibernate"), 1);
    assert_eq!(count("signal: down"), 1);
    assert!(t
        .events
        .iter()
        .any(|e| name_of(e).ends_with("timers fired") && t.worker_of(e.track).is_some()));
}

#[test]
fn io_readiness_and_blocking_jobs_are_traced() {
    use std::io::Write;
    let path = temp("io");
    let p = path.clone();
    let (main, server) = watchdog(60, move || {
        let rt = Runtime::builder().workers(2).trace(&p).build().unwrap();
        let pids = rt.block_on(|| {
            let main = bream::self_pid();
            // Waits in accept and read: the poller wakes it.
            let server = bream::spawn(move || {
                let l = bream::net::TcpListener::bind("127.0.0.1:0").unwrap();
                bream::send(main, l.local_addr().unwrap());
                let (conn, _) = l.accept().unwrap();
                bream::send(main, "accepted");
                let mut got = Vec::new();
                let mut buf = [0u8; 16];
                while got.len() < 5 {
                    match conn.read(&mut buf).unwrap() {
                        0 => break,
                        n => got.extend_from_slice(&buf[..n]),
                    }
                }
                bream::send(main, got);
            });
            let addr: std::net::SocketAddr = bream::receive();
            // Each step of the client (a blocking job: std's socket on a
            // pool thread) waits until the server is parked on the socket,
            // so the poller is what wakes it.
            let parked = |pid: Pid| {
                while bream::process_info(pid).map(|i| i.status) != Some(bream::Status::Suspended) {
                    bream::sleep(Duration::from_millis(1));
                }
            };
            parked(server); // in accept
            let s = bream::blocking(move || std::net::TcpStream::connect(addr).unwrap());
            let _: &str = bream::receive(); // accepted: the next wait is the read
            parked(server);
            bream::blocking(move || {
                let mut s = s;
                s.write_all(b"hello").unwrap();
            });
            let got = bream::receive_timeout::<Vec<u8>>(Duration::from_secs(10));
            assert_eq!(got.as_deref(), Some(&b"hello"[..]));
            (main, server)
        });
        rt.shutdown();
        pids
    });
    let t = decode::read(&path).unwrap();
    std::fs::remove_file(&path).ok();
    let track_of = |pid: Pid| {
        let name = pid.to_string();
        *t.tracks
            .iter()
            .find(|(_, tr)| tr.name == name)
            .unwrap_or_else(|| panic!("no track for {name}"))
            .0
    };
    // I/O readiness: an instant on the polling worker naming the server,
    // its mark on the server's track, and an arrow to the server's next slice.
    let ready: Vec<_> = t
        .events
        .iter()
        .filter(|e| name_of(e) == format!("I/O ready → {server}"))
        .collect();
    assert!(!ready.is_empty(), "no I/O readiness event for the server");
    assert!(ready.iter().all(|e| t.worker_of(e.track).is_some()));
    let server_track = track_of(server);
    assert!(t
        .events
        .iter()
        .any(|e| e.track == server_track && name_of(e) == "I/O ready"));
    let flows: HashSet<u64> = ready.iter().flat_map(|e| e.flows.clone()).collect();
    assert!(
        t.events.iter().any(|e| e.track == server_track
            && e.kind == EventType::Begin
            && e.terminating_flows.iter().any(|f| flows.contains(f))),
        "no readiness arrow ends in a slice of the server"
    );
    // The blocking jobs (connect, then write): a slice each on a
    // blocking-pool thread's track, for main, the second after the first.
    let jobs: Vec<_> = t.events.iter().filter(|e| t.is_blocking(e.track)).collect();
    let label = format!("blocking job for {main}");
    let begins: Vec<_> = jobs.iter().filter(|e| e.kind == EventType::Begin).collect();
    assert_eq!(begins.len(), 2, "two jobs: {jobs:?}");
    let mut ended = 0;
    for b in &begins {
        assert_eq!(name_of(b), label);
        let end = jobs
            .iter()
            .find(|e| e.kind == EventType::End && e.track == b.track && e.ts >= b.ts)
            .expect("the job's slice ends");
        assert!(b.ts >= ended, "the jobs ran one after the other");
        ended = end.ts;
    }
    assert!(t
        .events
        .iter()
        .any(|e| e.track == track_of(main) && name_of(e).starts_with("blocking job on thread")));
}
