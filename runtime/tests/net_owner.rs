//! A socket belongs to its owning process: when the owner exits — killed
//! while parked in `read`, panicking, killed while waiting for active-mode
//! messages — the socket is closed (the peer sees end of stream) and no file
//! descriptor leaks. OTP: "the socket is closed when the controlling process
//! terminates" (gen_tcp, `controlling_process/2`).
//!
//! One test in its own binary, because it counts `/proc/self/fd`, which
//! every test running beside it in the same binary would disturb.

use std::io::Read;
use std::net::SocketAddr;

use bream::net::{Active, TcpListener, TcpStream};
use bream::{Down, ExitReason};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Spawn (monitored) a process that accepts one connection on a listener of
/// its own and then runs `then`; return its pid and the address.
fn serve(then: fn(TcpStream)) -> (bream::Pid, bream::MonitorRef, SocketAddr) {
    let main = bream::self_pid();
    let (pid, mon) = bream::spawn_monitor(move || {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        bream::send(main, l.local_addr().unwrap());
        let (conn, _) = l.accept().unwrap();
        bream::send(main, "accepted");
        then(conn);
    });
    let addr = bream::receive::<SocketAddr>();
    (pid, mon, addr)
}

fn await_down(mon: bream::MonitorRef) -> ExitReason {
    let d: Down = bream::receive();
    assert_eq!(d.monitor, mon);
    d.reason
}

/// The peer reads end of stream (not an error, not a hang).
fn assert_eof(c: &TcpStream) {
    let mut rest = Vec::new();
    (&*c).read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
}

#[test]
fn an_exiting_owner_closes_its_sockets_and_leaks_no_fd() {
    bream::run(|| {
        let start = open_fds();

        // 1. Killed while parked in read.
        let (pid, mon, addr) = serve(|conn| {
            let _ = conn.read(&mut [0u8; 16]); // parks: the client never writes
            unreachable!("the read returned");
        });
        let c = TcpStream::connect(addr).unwrap();
        assert_eq!(bream::receive::<&str>(), "accepted");
        // Let it park in read: it has nothing else to do.
        while bream::process_info(pid).is_some_and(|i| i.status == bream::Status::Running) {
            bream::yield_now();
        }
        bream::exit(pid, ExitReason::Kill);
        assert_eq!(await_down(mon), ExitReason::Killed);
        assert_eof(&c);
        drop(c);
        assert_eq!(open_fds(), start, "after a kill in read");

        // 2. Panicking owner.
        let (_, mon, addr) = serve(|conn| {
            let _keep = conn;
            panic!("handler bug");
        });
        let c = TcpStream::connect(addr).unwrap();
        assert_eq!(bream::receive::<&str>(), "accepted");
        assert!(matches!(await_down(mon), ExitReason::Panic(_)));
        assert_eof(&c);
        drop(c);
        assert_eq!(open_fds(), start, "after a panic");

        // 3. Killed while waiting for active-mode messages (its reader task
        //    is parked in the poller meanwhile).
        let (pid, mon, addr) = serve(|conn| {
            conn.set_active(Active::On).unwrap();
            let _: u64 = bream::receive(); // never comes
        });
        let c = TcpStream::connect(addr).unwrap();
        assert_eq!(bream::receive::<&str>(), "accepted");
        bream::exit(pid, ExitReason::Kill);
        assert_eq!(await_down(mon), ExitReason::Killed);
        assert_eof(&c);
        drop(c);
        assert_eq!(open_fds(), start, "after a kill in active mode");

        // 4. A normal return drops everything too.
        let (_, mon, addr) = serve(|_conn| {});
        let c = TcpStream::connect(addr).unwrap();
        assert_eq!(bream::receive::<&str>(), "accepted");
        assert_eq!(await_down(mon), ExitReason::Normal);
        assert_eof(&c);
        drop(c);
        assert_eq!(open_fds(), start, "after a normal exit");
    });
}
