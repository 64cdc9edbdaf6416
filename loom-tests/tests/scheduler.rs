#![cfg(all(bream_loom, feature = "scheduler"))]
//! loom models of bream-scheduler's protocols: the task state word
//! (scheduler/src/state.rs) and the idle protocol (scheduler/src/idle.rs).
//!
//! loom cannot see a corosensei stack switch or inside crossbeam-deque, so the
//! models drive the protocol modules with plain closures: "the worker resumes
//! the task" is a call to `transition_to_running`, "the task parks" is the
//! worker's `transition_to_parked` after the (invisible) switch back, a run
//! queue is a counter.
//!
//! What they prove:
//! - `park_unpark_*`, `cancel_*`, `finish_*`: for every interleaving of a
//!   parking task with concurrent unparkers, cancellers and its own finish,
//!   every wake that follows a park is consumed **exactly once**: either the
//!   worker sees it at `transition_to_parked` (`Notified`/`Cancelled`) or
//!   exactly one waker gets the run right (`unpark`/`cancel` returns true).
//!   Never lost (the task would sleep forever), never double (two workers would
//!   resume one stack).
//! - `the_parked_reference_changes_hands_exactly_once`: the handle a parked
//!   task keeps of itself is taken back by exactly one of the transitions out
//!   of `PARKED` (loom's `Arc` checks for the leak and the double free).
//! - `the_next_slot_hands_each_task_to_exactly_one_thread`: the worker's `next`
//!   slot, which the long-schedule monitor may take from, never loses or
//!   duplicates a task.
//! - `idle_*`: with workers searching and parking while a task is pushed, a
//!   task never stays queued while every worker sleeps: at quiescence, a
//!   non-empty queue implies some worker was woken.
//!
//! Run:
//! `RUSTFLAGS="--cfg bream_loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p loom-tests
//! --release --no-default-features --features scheduler --test scheduler`

use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;

use bream_scheduler::protocol::{Idle, NextSlot, State, ToParked, ToRunning};

/// The task runs, then its worker parks it, while one thread unparks it: the
/// wake is consumed exactly once.
#[test]
fn park_unpark_exactly_once() {
    loom::model(|| {
        let s = Arc::new(State::new());
        assert_eq!(s.transition_to_running(), ToRunning::Run);
        let s2 = s.clone();
        let waker = thread::spawn(move || s2.unpark());
        let parked = s.transition_to_parked();
        let scheduled = waker.join().unwrap();
        match parked {
            ToParked::Parked => assert!(scheduled, "wake lost: parked and nobody scheduled"),
            ToParked::Notified => assert!(!scheduled, "double: notified and scheduled"),
            ToParked::Cancelled => panic!("nobody cancelled"),
        }
        if scheduled {
            assert_eq!(s.transition_to_running(), ToRunning::Run);
        }
    });
}

/// Two unparkers race with the park: at most one schedules, and exactly one
/// of (worker notified, some unparker scheduled) happens.
#[test]
fn park_two_unparkers_one_schedule() {
    loom::model(|| {
        let s = Arc::new(State::new());
        s.transition_to_running();
        let wakers: Vec<_> = (0..2)
            .map(|_| {
                let s = s.clone();
                thread::spawn(move || usize::from(s.unpark()))
            })
            .collect();
        let parked = s.transition_to_parked();
        let scheduled: usize = wakers.into_iter().map(|w| w.join().unwrap()).sum();
        let notified = usize::from(parked == ToParked::Notified);
        assert_eq!(scheduled + notified, 1, "{parked:?}, {scheduled} schedules");
    });
}

/// An unparker and a canceller race with the park: exactly one schedule or
/// one in-place consumption, and a cancelled task is never resumed as if
/// merely unparked.
#[test]
fn cancel_and_unpark_race_with_park() {
    loom::model(|| {
        let s = Arc::new(State::new());
        s.transition_to_running();
        let su = s.clone();
        let u = thread::spawn(move || usize::from(su.unpark()));
        let sc = s.clone();
        let c = thread::spawn(move || usize::from(sc.cancel()));
        let parked = s.transition_to_parked();
        let scheduled = u.join().unwrap() + c.join().unwrap();
        match parked {
            ToParked::Parked => {
                assert_eq!(scheduled, 1, "exactly one waker takes the run right");
                assert_eq!(s.transition_to_running(), ToRunning::Cancel);
            }
            ToParked::Notified => {
                // The unpark came while running; the cancel came after the
                // worker cleared the notification and kept the run right.
                assert_eq!(scheduled, 0);
                assert_eq!(s.transition_to_parked(), ToParked::Cancelled);
            }
            ToParked::Cancelled => assert_eq!(scheduled, 0),
        }
    });
}

