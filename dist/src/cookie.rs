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
    cookie_at(&path()?)
}

/// The cookie in file `p`, created when missing.
fn cookie_at(p: &PathBuf) -> io::Result<String> {
    match std::fs::read_to_string(p) {
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
        Err(e) if e.kind() == io::ErrorKind::NotFound => create(p),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_missing_cookie_file_is_created_read_only_and_then_reused() {
        let dir = std::env::temp_dir().join(format!("bream-cookie-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(".erlang.cookie");
        let _ = std::fs::remove_file(&p);
        let c = cookie_at(&p).unwrap();
        assert_eq!(c.len(), 20);
        assert!(c.bytes().all(|b| b.is_ascii_uppercase()));
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o400, "as erl creates it");
        assert_eq!(cookie_at(&p).unwrap(), c, "read back, not recreated");
        let mut perm = std::fs::metadata(&p).unwrap().permissions();
        perm.set_mode(0o600);
        std::fs::set_permissions(&p, perm).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
