//! The blocking pool: threads for work that would block a worker.
//!
//! A task that calls a blocking function (file I/O, a C library, a long
//! computation) would stall its worker and every task queued behind it. So
//! [`task::blocking`](crate::task::blocking) ships the closure to this pool,
//! parks the task, and the pool thread unparks it with the result: the BEAM's
//! dirty schedulers, Go's `entersyscall` hand-off, tokio's `spawn_blocking`.
//!
//! Threads are made on demand (a job that finds no idle thread starts one, up
//! to [`MAX_THREADS`]) and an idle thread exits after [`KEEP_ALIVE`], so a
//! program that never blocks pays for no thread. Shutdown waits for running
//! jobs: a job that never returns blocks shutdown (documented in
//! docs/scheduler.md).

use std::collections::VecDeque;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

/// Most blocking threads at once (tokio's default is 512; BEAM's dirty I/O
/// schedulers default to 10, but they are not grown on demand).
pub(crate) const MAX_THREADS: usize = 512;
/// How long an idle blocking thread waits for a job before exiting (tokio: 10 s).
pub(crate) const KEEP_ALIVE: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

/// Lock-guarded pool state.
#[derive(Default)]
struct Inner {
    jobs: VecDeque<Job>,
    /// Threads alive (running a job or idle).
    threads: usize,
    /// Threads waiting for a job.
    idle: usize,
    /// Handles of live threads, by id; a thread that exits on its own removes
    /// (and so detaches) its own.
    handles: Vec<(thread::ThreadId, JoinHandle<()>)>,
    shutdown: bool,
}

/// The pool. Shared by the scheduler's handles.
pub(crate) struct BlockingPool {
    inner: Mutex<Inner>,
    /// Signalled when a job arrives, at shutdown, and when a thread exits.
    cv: Condvar,
}

impl BlockingPool {
    pub(crate) fn new() -> BlockingPool {
        BlockingPool {
            inner: Mutex::new(Inner::default()),
            cv: Condvar::new(),
        }
    }
}

/// Queue `job` on `pool`, starting a thread if none is idle.
/// `Err(job)` after shutdown or if no thread could be started.
pub(crate) fn submit(pool: &std::sync::Arc<crate::scheduler::Shared>, job: Job) -> Result<(), Job> {
    let p = &pool.blocking;
    let mut inner = p.inner.lock();
    if inner.shutdown {
        return Err(job);
    }
    inner.jobs.push_back(job);
    if inner.idle > 0 {
        p.cv.notify_one();
        return Ok(());
    }
    if inner.threads >= MAX_THREADS {
        return Ok(()); // a busy thread takes it when done
    }
    let shared = pool.clone();
    let spawned = thread::Builder::new()
        .name("bream-blocking".into())
        .spawn(move || thread_main(&shared.blocking));
    match spawned {
        Ok(h) => {
            inner.threads += 1;
            inner.handles.push((h.thread().id(), h));
            Ok(())
        }
        Err(e) => {
            tracing::error!("bream-scheduler: cannot start a blocking thread: {e}");
            if inner.threads == 0 {
                let job = inner.jobs.pop_back().expect("just pushed");
                return Err(job);
            }
            Ok(())
        }
    }
}

fn thread_main(p: &BlockingPool) {
    let mut inner = p.inner.lock();
    loop {
        if let Some(job) = inner.jobs.pop_front() {
            drop(inner);
            job(); // jobs catch their own panics (task::blocking)
            inner = p.inner.lock();
            continue;
        }
        if inner.shutdown {
            break;
        }
        inner.idle += 1;
        let timed_out = p.cv.wait_for(&mut inner, KEEP_ALIVE).timed_out();
        inner.idle -= 1;
        if timed_out && inner.jobs.is_empty() && !inner.shutdown {
            // Exit on our own: detach our handle so nothing waits for it.
            let me = thread::current().id();
            inner.handles.retain(|(id, _)| *id != me);
            break;
        }
    }
    inner.threads -= 1;
    p.cv.notify_all();
}

impl BlockingPool {
    /// Refuse new jobs, let queued ones finish, join every thread.
    pub(crate) fn shutdown(&self) {
        let handles = {
            let mut inner = self.inner.lock();
            inner.shutdown = true;
            self.cv.notify_all();
            std::mem::take(&mut inner.handles)
        };
        for (_, h) in handles {
            let _ = h.join();
        }
        // Threads that detached themselves while exiting: wait for them too.
        let mut inner = self.inner.lock();
        while inner.threads > 0 {
            self.cv.wait(&mut inner);
        }
    }

    /// Threads alive (tests).
    #[cfg(test)]
    pub(crate) fn threads(&self) -> usize {
        self.inner.lock().threads
    }
}
