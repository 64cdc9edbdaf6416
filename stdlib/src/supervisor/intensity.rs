//! Restart intensity: how a supervisor decides that restarting does not help.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Restart intensity: at most `intensity` restarts within any `period`
/// (OTP's `add_restart/1`, which keeps the restart times of the last period).
#[derive(Clone, Debug)]
pub(crate) struct RestartWindow {
    intensity: u32,
    period: Duration,
    /// When the restarts within the last `period` happened, oldest first.
    times: VecDeque<Instant>,
}

impl RestartWindow {
    pub(crate) fn new(intensity: u32, period: Duration) -> Self {
        RestartWindow {
            intensity,
            period,
            times: VecDeque::new(),
        }
    }

    /// The allowed restarts and the window (the supervisor's flags).
    pub(crate) fn limits(&self) -> (u32, Duration) {
        (self.intensity, self.period)
    }

    /// How many restarts within the last `period` before `now` count.
    pub(crate) fn recent(&self, now: Instant) -> usize {
        self.times
            .iter()
            .filter(|t| now.duration_since(**t) <= self.period)
            .count()
    }

    /// Record a restart at `now`; false if that makes more than `intensity`
    /// restarts within the last `period`.
    pub(crate) fn add(&mut self, now: Instant) -> bool {
        self.times.push_back(now);
        while let Some(&oldest) = self.times.front() {
            if now.duration_since(oldest) > self.period {
                self.times.pop_front();
            } else {
                break;
            }
        }
        self.times.len() <= self.intensity as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otp_defaults_allow_one_restart_in_five_seconds() {
        let t0 = Instant::now();
        let mut w = RestartWindow::new(1, Duration::from_secs(5));
        assert!(w.add(t0));
        assert!(
            !w.add(t0 + Duration::from_secs(4)),
            "a second within 5 s is one too many"
        );
    }

    #[test]
    fn restarts_older_than_the_period_no_longer_count() {
        let t0 = Instant::now();
        let mut w = RestartWindow::new(2, Duration::from_secs(1));
        assert!(w.add(t0));
        assert!(w.add(t0 + Duration::from_millis(500)));
        assert!(
            w.add(t0 + Duration::from_millis(1_200)),
            "the first has aged out"
        );
        assert!(!w.add(t0 + Duration::from_millis(1_400)));
    }

    #[test]
    fn intensity_zero_allows_no_restart() {
        let mut w = RestartWindow::new(0, Duration::from_secs(5));
        assert!(!w.add(Instant::now()));
    }
}
