//! The clocks the criterion benches read, shared by every bench file (each
//! includes this one with `#[path = "common/clock.rs"] mod clock;`).
//!
//! The development machine is shared, so wall-clock samples include time a
//! bench was preempted. Benches therefore also report CPU time: of the calling
//! thread (`CLOCK_THREAD_CPUTIME_ID`, for single-threaded work) or of the whole
//! OS process (`CLOCK_PROCESS_CPUTIME_ID`: every worker thread; an idle,
//! parked worker costs nothing).
// Each bench file uses some of these.
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// `clock_gettime(id)`.
fn read(id: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec, and the callers pass clock
    // ids that every Linux supports.
    let rc = unsafe { libc::clock_gettime(id, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime({id}) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// CPU time of the calling thread.
pub fn thread_cpu() -> Duration {
    read(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// CPU time of the whole OS process (all threads).
pub fn process_cpu() -> Duration {
    read(libc::CLOCK_PROCESS_CPUTIME_ID)
}

/// Which clock a bench reads.
#[derive(Clone, Copy)]
pub enum Clock {
    Wall,
    ProcessCpu,
}

/// A point in time on a [`Clock`].
#[derive(Clone, Copy)]
pub struct Stamp(Clock, Instant, Duration);

impl Stamp {
    pub fn now(clock: Clock) -> Stamp {
        Stamp(clock, Instant::now(), process_cpu())
    }

    pub fn elapsed(self) -> Duration {
        match self.0 {
            Clock::Wall => self.1.elapsed(),
            Clock::ProcessCpu => process_cpu().saturating_sub(self.2),
        }
    }
}
