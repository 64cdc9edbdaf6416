//! 10,000 concurrent loopback connections, each served by its own process
//! and driven by its own client process: all open at once, each doing a
//! round trip, then all closed. The idiom bream is for (a process per
//! connection), at the scale the issue asks for.
//!
//! Needs about 2 × 10,000 file descriptors (both ends live in this OS
//! process). The test raises `RLIMIT_NOFILE` (the hard limit too, where it
//! is allowed to); if it cannot get enough, it runs with as many connections
//! as fit and says so on stderr (raise `ulimit -Hn` / `LimitNOFILE`).

use std::net::SocketAddr;

use bream::net::{TcpListener, TcpStream};

const WANT: usize = 10_000;
/// Descriptors kept for the runtime, the test harness and the listener.
const SPARE: usize = 256;

/// Raise the fd limit to what `WANT` connections need (the hard limit too,
/// where the process may: root, or CAP_SYS_RESOURCE), else to the hard
/// limit; how many connections fit.
fn connections_that_fit() -> usize {
    let need = (2 * WANT + SPARE) as libc::rlim_t;
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a valid out-pointer to an rlimit.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    if lim.rlim_cur < need {
        let raised = libc::rlimit {
            rlim_cur: need,
            rlim_max: lim.rlim_max.max(need),
        };
        // SAFETY: a valid rlimit, soft <= hard.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim = raised;
        } else {
            lim.rlim_cur = lim.rlim_max;
            // SAFETY: as above.
            assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
        }
    }
    let fit = (lim.rlim_cur as usize).saturating_sub(SPARE) / 2;
    if fit < WANT {
        eprintln!(
            "net_many: RLIMIT_NOFILE's hard limit is {} and cannot be raised here: enough for {fit} \
             connections with both ends in this process, not {WANT}. Running {fit}; raise \
             `ulimit -Hn` to {need} to run all.",
            lim.rlim_max
        );
    }
    fit.min(WANT)
}

#[derive(Debug)]
struct Finish;

#[test]
fn ten_thousand_concurrent_connections_each_served_by_its_own_process() {
    let n = connections_that_fit();
    assert!(n >= 100, "fewer than 100 connections fit in RLIMIT_NOFILE");
    eprintln!("net_many: {n} connections");
    bream::run(move || {
        let main = bream::self_pid();
        // The acceptor: a process per accepted connection.
        bream::spawn(move || {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            bream::send(main, l.local_addr().unwrap());
            for _ in 0..n {
                let (conn, _) = l.accept().unwrap();
                let handler = bream::spawn(|| {
                    let conn: TcpStream = bream::receive();
                    let mut buf = [0u8; 64];
                    loop {
                        match conn.read(&mut buf).unwrap() {
                            0 => break,
                            k => conn.write_all(&buf[..k]).unwrap(),
                        }
                    }
                });
                conn.controlling_process(handler).unwrap();
                bream::send(handler, conn);
            }
        });
        let addr: SocketAddr = bream::receive();
        let clients: Vec<bream::Pid> = (0..n)
            .map(|i| {
                bream::spawn(move || {
                    let c = TcpStream::connect(addr).unwrap();
                    let msg = [(i % 251) as u8; 64];
                    c.write_all(&msg).unwrap();
                    let mut back = [0u8; 64];
                    c.read_exact(&mut back).unwrap();
                    assert_eq!(back, msg);
                    bream::send(main, true); // open and echoed
                    bream::receive::<Finish>();
                    drop(c);
                    bream::send(main, false); // closed
                })
            })
            .collect();
        // Every connection is open at the same time here.
        for _ in 0..n {
            assert!(bream::receive::<bool>());
        }
        for c in clients {
            bream::send(c, Finish);
        }
        for _ in 0..n {
            assert!(!bream::receive::<bool>());
        }
    });
}
