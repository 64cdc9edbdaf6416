//! The distribution handshake, protocol version 6 (OTP 23+), as
//! lib/kernel/src/dist_util.erl runs it.
//!
//! Node A connects to node B's listening port (found through EPMD). Every
//! handshake message is framed by a 2-byte big-endian length:
//!
//! 1. A → B `send_name`: `'N'`, A's flags (64 bits), A's creation (32),
//!    name length (16), A's full node name.
//! 2. B → A `send_status`: `'s'` and `ok`, or `ok_simultaneous` (both sides
//!    were connecting; B gave up its own attempt), `nok` (B keeps its own
//!    attempt), `not_allowed`, `alive` (B has a live connection to A already).
//! 3. B → A `send_challenge`: `'N'`, B's flags, a random 32-bit challenge,
//!    B's creation, B's name.
//! 4. A → B `challenge_reply`: `'r'`, A's own challenge, and
//!    `md5(Cookie ++ integer_to_list(B's challenge))`.
//! 5. B checks the digest (a wrong one: B closes, logging it), then
//!    B → A `challenge_ack`: `'a'`, `md5(Cookie ++ integer_to_list(A's challenge))`.
//! 6. A checks that digest (a wrong one: A closes, logging it). Both are
//!    connected: from now on every packet has a 4-byte length, a zero-length
//!    packet is a tick.
//!
//! Each side proves it knows the cookie without sending it; neither side's
//! traffic is encrypted or authenticated after this (docs/distribution.md,
//! "Security").
//!
//! The flags: both sides must support OTP 25's mandatory set
//! (`MANDATORY_DFLAGS_25`, or its shorthand bit `DFLAG_MANDATORY_25_DIGEST`,
//! which is `16#4000000` in OTP's dist.hrl and dist.h — the protocol document
//! says `1 bsl 36`, and the code is what peers check).

use std::fmt;
use std::io;
use std::time::Duration;

use bream::net::TcpStream;

use crate::md5;

/// Distribution capability flags (OTP's kernel/include/dist.hrl, erts dist.h).
#[allow(missing_docs)]
pub mod flags {
    pub const PUBLISHED: u64 = 0x01;
    pub const EXTENDED_REFERENCES: u64 = 0x04;
    pub const DIST_MONITOR: u64 = 0x08;
    pub const FUN_TAGS: u64 = 0x10;
    pub const DIST_MONITOR_NAME: u64 = 0x20;
    pub const NEW_FUN_TAGS: u64 = 0x80;
    pub const EXTENDED_PIDS_PORTS: u64 = 0x100;
    pub const EXPORT_PTR_TAG: u64 = 0x200;
    pub const BIT_BINARIES: u64 = 0x400;
    pub const NEW_FLOATS: u64 = 0x800;
    pub const UNICODE_IO: u64 = 0x1000;
    pub const SMALL_ATOM_TAGS: u64 = 0x4000;
    pub const UTF8_ATOMS: u64 = 0x10000;
    pub const MAP_TAG: u64 = 0x20000;
    pub const BIG_CREATION: u64 = 0x40000;
    pub const SEND_SENDER: u64 = 0x80000;
    pub const BIG_SEQTRACE_LABELS: u64 = 0x100000;
    pub const HANDSHAKE_23: u64 = 0x0100_0000;
    pub const UNLINK_ID: u64 = 0x0200_0000;
    /// `16#4000000` in dist.hrl/dist.h (the protocol document's `1 bsl 36`
    /// is wrong).
    pub const MANDATORY_25_DIGEST: u64 = 0x0400_0000;
    pub const V4_NC: u64 = 0x4 << 32;

    /// What OTP 25+ refuses to connect without (dist.hrl `MANDATORY_DFLAGS_25`).
    pub const MANDATORY_25: u64 = EXTENDED_REFERENCES
        | FUN_TAGS
        | EXTENDED_PIDS_PORTS
        | NEW_FUN_TAGS
        | EXPORT_PTR_TAG
        | BIT_BINARIES
        | NEW_FLOATS
        | UTF8_ATOMS
        | MAP_TAG
        | BIG_CREATION
        | HANDSHAKE_23;

    /// What a bream node offers. Not offered, so peers do not use them:
    /// atom caches (`DIST_HDR_ATOM_CACHE`), fragments, `EXIT_PAYLOAD` (exit
    /// reasons travel in the control message), `SPAWN`, `ALIAS`.
    pub const OURS: u64 = PUBLISHED
        | MANDATORY_25
        | MANDATORY_25_DIGEST
        | DIST_MONITOR
        // Without it OTP sends no MONITOR_P_EXIT at all (dist.c,
        // erts_dsig_send_m_exit checks both monitor flags).
        | DIST_MONITOR_NAME
        | UNICODE_IO
        | SMALL_ATOM_TAGS
        | SEND_SENDER
        | BIG_SEQTRACE_LABELS
        | UNLINK_ID
        | V4_NC;
}

/// How long each handshake step may take (OTP's `net_setuptime` default, 7 s).
pub(crate) const SETUP_TIME: Duration = Duration::from_secs(7);

