//! Chapter 11: a chat server — every line a client sends goes to every client.
//!
//! What it teaches:
//! - active mode (`set_active(Active::Once)`): a connection's data arrives as
//!   `Tcp` messages in its handler's mailbox, so ONE `receive!` waits for the
//!   socket *and* for lines broadcast by the room — the `gen_tcp`
//!   `{active, once}` idiom. `Once` is flow control: nothing more is read
//!   until the handler re-arms it;
//! - a registered "room" process that monitors its members, so a client
//!   that disconnects (or whose handler crashes) leaves the room by itself;
//! - line framing over a byte stream: TCP delivers chunks, not lines.
//!
//! What it prints: three clients join, each says hello, and each prints the
//! three lines it received (everyone's hello, its own included), in the
//! order the room broadcast them.
//!
//! Run: `cargo run -p bream-stdlib --example 11_chat_server`

use std::collections::HashSet;
use std::net::SocketAddr;

use bream::net::{Active, Tcp, TcpClosed, TcpError, TcpListener, TcpStream};
use bream::{receive, Down, Pid};

const CLIENTS: usize = 3;

/// To the room: a member joins, or says a line.
#[derive(Debug)]
enum ToRoom {
    Join(Pid),
    Say(String),
}

/// From the room to every member's handler: a line to write to its client.
#[derive(Debug, Clone)]
struct Broadcast(String);

/// The room: members by pid; every line said goes to all of them.
fn room() {
    let mut members = HashSet::new();
    loop {
        receive! {
            msg: ToRoom => match msg {
                ToRoom::Join(pid) => {
                    bream::monitor(pid);
                    members.insert(pid);
                }
                ToRoom::Say(line) => {
                    for &m in &members {
                        bream::send(m, Broadcast(line.clone()));
                    }
                }
            },
            // A member's handler exited: it left.
            d: Down => { members.remove(&d.pid); },
        }
    }
}

/// One connection's handler, in active-once mode: socket data and broadcast
/// lines, in one receive loop.
fn handler() {
    let conn: TcpStream = bream::receive();
    let id = conn.id();
    bream::send_named("room", ToRoom::Join(bream::self_pid())).unwrap();
    conn.set_active(Active::Once).unwrap();
    let mut pending = Vec::new(); // bytes of an unfinished line
    loop {
        receive! {
            Tcp { socket, data }: Tcp if socket == id => {
                pending.extend_from_slice(&data);
                while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=end).collect();
                    let line = String::from_utf8_lossy(&line).trim_end().to_string();
                    bream::send_named("room", ToRoom::Say(line)).unwrap();
                }
                conn.set_active(Active::Once).unwrap(); // ready for the next chunk
            },
            Broadcast(line): Broadcast => {
                if conn.write_all(format!("{line}\n").as_bytes()).is_err() {
                    return;
                }
            },
            _closed: TcpClosed => return,
            _error: TcpError => return,
        }
    }
}

/// Accept for ever; a handler process per connection.
fn acceptor(main: Pid) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    bream::send(main, listener.local_addr().unwrap());
    loop {
        let (conn, _) = listener.accept().unwrap();
        let pid = bream::spawn(handler);
        conn.controlling_process(pid).unwrap();
        bream::send(pid, conn);
    }
}

/// A client: say hello once everyone is connected, then read lines until it
/// has heard from all `CLIENTS`.
fn client(main: Pid, addr: SocketAddr, n: usize) {
    let conn = TcpStream::connect(addr).unwrap();
    bream::send(main, bream::self_pid());
    bream::receive::<&str>(); // "go": every client is in the room
    conn.write_all(format!("hello from client {n}\n").as_bytes())
        .unwrap();
    let mut text = String::new();
    let mut buf = [0u8; 256];
    while text.lines().count() < CLIENTS {
        let k = conn.read(&mut buf).unwrap();
        text.push_str(&String::from_utf8_lossy(&buf[..k]));
    }
    bream::send(main, (n, text));
}

fn main() {
    bream::run(|| {
        let main = bream::self_pid();
        let room = bream::spawn(room);
        bream::register("room", room).unwrap();
        bream::spawn(move || acceptor(main));
        let addr: SocketAddr = bream::receive();
        println!("chat server listening on {addr}");

        let clients: Vec<Pid> = (1..=CLIENTS)
            .map(|n| {
                bream::spawn(move || client(main, addr, n));
                bream::receive::<Pid>()
            })
            .collect();
        // Wait until every handler has joined the room before anyone speaks.
        while bream::process_info(room).is_some_and(|i| i.monitors.len() < CLIENTS) {
            bream::yield_now();
        }
        for c in &clients {
            bream::send(*c, "go");
        }
        let mut heard: Vec<(usize, String)> = (0..CLIENTS).map(|_| bream::receive()).collect();
        heard.sort();
        for (n, text) in heard {
            println!("client {n} heard:");
            for line in text.lines() {
                println!("  {line}");
            }
        }
    });
}
