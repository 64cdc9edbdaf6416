//! Control messages: the tuples that say what a distribution packet means
//! (OTP's erts/doc "Distribution Protocol", "Protocol between connected
//! nodes"), and the exit-reason mapping.
//!
//! After the handshake, every packet is a 4-byte big-endian length and then
//! either nothing (a tick) or `112` (pass-through: no atom-cache header, which
//! bream never offers), a control message in the External Term Format, and,
//! for the messages that carry one, the message itself as a second term.
//!
//! | op | name            | control tuple                      | payload |
//! |----|-----------------|------------------------------------|---------|
//! | 1  | LINK            | `{1, From, To}`                    |         |
//! | 2  | SEND            | `{2, '', To}`                      | message |
//! | 3  | EXIT            | `{3, From, To, Reason}`            |         |
//! | 4  | UNLINK          | `{4, From, To}` (before OTP 26)    |         |
//! | 6  | REG_SEND        | `{6, From, '', ToName}`            | message |
//! | 7  | GROUP_LEADER    | `{7, From, To}` (ignored)          |         |
//! | 8  | EXIT2           | `{8, From, To, Reason}`            |         |
//! | 19 | MONITOR_P       | `{19, From, ToProc, Ref}`          |         |
//! | 20 | DEMONITOR_P     | `{20, From, ToProc, Ref}`          |         |
//! | 21 | MONITOR_P_EXIT  | `{21, FromProc, To, Ref, Reason}`  |         |
//! | 22 | SEND_SENDER     | `{22, From, To}`                   | message |
//! | 35 | UNLINK_ID       | `{35, Id, From, To}`               |         |
//! | 36 | UNLINK_ID_ACK   | `{36, Id, From, To}`               |         |
//!
//! bream does not offer `DFLAG_EXIT_PAYLOAD`, `DFLAG_SPAWN` or `DFLAG_ALIAS`,
//! so peers never send the payload variants of EXIT, SPAWN_REQUEST or
//! ALIAS_SEND; any other op closes the connection with a logged reason.

use bream::ExitReason;

use crate::{Atom, Term};

pub(crate) const LINK: i64 = 1;
pub(crate) const SEND: i64 = 2;
pub(crate) const EXIT: i64 = 3;
pub(crate) const UNLINK: i64 = 4;
pub(crate) const REG_SEND: i64 = 6;
pub(crate) const GROUP_LEADER: i64 = 7;
pub(crate) const EXIT2: i64 = 8;
pub(crate) const MONITOR_P: i64 = 19;
pub(crate) const DEMONITOR_P: i64 = 20;
pub(crate) const MONITOR_P_EXIT: i64 = 21;
pub(crate) const SEND_SENDER: i64 = 22;
pub(crate) const UNLINK_ID: i64 = 35;
pub(crate) const UNLINK_ID_ACK: i64 = 36;

/// The bytes of one packet: length, pass-through byte, control, payload.
/// `Err` if a term cannot be encoded (the caller logs it).
pub(crate) fn packet(ctrl: &Term, msg: Option<&Term>) -> Result<Vec<u8>, String> {
    let mut out = vec![0, 0, 0, 0, 112];
    crate::encode(ctrl, &mut out).map_err(|e| e.to_string())?;
    if let Some(m) = msg {
        crate::encode(m, &mut out).map_err(|e| e.to_string())?;
    }
    let len = u32::try_from(out.len() - 4).map_err(|_| "message over 4 GiB".to_string())?;
    out[..4].copy_from_slice(&len.to_be_bytes());
    Ok(out)
}

/// An atom as the send path writes it (no version byte): what
/// [`write_pid`] takes for a node name, computed once per node and peer.
pub(crate) fn atom_ext(a: &Atom) -> Vec<u8> {
    let mut v = Vec::with_capacity(a.as_str().len() + 3);
    crate::etf::encode::write_atom(a, &mut v);
    v
}

/// A pid as `NEW_PID_EXT`, its node's name given encoded ([`atom_ext`]):
/// the bytes `encode` writes for the same [`crate::ExternalPid`].
pub(crate) fn write_pid(out: &mut Vec<u8>, node: &[u8], id: u32, serial: u32, creation: u32) {
    out.push(crate::etf::tag::NEW_PID);
    out.extend_from_slice(node);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&serial.to_be_bytes());
    out.extend_from_slice(&creation.to_be_bytes());
}

/// The pass-through byte and `{22, From, To}` (SEND_SENDER), as
/// `packet(&ctrl(SEND_SENDER, [From, To]), _)` writes them, without building
/// a term: the send path's header (ADR dist-0002). Each pid is
/// `(encoded node atom, id, serial, creation)`.
pub(crate) fn write_send_sender(
    out: &mut Vec<u8>,
    from: (&[u8], u32, u32, u32),
    to: (&[u8], u32, u32, u32),
) {
    use crate::etf::{tag, VERSION};
    out.extend_from_slice(&[
        112,
        VERSION,
        tag::SMALL_TUPLE,
        3,
        tag::SMALL_INTEGER,
        SEND_SENDER as u8,
    ]);
    write_pid(out, from.0, from.1, from.2, from.3);
    write_pid(out, to.0, to.1, to.2, to.3);
}

