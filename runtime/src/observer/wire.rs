//! The text protocol between [`serve`](super::serve) and `bream-observer`.
//!
//! Line-based and readable with `nc`, so a person can look at it too. The
//! client sends one command a line; the server answers:
//!
//! ```text
//! > snapshot
//! < uptime_us 1234567
//! < counts <alive> <spawned> <sent> <normal> <shutdown> <killed> <panic> <overflow> <noproc> <other>
//! < worker <index> <spare 0|1> <state> <running_us> <searching_us> <parked_us> <poller_us> <slices> <steals> <suffered> <wakes> <parks> <reductions>
//! < proc <pid bits> <pid> <status> <reductions> <queue> <memory> <name|->
//! < child <parent bits> <pid bits|-> <pid|-> <worker|supervisor> <restart> <id>
//! < end
//! > kill <pid bits>
//! < ok            (or: noproc)
//! ```
//!
//! A `child` line follows the `proc` line of a process that published
//! children ([`publish_children`](super::publish_children): a supervisor),
//! one line per child in its order; the id is the rest of the line.

use std::io::{self, BufRead, Write};

use super::snapshot::Snapshot;

/// One worker line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerLine {
    /// Slot index.
    pub index: usize,
    /// A spare slot (stand-ins).
    pub spare: bool,
    /// Its state now: Running, Searching, Parked, Poller.
    pub state: String,
    /// Microseconds running tasks.
    pub running_us: u64,
    /// Microseconds searching.
    pub searching_us: u64,
    /// Microseconds parked.
    pub parked_us: u64,
    /// Microseconds polling I/O.
    pub poller_us: u64,
    /// Slices run.
    pub slices: u64,
    /// Steals done.
    pub steals: u64,
    /// Steals suffered.
    pub suffered: u64,
    /// Parked workers woken.
    pub wakes: u64,
    /// Parks.
    pub parks: u64,
    /// Reductions.
    pub reductions: u64,
}

/// One process line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcLine {
    /// The pid as bits (what `kill` takes).
    pub bits: u64,
    /// The pid as shown: `<0.7.0>`.
    pub pid: String,
    /// Status: Running, Waiting, ...
    pub status: String,
    /// Reductions.
    pub reductions: u64,
    /// Mailbox length.
    pub queue: u64,
    /// Bytes.
    pub memory: u64,
    /// Registered name.
    pub name: Option<String>,
}

/// One child line: a child that a process (a supervisor) published.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChildLine {
    /// The publishing process (the supervisor), as bits.
    pub parent: u64,
    /// The child's pid as bits, if it runs.
    pub bits: Option<u64>,
    /// The child's pid as shown, if it runs.
    pub pid: Option<String>,
    /// `worker` or `supervisor`.
    pub kind: String,
    /// Its restart type: `permanent`, `transient`, `temporary`.
    pub restart: String,
    /// Its id in the supervisor's spec.
    pub id: String,
}

/// One answer to `snapshot`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frame {
    /// Since the runtime started.
    pub uptime_us: u64,
    /// alive, spawned, sent, then exits: normal, shutdown, killed, panic,
    /// stack overflow, noproc, other.
    pub counts: [u64; 10],
    /// Per worker slot.
    pub workers: Vec<WorkerLine>,
    /// Every live process.
    pub processes: Vec<ProcLine>,
    /// Every published child, grouped by parent, in each parent's order.
    pub children: Vec<ChildLine>,
}