/// The parked reference (scheduler/src/task_ref.rs, `TaskRef::into_parked`):
/// a parking task keeps the worker's handle instead of dropping it, and the
/// one transition that moves it out of `PARKED` (an `unpark`, a `cancel`, or
/// shutdown's `finish_at_shutdown`) takes it back with `Arc::from_raw`. Here
/// an unparker and a canceller race with the park, then shutdown runs, on
/// loom's `Arc`, which reports a leak if nobody takes the reference and a
/// use-after-free if two do: it changes hands exactly once.
#[test]
fn the_parked_reference_changes_hands_exactly_once() {
    loom::model(|| {
        let s = Arc::new(State::new());
        let task = Arc::new(0u8); // stands in for the `Task`
        s.transition_to_running();
        let waker = |cancel: bool| {
            let (s, mine) = (s.clone(), task.clone());
            thread::spawn(move || {
                let won = if cancel { s.cancel() } else { s.unpark() };
                // `take_parked`; the run queue then owns the handle.
                // SAFETY: `won`: this call moved the task out of PARKED, so
                // the worker's `into_raw` below happened and nobody else
                // takes its count.
                won.then(|| unsafe { Arc::from_raw(Arc::as_ptr(&mine)) })
            })
        };
        let (u, c) = (waker(false), waker(true));
        let run_ref = task.clone(); // the handle the worker ran the task with
        match s.transition_to_parked() {
            ToParked::Parked => {
                let _ = Arc::into_raw(run_ref); // `into_parked`
            }
            // The worker keeps running (or unwinds) the task with its handle.
            ToParked::Notified | ToParked::Cancelled => drop(run_ref),
        }
        let queued: Vec<Arc<u8>> = [u.join().unwrap(), c.join().unwrap()]
            .into_iter()
            .flatten()
            .collect();
        assert!(queued.len() <= 1, "two wakers took the run right");
        drop(queued); // the worker that pops it runs it and drops the handle
        if s.finish_at_shutdown() {
            // SAFETY: the swap moved the task out of PARKED: nobody else took
            // the parked reference.
            drop(unsafe { Arc::from_raw(Arc::as_ptr(&task)) });
        }
        drop(task);
    });
}

/// The `next` slot shared by a worker and the long-schedule monitor
/// (scheduler/src/run_queue.rs, `NextSlot`): the worker puts a task, then puts
/// another (displacing the first, which it queues), and takes what is there,
/// while the monitor takes. Every task handle ends with exactly one owner:
/// loom's `Arc` reports a leak if one is lost and a use-after-free if two
/// threads take the same one.
#[test]
fn the_next_slot_hands_each_task_to_exactly_one_thread() {
    loom::model(|| {
        let slot = Arc::new(NextSlot::<u8>::new());
        let monitor = {
            let slot = slot.clone();
            thread::spawn(move || {
                let p = slot.take();
                // SAFETY: a non-null pointer swapped out of the slot is ours.
                (!p.is_null()).then(|| unsafe { Arc::from_raw(p) })
            })
        };
        let mut mine = Vec::new();
        for v in [1u8, 2] {
            let prev = slot.put(Arc::into_raw(Arc::new(v)).cast_mut());
            if !prev.is_null() {
                // SAFETY: as above: displaced, now ours (the worker queues it).
                mine.push(unsafe { Arc::from_raw(prev) });
            }
        }
        let p = slot.take();
        if !p.is_null() {
            // SAFETY: as above.
            mine.push(unsafe { Arc::from_raw(p) });
        }
        let stolen = monitor.join().unwrap();
        let mut all: Vec<u8> = mine.iter().map(|a| **a).collect();
        all.extend(stolen.as_deref().copied());
        all.sort_unstable();
        assert_eq!(all, [1, 2], "each task owned once");
        assert!(!slot.is_occupied());
    });
}

/// A task finishing while being unparked and cancelled: nobody schedules a
/// finished task, and the finish is visible.
#[test]
fn finish_races_with_unpark_and_cancel() {
    loom::model(|| {
        let s = Arc::new(State::new());
        s.transition_to_running();
        let su = s.clone();
        let u = thread::spawn(move || su.unpark());
        let sc = s.clone();
        let c = thread::spawn(move || sc.cancel());
        s.transition_to_done();
        assert!(
            !u.join().unwrap(),
            "unpark scheduled a running/finished task"
        );
        assert!(
            !c.join().unwrap(),
            "cancel scheduled a running/finished task"
        );
        assert!(s.is_done());
    });
}

/// A worker's loop in the idle model: take tasks while there are any, then
/// park by the recipe; a wake consumed before "falling asleep" sends it round
/// again. Returns when it sleeps.
fn worker(idx: usize, idle: &Idle, queue: &AtomicUsize, woken: &AtomicUsize) {
    let mut searching = false;
    for _ in 0..4 {
        if !searching {
            searching = idle.transition_worker_to_searching();
        }
        let took = queue
            .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if took {
            if searching {
                searching = false;
                if idle.transition_worker_from_searching() {
                    notify(idle, woken);
                }
            }
            continue; // "run" it, then look again
        }
        let last = idle.transition_worker_to_parked(idx, searching);
        if last && queue.load(SeqCst) > 0 {
            notify(idle, woken);
        }
        if woken.fetch_and(!(1 << idx), SeqCst) & (1 << idx) == 0 {
            return; // asleep (a later wake is checked at the end)
        }
        searching = true; // woken by `worker_to_notify`: counted as searching
    }
    panic!("worker {idx} looped without sleeping or finishing");
}

