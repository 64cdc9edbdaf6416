//! The protobuf wire format, as much of it as a Perfetto trace needs:
//! varints (wire type 0), fixed64 (1) and length-delimited fields (2).
//! Hand-written rather than generated (prost + protoc): the trace uses a
//! dozen fields of four messages, and a build script for them would cost
//! every build of the scheduler.
//!
//! The field numbers, from Perfetto's `protos/perfetto/trace/`:
//!
//! ```text
//! Trace           { repeated TracePacket packet = 1; }
//! TracePacket     { uint64 timestamp = 8; uint32 trusted_packet_sequence_id = 10;
//!                   TrackEvent track_event = 11; uint32 sequence_flags = 13;
//!                   TrackDescriptor track_descriptor = 60; }
//! TrackDescriptor { uint64 uuid = 1; string name = 2; uint64 parent_uuid = 5; }
//! TrackEvent      { repeated DebugAnnotation debug_annotations = 4; Type type = 9;
//!                   uint64 track_uuid = 11; string name = 23;
//!                   repeated fixed64 flow_ids = 47;
//!                   repeated fixed64 terminating_flow_ids = 48; }
//! TrackEvent.Type { SLICE_BEGIN = 1; SLICE_END = 2; INSTANT = 3; }
//! DebugAnnotation { uint64 uint_value = 3; string string_value = 6; string name = 10; }
//! ```

pub(crate) mod field {
    pub(crate) const TRACE_PACKET: u32 = 1;
    pub(crate) const PACKET_TIMESTAMP: u32 = 8;
    pub(crate) const PACKET_SEQUENCE_ID: u32 = 10;
    pub(crate) const PACKET_TRACK_EVENT: u32 = 11;
    pub(crate) const PACKET_SEQUENCE_FLAGS: u32 = 13;
    pub(crate) const PACKET_TRACK_DESCRIPTOR: u32 = 60;
    pub(crate) const TRACK_UUID: u32 = 1;
    pub(crate) const TRACK_NAME: u32 = 2;
    pub(crate) const TRACK_PARENT: u32 = 5;
    pub(crate) const EVENT_ANNOTATION: u32 = 4;
    pub(crate) const EVENT_TYPE: u32 = 9;
    pub(crate) const EVENT_TRACK: u32 = 11;
    pub(crate) const EVENT_NAME: u32 = 23;
    pub(crate) const EVENT_FLOW: u32 = 47;
    pub(crate) const EVENT_TERMINATING_FLOW: u32 = 48;
    pub(crate) const ANNOTATION_UINT: u32 = 3;
    pub(crate) const ANNOTATION_STRING: u32 = 6;
    pub(crate) const ANNOTATION_NAME: u32 = 10;
}

/// Appends protobuf fields to a byte buffer.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
}

impl Writer {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    fn key(&mut self, field: u32, wire: u8) {
        self.varint(u64::from(field) << 3 | u64::from(wire));
    }

    pub(crate) fn uint(&mut self, field: u32, v: u64) {
        self.key(field, 0);
        self.varint(v);
    }

    pub(crate) fn fixed64(&mut self, field: u32, v: u64) {
        self.key(field, 1);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.buf.extend_from_slice(b);
    }

    pub(crate) fn str(&mut self, field: u32, s: &str) {
        self.bytes(field, s.as_bytes());
    }

    /// A nested message written by `f`.
    pub(crate) fn message(&mut self, field: u32, f: impl FnOnce(&mut Writer)) {
        let mut inner = Writer::default();
        f(&mut inner);
        self.bytes(field, &inner.buf);
    }
}

/// A field read back: its number and value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// Reads the fields of one message.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf }
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self.buf.split_first().ok_or("truncated varint")?;
            self.buf = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err("varint too long".into())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.buf.len() < n {
            return Err("truncated field".into());
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Ok(a)
    }

    /// The next field, or `None` at the end.
    pub(crate) fn next_field(&mut self) -> Result<Option<(u32, Value<'a>)>, String> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = (key >> 3) as u32;
        let v = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => Value::Fixed64(u64::from_le_bytes(self.take(8)?.try_into().unwrap())),
            2 => {
                let n = self.varint()? as usize;
                Value::Bytes(self.take(n)?)
            }
            5 => Value::Fixed32(u32::from_le_bytes(self.take(4)?.try_into().unwrap())),
            w => return Err(format!("wire type {w} not supported")),
        };
        Ok(Some((field, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut w = Writer::default();
        w.uint(8, 300);
        w.fixed64(47, u64::MAX);
        w.str(23, "hé");
        let mut r = Reader::new(&w.buf);
        assert_eq!(r.next_field().unwrap(), Some((8, Value::Varint(300))));
        assert_eq!(
            r.next_field().unwrap(),
            Some((47, Value::Fixed64(u64::MAX)))
        );
        assert_eq!(
            r.next_field().unwrap(),
            Some((23, Value::Bytes("hé".as_bytes())))
        );
        assert_eq!(r.next_field().unwrap(), None);
        // 300 = 0b10_0101100: two bytes, low group first.
        assert_eq!(&w.buf[..3], &[8 << 3, 0xac, 0x02]);
    }
}
