//! The observer server, used as `bream-observer` uses it: connect, ask for a
//! snapshot, read it with `wire::read`, kill a process by its pid bits.
//! (Erlang's `observer` kills with `exit(Pid, kill)`; so does this.)

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::Duration;

use bream::observer::wire;
use bream::{ExitReason, Runtime};

fn watchdog<R: Send + 'static>(secs: u64, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("test did not finish within {secs} s (or panicked)"))
}

#[test]
fn a_snapshot_over_the_socket_and_a_kill() {
    watchdog(30, || {
        let rt = Runtime::builder().workers(2).build().unwrap();
        let server = rt.serve_observer("127.0.0.1:0").unwrap();
        let (victim_tx, victim_rx) = mpsc::channel();
        let (down_tx, down_rx) = mpsc::channel();
        rt.block_on(move || {
            bream::spawn(move || {
                let victim = bream::spawn(|| loop {
                    let () = bream::receive();
                });
                bream::register("victim", victim).unwrap();
                for _ in 0..3 {
                    bream::send(victim, ());
                }
                bream::monitor(victim);
                victim_tx.send(victim).unwrap();
                let d: bream::Down = bream::receive();
                down_tx.send(d.reason).unwrap();
            });
        });
        let victim = victim_rx.recv().unwrap();
        let conn = TcpStream::connect(server.addr()).unwrap();
        let mut out = conn.try_clone().unwrap();
        let mut input = BufReader::new(conn);
        out.write_all(b"snapshot\n").unwrap();
        let frame = wire::read(&mut input).unwrap();
        assert_eq!(
            frame.counts[0] as usize,
            frame.processes.len(),
            "alive = rows"
        );
        assert!(frame.workers.iter().filter(|w| !w.spare).count() == 2);
        let row = frame
            .processes
            .iter()
            .find(|p| p.pid == victim.to_string())
            .expect("the victim is in the table");
        assert_eq!(row.name.as_deref(), Some("victim"));
        assert!(row.memory > 0);
        out.write_all(format!("kill {}\n", row.bits).as_bytes())
            .unwrap();
        let mut answer = String::new();
        input.read_line(&mut answer).unwrap();
        assert_eq!(answer.trim(), "ok");
        assert_eq!(
            down_rx.recv_timeout(Duration::from_secs(10)).unwrap(),
            ExitReason::Killed
        );
        // Gone from the next snapshot; killing it again says so.
        out.write_all(b"snapshot\n").unwrap();
        let frame = wire::read(&mut input).unwrap();
        assert!(frame.processes.iter().all(|p| p.pid != victim.to_string()));
        out.write_all(format!("kill {}\n", row.bits).as_bytes())
            .unwrap();
        answer.clear();
        input.read_line(&mut answer).unwrap();
        assert_eq!(answer.trim(), "noproc");
        server.stop();
        rt.shutdown();
    });
}

#[test]
fn published_children_travel_as_child_lines() {
    use bream::observer::{publish_children, ChildKind, ChildRow};
    watchdog(30, || {
        let rt = Runtime::builder().workers(2).build().unwrap();
        let server = rt.serve_observer("127.0.0.1:0").unwrap();
        let (tx, rx) = mpsc::channel();
        rt.block_on(move || {
            bream::spawn(move || {
                let worker = bream::spawn(|| {
                    let () = bream::receive();
                });
                publish_children(vec![
                    ChildRow::new("a worker", Some(worker), ChildKind::Worker, "permanent"),
                    ChildRow::new("idle", None, ChildKind::Supervisor, "temporary"),
                ]);
                tx.send((bream::self_pid(), worker)).unwrap();
                let () = bream::receive();
            });
        });
        let (sup, worker) = rx.recv().unwrap();
        let conn = TcpStream::connect(server.addr()).unwrap();
        let mut out = conn.try_clone().unwrap();
        let mut input = BufReader::new(conn);
        out.write_all(b"snapshot\n").unwrap();
        let frame = wire::read(&mut input).unwrap();
        let bits = |pid: bream::Pid| {
            let shown = pid.to_string();
            frame
                .processes
                .iter()
                .find(|p| p.pid == shown)
                .unwrap()
                .bits
        };
        let expected = vec![
            wire::ChildLine {
                parent: bits(sup),
                bits: Some(bits(worker)),
                pid: Some(worker.to_string()),
                kind: "worker".into(),
                restart: "permanent".into(),
                id: "a worker".into(),
            },
            wire::ChildLine {
                parent: bits(sup),
                bits: None,
                pid: None,
                kind: "supervisor".into(),
                restart: "temporary".into(),
                id: "idle".into(),
            },
        ];
        assert_eq!(frame.children, expected);
        server.stop();
        rt.shutdown();
    });
}
