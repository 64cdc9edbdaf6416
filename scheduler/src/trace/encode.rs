//! Events → a Perfetto trace (TrackEvent protobuf).
//!
//! # Tracks
//!
//! ```text
//! workers                      (uuid 1)
//!   worker 0 … worker N-1      (uuid WORKER_BASE + slot): slices named by the
//!   stand-in slot N …           task that ran, "parked" slices, steal and wake
//!                               instants
//! tasks                        (uuid 2)
//!   <0.7.0> …                  (uuid TASK_BIT | tag): "on worker i" slices,
//!                               spawn, send, exit and the runtime's marks
//! other threads                (uuid 3): events from threads that are not workers
//! blocking pool                (uuid 4)
//!   blocking thread 0 …        (uuid BLOCKING_BASE + k): one slice per job,
//!                               named by the task it runs for
//! ```
//!
//! # Flows
//!
//! A send is an instant on the sender's track carrying a flow id; the same
//! id ends the receiver's next slice that begins after the send (the slice
//! in which it can first have read the message). A send whose receiver never
//! ran again has no arrow. An I/O readiness (the poller waking a task) is an
//! arrow the same way, from the poll to the woken task's next slice.
//! Pairing needs the events in time order across all workers, which is why
//! nothing is encoded before `finish`.

use std::collections::{BTreeSet, HashMap};

use super::buffer::FOREIGN;
use super::proto::{field as f, Writer};
use super::{Event, Kind};

pub(crate) const WORKERS_UUID: u64 = 1;
pub(crate) const TASKS_UUID: u64 = 2;
pub(crate) const FOREIGN_UUID: u64 = 3;
pub(crate) const BLOCKING_UUID: u64 = 4;
pub(crate) const WORKER_BASE: u64 = 0x100;
/// Above every worker slot (`WORKER_BASE + u32`).
pub(crate) const BLOCKING_BASE: u64 = 1 << 40;
pub(crate) const TASK_BIT: u64 = 1 << 63;

const SLICE_BEGIN: u64 = 1;
const SLICE_END: u64 = 2;
const INSTANT: u64 = 3;
/// All packets are on one sequence.
const SEQUENCE: u64 = 1;
/// `TracePacket.SEQ_INCREMENTAL_STATE_CLEARED`.
const STATE_CLEARED: u64 = 1;

pub(crate) struct Summary {
    pub(crate) workers: usize,
    pub(crate) dropped: u64,
    pub(crate) names: fn(u64) -> String,
}

fn worker_uuid(track: u32) -> u64 {
    if track == FOREIGN {
        FOREIGN_UUID
    } else {
        WORKER_BASE + u64::from(track)
    }
}

fn task_uuid(tag: u64) -> u64 {
    TASK_BIT | (tag & !TASK_BIT)
}

/// One TrackEvent to write.
struct Out<'a> {
    ts: u64,
    track: u64,
    kind: u64,
    name: Option<&'a str>,
    flows: &'a [u64],
    terminating: &'a [u64],
    args: &'a [(&'a str, Arg<'a>)],
}

enum Arg<'a> {
    U(u64),
    S(&'a str),
}

fn packet(out: &mut Writer, first: &mut bool, f: impl FnOnce(&mut Writer)) {
    out.message(f::TRACE_PACKET, |p| {
        p.uint(f::PACKET_SEQUENCE_ID, SEQUENCE);
        if std::mem::take(first) {
            p.uint(f::PACKET_SEQUENCE_FLAGS, STATE_CLEARED);
        }
        f(p);
    });
}

fn track(out: &mut Writer, first: &mut bool, uuid: u64, name: &str, parent: Option<u64>) {
    packet(out, first, |p| {
        p.message(f::PACKET_TRACK_DESCRIPTOR, |t| {
            t.uint(f::TRACK_UUID, uuid);
            t.str(f::TRACK_NAME, name);
            if let Some(parent) = parent {
                t.uint(f::TRACK_PARENT, parent);
            }
        });
    });
}