/// Writes `s` as the answer to `snapshot`.
///
/// # Errors
/// As `out`'s writes.
pub fn write(s: &Snapshot, out: &mut impl Write) -> io::Result<()> {
    let st = &s.stats;
    writeln!(out, "uptime_us {}", st.uptime.as_micros())?;
    let e = &st.exits;
    writeln!(
        out,
        "counts {} {} {} {} {} {} {} {} {} {}",
        st.processes_alive,
        st.processes_spawned,
        st.messages_sent,
        e.normal,
        e.shutdown,
        e.killed,
        e.panic,
        e.stack_overflow,
        e.noproc,
        e.other
    )?;
    for w in &st.workers {
        writeln!(
            out,
            "worker {} {} {:?} {} {} {} {} {} {} {} {} {} {}",
            w.index,
            u8::from(w.spare),
            w.state,
            w.running.as_micros(),
            w.searching.as_micros(),
            w.parked.as_micros(),
            w.poller.as_micros(),
            w.tasks_run,
            w.steals,
            w.steals_suffered,
            w.wakes,
            w.parks,
            w.reductions
        )?;
    }
    for p in &s.processes {
        writeln!(
            out,
            "proc {} {} {:?} {} {} {} {}",
            p.pid.to_bits(),
            p.pid,
            p.status,
            p.reductions,
            p.queue_len,
            p.memory,
            p.name.unwrap_or("-")
        )?;
        for c in p.children.iter().flatten() {
            let (bits, pid) = match c.pid {
                Some(pid) => (pid.to_bits().to_string(), pid.to_string()),
                None => ("-".into(), "-".into()),
            };
            // The id is the rest of the line: a newline in it would end it.
            let id = c.id.replace(['\n', '\r'], " ");
            writeln!(
                out,
                "child {} {bits} {pid} {} {} {id}",
                p.pid.to_bits(),
                c.kind.name(),
                c.restart,
            )?;
        }
    }
    writeln!(out, "end")
}

fn bad(line: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("unexpected line: {line:?}"),
    )
}

fn nums<const N: usize>(
    it: &mut std::str::SplitWhitespace<'_>,
    line: &str,
) -> io::Result<[u64; N]> {
    let mut v = [0; N];
    for x in v.iter_mut() {
        *x = it
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(line))?;
    }
    Ok(v)
}

/// Reads one answer to `snapshot` (up to its `end` line).
///
/// # Errors
/// On a read error, an early end of input, or a line of another shape.
pub fn read(input: &mut impl BufRead) -> io::Result<Frame> {
    let mut f = Frame::default();
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the program went away",
            ));
        }
        let l = line.trim_end();
        let mut it = l.split_whitespace();
        match it.next() {
            Some("end") => return Ok(f),
            Some("uptime_us") => f.uptime_us = nums::<1>(&mut it, l)?[0],
            Some("counts") => f.counts = nums::<10>(&mut it, l)?,
            Some("worker") => {
                let [index, spare] = nums::<2>(&mut it, l)?;
                let state = it.next().ok_or_else(|| bad(l))?.to_string();
                let n = nums::<10>(&mut it, l)?;
                f.workers.push(WorkerLine {
                    index: index as usize,
                    spare: spare == 1,
                    state,
                    running_us: n[0],
                    searching_us: n[1],
                    parked_us: n[2],
                    poller_us: n[3],
                    slices: n[4],
                    steals: n[5],
                    suffered: n[6],
                    wakes: n[7],
                    parks: n[8],
                    reductions: n[9],
                });
            }
            Some("proc") => {
                let [bits] = nums::<1>(&mut it, l)?;
                let pid = it.next().ok_or_else(|| bad(l))?.to_string();
                let status = it.next().ok_or_else(|| bad(l))?.to_string();
                let [reductions, queue, memory] = nums::<3>(&mut it, l)?;
                let name = it.next().filter(|n| *n != "-").map(str::to_string);
                f.processes.push(ProcLine {
                    bits,
                    pid,
                    status,
                    reductions,
                    queue,
                    memory,
                    name,
                });
            }
            Some("child") => f.children.push(child(&mut it, l)?),
            _ => return Err(bad(l)),
        }
    }
}

fn child(it: &mut std::str::SplitWhitespace<'_>, l: &str) -> io::Result<ChildLine> {
    let [parent] = nums::<1>(it, l)?;
    let mut word = || it.next().map(str::to_string).ok_or_else(|| bad(l));
    let bits = word()?;
    let pid = word()?;
    let kind = word()?;
    let restart = word()?;
    let id = it.collect::<Vec<_>>().join(" ");
    let bits = match bits.as_str() {
        "-" => None,
        b => Some(b.parse().map_err(|_| bad(l))?),
    };
    Ok(ChildLine {
        parent,
        bits,
        pid: (pid != "-").then_some(pid),
        kind,
        restart,
        id,
    })
}
