//! What a person sees when a process crashes, tested on the real stderr:
//! OTP's logger prints a crash report for every process that crashes
//! (proc_lib reference manual, "crash report"), none for a process killed by
//! an exit signal (Erlang Reference Manual, "Processes", "Receiving Exit
//! Signals"); bream prints one line per crash to stderr when no `tracing`
//! subscriber is installed, with where the panic happened.
//!
//! Each test re-runs this test binary as a child process on that one test
//! (the environment variable `BREAM_REPORT_CASE` tells it it is the child),
//! and reads what the child wrote to stderr.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bream::{receive, Down, ExitReason};

const CASE: &str = "BREAM_REPORT_CASE";
const FILE: &str = "runtime/tests/reports_stderr.rs";

fn in_child() -> bool {
    std::env::var_os(CASE).is_some()
}

/// Runs test `name` in a child process; its stdout, stderr and success. A
/// watchdog kills the child after 60 s (and fails the test).
fn child(name: &str, env: &[(&str, &str)]) -> (String, String, bool) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CASE, name)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut c = cmd.spawn().unwrap();
    let (mut out, mut err) = (c.stdout.take().unwrap(), c.stderr.take().unwrap());
    let o = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let e = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = c.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = c.kill();
            panic!("watchdog: the child running {name} did not finish in 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    (o.join().unwrap(), e.join().unwrap(), status.success())
}

fn reports(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("=CRASH REPORT===="))
        .collect()
}

/// The value the child printed as `key=value` on stdout.
fn printed<'a>(stdout: &'a str, key: &str) -> &'a str {
    stdout
        .split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("the child printed no {key}: {stdout}"))
}

const PANIC_LINE: u32 = line!() + 5;

fn crash_one() -> bream::Pid {
    bream::run(|| {
        let (pid, m) = bream::spawn_monitor(|| {
            panic!("disk on fire");
        });
        let d = receive! { d: Down if d.monitor == m => d };
        let ExitReason::Panic(p) = d.reason else {
            panic!("{:?}", d.reason)
        };
        // The reason carries the location too.
        let at = p.location().expect("a location");
        assert_eq!((at.file.as_str(), at.line), (FILE, PANIC_LINE));
        pid
    })
}

#[test]
fn a_crash_is_reported_on_stderr_once_with_its_location() {
    if in_child() {
        println!("pid={}", crash_one());
        return;
    }
    let (out, err, ok) = child("a_crash_is_reported_on_stderr_once_with_its_location", &[]);
    assert!(ok, "{err}");
    let r = reports(&err);
    assert_eq!(r.len(), 1, "{err}");
    let pid = printed(&out, "pid");
    let want = format!(
        "=CRASH REPORT==== process {pid} crashed: panic at {FILE}:{PANIC_LINE}:13: disk on fire"
    );
    assert_eq!(r[0], want, "{err}");
    // No second print by the std panic hook, and no backtrace unless asked.
    assert!(!err.contains("panicked at"), "{err}");
    assert!(
        !err.contains("stack backtrace") && !err.contains(" 0: "),
        "{err}"
    );
}

#[test]
fn rust_backtrace_adds_the_backtrace_to_the_report() {
    if in_child() {
        crash_one();
        return;
    }
    let (_, err, ok) = child(
        "rust_backtrace_adds_the_backtrace_to_the_report",
        &[("RUST_BACKTRACE", "1")],
    );
    assert!(ok, "{err}");
    assert_eq!(reports(&err).len(), 1, "{err}");
    let after = err.split("disk on fire").nth(1).unwrap_or("");
    // The frames follow the report line; one of them is the crashing closure.
    assert!(after.contains("reports_stderr::crash_one"), "{err}");
    // Short, as the std hook's: not the hook's frames, not the runtime's.
    assert!(!after.contains("install_panic_hook"), "{err}");
    assert!(!after.contains("bream_scheduler::worker"), "{err}");
}

