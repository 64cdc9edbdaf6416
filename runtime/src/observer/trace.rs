//! Switching the event trace on from the runtime's builder.
//!
//! The scheduler records and writes the trace (bream-scheduler's trace/);
//! the runtime only says where, and how to name a process's track: by its
//! pid, as `<0.7.0>`.

use std::path::PathBuf;

use bream_scheduler::trace::Config;

use crate::runtime::Builder;
use crate::Pid;

/// The scheduler's trace settings for a runtime traced to `path` (`None`:
/// the `BREAM_TRACE` environment variable decides).
pub(crate) fn trace_config(path: Option<PathBuf>) -> Config {
    Config {
        path,
        names: Some(pid_name),
    }
}

fn pid_name(tag: u64) -> String {
    Pid::from_bits(tag).to_string()
}

impl Builder {
    /// Write a trace of the scheduler's events (slices on each worker,
    /// steals, wakes, parks, spawns, exits with their reason, and every
    /// message as a flow arrow) to `path` when the runtime shuts down, in
    /// Perfetto's TrackEvent protobuf: open it at ui.perfetto.dev, or draw
    /// it with `bream-bench trace`. Setting the `BREAM_TRACE` environment
    /// variable to a path does the same for a program that does not call
    /// this. docs/watch-it-run.md reads one.
    ///
    /// The trace is held in memory until shutdown (about 40 bytes an
    /// event, capped by `BREAM_TRACE_MAX_EVENTS`, default 4,000,000).
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("doc-{}.pftrace", std::process::id()));
    /// let rt = bream::Runtime::builder().trace(&path).build().unwrap();
    /// rt.block_on(|| bream::spawn(|| {}));
    /// rt.shutdown();
    /// assert!(std::fs::metadata(&path).unwrap().len() > 0);
    /// # std::fs::remove_file(&path).ok();
    /// ```
    pub fn trace(mut self, path: impl Into<PathBuf>) -> Self {
        self.trace = Some(path.into());
        self
    }
}
