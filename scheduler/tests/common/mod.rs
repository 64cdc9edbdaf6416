//! Helpers shared by the public-API tests.
#![allow(dead_code)]

use std::any::Any;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use bream_scheduler::{Outcome, Scheduler, SpawnOpts, TaskOwner, TaskRef};

/// Sends every outcome to a channel.
pub struct Report(pub Mutex<mpsc::Sender<Outcome>>);

impl TaskOwner for Report {
    fn on_exit(&self, o: Outcome) {
        let _ = self.0.lock().unwrap().send(o);
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An owner reporting to a fresh channel.
pub fn report() -> (Arc<dyn TaskOwner>, mpsc::Receiver<Outcome>) {
    let (tx, rx) = mpsc::channel();
    (Arc::new(Report(Mutex::new(tx))), rx)
}

/// Counts exits; `wait(n)` blocks until n tasks exited.
#[derive(Default)]
pub struct Counter {
    pub done: AtomicUsize,
    pub returned: AtomicUsize,
    /// `wait`'s target: exits below it notify nobody (a notify per exit
    /// would make the test measure futex wakeups).
    target: AtomicUsize,
    lock: Mutex<()>,
    cv: std::sync::Condvar,
}

impl TaskOwner for Counter {
    fn on_exit(&self, o: Outcome) {
        if o == Outcome::Returned {
            self.returned.fetch_add(1, Ordering::Relaxed);
        }
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        let target = self.target.load(Ordering::SeqCst);
        if target != 0 && done >= target {
            let _g = self.lock.lock().unwrap();
            self.cv.notify_all();
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Counter {
    pub fn wait(&self, n: usize) {
        self.target.store(n, Ordering::SeqCst);
        let mut g = self.lock.lock().unwrap();
        while self.done.load(Ordering::SeqCst) < n {
            g = self.cv.wait(g).unwrap();
        }
    }
}

/// Spawn with default options, panicking on error.
pub fn spawn(
    s: &Scheduler,
    owner: &Arc<dyn TaskOwner>,
    f: impl FnOnce() + Send + 'static,
) -> TaskRef {
    s.spawn(SpawnOpts::default(), owner.clone(), f).unwrap()
}