#[test]
fn a_closed_stderr_does_not_take_the_runtime_down() {
    if in_child() {
        // stderr is a closed pipe: every report's write fails (and
        // `eprintln!` panics on that); the runtime must go on.
        for _ in 0..3 {
            crash_one();
        }
        println!("survived");
        return;
    }
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "a_closed_stderr_does_not_take_the_runtime_down",
        "--exact",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CASE, "closed")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut c = cmd.spawn().unwrap();
    drop(c.stderr.take()); // the read end closes: writes get EPIPE
    let mut out = c.stdout.take().unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = c.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = c.kill();
            panic!("watchdog: a report to a closed stderr hung the runtime");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut s = String::new();
    let _ = out.read_to_string(&mut s);
    assert!(status.success() && s.contains("survived"), "{s}");
}

const BLOCKING_LINE: u32 = line!() + 8;

#[test]
fn a_panic_inside_blocking_is_reported_with_the_pid_and_location() {
    if in_child() {
        let pid = bream::run(|| {
            let (pid, _) = bream::spawn_monitor(|| {
                bream::blocking(|| -> u32 {
                    panic!("dirty work failed");
                });
            });
            let d: Down = bream::receive();
            assert_eq!(d.reason, ExitReason::Panic("dirty work failed".into()));
            pid
        });
        println!("pid={pid}");
        return;
    }
    let (out, err, ok) = child(
        "a_panic_inside_blocking_is_reported_with_the_pid_and_location",
        &[],
    );
    assert!(ok, "{err}");
    let r = reports(&err);
    assert_eq!(r.len(), 1, "{err}");
    let pid = printed(&out, "pid");
    assert_eq!(
        r[0],
        format!(
            "=CRASH REPORT==== process {pid} crashed: panic at {FILE}:{BLOCKING_LINE}:21: \
             dirty work failed"
        ),
        "{err}"
    );
    assert!(
        !err.contains("panicked at"),
        "the blocking thread printed too: {err}"
    );
}

#[test]
fn a_process_killed_through_a_link_gets_no_report() {
    if in_child() {
        let (linked, crashed) = bream::run(|| {
            let me = bream::self_pid();
            let (linked, m) = bream::spawn_monitor(move || {
                let crashed = bream::spawn_link(|| {
                    bream::sleep(Duration::from_millis(5));
                    panic!("the original crash");
                });
                bream::send(me, crashed);
                bream::receive::<()>(); // killed here, through the link
            });
            let crashed: bream::Pid = bream::receive();
            let d = receive! { d: Down if d.monitor == m => d };
            assert_eq!(d.reason, ExitReason::Panic("the original crash".into()));
            (linked, crashed)
        });
        println!("linked={linked}\ncrashed={crashed}");
        return;
    }
    let (out, err, ok) = child("a_process_killed_through_a_link_gets_no_report", &[]);
    assert!(ok, "{err}");
    let r = reports(&err);
    assert_eq!(r.len(), 1, "{err}");
    assert!(
        r[0].contains(&format!("process {} crashed", printed(&out, "crashed"))),
        "{err}"
    );
    assert!(r[0].contains("the original crash"), "{err}");
    assert!(!err.contains(printed(&out, "linked")), "{err}");
}

const ROOT_LINE: u32 = line!() + 8;

#[test]
fn a_crash_of_the_first_process_is_reported_where_it_happened() {
    if in_child() {
        bream::run(|| {
            let v: Vec<u8> = Vec::new();
            let i = v.len() + 3;
            let _ = v[i];
        });
        return;
    }
    let (_, err, ok) = child(
        "a_crash_of_the_first_process_is_reported_where_it_happened",
        &[],
    );
    assert!(!ok, "the panic leaves run(): {err}");
    let r = reports(&err);
    assert_eq!(r.len(), 1, "{err}");
    assert!(
        r[0].starts_with(&format!(
            "=CRASH REPORT==== process <0.0.0> crashed: panic at {FILE}:{ROOT_LINE}:"
        )),
        "{err}"
    );
    assert!(r[0].contains("index out of bounds"), "{err}");
    // Nothing blames the runtime's own source.
    assert!(!err.contains("runtime/src/"), "{err}");
}

#[test]
fn with_a_tracing_subscriber_reports_go_through_tracing() {
    if in_child() {
        tracing::subscriber::set_global_default(
            tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_ansi(false)
                .finish(),
        )
        .unwrap();
        crash_one();
        return;
    }
    let (_, err, ok) = child("with_a_tracing_subscriber_reports_go_through_tracing", &[]);
    assert!(ok, "{err}");
    assert!(reports(&err).is_empty(), "{err}");
    assert!(err.contains("process crashed: panic"), "{err}");
    assert!(
        err.contains(&format!("location={FILE}:{PANIC_LINE}:13")),
        "{err}"
    );
    assert!(err.contains("disk on fire"), "{err}");
}