/// Step 3 of making a task runnable: wake the chosen worker (`woken` has a
/// bit per worker: "a wakeup is pending").
fn notify(idle: &Idle, woken: &AtomicUsize) {
    if let Some(w) = idle.worker_to_notify() {
        woken.fetch_or(1 << w, SeqCst);
    }
}

/// Two workers going idle while a third thread pushes one task: the task
/// never stays queued with every worker asleep.
#[test]
fn idle_no_task_waits_while_all_sleep() {
    loom::model(|| {
        let idle = Arc::new(Idle::new(2));
        let queue = Arc::new(AtomicUsize::new(0));
        let woken = Arc::new(AtomicUsize::new(0));
        let workers: Vec<_> = (0..2)
            .map(|i| {
                let (idle, queue, woken) = (idle.clone(), queue.clone(), woken.clone());
                thread::spawn(move || worker(i, &idle, &queue, &woken))
            })
            .collect();
        // The pusher: push, then step 3.
        queue.fetch_add(1, SeqCst);
        notify(&idle, &woken);
        for w in workers {
            w.join().unwrap();
        }
        if queue.load(SeqCst) > 0 {
            assert!(
                woken.load(SeqCst) != 0,
                "a task is queued, every worker sleeps, and none was woken: unparked {} searching {}",
                idle.num_unparked(), idle.num_searching()
            );
        }
    });
}

/// One worker already asleep, the other searching, when a task is pushed:
/// the searcher's last look (step 3 of going to sleep) or the pusher's wakeup
/// must catch it.
#[test]
fn idle_last_searcher_rechecks() {
    loom::model(|| {
        let idle = Arc::new(Idle::new(2));
        let queue = Arc::new(AtomicUsize::new(0));
        let woken = Arc::new(AtomicUsize::new(0));
        // Worker 1 went to sleep before anything happened.
        idle.transition_worker_to_parked(1, false);
        let (i2, q2, w2) = (idle.clone(), queue.clone(), woken.clone());
        let w0 = thread::spawn(move || worker(0, &i2, &q2, &w2));
        queue.fetch_add(1, SeqCst);
        notify(&idle, &woken);
        w0.join().unwrap();
        // Worker 1 sleeps for real: run its wake if it got one.
        if woken.load(SeqCst) & 2 != 0 {
            assert!(
                !idle.is_parked(1),
                "a woken worker is off the sleepers list"
            );
        }
        if queue.load(SeqCst) > 0 {
            assert!(
                woken.load(SeqCst) != 0,
                "a task is queued, every worker sleeps, and none was woken"
            );
        }
    });
}

/// A stand-in (scheduler/src/standin.rs) retires while a task is pushed:
/// worker 0 sleeps; the stand-in, counted as one more worker and searching,
/// stops searching (waking a sleeper if it was the last searcher, as any
/// searcher that stops does), hands back the task it had queued, and leaves
/// the idle protocol. Whatever the interleaving, a queued task is never left
/// with every worker asleep and none woken, and the counts end consistent.
#[test]
fn idle_a_stand_in_retires_while_a_task_is_pushed() {
    loom::model(|| {
        let idle = Arc::new(Idle::new(1));
        let queue = Arc::new(AtomicUsize::new(0));
        let woken = Arc::new(AtomicUsize::new(0));
        idle.transition_worker_to_parked(0, false); // worker 0 asleep
        idle.add_worker(); // the stand-in starts, awake
        assert!(idle.transition_worker_to_searching());
        let (i2, q2, w2) = (idle.clone(), queue.clone(), woken.clone());
        let stand_in = thread::spawn(move || {
            // `WorkerCtx::retire`.
            if i2.transition_worker_from_searching() {
                notify(&i2, &w2);
            }
            q2.fetch_add(1, SeqCst); // its local task, to the injector
            i2.remove_worker();
            notify(&i2, &w2);
        });
        queue.fetch_add(1, SeqCst);
        notify(&idle, &woken);
        stand_in.join().unwrap();
        assert!(
            woken.load(SeqCst) & 1 != 0,
            "two tasks queued, worker 0 asleep and never woken: unparked {} searching {}",
            idle.num_unparked(),
            idle.num_searching()
        );
        assert!(
            !idle.is_parked(0),
            "the woken worker is off the sleepers list"
        );
        assert_eq!(idle.num_unparked(), 1, "worker 0 awake, the stand-in gone");
    });
}