/// A control tuple: the op, then the fields.
pub(crate) fn ctrl(op: i64, fields: Vec<Term>) -> Term {
    let mut v = Vec::with_capacity(fields.len() + 1);
    v.push(Term::Int(op));
    v.extend(fields);
    Term::Tuple(v)
}

/// The empty atom, the "unused" field of SEND and REG_SEND.
pub(crate) fn unused() -> Term {
    Term::atom("")
}

/// An exit reason as Erlang spells it: the atoms for the standard reasons,
/// `{panic, <<Message>>}` for a panic, `{shutdown, Reason}` for
/// `ShutdownWith`, the program's own reason as an atom
/// (a binary if it is too long for one).
pub fn reason_to_term(r: &ExitReason) -> Term {
    match r {
        ExitReason::Normal => Term::atom("normal"),
        ExitReason::Shutdown => Term::atom("shutdown"),
        ExitReason::Kill => Term::atom("kill"),
        ExitReason::Killed => Term::atom("killed"),
        ExitReason::NoProc => Term::atom("noproc"),
        ExitReason::NoConnection => Term::atom("noconnection"),
        ExitReason::StackOverflow => Term::atom("stack_overflow"),
        // A bounded mailbox's Overflow::Kill: OTP's max_heap_size kill,
        // whose exit reason is `killed`.
        ExitReason::MailboxFull { .. } => Term::atom("killed"),
        ExitReason::Panic(m) => Term::Tuple(vec![
            Term::atom("panic"),
            Term::Binary(m.message().as_bytes().to_vec()),
        ]),
        ExitReason::ShutdownWith(s) => Term::Tuple(vec![
            Term::atom("shutdown"),
            match Atom::try_new(s) {
                Ok(a) => Term::Atom(a),
                Err(_) => Term::Binary(s.clone().into_bytes()),
            },
        ]),
        ExitReason::Other(s) => match Atom::try_new(s) {
            Ok(a) => Term::Atom(a),
            Err(_) => Term::Binary(s.clone().into_bytes()),
        },
    }
}

/// The inverse of [`reason_to_term`]; any other term becomes
/// `ExitReason::Other` with the term as Erlang prints it (`{shutdown,x}`).
pub fn reason_from_term(t: &Term) -> ExitReason {
    match t {
        Term::Atom(a) => match a.as_str() {
            "normal" => ExitReason::Normal,
            "shutdown" => ExitReason::Shutdown,
            "kill" => ExitReason::Kill,
            "killed" => ExitReason::Killed,
            "noproc" => ExitReason::NoProc,
            "noconnection" => ExitReason::NoConnection,
            "stack_overflow" => ExitReason::StackOverflow,
            other => ExitReason::Other(other.to_string()),
        },
        Term::Tuple(v) if v.len() == 2 && v[0].as_atom() == Some("panic") => match &v[1] {
            Term::Binary(b) => ExitReason::Panic(String::from_utf8_lossy(b).into_owned().into()),
            other => ExitReason::Panic(other.to_string().into()),
        },
        Term::Tuple(v) if v.len() == 2 && v[0].as_atom() == Some("shutdown") => {
            ExitReason::ShutdownWith(match &v[1] {
                Term::Atom(a) => a.as_str().to_string(),
                Term::Binary(b) => String::from_utf8_lossy(b).into_owned(),
                other => other.to_string(),
            })
        }
        Term::Binary(b) => ExitReason::Other(String::from_utf8_lossy(b).into_owned()),
        other => ExitReason::Other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_reasons_round_trip_as_erlang_atoms() {
        for r in [
            ExitReason::Normal,
            ExitReason::Shutdown,
            ExitReason::Kill,
            ExitReason::Killed,
            ExitReason::NoProc,
            ExitReason::NoConnection,
            ExitReason::Panic("boom".into()),
            ExitReason::Other("custom".into()),
        ] {
            assert_eq!(reason_from_term(&reason_to_term(&r)), r);
        }
        assert_eq!(
            reason_to_term(&ExitReason::NoConnection),
            Term::atom("noconnection")
        );
    }

    #[test]
    fn the_send_header_is_the_bytes_of_the_control_term() {
        let (a, b) = (Atom::new("a@h"), Atom::new("bb@host"));
        let pid = |n: &Atom, id, serial, creation| {
            Term::Pid(crate::ExternalPid {
                node: n.clone(),
                id,
                serial,
                creation,
            })
        };
        let t = ctrl(SEND_SENDER, vec![pid(&a, 7, 1, 9), pid(&b, 70_000, 3, 4)]);
        let mut want = vec![112];
        crate::encode(&t, &mut want).unwrap();
        let mut got = Vec::new();
        write_send_sender(
            &mut got,
            (&atom_ext(&a), 7, 1, 9),
            (&atom_ext(&b), 70_000, 3, 4),
        );
        assert_eq!(got, want);
    }

    #[test]
    fn a_packet_is_length_prefixed_and_passes_through() {
        let p = packet(&ctrl(LINK, vec![Term::Int(1)]), None).unwrap();
        assert_eq!(
            u32::from_be_bytes([p[0], p[1], p[2], p[3]]) as usize,
            p.len() - 4
        );
        assert_eq!(p[4], 112);
        assert_eq!(p[5], 131);
    }
}