/// Why a handshake failed: logged by the caller, the connection closed.
#[derive(Debug)]
pub enum HandshakeError {
    /// The socket failed or the peer closed it (a peer that refuses our cookie
    /// closes without a word).
    Io(io::Error),
    /// The peer sent something the protocol does not allow here.
    Protocol(String),
    /// The peer's digest proves it does not know our cookie.
    WrongCookie,
    /// The peer lacks a capability OTP 25 makes mandatory.
    Flags(u64),
    /// The peer refused the connection with this status.
    Refused(String),
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::Io(e) => write!(f, "connection failed during the handshake: {e}"),
            HandshakeError::Protocol(m) => write!(f, "handshake protocol error: {m}"),
            HandshakeError::WrongCookie => {
                f.write_str("the peer's challenge digest does not match our cookie (wrong cookie)")
            }
            HandshakeError::Flags(fl) => write!(
                f,
                "the peer lacks capabilities mandatory since OTP 25 (flags {fl:#x})"
            ),
            HandshakeError::Refused(s) => write!(f, "the peer refused the connection: {s}"),
        }
    }
}

impl std::error::Error for HandshakeError {}

impl From<io::Error> for HandshakeError {
    fn from(e: io::Error) -> Self {
        HandshakeError::Io(e)
    }
}

/// Who we are, for a handshake.
pub(crate) struct Me<'a> {
    pub name: &'a str,
    pub creation: u32,
    pub cookie: &'a [u8],
}

/// Who the peer turned out to be.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub name: String,
    pub flags: u64,
    pub creation: u32,
}

/// The accepting side's decision after `send_name` (step 2).
pub(crate) enum Admit {
    /// `ok` (or `ok_simultaneous`: we dropped our own attempt).
    Ok(&'static str),
    /// Refuse with this status (`nok`, `not_allowed`).
    Refuse(&'static str),
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(body.len() + 2);
    v.extend_from_slice(&(body.len() as u16).to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn read_msg(s: &TcpStream) -> Result<Vec<u8>, HandshakeError> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len)?;
    let len = usize::from(u16::from_be_bytes(len));
    if len == 0 {
        return Err(HandshakeError::Protocol("empty handshake message".into()));
    }
    let mut body = vec![0u8; len];
    s.read_exact(&mut body)?;
    Ok(body)
}

/// A random 32-bit challenge (from the OS: the challenge is what keeps a
/// replayed digest useless).
fn challenge() -> u32 {
    use std::io::Read;
    let mut b = [0u8; 4];
    match std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)) {
        Ok(()) => u32::from_ne_bytes(b),
        Err(_) => {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            t.subsec_nanos() ^ (t.as_secs() as u32).rotate_left(16) ^ std::process::id()
        }
    }
}

/// `md5(Cookie ++ integer_to_list(Challenge))` (dist_util:gen_digest/2):
/// what each side sends to prove it knows the cookie.
pub fn digest(cookie: &[u8], challenge: u32) -> [u8; 16] {
    let mut v = cookie.to_vec();
    v.extend_from_slice(challenge.to_string().as_bytes());
    md5::digest(&v)
}

fn send_name_body(me: &Me<'_>) -> Vec<u8> {
    let mut b = vec![b'N'];
    b.extend_from_slice(&flags::OURS.to_be_bytes());
    b.extend_from_slice(&me.creation.to_be_bytes());
    b.extend_from_slice(&(me.name.len() as u16).to_be_bytes());
    b.extend_from_slice(me.name.as_bytes());
    b
}

/// Parses `'N'`, flags, [challenge,] creation, name.
fn parse_n(m: &[u8], with_challenge: bool) -> Result<(Peer, u32), HandshakeError> {
    let bad = || HandshakeError::Protocol(format!("malformed 'N' message ({} bytes)", m.len()));
    let fixed = if with_challenge {
        1 + 8 + 4 + 4 + 2
    } else {
        1 + 8 + 4 + 2
    };
    if m.len() < fixed || m[0] != b'N' {
        if m.first() == Some(&b'n') {
            return Err(HandshakeError::Protocol(
                "the peer speaks the pre-OTP-23 handshake (version 5); OTP 25+ is required".into(),
            ));
        }
        return Err(bad());
    }
    let flags = u64::from_be_bytes(m[1..9].try_into().map_err(|_| bad())?);
    let mut at = 9;
    let mut ch = 0;
    if with_challenge {
        ch = u32::from_be_bytes(m[at..at + 4].try_into().map_err(|_| bad())?);
        at += 4;
    }
    let creation = u32::from_be_bytes(m[at..at + 4].try_into().map_err(|_| bad())?);
    at += 4;
    let nlen = usize::from(u16::from_be_bytes(
        m[at..at + 2].try_into().map_err(|_| bad())?,
    ));
    at += 2;
    let name = m.get(at..at + nlen).ok_or_else(bad)?;
    let name = std::str::from_utf8(name).map_err(|_| bad())?.to_string();
    if name.chars().count() > 255 {
        return Err(HandshakeError::Protocol(
            "node name longer than an atom".into(),
        ));
    }
    if !name.contains('@') {
        return Err(HandshakeError::Protocol(format!(
            "node name {name:?} has no '@'"
        )));
    }
    check_flags(flags)?;
    Ok((
        Peer {
            name,
            flags,
            creation,
        },
        ch,
    ))
}

