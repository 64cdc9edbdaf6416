//! `bream::net` TCP from processes, on 127.0.0.1 only: connect, accept, echo,
//! and every kind of bad input the issue names (refused, reset, half-close,
//! partial reads and writes, a read by a process that does not own the
//! socket; timeouts are in net_timeouts.rs). Mirrors OTP's `gen_tcp` semantics where they apply
//! (`{error, econnrefused}`, `{error, closed}`, `{error, not_owner}`,
//! `{error, timeout}`).

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};

use bream::net::{TcpListener, TcpStream};

/// A listener on a free loopback port.
fn listen() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let a = l.local_addr().unwrap();
    (l, a)
}

/// Spawn a server process running `serve` on one accepted connection; the
/// address it listens on. The server binds its own listener: a socket
/// belongs to the process that made it, so it must not be moved into a
/// spawned closure without `controlling_process`.
fn server(serve: impl FnOnce(TcpStream) + Send + 'static) -> SocketAddr {
    let main = bream::self_pid();
    bream::spawn(move || {
        let (l, addr) = listen();
        bream::send(main, addr);
        let (conn, _) = l.accept().unwrap();
        serve(conn);
    });
    bream::receive::<SocketAddr>()
}

/// A server that echoes one connection until end of stream, then sends the
/// byte count to the caller.
fn echo_once() -> SocketAddr {
    let main = bream::self_pid();
    server(move |conn| {
        let mut buf = [0u8; 1024];
        let mut total = 0usize;
        loop {
            match conn.read(&mut buf).unwrap() {
                0 => break,
                n => {
                    conn.write_all(&buf[..n]).unwrap();
                    total += n;
                }
            }
        }
        bream::send(main, total);
    })
}

#[test]
fn accept_connect_and_echo() {
    bream::run(|| {
        let addr = echo_once();
        let mut c = TcpStream::connect(addr).unwrap();
        assert_eq!(c.peer_addr().unwrap(), addr);
        for i in 0..100u32 {
            let msg = [i as u8; 64];
            c.write_all(&msg).unwrap();
            let mut back = [0u8; 64];
            c.read_exact(&mut back).unwrap();
            assert_eq!(back, msg);
        }
        c.shutdown(Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        c.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
        assert_eq!(bream::receive::<usize>(), 6400);
    });
}

#[test]
fn connection_refused_is_an_error_not_a_hang() {
    bream::run(|| {
        // Bind a port, then close it: nothing listens there any more.
        let addr = listen().1;
        let e = TcpStream::connect(addr).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
    });
}

#[test]
fn half_close_lets_the_other_direction_finish() {
    bream::run(|| {
        let main = bream::self_pid();
        let addr = server(move |conn| {
            // Read until the client's half-close, then answer.
            let mut got = Vec::new();
            (&conn).read_to_end(&mut got).unwrap();
            conn.write_all(format!("got {} bytes", got.len()).as_bytes())
                .unwrap();
            bream::send(main, ());
        });
        let c = TcpStream::connect(addr).unwrap();
        c.write_all(&[7u8; 1000]).unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut answer = String::new();
        (&c).read_to_string(&mut answer).unwrap();
        assert_eq!(answer, "got 1000 bytes");
        bream::receive::<()>();
        // Writing after our own shutdown(Write) fails cleanly.
        let e = c.write(b"x").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BrokenPipe, "{e}");
    });
}

#[test]
fn partial_reads_and_writes_carry_every_byte() {
    // 8 MiB through loopback: far more than a socket buffer, so write_all
    // parks on a full send buffer and the reader sees many partial reads.
    const N: usize = 8 << 20;
    bream::run(|| {
        let main = bream::self_pid();
        let addr = server(move |conn| {
            let data: Vec<u8> = (0..N).map(|i| (i % 251) as u8).collect();
            conn.write_all(&data).unwrap();
            bream::send(main, ());
        });
        let c = TcpStream::connect(addr).unwrap();
        let mut buf = vec![0u8; 3000];
        let (mut got, mut reads) = (0usize, 0u32);
        loop {
            let n = c.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            for (k, b) in buf[..n].iter().enumerate() {
                assert_eq!(*b, ((got + k) % 251) as u8, "byte {}", got + k);
            }
            got += n;
            reads += 1;
        }
        assert_eq!(got, N);
        assert!(reads > 1);
        bream::receive::<()>();
    });
}

#[test]
fn reset_by_peer_is_connection_reset() {
    bream::run(|| {
        let (l, addr) = listen();
        // The peer: a plain thread with a std socket that closes with
        // SO_LINGER 0, which sends RST instead of FIN.
        let peer = std::thread::spawn(move || {
            let s = std::net::TcpStream::connect(addr).unwrap();
            (&s).write_all(b"bye").unwrap();
            let mut b = [0u8; 1];
            (&s).read_exact(&mut b).unwrap(); // wait until the server has read
            linger_zero(&s);
        });
        let (conn, _) = l.accept().unwrap();
        let mut b = [0u8; 3];
        conn.read_exact(&mut b).unwrap();
        conn.write_all(b"!").unwrap();
        let r = loop {
            match conn.read(&mut [0u8; 16]) {
                Ok(0) => continue, // cannot happen before the RST, but do not spin on it
                r => break r,
            }
        };
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}");
        peer.join().unwrap();
    });
}

fn linger_zero(s: &std::net::TcpStream) {
    use std::os::fd::AsRawFd;
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid fd, a valid `linger` of the size passed.
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&l as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0, "{}", io::Error::last_os_error());
}

#[test]
fn a_process_that_does_not_own_the_socket_gets_permission_denied() {
    bream::run(|| {
        let addr = echo_once();
        let c = TcpStream::connect(addr).unwrap();
        let main = bream::self_pid();
        // Move the handle to another process WITHOUT controlling_process.
        let other = bream::spawn(move || {
            let c: TcpStream = bream::receive();
            let e = c.read(&mut [0u8; 8]).unwrap_err();
            let w = c.write(b"x").unwrap_err();
            bream::send(main, (e.kind(), w.kind(), e.to_string()));
            bream::send(main, c); // give it back
        });
        bream::send(other, c);
        let (r, w, msg) = bream::receive::<(ErrorKind, ErrorKind, String)>();
        assert_eq!(
            (r, w),
            (ErrorKind::PermissionDenied, ErrorKind::PermissionDenied)
        );
        assert!(msg.contains("controlling_process"), "{msg}");
        // The owner can still use it.
        let c: TcpStream = bream::receive();
        c.write_all(b"ok").unwrap();
        let mut b = [0u8; 2];
        c.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"ok");
    });
}

#[test]
fn controlling_process_hands_the_socket_over() {
    bream::run(|| {
        let addr = echo_once();
        let c = TcpStream::connect(addr).unwrap();
        let main = bream::self_pid();
        let new_owner = bream::spawn(move || {
            let c: TcpStream = bream::receive();
            c.write_all(b"mine").unwrap();
            let mut b = [0u8; 4];
            c.read_exact(&mut b).unwrap();
            bream::send(main, b);
        });
        c.controlling_process(new_owner).unwrap();
        assert_eq!(c.owner(), new_owner);
        // Once given away, the old owner cannot take it back.
        assert_eq!(
            c.controlling_process(main).unwrap_err().kind(),
            ErrorKind::PermissionDenied
        );
        bream::send(new_owner, c);
        assert_eq!(&bream::receive::<[u8; 4]>(), b"mine");
    });
}
