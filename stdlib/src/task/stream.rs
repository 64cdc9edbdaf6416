//! `async_stream`: Elixir's `Task.async_stream/3`. Map a function over items,
//! each in its own task, with at most `max_concurrency` tasks alive at once,
//! yielding results in input order (`ordered`) or as they finish.
//!
//! # The bound is on processes, not on functions
//!
//! A slot is freed when the task's `Down` arrives, not when its result does:
//! a task that has sent its result is still a process until it has exited.
//! So "never more than `max_concurrency` tasks alive" holds for the process
//! table, not just for the user's function.
//!
//! # Timeouts (Elixir's `timeout:` with `on_timeout: :kill_task`)
//!
//! Each task has [`AsyncStream::timeout`] (default 5 s, as Elixir) from its
//! start; a task that runs longer is killed (after unlinking it) and its item
//! yields `Err(TaskError::Timeout)`. Elixir's default `on_timeout: :exit` would
//! exit the caller instead; bream hands the caller a value.
//!
//! Dropping the stream before it is exhausted kills the tasks still running,
//! as Elixir's stream does when halted.

use std::collections::{BTreeMap, VecDeque};
use std::iter::Fuse;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bream::{receive, Down, ExitReason};

use super::{Task, TaskError, TaskReply, DEFAULT_TIMEOUT, INFINITY};

/// Map `f` over `items`, each call in a task linked to the caller, at most
/// `max_concurrency` at once (at least 1); results in input order if
/// `ordered`, else as they complete (Elixir's `Task.async_stream/3`).
///
/// Lazy, like Elixir's stream: nothing is spawned until the iterator is
/// pulled, and it must be pulled by the process that made it.
///
/// ```
/// use bream_stdlib::task;
///
/// bream::run(|| {
///     let squares: Vec<u64> = task::async_stream(1..=5u64, |n| n * n, 2, true)
///         .map(|r| r.unwrap())
///         .collect();
///     assert_eq!(squares, [1, 4, 9, 16, 25]);
/// });
/// ```
pub fn async_stream<I, F, T>(
    items: I,
    f: F,
    max_concurrency: usize,
    ordered: bool,
) -> AsyncStream<I::IntoIter, F, T>
where
    I: IntoIterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> T + Send + Sync + 'static,
    T: Send + 'static,
{
    AsyncStream {
        items: items.into_iter().fuse(),
        f: Arc::new(f),
        max: max_concurrency.max(1),
        ordered,
        timeout: DEFAULT_TIMEOUT,
        running: Vec::new(),
        next_index: 0,
        next_out: 0,
        done: BTreeMap::new(),
        ready: VecDeque::new(),
    }
}

/// The iterator [`async_stream`] returns: one `Result<T, TaskError>` per item.
pub struct AsyncStream<I: Iterator, F, T: Send + 'static> {
    items: Fuse<I>,
    f: Arc<F>,
    max: usize,
    ordered: bool,
    timeout: Duration,
    /// The tasks alive (at most `max`). Owner only.
    running: Vec<Slot<T>>,
    next_index: usize,
    /// Ordered: the index to yield next; `done` holds results that finished
    /// ahead of it.
    next_out: usize,
    done: BTreeMap<usize, Result<T, TaskError>>,
    /// Unordered: results in completion order.
    ready: VecDeque<Result<T, TaskError>>,
}

/// One task of the stream.
struct Slot<T> {
    index: usize,
    task: Task<T>,
    deadline: Option<Instant>,
    /// Its result has been taken (or it was killed): only its `Down` is awaited.
    settled: bool,
}

/// One thing that happened to the stream's tasks.
enum Event<T> {
    Reply(TaskReply<T>),
    Down(Down),
    Timeout,
}

impl<I: Iterator, F, T: Send + 'static> AsyncStream<I, F, T> {
    /// Kill a task that runs longer than `timeout` (default 5 s; [`INFINITY`]
    /// for none). Elixir's `timeout:` with `on_timeout: :kill_task`.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl<I, F, T> AsyncStream<I, F, T>