fn check_flags(f: u64) -> Result<(), HandshakeError> {
    if f & flags::MANDATORY_25_DIGEST != 0 || f & flags::MANDATORY_25 == flags::MANDATORY_25 {
        Ok(())
    } else {
        Err(HandshakeError::Flags(f))
    }
}

/// Steps 1–6 as the connecting side (A). `expect` is the node we meant to
/// reach.
pub(crate) fn connect(s: &TcpStream, me: &Me<'_>, expect: &str) -> Result<Peer, HandshakeError> {
    s.set_read_timeout(Some(SETUP_TIME))?;
    s.write_all(&frame(&send_name_body(me)))?;
    let status = read_msg(s)?;
    match status.split_first() {
        Some((b's', st)) if st == b"ok" || st == b"ok_simultaneous" => {}
        Some((b's', st)) => {
            return Err(HandshakeError::Refused(
                String::from_utf8_lossy(st).into_owned(),
            ))
        }
        _ => return Err(HandshakeError::Protocol("expected send_status".into())),
    }
    let (peer, their_challenge) = parse_n(&read_msg(s)?, true)?;
    if peer.name != expect {
        return Err(HandshakeError::Protocol(format!(
            "connected to {expect} but the peer says it is {}",
            peer.name
        )));
    }
    let ours = challenge();
    let mut reply = vec![b'r'];
    reply.extend_from_slice(&ours.to_be_bytes());
    reply.extend_from_slice(&digest(me.cookie, their_challenge));
    s.write_all(&frame(&reply))?;
    let ack = read_msg(s)?;
    match ack.split_first() {
        Some((b'a', d)) if d.len() == 16 => {
            if d != digest(me.cookie, ours) {
                return Err(HandshakeError::WrongCookie);
            }
        }
        _ => return Err(HandshakeError::Protocol("expected challenge_ack".into())),
    }
    s.set_read_timeout(None)?;
    Ok(peer)
}

/// Steps 1–6 as the accepting side (B). `admit` decides step 2 once the
/// peer's name is known.
pub(crate) fn accept(
    s: &TcpStream,
    me: &Me<'_>,
    admit: impl FnOnce(&Peer) -> Admit,
) -> Result<Peer, HandshakeError> {
    s.set_read_timeout(Some(SETUP_TIME))?;
    let (peer, _) = parse_n(&read_msg(s)?, false)?;
    let status = match admit(&peer) {
        Admit::Ok(st) => st,
        Admit::Refuse(st) => {
            let mut b = vec![b's'];
            b.extend_from_slice(st.as_bytes());
            let _ = s.write_all(&frame(&b));
            return Err(HandshakeError::Refused(format!("we answered {st}")));
        }
    };
    let mut b = vec![b's'];
    b.extend_from_slice(status.as_bytes());
    s.write_all(&frame(&b))?;
    let ours = challenge();
    let mut n = vec![b'N'];
    n.extend_from_slice(&flags::OURS.to_be_bytes());
    n.extend_from_slice(&ours.to_be_bytes());
    n.extend_from_slice(&me.creation.to_be_bytes());
    n.extend_from_slice(&(me.name.len() as u16).to_be_bytes());
    n.extend_from_slice(me.name.as_bytes());
    s.write_all(&frame(&n))?;
    let reply = read_msg(s)?;
    if reply.len() != 1 + 4 + 16 || reply[0] != b'r' {
        return Err(HandshakeError::Protocol("expected challenge_reply".into()));
    }
    let theirs = u32::from_be_bytes([reply[1], reply[2], reply[3], reply[4]]);
    if reply[5..] != digest(me.cookie, ours) {
        return Err(HandshakeError::WrongCookie);
    }
    let mut ack = vec![b'a'];
    ack.extend_from_slice(&digest(me.cookie, theirs));
    s.write_all(&frame(&ack))?;
    s.set_read_timeout(None)?;
    Ok(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_md5_of_the_cookie_and_the_decimal_challenge() {
        // erlang:md5("cookie" ++ integer_to_list(4294967295)) in an erl shell.
        let d = digest(b"cookie", u32::MAX);
        assert_eq!(d, md5::digest(b"cookie4294967295"));
    }

    #[test]
    fn our_flags_satisfy_otp_25() {
        assert!(check_flags(flags::OURS).is_ok());
        assert!(check_flags(flags::MANDATORY_25).is_ok());
        assert!(check_flags(flags::MANDATORY_25_DIGEST).is_ok());
        assert!(check_flags(flags::PUBLISHED).is_err());
    }

    #[test]
    fn a_short_or_pre_23_name_message_is_refused_not_a_panic() {
        for m in [&b"N"[..], b"n\x00\x05", b"Nxxxxxxxxxxxxxxx\xff\xff", b""] {
            assert!(parse_n(m, false).is_err());
            assert!(parse_n(m, true).is_err());
        }
    }
}
