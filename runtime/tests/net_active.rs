//! Active mode (OTP's `inet:setopts(S, [{active, once | N | true | false}])`
//! and `gen_tcp:controlling_process/2`): socket data as `Tcp` messages that a
//! process receives selectively, together with its other messages.

use std::io::{ErrorKind, Read};
use std::net::SocketAddr;

use bream::net::{Active, Tcp, TcpClosed, TcpListener, TcpPassive, TcpStream};
use bream::receive;

/// A client process that connects to `addr`, writes each chunk after the
/// test says "next", then closes.
fn client(addr: SocketAddr, chunks: Vec<&'static [u8]>) -> bream::Pid {
    bream::spawn(move || {
        let c = TcpStream::connect(addr).unwrap();
        for chunk in chunks {
            bream::receive::<Next>();
            c.write_all(chunk).unwrap();
        }
        bream::receive::<Next>();
    })
}

#[derive(Debug)]
struct Next;

#[derive(Debug, PartialEq)]
struct Other(u32);

#[test]
fn active_once_interleaves_socket_data_with_other_messages() {
    bream::run(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = client(l.local_addr().unwrap(), vec![b"one", b"two"]);
        let (conn, _) = l.accept().unwrap();
        let id = conn.id();
        conn.set_active(Active::Once).unwrap();
        // While active, a passive read is refused.
        assert_eq!(
            conn.read(&mut [0u8; 8]).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );

        let me = bream::self_pid();
        bream::send(me, Other(1));
        bream::send(c, Next);
        // Selective receive: take the socket's data first, though Other(1)
        // arrived before it.
        let data = receive! { Tcp { socket, data }: Tcp if socket == id => data };
        assert_eq!(data, b"one");
        assert_eq!(bream::receive::<Other>(), Other(1));

        // Once means once: the next chunk is not read until re-armed.
        bream::send(c, Next);
        assert!(bream::receive_timeout::<Tcp>(std::time::Duration::from_millis(30)).is_none());
        conn.set_active(Active::Once).unwrap();
        assert_eq!(bream::receive::<Tcp>().data, b"two");

        // End of stream becomes TcpClosed.
        conn.set_active(Active::Once).unwrap();
        bream::send(c, Next);
        assert_eq!(bream::receive::<TcpClosed>(), TcpClosed { socket: id });
        assert!(
            conn.set_active(Active::Once).is_err(),
            "no re-arming after TcpClosed"
        );
    });
}

#[test]
fn active_n_counts_down_and_reports_passive() {
    bream::run(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = client(l.local_addr().unwrap(), vec![b"a", b"b", b"c"]);
        let (conn, _) = l.accept().unwrap();
        conn.set_active(Active::N(1)).unwrap();
        conn.set_active(Active::N(1)).unwrap(); // adds up: 2
        let mut got = Vec::new();
        for _ in 0..2 {
            bream::send(c, Next);
            got.extend(bream::receive::<Tcp>().data);
        }
        assert_eq!(got, b"ab");
        assert_eq!(bream::receive::<TcpPassive>().socket, conn.id());
        // Passive again: read the third chunk with read().
        bream::send(c, Next);
        let mut b = [0u8; 1];
        conn.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"c");
    });
}

#[test]
fn active_on_then_off_keeps_stream_order() {
    bream::run(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let main = bream::self_pid();
        // The client writes 0..N as one byte each, then waits.
        const N: usize = 20_000;
        let c = bream::spawn(move || {
            let c = TcpStream::connect(addr).unwrap();
            let data: Vec<u8> = (0..N).map(|i| (i % 256) as u8).collect();
            c.write_all(&data).unwrap();
            bream::send(main, Next);
            bream::receive::<Next>();
        });
        let (conn, _) = l.accept().unwrap();
        conn.set_active(Active::On).unwrap();
        bream::receive::<Next>(); // everything was written
        conn.set_active(Active::Off).unwrap();
        // What was read in active mode is in the mailbox; the rest is read
        // passively; together they are the stream, in order.
        let mut got = Vec::new();
        while let Some(Tcp { data, .. }) = bream::receive_timeout::<Tcp>(std::time::Duration::ZERO)
        {
            got.extend(data);
        }
        let mut rest = vec![0u8; N - got.len()];
        conn.read_exact(&mut rest).unwrap();
        got.extend(rest);
        let want: Vec<u8> = (0..N).map(|i| (i % 256) as u8).collect();
        assert_eq!(got, want);
        bream::send(c, Next);
    });
}

#[test]
fn controlling_process_redirects_active_messages() {
    bream::run(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = client(l.local_addr().unwrap(), vec![b"for the handler"]);
        let (conn, _) = l.accept().unwrap();
        let main = bream::self_pid();
        let handler = bream::spawn(move || {
            let conn: TcpStream = bream::receive();
            conn.set_active(Active::Once).unwrap();
            let t: Tcp = bream::receive();
            assert_eq!(t.socket, conn.id());
            bream::send(main, t.data);
        });
        conn.controlling_process(handler).unwrap();
        // The old owner can no longer change the mode.
        assert_eq!(
            conn.set_active(Active::On).unwrap_err().kind(),
            ErrorKind::PermissionDenied
        );
        bream::send(handler, conn);
        bream::send(c, Next);
        assert_eq!(bream::receive::<Vec<u8>>(), b"for the handler");
        bream::send(c, Next);
    });
}

#[test]
fn a_peer_reset_in_active_mode_is_a_tcp_error_then_closed() {
    bream::run(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let peer = std::thread::spawn(move || {
            let s = std::net::TcpStream::connect(addr).unwrap();
            let mut b = [0u8; 1];
            (&s).read_exact(&mut b).unwrap();
            // SO_LINGER 0: close with RST.
            use std::os::fd::AsRawFd;
            let lg = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            // SAFETY: a valid fd and a `linger` of the size passed.
            let r = unsafe {
                libc::setsockopt(
                    s.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    (&lg as *const libc::linger).cast(),
                    std::mem::size_of::<libc::linger>() as libc::socklen_t,
                )
            };
            assert_eq!(r, 0);
        });
        let (conn, _) = l.accept().unwrap();
        conn.set_active(Active::On).unwrap();
        conn.write_all(b"!").unwrap();
        let e: bream::net::TcpError = bream::receive();
        assert_eq!(e.error.kind(), ErrorKind::ConnectionReset);
        assert_eq!(bream::receive::<TcpClosed>().socket, conn.id());
        peer.join().unwrap();
    });
}
