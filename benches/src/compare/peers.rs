//! The implementations `compare` runs: bream (this binary, as a child) and the
//! peers of benches/peers/. For each: is it installed, how to build it, how to
//! run one workload once, and what to tell the user when it is missing.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::cli::RunOpts;
use crate::workload::{Params, Workload};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Impl {
    Bream,
    Erlang,
    Go,
    Tokio,
    May,
}

impl Impl {
    pub const ALL: [Impl; 5] = [Impl::Bream, Impl::Erlang, Impl::Go, Impl::Tokio, Impl::May];

    pub fn name(self) -> &'static str {
        match self {
            Impl::Bream => "bream",
            Impl::Erlang => "erlang",
            Impl::Go => "go",
            Impl::Tokio => "tokio",
            Impl::May => "may",
        }
    }

    pub fn from_name(s: &str) -> Option<Impl> {
        Impl::ALL.into_iter().find(|i| i.name() == s.trim())
    }

    /// What the memory check assumes one process costs here: round figures above
    /// what each measured on `spawn` (docs/benchmarking.md has the table).
    pub fn bytes_per_process_estimate(self) -> u64 {
        match self {
            Impl::Bream => crate::run::BREAM_BYTES_PER_PROCESS,
            Impl::Erlang | Impl::Go => 4 << 10,
            Impl::Tokio => 2 << 10,
            Impl::May => 16 << 10,
        }
    }

    /// Find the tools and build the program; `Err` is the one-line note that says
    /// why it is skipped and how to fix that.
    pub fn prepare(self, peers: &Path) -> Result<Prepared, String> {
        match self {
            Impl::Bream => {
                let exe = std::env::current_exe()
                    .map_err(|e| format!("cannot find bream-bench itself: {e}"))?;
                Ok(Prepared {
                    imp: self,
                    program: exe,
                    dir: None,
                })
            }
            Impl::Erlang => {
                need_tool("erl", "Erlang/OTP", "apt-get install -y erlang-base")?;
                need_tool("erlc", "Erlang/OTP", "apt-get install -y erlang-base")?;
                let dir = peers.join("erlang");
                std::fs::create_dir_all(dir.join("ebin"))
                    .map_err(|e| format!("cannot create {}: {e}", dir.join("ebin").display()))?;
                build(
                    Command::new("erlc")
                        .args(["-o", "ebin", "bream_peer.erl"])
                        .current_dir(&dir),
                    "erlc",
                )?;
                Ok(Prepared {
                    imp: self,
                    program: "erl".into(),
                    dir: Some(dir),
                })
            }
            Impl::Go => {
                need_tool("go", "Go", "apt-get install -y golang-go")?;
                let dir = peers.join("go");
                build(
                    Command::new("go")
                        .args(["build", "-o", "target/bream-peer-go", "."])
                        .env("GOTOOLCHAIN", "local")
                        .current_dir(&dir),
                    "go build",
                )?;
                Ok(Prepared {
                    imp: self,
                    program: dir.join("target/bream-peer-go"),
                    dir: None,
                })
            }
            Impl::Tokio | Impl::May => {
                let dir = peers.join(self.name());
                let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
                build(
                    Command::new(&cargo)
                        .args([
                            "build",
                            "--release",
                            "--locked",
                            "--quiet",
                            "--manifest-path",
                        ])
                        .arg(dir.join("Cargo.toml"))
                        .arg("--target-dir")
                        .arg(dir.join("target")),
                    "cargo build",
                )?;
                let program = dir.join(format!("target/release/bream-peer-{}", self.name()));
                Ok(Prepared {
                    imp: self,
                    program,
                    dir: None,
                })
            }
        }
    }
}

impl fmt::Display for Impl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An implementation ready to run.
#[derive(Debug)]
pub struct Prepared {
    pub imp: Impl,
    program: PathBuf,
    /// Where to run it from (Erlang's `-pa ebin` is relative to it).
    dir: Option<PathBuf>,
}

impl Prepared {
    /// The command for one run of `w`, printing one JSON line.
    pub fn command(&self, w: Workload, p: Params, opts: &RunOpts) -> Command {
        let workers = opts.workers();
        let mut cmd = Command::new(&self.program);
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        let peer_args = [
            w.name().to_string(),
            workers.to_string(),
            p.a.to_string(),
            p.b.to_string(),
        ];
        match self.imp {
            Impl::Bream => {
                cmd.args([w.name(), "--json", "--runs", "1", "--no-memory-check"]);
                cmd.args(["--workers", &workers.to_string()]);
                bream_size_flags(&mut cmd, w, p);
                if let Some(s) = opts.stack_size {
                    cmd.args(["--stack-size", &s.to_string()]);
                }
                if let Some(m) = opts.max_processes {
                    cmd.args(["--max-processes", &m.to_string()]);
                }
            }
            Impl::Erlang => {
                // The BEAM's process limit (+P, default 1,048,576) must cover the
                // workload's peak plus main; it is rounded up to a power of two.
                let limit = (w.peak_processes(p) + 1024).max(1 << 20);
                cmd.args([
                    "-noshell",
                    "+P",
                    &limit.to_string(),
                    "+S",
                    &format!("{workers}:{workers}"),
                ]);
                cmd.args(["-pa", "ebin", "-run", "bream_peer", "main"])
                    .args(&peer_args);
            }
            Impl::Go | Impl::Tokio | Impl::May => {
                cmd.args(&peer_args);
            }
        }
        cmd.stdin(Stdio::null());
        cmd
    }
}

