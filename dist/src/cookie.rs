//! The cookie: the shared secret that lets two nodes connect.
//!
//! As `erl` does, a node started without an explicit cookie reads
//! `$HOME/.erlang.cookie` (trailing whitespace dropped), and creates it —
//! twenty random capital letters, mode 0400 — when it does not exist. What
//! the cookie protects and what it does not: docs/distribution.md, "Security".

use std::io::{self, Read, Write};
use std::path::PathBuf;

/// `$HOME/.erlang.cookie`.
fn path() -> io::Result<PathBuf> {
    std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".erlang.cookie"))
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "HOME is not set"))
}

/// The cookie from `~/.erlang.cookie`, created when missing.
pub(crate) fn default_cookie() -> io::Result<String> {
    let p = path()?;
    match std::fs::read_to_string(&p) {
        Ok(s) => {
            let c = s.trim_end().to_string();
            if c.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} is empty", p.display()),
                ));
            }
            Ok(c)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => create(&p),
        Err(e) => Err(e),
    }
}

fn create(p: &PathBuf) -> io::Result<String> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut raw = [0u8; 20];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut raw)?;
    let cookie: String = raw.iter().map(|b| char::from(b'A' + b % 26)).collect();
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o400)
        .open(p)?;
    f.write_all(cookie.as_bytes())?;
    tracing::info!(path = %p.display(), "bream-dist: created a new cookie file");
    Ok(cookie)
}
