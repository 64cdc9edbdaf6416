//! Frozen stacks (context/freeze.rs): a suspended context's frames go to the
//! heap and its pages back to the kernel, and come back byte for byte at the
//! same addresses — including frames that point into each other.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use crate::context::{suspend, Context, Exit, Resumed};
use crate::stack::{resident_pages, StackPool, DEFAULT_STACK_SIZE};

fn pool() -> &'static StackPool {
    static POOL: OnceLock<StackPool> = OnceLock::new();
    POOL.get_or_init(|| StackPool::new(DEFAULT_STACK_SIZE).unwrap())
}

fn context(f: impl FnOnce() + Send + 'static) -> Context {
    Context::new(pool().get().unwrap(), f)
}

/// Pages of the context's usable stack in RAM.
fn resident(c: &Context) -> usize {
    let (bottom, base) = c.usable_range().expect("on its stack");
    resident_pages(bottom, base).unwrap()
}

/// A frame that points at its caller's frame: `depth` frames, each with a
/// local array and a pointer to the array one frame up, all live while the
/// innermost suspends `rounds` times. After each resume every frame checks
/// its own bytes and follows its pointer to check the frame above.
#[inline(never)]
fn chain(depth: u32, up: Option<&[u64; 16]>, rounds: u32, checked: &AtomicUsize) -> u64 {
    let mut mine = [0u64; 16];
    for (i, w) in mine.iter_mut().enumerate() {
        *w = u64::from(depth) * 1000 + i as u64;
    }
    std::hint::black_box(&mut mine);
    let below = if depth == 0 {
        for _ in 0..rounds {
            suspend();
            checked.fetch_add(1, Ordering::Relaxed);
        }
        0
    } else {
        chain(depth - 1, Some(&mine), rounds, checked)
    };
    for (i, w) in mine.iter().enumerate() {
        assert_eq!(
            *w,
            u64::from(depth) * 1000 + i as u64,
            "frame {depth} word {i}"
        );
    }
    if let Some(up) = up {
        // The caller's array, reached through a pointer into the stack.
        assert_eq!(
            up[3],
            u64::from(depth + 1) * 1000 + 3,
            "frame {depth}'s pointer up"
        );
    }
    below + mine[15]
}

#[test]
fn a_frozen_context_keeps_its_frames_byte_for_byte_at_the_same_addresses() {
    let checked = Arc::new(AtomicUsize::new(0));
    let c2 = checked.clone();
    let mut c = context(move || {
        let sum = chain(20, None, 30, &c2);
        assert_eq!(sum, (0..=20).map(|d| d * 1000 + 15).sum::<u64>());
    });
    let mut frozen_once = false;
    loop {
        match c.resume() {
            Resumed::Suspended => {
                assert!(c.freeze(), "a suspended context freezes");
                assert_eq!(resident(&c), 0, "a frozen stack holds no page");
                assert!(!c.freeze(), "a frozen context does not freeze again");
                frozen_once = true;
            }
            Resumed::Finished(exit) => {
                assert_eq!(exit, Exit::Returned);
                break;
            }
        }
    }
    assert!(frozen_once);
    assert_eq!(checked.load(Ordering::Relaxed), 30);
}

#[test]
fn a_frozen_context_thaws_on_another_thread() {
    let mut c = context(|| {
        let local = [7u8; 300];
        let p: *const u8 = &local[150];
        suspend();
        // SAFETY: `p` points into `local`, alive in this frame.
        assert_eq!(unsafe { *p }, 7);
        assert!(local.iter().all(|&b| b == 7));
    });
    assert_eq!(c.resume(), Resumed::Suspended);
    assert!(c.freeze());
    let r = std::thread::spawn(move || c.resume()).join().unwrap();
    assert_eq!(r, Resumed::Finished(Exit::Returned));
}

#[test]
fn dropping_a_frozen_context_unwinds_its_frames() {
    struct Flag(Arc<AtomicUsize>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let d = dropped.clone();
    let mut c = context(move || {
        let _flag = Flag(d);
        suspend();
        unreachable!("never resumed");
    });
    assert_eq!(c.resume(), Resumed::Suspended);
    assert!(c.freeze());
    drop(c);
    assert_eq!(
        dropped.load(Ordering::Relaxed),
        1,
        "the frame's destructor ran"
    );
}

#[test]
fn only_a_suspended_context_freezes() {
    let mut c = context(suspend);
    assert!(!c.freeze(), "not started: no frames");
    assert_eq!(c.resume(), Resumed::Suspended);
    assert!(c.freeze());
    assert_eq!(c.resume(), Resumed::Finished(Exit::Returned));
    assert!(!c.freeze(), "finished: no frames");
}

/// What an idle process costs is mostly this: a context parked a few calls
/// deep keeps well under a KiB of frames (a regression guard; the runtime's
/// `idle` benchmark measures the whole process).
#[test]
fn a_shallow_suspension_freezes_to_a_few_hundred_bytes() {
    let mut c = context(suspend);
    assert_eq!(c.resume(), Resumed::Suspended);
    assert!(c.freeze());
    let bytes = c.frozen_bytes().unwrap();
    assert!(bytes < 1024, "{bytes} bytes frozen");
    assert_eq!(c.resume(), Resumed::Finished(Exit::Returned));
}