fn event(out: &mut Writer, first: &mut bool, e: &Out<'_>) {
    packet(out, first, |p| {
        p.uint(f::PACKET_TIMESTAMP, e.ts);
        p.message(f::PACKET_TRACK_EVENT, |t| {
            t.uint(f::EVENT_TYPE, e.kind);
            t.uint(f::EVENT_TRACK, e.track);
            if let Some(name) = e.name {
                t.str(f::EVENT_NAME, name);
            }
            for &id in e.flows {
                t.fixed64(f::EVENT_FLOW, id);
            }
            for &id in e.terminating {
                t.fixed64(f::EVENT_TERMINATING_FLOW, id);
            }
            for (name, v) in e.args {
                t.message(f::EVENT_ANNOTATION, |a| {
                    a.str(f::ANNOTATION_NAME, name);
                    match v {
                        Arg::U(u) => a.uint(f::ANNOTATION_UINT, *u),
                        Arg::S(s) => a.str(f::ANNOTATION_STRING, s),
                    }
                });
            }
        });
    });
}

/// Flow ids: for each send (by event index), its id if the receiver ran
/// again; for each slice begin, the ids it ends.
fn pair_flows(events: &[(u32, Event)]) -> (HashMap<usize, u64>, HashMap<usize, Vec<u64>>) {
    let mut pending: HashMap<u64, Vec<(usize, u64)>> = HashMap::new();
    let mut sends = HashMap::new();
    let mut ends = HashMap::new();
    let mut next_id = 1u64;
    for (i, (_, e)) in events.iter().enumerate() {
        match e.kind {
            Kind::Send { to, .. } | Kind::IoReady { tag: to } => {
                pending.entry(to).or_default().push((i, next_id));
                next_id += 1;
            }
            Kind::SliceBegin { tag } => {
                if let Some(waiting) = pending.remove(&tag) {
                    let ids = waiting.iter().map(|&(_, id)| id).collect();
                    sends.extend(waiting);
                    ends.insert(i, ids);
                }
            }
            _ => {}
        }
    }
    (sends, ends)
}

