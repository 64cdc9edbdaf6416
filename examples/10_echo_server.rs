//! Chapter 10: a TCP echo server, a process per connection, under a supervisor.
//!
//! What it teaches:
//! - `bream::net` sockets are used in a plain blocking style: `accept`,
//!   `read`, `write_all`. A call that would block parks the *process*; its
//!   worker thread runs other processes meanwhile (docs/io.md);
//! - a socket belongs to the process that made it: the acceptor hands each
//!   connection to its handler with `controlling_process` and a message, as
//!   `gen_tcp` programs do;
//! - the OTP shape of a server (Ranch's): a `SimpleOneForOne` supervisor of
//!   `Temporary` connection handlers, beside the acceptor; a handler that
//!   crashes takes down only its connection, and its socket is closed
//!   because the handler unwound.
//!
//! What it prints: the address, then for a client of 200 connections each
//! doing 500 round trips of 64 bytes, the round trips per second.
//!
//! Run: `cargo run --release -p bream-stdlib --example 10_echo_server`

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bream::net::{TcpListener, TcpStream};
use bream::ExitReason;
use bream_stdlib::supervisor::{
    self, ChildSpec, Restart, Shutdown, Strategy, Supervisor, SupervisorRef,
};

const CONNECTIONS: usize = 200;
const ROUND_TRIPS: usize = 500;

/// One connection's handler: wait for the socket, echo until end of stream.
fn connection() {
    let conn: TcpStream = bream::receive();
    let mut buf = [0u8; 1024];
    // `read` parks this process until data arrives; Ok(0) is end of stream.
    while let Ok(n @ 1..) = conn.read(&mut buf) {
        if conn.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    // `conn` is dropped here: the socket is closed.
}

/// The acceptor: owns the listener, starts a handler per connection under
/// the `connections` supervisor, and gives it the socket.
fn acceptor(main: bream::Pid) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    bream::send(main, listener.local_addr().unwrap());
    let handlers = SupervisorRef::named("connections");
    loop {
        let (conn, _peer) = listener.accept().expect("accept");
        let _ = conn.set_nodelay(true);
        let pid = supervisor::start_dynamic_child(&handlers, ())
            .expect("start a handler")
            .expect("a handler never ignores");
        // From now on only the handler may use the socket; then move it there.
        conn.controlling_process(pid).unwrap();
        bream::send(pid, conn);
    }
}

/// The server's tree: the handlers' supervisor first, then the acceptor
/// (which needs it). `RestForOne`: if the handlers' supervisor dies, the
/// acceptor is restarted after it.
fn server(main: bream::Pid) -> Supervisor {
    let handlers = Supervisor::new(Strategy::SimpleOneForOne)
        .name("connections")
        .child(
            ChildSpec::dynamic_worker("connection", |()| Ok(bream::spawn_link(connection)))
                .restart(Restart::Temporary)
                .shutdown(Shutdown::BrutalKill),
        );
    Supervisor::new(Strategy::RestForOne)
        .child(handlers.child_spec("connections"))
        .child(ChildSpec::worker("acceptor", move || {
            Ok(bream::spawn_link(move || acceptor(main)))
        }))
}

/// One client connection: `ROUND_TRIPS` round trips of 64 bytes.
fn client(main: bream::Pid, addr: SocketAddr) {
    let conn = TcpStream::connect(addr).expect("connect");
    let _ = conn.set_nodelay(true);
    let msg = [b'x'; 64];
    let mut back = [0u8; 64];
    for _ in 0..ROUND_TRIPS {
        conn.write_all(&msg).unwrap();
        conn.read_exact(&mut back).unwrap();
    }
    bream::send(main, ());
}

fn main() {
    bream::run(|| {
        let main = bream::self_pid();
        // Not linked to main: stopping it must not take main down with it.
        let sup = server(main).start().expect("start the server");
        let addr: SocketAddr = bream::receive();
        println!("echo server listening on {addr}");

        let t0 = Instant::now();
        for _ in 0..CONNECTIONS {
            bream::spawn(move || client(main, addr));
        }
        for _ in 0..CONNECTIONS {
            bream::receive::<()>();
        }
        let dt = t0.elapsed();
        let n = CONNECTIONS * ROUND_TRIPS;
        println!(
            "{CONNECTIONS} connections × {ROUND_TRIPS} round trips of 64 bytes: {:.0} round trips/s ({:.2?} in all)",
            n as f64 / dt.as_secs_f64(),
            dt
        );
        supervisor::stop(&sup, ExitReason::Shutdown, Duration::from_secs(5))
            .expect("stop the server");
    });
}
