//! I/O readiness: a task parks until a mio UnixStream is readable while
//! another task (or the test thread) writes; a TcpStream pair the same way.

mod common;

use std::io::{self, Read, Write};
use std::sync::mpsc;

use bream_scheduler::io::{Interest, Registration};
use bream_scheduler::{task, Outcome, Scheduler};
use common::{report, spawn};

fn read_some(stream: &mut impl Read, reg: &Registration, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        let ev = reg.wait(Interest::READABLE);
        match stream.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => reg.clear_readiness(ev),
            r => return r,
        }
    }
}

#[test]
fn task_parks_until_unix_stream_is_readable() {
    let s = Scheduler::builder().workers(2).build().unwrap();
    let (owner, rx) = report();
    let (mut a, mut b) = mio::net::UnixStream::pair().unwrap();
    let (tx, got) = mpsc::channel();
    let (parked_tx, parked) = mpsc::channel();
    let reader = spawn(&s, &owner, move || {
        let reg = Registration::new(&mut b, Interest::READABLE).unwrap();
        parked_tx.send(()).unwrap();
        let mut buf = [0u8; 16];
        let n = read_some(&mut b, &reg, &mut buf).unwrap();
        tx.send(buf[..n].to_vec()).unwrap();
        reg.deregister(&mut b).unwrap();
    });
    parked.recv().unwrap();
    while !reader.is_parked() {
        std::thread::yield_now();
    }
    a.write_all(b"hello").unwrap();
    assert_eq!(got.recv().unwrap(), b"hello");
    assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    s.shutdown();
}

#[test]
fn tcp_echo_between_two_tasks() {
    let s = Scheduler::builder().workers(2).build().unwrap();
    let (owner, rx) = report();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = std::net::TcpStream::connect(addr).unwrap();
    let (server, _) = listener.accept().unwrap();
    client.set_nonblocking(true).unwrap();
    server.set_nonblocking(true).unwrap();
    let mut client = mio::net::TcpStream::from_std(client);
    let mut server = mio::net::TcpStream::from_std(server);
    spawn(&s, &owner, move || {
        let reg = Registration::new(&mut server, Interest::READABLE | Interest::WRITABLE).unwrap();
        let mut buf = [0u8; 4];
        let n = read_some(&mut server, &reg, &mut buf).unwrap();
        reg.wait(Interest::WRITABLE);
        server.write_all(&buf[..n]).unwrap();
    });
    let (tx, got) = mpsc::channel();
    spawn(&s, &owner, move || {
        let reg = Registration::new(&mut client, Interest::READABLE | Interest::WRITABLE).unwrap();
        reg.wait(Interest::WRITABLE);
        client.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        let n = read_some(&mut client, &reg, &mut buf).unwrap();
        tx.send(buf[..n].to_vec()).unwrap();
    });
    assert_eq!(got.recv().unwrap(), b"ping");
    assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    assert!(!task::in_task());
    s.shutdown();
}

#[test]
fn a_wait_for_either_direction_wakes_on_either() {
    let s = Scheduler::builder().workers(2).build().unwrap();
    let (owner, rx) = report();
    let (mut a, mut b) = mio::net::UnixStream::pair().unwrap();
    let (tx, got) = mpsc::channel();
    let (parked_tx, parked) = mpsc::channel();
    let t = spawn(&s, &owner, move || {
        let reg = Registration::new(&mut b, Interest::READABLE | Interest::WRITABLE).unwrap();
        // Fill the socket so it is not writable; forget the readiness seen.
        let chunk = [0u8; 4096];
        while b.write(&chunk).is_ok() {}
        let ev = reg.readiness();
        reg.clear_readiness(ev);
        parked_tx.send(()).unwrap();
        // Neither readable nor writable now: wait for either.
        let ev = reg.wait(Interest::READABLE | Interest::WRITABLE);
        tx.send(ev.ready.is_writable()).unwrap();
    });
    parked.recv().unwrap();
    while !t.is_parked() {
        std::thread::yield_now();
    }
    // Drain the peer: `b` becomes writable (and only that). Stop at
    // WouldBlock, and at end of stream too: once woken, the task may finish
    // and drop `b` while we are still draining, and a read of a closed peer
    // returns Ok(0) forever.
    let mut buf = [0u8; 65536];
    while matches!(a.read(&mut buf), Ok(n) if n > 0) {}
    assert!(got.recv().unwrap(), "woken writable");
    assert_eq!(rx.recv().unwrap(), Outcome::Returned);
    s.shutdown();
}
