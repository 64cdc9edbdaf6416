//! Crash reports: OTP's proc_lib writes a crash report for every process that
//! exits with a reason other than `normal` or `shutdown` (OTP "proc_lib"
//! reference manual, "crash report"); bream sends them through `tracing` when a
//! subscriber is installed (stderr otherwise: reports_stderr.rs). Also
//! long-schedule reports (`erlang:system_monitor/2`, ERTS reference manual),
//! which bream writes the same way.
//! This file installs its own global subscriber, so it is a test binary of its
//! own.

use std::io::Write;
use std::sync::{Arc, Mutex};

use bream::{receive, Down, ExitReason};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn abnormal_exits_are_reported_and_normal_ones_are_not() {
    let buf = Buffer::default();
    let writer = buf.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish(),
    )
    .unwrap();
    let (crashed, quiet) = bream::run(|| {
        let wait = |m| receive! { d: Down if d.monitor == m => d };
        let (crashed, m) = bream::spawn_monitor(|| panic!("disk on fire"));
        assert_eq!(wait(m).reason, ExitReason::Panic("disk on fire".into()));
        let (normal, m) = bream::spawn_monitor(|| {});
        wait(m);
        let (shut, m) = bream::spawn_monitor(|| bream::exit_self(ExitReason::Shutdown));
        wait(m);
        let (other, m) =
            bream::spawn_monitor(|| bream::exit_self(ExitReason::Other("bad input".into())));
        wait(m);
        (vec![crashed, other], vec![normal, shut])
    });
    let log = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("process crashed: panic") && log.contains("disk on fire"),
        "{log}"
    );
    assert!(
        log.contains("process exited abnormally") && log.contains("bad input"),
        "{log}"
    );
    for pid in crashed {
        assert!(log.contains(&pid.to_string()), "{pid} in {log}");
    }
    for pid in quiet {
        assert!(!log.contains(&pid.to_string()), "{pid} in {log}");
    }

    // A process that computes without yielding is reported as a long schedule
    // (`erlang:system_monitor/2`, `{long_schedule, Time}`), by its pid. It
    // spins until the report is in the log.
    let rt = bream::Runtime::builder()
        .long_schedule(Some(std::time::Duration::from_millis(5)))
        .build()
        .unwrap();
    let seen = buf.clone();
    let spinner = rt.block_on(move || {
        let (pid, m) = bream::spawn_monitor(move || {
            let me = bream::self_pid().to_string();
            loop {
                let log = String::from_utf8(seen.0.lock().unwrap().clone()).unwrap();
                if log.contains(&format!("long schedule: process {me}")) {
                    break;
                }
                std::hint::spin_loop();
            }
        });
        let _ = receive! { d: Down if d.monitor == m => d };
        pid
    });
    rt.shutdown();
    let log = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains(&format!("long schedule: process {spinner} has run")),
        "{log}"
    );
}