where
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> T + Send + Sync + 'static,
    T: Send + 'static,
{
    fn emit(&mut self, index: usize, result: Result<T, TaskError>) {
        if self.ordered {
            self.done.insert(index, result);
        } else {
            self.ready.push_back(result);
        }
    }

    fn take_ready(&mut self) -> Option<Result<T, TaskError>> {
        if self.ordered {
            let result = self.done.remove(&self.next_out)?;
            self.next_out += 1;
            Some(result)
        } else {
            self.ready.pop_front()
        }
    }

    fn fill(&mut self) {
        while self.running.len() < self.max {
            let Some(item) = self.items.next() else {
                return;
            };
            let f = Arc::clone(&self.f);
            let task = super::spawn(move || f(item));
            let deadline = (self.timeout != INFINITY)
                .then(|| Instant::now().checked_add(self.timeout))
                .flatten();
            self.running.push(Slot {
                index: self.next_index,
                task,
                deadline,
                settled: false,
            });
            self.next_index += 1;
        }
    }

    /// Wait for one event of the running tasks and act on it.
    fn step(&mut self) {
        let next_deadline = self
            .running
            .iter()
            .filter(|s| !s.settled)
            .filter_map(|s| s.deadline)
            .min();
        let running = &self.running;
        let event = match next_deadline {
            None => receive! {
                r: TaskReply<T> if running.iter().any(|s| s.task.tag == r.tag) => Event::Reply(r),
                d: Down if running.iter().any(|s| s.task.monitor == d.monitor) => Event::Down(d),
            },
            Some(deadline) => receive! {
                r: TaskReply<T> if running.iter().any(|s| s.task.tag == r.tag) => Event::Reply(r),
                d: Down if running.iter().any(|s| s.task.monitor == d.monitor) => Event::Down(d),
                after deadline.saturating_duration_since(Instant::now()) => Event::Timeout,
            },
        };
        match event {
            Event::Reply(reply) => {
                let Some(i) = self.running.iter().position(|s| s.task.tag == reply.tag) else {
                    return;
                };
                let slot = &mut self.running[i];
                bream::unalias(slot.task.alias);
                if !slot.settled {
                    slot.settled = true;
                    let index = slot.index;
                    self.emit(index, Ok(reply.value));
                }
            }
            Event::Down(down) => {
                let Some(i) = self
                    .running
                    .iter()
                    .position(|s| s.task.monitor == down.monitor)
                else {
                    return;
                };
                // The slot is free only now: the process is gone.
                let slot = self.running.swap_remove(i);
                bream::unalias(slot.task.alias);
                if !slot.settled {
                    self.emit(slot.index, Err(TaskError::Exit(down.reason)));
                }
            }
            Event::Timeout => {
                let now = Instant::now();
                let mut late = Vec::new();
                for slot in &mut self.running {
                    if !slot.settled && slot.deadline.is_some_and(|d| d <= now) {
                        slot.settled = true;
                        bream::unlink(slot.task.pid);
                        bream::exit(slot.task.pid, ExitReason::Kill);
                        late.push(slot.index);
                    }
                }
                for index in late {
                    self.emit(index, Err(TaskError::Timeout));
                }
            }
        }
    }
}

impl<I, F, T> Iterator for AsyncStream<I, F, T>
where
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> T + Send + Sync + 'static,
    T: Send + 'static,
{
    type Item = Result<T, TaskError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(result) = self.take_ready() {
                return Some(result);
            }
            self.fill();
            if self.running.is_empty() {
                return None;
            }
            self.step();
        }
    }
}

impl<I: Iterator, F, T: Send + 'static> Drop for AsyncStream<I, F, T> {
    fn drop(&mut self) {
        for slot in self.running.drain(..) {
            let task = slot.task;
            bream::unlink(task.pid);
            bream::exit(task.pid, ExitReason::Kill);
            bream::unalias(task.alias);
            bream::demonitor(task.monitor, true);
            // A result that arrived before the alias went: take it out of
            // the mailbox, where nothing else would.
            let tag = task.tag;
            receive! {
                r: TaskReply<T> if r.tag == tag => drop(r),
                after Duration::ZERO => (),
            }
        }
    }
}

impl<I: Iterator, F, T: Send + 'static> std::fmt::Debug for AsyncStream<I, F, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncStream")
            .field("max_concurrency", &self.max)
            .field("ordered", &self.ordered)
            .field("running", &self.running.len())
            .finish()
    }
}
