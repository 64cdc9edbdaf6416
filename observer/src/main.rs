//! `bream-observer ADDR`: a live terminal observer for a bream program, as
//! Erlang's `observer` and `etop` are for the BEAM.
//!
//! The program opts in with `bream::observer::serve("127.0.0.1:7700")` (or
//! `Runtime::serve_observer`); this connects there and, every refresh,
//! pulls a snapshot: the counters, each worker's utilisation since the last
//! snapshot, and the process table (pid, registered name, status,
//! reductions per second, queue length, memory), which it sorts, filters
//! and scrolls; `k` kills the selected process (`exit(Pid, kill)`).
//!
//! ```text
//! bream-observer 127.0.0.1:7700            # the live view
//! bream-observer 127.0.0.1:7700 --once     # one snapshot as text, then exit
//! ```
//!
//! Keys: `p` `n` `r` `l` `m` sort by pid, name, reductions/s, queue, memory;
//! `/` filter (Enter applies, Esc clears); `k` then `y` kills; `t` (or Tab)
//! switches between the process table and the supervision tree (each
//! stdlib supervisor's children: id, pid, worker or supervisor, restart
//! type, status; `k` kills there too); `+`/`-` refresh faster/slower;
//! arrows and PgUp/PgDn scroll; `q` quits.
//! docs/watch-it-run.md has a screen of it.
//!
//! | file      | what                                                   |
//! |-----------|--------------------------------------------------------|
//! | `main.rs` | arguments, the connection, the event loop              |
//! | `app.rs`  | state: snapshots, rates, sort, filter, keys (no terminal) |
//! | `tree.rs` | the supervision tree from the snapshot's `child` lines |
//! | `ui.rs`   | drawing with ratatui                                   |

mod app;
mod tree;
mod ui;

use std::io::{self, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bream::observer::wire::{self, Frame};
use crossterm::event::{self, Event, KeyCode, KeyEventKind};

use app::{Action, App, Key};

/// The connection to the program's `serve`.
struct Conn {
    out: TcpStream,
    input: BufReader<TcpStream>,
}

impl Conn {
    fn open(addr: &str) -> io::Result<Conn> {
        let s = TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Conn {
            out: s.try_clone()?,
            input: BufReader::new(s),
        })
    }

    fn snapshot(&mut self) -> io::Result<Frame> {
        self.out.write_all(b"snapshot\n")?;
        wire::read(&mut self.input)
    }

    fn kill(&mut self, bits: u64) -> io::Result<String> {
        use std::io::BufRead;
        writeln!(self.out, "kill {bits}")?;
        let mut answer = String::new();
        self.input.read_line(&mut answer)?;
        Ok(answer.trim().to_string())
    }
}

fn usage() -> ! {
    eprintln!("usage: bream-observer ADDR [--once] [--refresh-ms N]\n  ADDR: where the program called bream::observer::serve, e.g. 127.0.0.1:7700");
    std::process::exit(2)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut addr = None;
    let mut once = false;
    let mut refresh = Duration::from_secs(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--once" => once = true,
            "--refresh-ms" => {
                let ms = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage());
                refresh = Duration::from_millis(ms);
            }
            "-h" | "--help" => usage(),
            _ if addr.is_none() => addr = Some(a),
            _ => usage(),
        }
    }
    let addr = addr.unwrap_or_else(|| usage());
    let mut conn = Conn::open(&addr).unwrap_or_else(|e| {
        eprintln!("bream-observer: cannot connect to {addr}: {e} (did the program call bream::observer::serve?)");
        std::process::exit(1)
    });
    let result = if once {
        print_once(&mut conn)
    } else {
        live(&mut conn, &addr, refresh)
    };
    if let Err(e) = result {
        eprintln!("bream-observer: {e}");
        std::process::exit(1);
    }
}

/// `--once`: one snapshot as text (the top 20 by reductions).
fn print_once(conn: &mut Conn) -> io::Result<()> {
    let f = conn.snapshot()?;
    let c = f.counts;
    println!(
        "processes {}  spawned {}  messages {}  exits normal {} killed {} panic {}",
        c[0], c[1], c[2], c[3], c[5], c[6]
    );
    for w in f.workers.iter().filter(|w| !w.spare) {
        let total = (w.running_us + w.searching_us + w.parked_us + w.poller_us).max(1);
        println!(
            "worker {} {:>5.1}% running since start, {} slices, {} steals, {} wakes, {} parks",
            w.index,
            w.running_us as f64 * 100.0 / total as f64,
            w.slices,
            w.steals,
            w.wakes,
            w.parks
        );
    }
    let lines = tree::build(&f);
    let mut procs = f.processes;
    procs.sort_by_key(|p| std::cmp::Reverse(p.reductions));
    println!(
        "{:<14} {:<18} {:<12} {:>12} {:>6} {:>10}",
        "pid", "name", "status", "reductions", "queue", "memory"
    );
    for p in procs.iter().take(20) {
        println!(
            "{:<14} {:<18} {:<12} {:>12} {:>6} {:>10}",
            p.pid,
            p.name.as_deref().unwrap_or(""),
            p.status,
            p.reductions,
            p.queue,
            p.memory
        );
    }
    if !lines.is_empty() {
        println!("\nsupervision tree");
    }
    for l in lines {
        println!(
            "{:<40} {:<14} {:<11} {:<10} {}",
            format!("{}{}", l.prefix, l.id),
            l.pid.as_deref().unwrap_or("-"),
            l.kind,
            l.restart,
            l.status
        );
    }
    Ok(())
}

fn key_of(code: KeyCode) -> Option<Key> {
    Some(match code {
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Backspace => Key::Backspace,
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        KeyCode::Tab => Key::Tab,
        _ => return None,
    })
}

/// The live view: refresh, draw, handle keys, until `q`.
fn live(conn: &mut Conn, addr: &str, refresh: Duration) -> io::Result<()> {
    let mut terminal = ratatui::init();
    let mut app = App::new(refresh);
    let r = (|| -> io::Result<()> {
        let mut next = Instant::now();
        loop {
            if Instant::now() >= next {
                let f = conn.snapshot()?;
                app.update(f, Instant::now());
                next = Instant::now() + app.refresh;
            }
            terminal.draw(|f| ui::draw(f, &app, addr))?;
            let wait = next.saturating_duration_since(Instant::now());
            if !event::poll(wait)? {
                continue;
            }
            let Event::Key(k) = event::read()? else {
                continue;
            };
            if k.kind != KeyEventKind::Press {
                continue;
            }
            let Some(key) = key_of(k.code) else { continue };
            match app.key(key) {
                Action::Quit => return Ok(()),
                Action::Kill(bits) => {
                    let answer = conn.kill(bits)?;
                    app.message = format!("{} ({answer})", app.message);
                    next = Instant::now();
                }
                Action::Refresh => next = Instant::now(),
                Action::None => {}
            }
        }
    })();
    ratatui::restore();
    r
}