/// The whole trace file for `events` (any order).
pub(crate) fn encode(mut events: Vec<(u32, Event)>, s: &Summary) -> Vec<u8> {
    events.sort_by_key(|(_, e)| e.ts);
    let (sends, ends) = pair_flows(&events);
    let mut out = Writer::default();
    let first = &mut true;
    track(&mut out, first, WORKERS_UUID, "workers", None);
    track(&mut out, first, TASKS_UUID, "processes", None);
    track(&mut out, first, FOREIGN_UUID, "other threads", None);
    let slots: BTreeSet<u32> = events.iter().map(|(t, _)| *t).collect();
    let pool: BTreeSet<u32> = events
        .iter()
        .filter_map(|(_, e)| match e.kind {
            Kind::BlockingBegin { thread, .. } => Some(thread),
            _ => None,
        })
        .collect();
    if !pool.is_empty() {
        track(&mut out, first, BLOCKING_UUID, "blocking pool", None);
    }
    for &k in &pool {
        let name = format!("blocking thread {k}");
        let uuid = BLOCKING_BASE + u64::from(k);
        track(&mut out, first, uuid, &name, Some(BLOCKING_UUID));
    }
    for &slot in slots.iter().filter(|&&t| t != FOREIGN) {
        let name = if (slot as usize) < s.workers {
            format!("worker {slot}")
        } else {
            format!("stand-in (slot {slot})")
        };
        track(
            &mut out,
            first,
            worker_uuid(slot),
            &name,
            Some(WORKERS_UUID),
        );
    }
    let mut names: HashMap<u64, String> = HashMap::new();
    for (_, e) in &events {
        let tags = match e.kind {
            Kind::SliceBegin { tag }
            | Kind::Exit { tag, .. }
            | Kind::Mark { tag, .. }
            | Kind::IoReady { tag }
            | Kind::BlockingBegin { tag, .. } => [Some(tag), None],
            Kind::Spawn { tag, parent } => [Some(tag), parent],
            Kind::Send { from, to } => [Some(to), from],
            _ => [None, None],
        };
        for tag in tags.into_iter().flatten() {
            names.entry(tag).or_insert_with(|| {
                let name = (s.names)(tag);
                track(&mut out, first, task_uuid(tag), &name, Some(TASKS_UUID));
                name
            });
        }
    }
    let name = |tag: u64| names.get(&tag).map_or("?", String::as_str);
    if s.dropped > 0 {
        let label = format!("{} events dropped (BREAM_TRACE_MAX_EVENTS)", s.dropped);
        let e = Out {
            ts: 0,
            track: FOREIGN_UUID,
            kind: INSTANT,
            name: Some(&label),
            flows: &[],
            terminating: &[],
            args: &[],
        };
        event(&mut out, first, &e);
    }
    for (i, (slot, e)) in events.iter().enumerate() {
        let ts = e.ts;
        let here = worker_uuid(*slot);
        let mut put = |track, kind, name: Option<&str>, args: &[(&str, Arg<'_>)]| {
            let o = Out {
                ts,
                track,
                kind,
                name,
                flows: &[],
                terminating: &[],
                args,
            };
            event(&mut out, first, &o);
        };
        match e.kind {
            Kind::SliceBegin { tag } => {
                put(here, SLICE_BEGIN, Some(name(tag)), &[]);
                let on = format!("on worker {slot}");
                let o = Out {
                    ts,
                    track: task_uuid(tag),
                    kind: SLICE_BEGIN,
                    name: Some(&on),
                    flows: &[],
                    terminating: ends.get(&i).map_or(&[], Vec::as_slice),
                    args: &[],
                };
                event(&mut out, first, &o);
            }
            Kind::SliceEnd {
                tag,
                why,
                reductions,
            } => {
                let args = [
                    ("ended", Arg::S(why.name())),
                    ("reductions", Arg::U(u64::from(reductions))),
                ];
                put(here, SLICE_END, None, &args);
                put(task_uuid(tag), SLICE_END, None, &args);
            }
            Kind::Steal { victim, n } => {
                let label = format!("steal from worker {victim}");
                let args = [
                    ("victim", Arg::U(victim.into())),
                    ("tasks", Arg::U(n.into())),
                ];
                put(here, INSTANT, Some(&label), &args);
            }
            Kind::Wake { worker } => {
                let label = format!("wake worker {worker}");
                put(
                    here,
                    INSTANT,
                    Some(&label),
                    &[("worker", Arg::U(worker.into()))],
                );
            }
            Kind::Park => put(here, SLICE_BEGIN, Some("parked"), &[]),
            Kind::Unpark => put(here, SLICE_END, None, &[]),
            Kind::Spawn { tag, parent } => {
                let parent = parent.map_or("-", name);
                put(
                    task_uuid(tag),
                    INSTANT,
                    Some("spawn"),
                    &[("parent", Arg::S(parent))],
                );
            }
            Kind::Exit { tag, outcome } => {
                let args = [("outcome", Arg::S(outcome.name()))];
                put(task_uuid(tag), INSTANT, Some("exit"), &args);
            }
            Kind::Send { from, to } => {
                let label = format!("send → {}", name(to));
                let flow = sends.get(&i).copied();
                let o = Out {
                    ts,
                    track: from.map_or(here, task_uuid),
                    kind: INSTANT,
                    name: Some(&label),
                    flows: flow.as_slice(),
                    terminating: &[],
                    args: &[("to", Arg::S(name(to)))],
                };
                event(&mut out, first, &o);
            }
            Kind::Mark { tag, label } => put(task_uuid(tag), INSTANT, Some(label), &[]),
            Kind::Timers { n } => {
                let label = format!("{n} timers fired");
                put(here, INSTANT, Some(&label), &[("timers", Arg::U(n.into()))]);
            }
            Kind::IoReady { tag } => {
                put(task_uuid(tag), INSTANT, Some("I/O ready"), &[]);
                let label = format!("I/O ready → {}", name(tag));
                let flow = sends.get(&i).copied();
                let o = Out {
                    ts,
                    track: here,
                    kind: INSTANT,
                    name: Some(&label),
                    flows: flow.as_slice(),
                    terminating: &[],
                    args: &[("to", Arg::S(name(tag)))],
                };
                event(&mut out, first, &o);
            }
            Kind::BlockingBegin { tag, thread } => {
                let label = format!("blocking job for {}", name(tag));
                let uuid = BLOCKING_BASE + u64::from(thread);
                let args = [("for", Arg::S(name(tag)))];
                put(uuid, SLICE_BEGIN, Some(&label), &args);
                let on = format!("blocking job on thread {thread}");
                put(task_uuid(tag), INSTANT, Some(&on), &[]);
            }
            Kind::BlockingEnd { thread, .. } => {
                put(BLOCKING_BASE + u64::from(thread), SLICE_END, None, &[]);
            }
        }
    }
    out.buf
}
