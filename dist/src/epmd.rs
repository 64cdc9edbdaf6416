//! EPMD, the Erlang Port Mapper Daemon: where a node says which port it
//! listens on, and asks which port another node listens on.
//!
//! The protocol (OTP's erts/doc "Distribution Protocol", EPMD section) is a
//! request per TCP connection to port 4369 (`ERL_EPMD_PORT` overrides it), each
//! request prefixed by a 2-byte big-endian length:
//!
//! 1. **Register** (`ALIVE2_REQ`, 120): our port, node type 77 (a normal
//!    node), protocol 0 (TCP/IPv4), distribution versions 6..6, our name's
//!    alive part. EPMD answers `ALIVE2_X_RESP` (118: result, 32-bit creation)
//!    or, if older, `ALIVE2_RESP` (121: result, 16-bit creation). The
//!    registration lasts as long as this connection stays open: the node keeps
//!    it in its `epmd` process.
//! 2. **Look up** (`PORT_PLEASE2_REQ`, 122 + the alive part): `PORT2_RESP`
//!    (119: result 0, then the port and the versions) or a non-zero result when
//!    no such node is registered.
//!
//! When nothing listens on the EPMD port, a node starts `epmd -daemon`, as
//! `erl` does, and retries for a few hundred milliseconds.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bream::net::TcpStream;

/// EPMD's port (`ERL_EPMD_PORT` in the environment overrides it, as for `erl`).
pub(crate) fn epmd_port() -> u16 {
    std::env::var("ERL_EPMD_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(4369)
}

const ALIVE2_REQ: u8 = 120;
const ALIVE2_X_RESP: u8 = 118;
const ALIVE2_RESP: u8 = 121;
const PORT_PLEASE2_REQ: u8 = 122;
const PORT2_RESP: u8 = 119;

/// How long any EPMD exchange may take.
const TIMEOUT: Duration = Duration::from_secs(5);

fn connect(host: IpAddr) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&SocketAddr::new(host, epmd_port()), TIMEOUT)?;
    s.set_read_timeout(Some(TIMEOUT))?;
    s.set_write_timeout(Some(TIMEOUT))?;
    Ok(s)
}

fn request(s: &TcpStream, body: &[u8]) -> io::Result<()> {
    let len = u16::try_from(body.len()).map_err(|_| invalid("EPMD request too long"))?;
    let mut buf = Vec::with_capacity(body.len() + 2);
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(body);
    s.write_all(&buf)
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// Registers `alive` (the part of the node name before `@`) as listening on
/// `port`. Returns the open connection (closing it unregisters) and the
/// creation EPMD gave this incarnation.
pub(crate) fn register(alive: &str, port: u16) -> io::Result<(TcpStream, u32)> {
    let s = match connect(IpAddr::from([127, 0, 0, 1])) {
        Ok(s) => s,
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            start_daemon()?;
            connect_retrying()?
        }
        Err(e) => return Err(e),
    };
    let mut body = vec![ALIVE2_REQ];
    body.extend_from_slice(&port.to_be_bytes());
    body.extend_from_slice(&[77, 0]);
    body.extend_from_slice(&6u16.to_be_bytes());
    body.extend_from_slice(&6u16.to_be_bytes());
    body.extend_from_slice(&(alive.len() as u16).to_be_bytes());
    body.extend_from_slice(alive.as_bytes());
    body.extend_from_slice(&0u16.to_be_bytes());
    request(&s, &body)?;
    let mut head = [0u8; 2];
    s.read_exact(&mut head)?;
    let creation = match head {
        [ALIVE2_X_RESP, 0] => {
            let mut c = [0u8; 4];
            s.read_exact(&mut c)?;
            u32::from_be_bytes(c)
        }
        [ALIVE2_RESP, 0] => {
            let mut c = [0u8; 2];
            s.read_exact(&mut c)?;
            u32::from(u16::from_be_bytes(c))
        }
        [_, r] => {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!(
                    "EPMD refused to register {alive:?} (result {r}): is a node of that name \
                     already running on this host?"
                ),
            ))
        }
    };
    Ok((s, creation))
}

/// Asks the EPMD at `host` for the port of node `alive`.
pub(crate) fn port_please(host: IpAddr, alive: &str) -> io::Result<u16> {
    let s = connect(host)?;
    let mut body = vec![PORT_PLEASE2_REQ];
    body.extend_from_slice(alive.as_bytes());
    request(&s, &body)?;
    let mut head = [0u8; 2];
    s.read_exact(&mut head)?;
    match head {
        [PORT2_RESP, 0] => {
            let mut port = [0u8; 2];
            s.read_exact(&mut port)?;
            Ok(u16::from_be_bytes(port))
        }
        [PORT2_RESP, _] => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("EPMD at {host} knows no node {alive:?}"),
        )),
        _ => Err(invalid(
            "EPMD sent an unexpected answer to PORT_PLEASE2_REQ",
        )),
    }
}

/// `epmd -daemon`, as `erl` runs it when no EPMD answers.
fn start_daemon() -> io::Result<()> {
    tracing::info!("bream-dist: no EPMD is listening; starting `epmd -daemon`");
    let status = bream::blocking(|| std::process::Command::new("epmd").arg("-daemon").status());
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(io::Error::other(format!("`epmd -daemon` failed: {s}"))),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!(
                "no EPMD is listening and `epmd` could not be started ({e}); install Erlang \
                 (Debian: erlang-base) or start the node with a fixed port and no EPMD \
                 (docs/distribution.md, \"Without EPMD\")"
            ),
        )),
    }
}

fn connect_retrying() -> io::Result<TcpStream> {
    let mut last = None;
    for _ in 0..50 {
        match connect(IpAddr::from([127, 0, 0, 1])) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
        bream::sleep(Duration::from_millis(20));
    }
    Err(last.unwrap_or_else(|| io::Error::other("EPMD did not start")))
}
