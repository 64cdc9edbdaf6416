//! Reads back a trace this crate wrote: the tests check it against what the
//! program did, and `bream-bench trace --svg` draws it.
//!
//! It reads only the fields the writer uses (proto.rs) and ignores the rest,
//! so it is no general Perfetto parser.
//!
//! ```no_run
//! let t = bream_scheduler::trace::decode::read("out.pftrace").unwrap();
//! for e in &t.events {
//!     println!("{} {:?} {:?} on {}", e.ts, e.kind, e.name, t.track_name(e.track));
//! }
//! ```

use std::collections::HashMap;
use std::path::Path;

use super::encode::{BLOCKING_UUID, FOREIGN_UUID, TASKS_UUID, WORKERS_UUID, WORKER_BASE};
use super::proto::{field as f, Reader, Value};

/// A track: a worker, a process (task), or "other threads".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    /// Its uuid (events name it).
    pub uuid: u64,
    /// Its name: `worker 0`, `<0.7.0>`, ...
    pub name: String,
    /// The enclosing track, if any.
    pub parent: Option<u64>,
}

/// What kind of TrackEvent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// A slice begins.
    Begin,
    /// The innermost open slice on the track ends.
    End,
    /// A point in time.
    Instant,
    /// A type this reader does not know.
    Other(u64),
}

/// A debug annotation's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgValue {
    /// An unsigned number.
    Uint(u64),
    /// A string.
    Str(String),
}

/// One TrackEvent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEvent {
    /// Nanoseconds since the trace began.
    pub ts: u64,
    /// The track it is on.
    pub track: u64,
    /// Begin, end or instant.
    pub kind: EventType,
    /// Its name (`None` on slice ends).
    pub name: Option<String>,
    /// Flows that start here.
    pub flows: Vec<u64>,
    /// Flows that end here.
    pub terminating_flows: Vec<u64>,
    /// Its debug annotations, by name.
    pub args: Vec<(String, ArgValue)>,
}

impl TraceEvent {
    /// The annotation `name`, if present.
    pub fn arg(&self, name: &str) -> Option<&ArgValue> {
        self.args.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

/// A decoded trace.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    /// Every track, by uuid.
    pub tracks: HashMap<u64, Track>,
    /// Every event, in file order (sorted by time).
    pub events: Vec<TraceEvent>,
}

impl Trace {
    /// The name of track `uuid` (`"?"` if unknown).
    pub fn track_name(&self, uuid: u64) -> &str {
        self.tracks.get(&uuid).map_or("?", |t| t.name.as_str())
    }

    /// The worker slot of a worker track.
    pub fn worker_of(&self, uuid: u64) -> Option<u32> {
        let t = self.tracks.get(&uuid)?;
        (t.parent == Some(WORKERS_UUID)).then(|| (uuid - WORKER_BASE) as u32)
    }

    /// True if `uuid` is a process (task) track.
    pub fn is_process(&self, uuid: u64) -> bool {
        self.tracks
            .get(&uuid)
            .is_some_and(|t| t.parent == Some(TASKS_UUID))
    }

    /// True if `uuid` is the track of threads that are not workers.
    pub fn is_foreign(&self, uuid: u64) -> bool {
        uuid == FOREIGN_UUID
    }

    /// True if `uuid` is a blocking-pool thread's track (its slices are
    /// the jobs it ran).
    pub fn is_blocking(&self, uuid: u64) -> bool {
        self.tracks
            .get(&uuid)
            .is_some_and(|t| t.parent == Some(BLOCKING_UUID))
    }
}

/// Reads the trace at `path`.
///
/// # Errors
/// If the file cannot be read or is not a trace this crate wrote.
pub fn read(path: impl AsRef<Path>) -> Result<Trace, String> {
    let bytes = std::fs::read(path.as_ref()).map_err(|e| e.to_string())?;
    parse(&bytes)
}

/// Decodes trace bytes.
///
/// # Errors
/// If the bytes are not well-formed protobuf of the expected shape.
pub fn parse(bytes: &[u8]) -> Result<Trace, String> {
    let mut t = Trace::default();
    let mut r = Reader::new(bytes);
    while let Some((field, v)) = r.next_field()? {
        if let (f::TRACE_PACKET, Value::Bytes(p)) = (field, v) {
            packet(&mut t, p)?;
        }
    }
    Ok(t)
}

fn packet(t: &mut Trace, p: &[u8]) -> Result<(), String> {
    let mut r = Reader::new(p);
    let mut ts = 0;
    let mut event = None;
    while let Some((field, v)) = r.next_field()? {
        match (field, v) {
            (f::PACKET_TIMESTAMP, Value::Varint(x)) => ts = x,
            (f::PACKET_TRACK_DESCRIPTOR, Value::Bytes(b)) => {
                let d = track(b)?;
                t.tracks.insert(d.uuid, d);
            }
            (f::PACKET_TRACK_EVENT, Value::Bytes(b)) => event = Some(track_event(b)?),
            _ => {}
        }
    }
    if let Some(mut e) = event {
        e.ts = ts;
        t.events.push(e);
    }
    Ok(())
}

fn string(b: &[u8]) -> Result<String, String> {
    String::from_utf8(b.to_vec()).map_err(|e| e.to_string())
}

fn track(b: &[u8]) -> Result<Track, String> {
    let mut r = Reader::new(b);
    let mut d = Track {
        uuid: 0,
        name: String::new(),
        parent: None,
    };
    while let Some((field, v)) = r.next_field()? {
        match (field, v) {
            (f::TRACK_UUID, Value::Varint(x)) => d.uuid = x,
            (f::TRACK_NAME, Value::Bytes(s)) => d.name = string(s)?,
            (f::TRACK_PARENT, Value::Varint(x)) => d.parent = Some(x),
            _ => {}
        }
    }
    Ok(d)
}

fn track_event(b: &[u8]) -> Result<TraceEvent, String> {
    let mut r = Reader::new(b);
    let mut e = TraceEvent {
        ts: 0,
        track: 0,
        kind: EventType::Other(0),
        name: None,
        flows: Vec::new(),
        terminating_flows: Vec::new(),
        args: Vec::new(),
    };
    while let Some((field, v)) = r.next_field()? {
        match (field, v) {
            (f::EVENT_TYPE, Value::Varint(x)) => {
                e.kind = match x {
                    1 => EventType::Begin,
                    2 => EventType::End,
                    3 => EventType::Instant,
                    x => EventType::Other(x),
                }
            }
            (f::EVENT_TRACK, Value::Varint(x)) => e.track = x,
            (f::EVENT_NAME, Value::Bytes(s)) => e.name = Some(string(s)?),
            (f::EVENT_FLOW, Value::Fixed64(x)) => e.flows.push(x),
            (f::EVENT_TERMINATING_FLOW, Value::Fixed64(x)) => e.terminating_flows.push(x),
            (f::EVENT_ANNOTATION, Value::Bytes(a)) => e.args.push(annotation(a)?),
            _ => {}
        }
    }
    Ok(e)
}

fn annotation(b: &[u8]) -> Result<(String, ArgValue), String> {
    let mut r = Reader::new(b);
    let mut name = String::new();
    let mut value = ArgValue::Uint(0);
    while let Some((field, v)) = r.next_field()? {
        match (field, v) {
            (f::ANNOTATION_NAME, Value::Bytes(s)) => name = string(s)?,
            (f::ANNOTATION_UINT, Value::Varint(x)) => value = ArgValue::Uint(x),
            (f::ANNOTATION_STRING, Value::Bytes(s)) => value = ArgValue::Str(string(s)?),
            _ => {}
        }
    }
    Ok((name, value))
}