#[test]
fn a_receive_that_waits_beside_a_message_of_another_type_says_so_once() {
    if in_child() {
        let rt = bream::Runtime::builder()
            .unmatched_message_warning(Some(Duration::from_millis(50)))
            .build()
            .unwrap();
        rt.block_on(|| {
            let me = bream::self_pid();
            bream::send(me, 21); // the pitfall: an i32
            bream::send(me, 7u64); // the arm's type, refused by its guard: not reported
            bream::send_after(Duration::from_millis(300), me, 42u64);
            let n = receive! { n: u64 if n == 42 => n };
            assert_eq!(n, 42);
            // A second long wait beside the stray: no second warning.
            bream::send_after(Duration::from_millis(200), me, 43u64);
            assert_eq!(bream::receive::<u64>(), 7);
            assert_eq!(receive! { n: u64 if n == 43 => n }, 43);
            println!("pid={me}");
        });
        // Off: no warning at all.
        let quiet = bream::Runtime::builder()
            .unmatched_message_warning(None)
            .build()
            .unwrap();
        quiet.block_on(|| {
            let me = bream::self_pid();
            bream::send(me, "stray");
            bream::send_after(Duration::from_millis(150), me, 1u8);
            bream::receive::<u8>();
        });
        return;
    }
    #[cfg(debug_assertions)]
    assert_eq!(
        bream::DEFAULT_UNMATCHED_MESSAGE_WARNING,
        Some(Duration::from_secs(2))
    );
    let (out, err, ok) = child(
        "a_receive_that_waits_beside_a_message_of_another_type_says_so_once",
        &[],
    );
    assert!(ok, "{err}");
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("=WARNING REPORT===="))
        .collect();
    assert_eq!(warnings.len(), 1, "{err}");
    let pid = printed(&out, "pid");
    assert!(
        warnings[0].contains(&format!(
            "process {pid} waits for `u64` but its mailbox holds 1 message of type `i32`"
        )),
        "{err}"
    );
    assert!(warnings[0].contains("21u64"), "the hint: {err}");
    assert!(!err.contains("stray") && !err.contains("&str"), "{err}");
}

const CAUGHT_LINE: u32 = line!() + 9;

/// A process that catches its panic, waits (and may move to another worker
/// meanwhile), then resumes it — as gen_server does around `terminate` — keeps
/// the panic's location.
#[test]
fn the_location_survives_a_wait_between_catch_and_resume() {
    bream::run(|| {
        let (_, m) = bream::spawn_monitor(|| {
            let r = std::panic::catch_unwind(|| panic!("caught, then resumed"));
            for _ in 0..20 {
                bream::sleep(Duration::from_millis(1));
                // Others run meanwhile, and panic on this worker too.
                let (_, m) = bream::spawn_monitor(|| panic!("a neighbour's panic"));
                let _ = receive! { d: Down if d.monitor == m => d };
            }
            std::panic::resume_unwind(r.unwrap_err());
        });
        let d = receive! { d: Down if d.monitor == m => d };
        let ExitReason::Panic(p) = d.reason else {
            panic!("{:?}", d.reason)
        };
        assert_eq!(p, "caught, then resumed");
        let at = p.location().expect("a location");
        assert_eq!((at.file.as_str(), at.line), (FILE, CAUGHT_LINE));
    });
}

/// The first process killed through a link by another's panic: `run` panics
/// naming the original panic and where it was, not the runtime's source.
#[test]
fn a_first_process_killed_by_a_linked_panic_names_it() {
    let r = std::panic::catch_unwind(|| {
        bream::run(|| {
            bream::spawn_link(|| panic!("the child's bug"));
            bream::receive::<()>();
        })
    });
    let payload = r.unwrap_err();
    let msg = payload.downcast_ref::<String>().expect("a message");
    assert!(
        msg.starts_with("the process run by block_on exited: panic at "),
        "{msg}"
    );
    assert!(
        msg.contains(FILE) && msg.ends_with("the child's bug"),
        "{msg}"
    );
}
