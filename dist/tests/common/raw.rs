//! A raw distribution peer for the tests that need no `erl`: a plain
//! socket that runs the handshake as node A and speaks packets, against a
//! bream node started without EPMD.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bream_dist::handshake::{digest, flags};
use bream_dist::{NodeBuilder, Term};

use super::COOKIE;

/// The raw peer's node name.
pub const PEER: &str = "raw@localhost";

pub fn start_node(name: &str) -> (bream::Runtime, u16) {
    let rt = bream::Runtime::builder()
        .workers(2)
        .node(&format!("{name}@localhost"))
        .cookie(COOKIE)
        .without_epmd(0)
        .build()
        .expect("node");
    let port = rt.block_on(bream_dist::listen_port);
    (rt, port)
}

pub fn frame2(body: &[u8]) -> Vec<u8> {
    let mut v = (body.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

pub fn read2(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut l = [0u8; 2];
    s.read_exact(&mut l)?;
    let mut b = vec![0u8; u16::from_be_bytes(l) as usize];
    s.read_exact(&mut b)?;
    Ok(b)
}

pub fn send_name(s: &mut TcpStream) {
    let mut b = vec![b'N'];
    b.extend_from_slice(&flags::OURS.to_be_bytes());
    b.extend_from_slice(&7u32.to_be_bytes());
    b.extend_from_slice(&(PEER.len() as u16).to_be_bytes());
    b.extend_from_slice(PEER.as_bytes());
    s.write_all(&frame2(&b)).unwrap();
}

/// The handshake as node A, with `cookie`. Ok if the node accepted us.
pub fn handshake(port: u16, cookie: &str) -> std::io::Result<TcpStream> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    send_name(&mut s);
    let st = read2(&mut s)?;
    if st != b"sok" {
        // `nok`: the node still tears down our previous connection.
        return Err(std::io::Error::other(
            String::from_utf8_lossy(&st).into_owned(),
        ));
    }
    let ch = read2(&mut s)?;
    assert_eq!(ch[0], b'N');
    let challenge = u32::from_be_bytes([ch[9], ch[10], ch[11], ch[12]]);
    let mut r = vec![b'r'];
    r.extend_from_slice(&42u32.to_be_bytes());
    r.extend_from_slice(&digest(cookie.as_bytes(), challenge));
    s.write_all(&frame2(&r))?;
    let ack = read2(&mut s)?;
    assert_eq!(ack[0], b'a');
    assert_eq!(
        ack[1..],
        digest(COOKIE.as_bytes(), 42),
        "the node proves the cookie too"
    );
    Ok(s)
}

/// True if the node closes `s` within a few seconds (reads until EOF/error).
pub fn closed_by_node(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut b = [0u8; 256];
    loop {
        match s.read(&mut b) {
            Ok(0) => return true,
            Ok(_) => continue, // ticks
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

pub fn packet(ctrl: &Term, msg: Option<&Term>) -> Vec<u8> {
    let mut body = vec![112u8];
    bream_dist::encode(ctrl, &mut body).unwrap();
    if let Some(m) = msg {
        bream_dist::encode(m, &mut body).unwrap();
    }
    let mut v = (body.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(&body);
    v
}

pub fn raw_pid(node: &str, id: u32) -> Term {
    Term::Pid(bream_dist::ExternalPid {
        node: bream_dist::Atom::new(node),
        id,
        serial: 0,
        creation: 7,
    })
}

pub fn retry(port: u16) -> TcpStream {
    for _ in 0..50 {
        if let Ok(s) = handshake(port, COOKIE) {
            return s;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no handshake in 2.5 s")
}

/// The next packet that is not a tick: `(control, message)`.
pub fn read_packet(s: &mut TcpStream) -> (Term, Option<Term>) {
    loop {
        let mut l = [0u8; 4];
        s.read_exact(&mut l).expect("a packet");
        let len = u32::from_be_bytes(l) as usize;
        if len == 0 {
            continue;
        }
        let mut b = vec![0u8; len];
        s.read_exact(&mut b).expect("its body");
        assert_eq!(b[0], 112, "pass-through");
        let (ctl, used) = bream_dist::decode(&b[1..]).expect("the control term");
        let rest = &b[1 + used..];
        if rest.is_empty() {
            return (ctl, None);
        }
        let (m, n) = bream_dist::decode(rest).expect("the message term");
        assert_eq!(n, rest.len(), "nothing after the message");
        return (ctl, Some(m));
    }
}

/// A pid term of `node` with the given creation.
pub fn raw_pid_c(node: &str, id: u32, creation: u32) -> Term {
    Term::Pid(bream_dist::ExternalPid {
        node: bream_dist::Atom::new(node),
        id,
        serial: 0,
        creation,
    })
}
