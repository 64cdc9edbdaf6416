//! Per-call timeouts (OTP's `gen_tcp:recv/3`, `accept/2` and
//! `gen_udp:recv/3` with a timeout: `{error, timeout}`): a call that runs out
//! of time fails with `TimedOut`, leaves the socket usable, and can be
//! retried; a zero timeout is refused, as `std::net` refuses it.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;

use bream::net::{TcpListener, TcpStream, UdpSocket};

/// Spawn a server process running `serve` on one accepted connection; the
/// address it listens on.
fn server(serve: impl FnOnce(TcpStream) + Send + 'static) -> SocketAddr {
    let main = bream::self_pid();
    bream::spawn(move || {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        bream::send(main, l.local_addr().unwrap());
        let (conn, _) = l.accept().unwrap();
        serve(conn);
    });
    bream::receive::<SocketAddr>()
}

#[test]
fn read_and_accept_time_out_and_can_be_retried() {
    bream::run(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let e = l.accept_timeout(Duration::from_millis(20)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TimedOut);

        let main = bream::self_pid();
        let addr = server(move |conn| {
            bream::send(main, bream::self_pid());
            // Wait for "go" before writing, so the client's first read times out.
            bream::receive::<&str>();
            conn.write_all(b"late").unwrap();
            bream::receive::<&str>();
        });
        let c = TcpStream::connect(addr).unwrap();
        let server: bream::Pid = bream::receive();
        assert_eq!(
            c.set_read_timeout(Some(Duration::ZERO)).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        c.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        assert_eq!(c.read_timeout(), Some(Duration::from_millis(20)));
        let e = c.read(&mut [0u8; 4]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TimedOut);
        bream::send(server, "go");
        c.set_read_timeout(None).unwrap();
        let mut b = [0u8; 4];
        c.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"late");
        bream::send(server, "done");
    });
}

#[test]
fn udp_receive_times_out_and_other_processes_are_refused() {
    bream::run(|| {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        let e = s.recv_from(&mut [0u8; 8]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TimedOut);

        let main = bream::self_pid();
        let other = bream::spawn(move || {
            let s: UdpSocket = bream::receive();
            let e = s.send_to(b"x", "127.0.0.1:9").unwrap_err();
            bream::send(main, e.kind());
        });
        bream::send(other, s);
        assert_eq!(bream::receive::<ErrorKind>(), ErrorKind::PermissionDenied);
    });
}