/// bream-bench's own size flags for `p` (the inverse of `Workload::params`).
fn bream_size_flags(cmd: &mut Command, w: Workload, p: Params) {
    let (a, b) = (p.a.to_string(), p.b.to_string());
    let pairs: &[(&str, &str)] = match w {
        Workload::Spawn | Workload::Skynet => &[("--processes", &a)],
        Workload::Ring => &[("--processes", &a), ("--laps", &b)],
        Workload::Pingpong | Workload::Call => &[("--messages", &a)],
        Workload::Fanin | Workload::Backpressure => &[("--senders", &a), ("--messages", &b)],
        Workload::Selective => &[("--depth", &a), ("--messages", &b)],
        Workload::Timers => &[("--processes", &a), ("--timeout-ms", &b)],
        Workload::Idle if p.b == 0 => &[("--processes", &a), ("--no-freeze", "")],
        Workload::Idle => &[("--processes", &a)],
    };
    for (flag, value) in pairs {
        cmd.arg(flag);
        if !value.is_empty() {
            cmd.arg(value);
        }
    }
}

/// The version that runs, for the table's header: `OTP 25`, `go1.19.8`,
/// `tokio 1.54.1` (from the peer's Cargo.lock). Empty if it cannot be told.
pub fn version(imp: Impl, peers: &Path) -> String {
    let output = |program: &str, args: &[&str]| -> Option<String> {
        let out = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let found = match imp {
        Impl::Bream => Some(format!("bream {}", env!("CARGO_PKG_VERSION"))),
        Impl::Erlang => output(
            "erl",
            &[
                "-noshell",
                "-eval",
                "io:format(\"~s\", [erlang:system_info(otp_release)]), halt().",
            ],
        )
        .map(|v| format!("OTP {v}")),
        Impl::Go => {
            output("go", &["version"]).and_then(|v| v.split_whitespace().nth(2).map(str::to_string))
        }
        Impl::Tokio | Impl::May => {
            std::fs::read_to_string(peers.join(imp.name()).join("Cargo.lock"))
                .ok()
                .and_then(|lock| locked_version(&lock, imp.name()))
                .map(|v| format!("{} {v}", imp.name()))
        }
    };
    found.unwrap_or_default()
}

/// The version of package `name` in a Cargo.lock.
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let header = format!("name = \"{name}\"");
    let mut lines = lock.lines().skip_while(|l| l.trim() != header);
    lines.next()?;
    let v = lines.next()?.trim().strip_prefix("version = ")?;
    Some(v.trim_matches('"').to_string())
}

/// `Err(note)` unless `tool` is on the PATH.
fn need_tool(tool: &str, what: &str, install: &str) -> Result<(), String> {
    let found = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    if found {
        Ok(())
    } else {
        Err(format!(
            "`{tool}` not found; install {what} with `{install}`"
        ))
    }
}

/// Run a build step; `Err` carries the end of its output.
fn build(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run {what}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&out.stderr);
    Err(format!("{what} failed: {}", tail(&text, 3)))
}

/// The last `lines` non-empty lines of `text`, joined with " / ".
pub fn tail(text: &str, lines: usize) -> String {
    let v: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    v[v.len().saturating_sub(lines)..].join(" / ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tool_says_how_to_install_it() {
        let err = need_tool(
            "surely-not-a-tool-bream",
            "Thing",
            "apt-get install -y thing",
        )
        .unwrap_err();
        assert!(err.contains("apt-get install -y thing"), "{err}");
    }

    #[test]
    fn names_round_trip() {
        for i in Impl::ALL {
            assert_eq!(Impl::from_name(i.name()), Some(i));
        }
    }

    #[test]
    fn bream_flags_reproduce_the_params() {
        let p = Params { a: 7, b: 9 };
        let cmd = Prepared {
            imp: Impl::Bream,
            program: "x".into(),
            dir: None,
        }
        .command(
            Workload::Fanin,
            p,
            &RunOpts {
                workers: Some(2),
                ..RunOpts::default()
            },
        );
        let args: Vec<_> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let joined = args.join(" ");
        assert!(joined.starts_with("fanin --json --runs 1"), "{joined}");
        assert!(joined.contains("--senders 7 --messages 9"), "{joined}");
        assert!(joined.contains("--workers 2"), "{joined}");
    }

    #[test]
    fn idle_passes_no_freeze_to_bream() {
        let args = |b: u64| {
            let cmd = Prepared {
                imp: Impl::Bream,
                program: "x".into(),
                dir: None,
            }
            .command(Workload::Idle, Params { a: 5, b }, &RunOpts::default());
            cmd.get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert!(args(1).contains("--processes 5"), "{}", args(1));
        assert!(!args(1).contains("--no-freeze"), "{}", args(1));
        assert!(args(0).contains("--processes 5 --no-freeze"), "{}", args(0));
    }

    #[test]
    fn reads_a_version_from_a_cargo_lock() {
        let lock = "[[package]]\nname = \"tokio\"\nversion = \"1.54.1\"\n";
        assert_eq!(locked_version(lock, "tokio").as_deref(), Some("1.54.1"));
        assert_eq!(locked_version(lock, "may"), None);
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\n\nb\nc\n", 2), "b / c");
    }
}
