//! A per-thread cache of message blocks: `alloc` and `dealloc` with the
//! signatures of `std::alloc`'s, for the blocks of small messages.
//!
//! # Why
//!
//! Every message is one heap block, allocated by its sender and freed by its
//! receiver. Between two processes on one worker that is a `malloc` and a
//! `free` per message, and glibc's fast paths for them cost about 75
//! instructions each (callgrind, ping-pong): close to a fifth of a round trip.
//! Most messages are small (a pid, a number, a tag), so their blocks all fit
//! a couple of sizes.
//!
//! # How
//!
//! Blocks of at most [`CLASSES`]`[i]` bytes (and alignment at most
//! [`ALIGN`]) are allocated as blocks of exactly that size class, and a freed
//! one goes onto a free list of its class in the freeing thread's cache
//! (at most [`CAP`] blocks a class) instead of back to the allocator. The next
//! allocation of that class on that thread pops it: a thread-local read, a
//! pointer swap. Larger blocks go straight to the global allocator.
//!
//! A block may be allocated on one thread and freed on another (a message
//! between workers): it simply joins the freeing thread's cache. Every block of
//! a class has the class's layout, so whichever thread finally hands it to the
//! global allocator passes the layout it was allocated with. A thread's cache
//! is emptied into the global allocator when the thread exits.
//!
//! # Stackful tasks and thread-locals
//!
//! The cache is reached only through the `#[inline(never)]` functions below,
//! which never suspend: no caller keeps the thread-local's address across a
//! task switch that may move it to another thread (see
//! scheduler/src/worker.rs, "Thread-locals").
//!
//! Under `--cfg bream_loom` the cache is not compiled: sync.rs hands out loom's
//! leak-tracking allocator directly.

use core::alloc::Layout;
use core::cell::Cell;
use core::ptr;

/// The size classes, in bytes. 64 holds a header (24 bytes) and a payload of up
/// to 40 (a pid, a tuple of a few words); 128 a gen_server call with its
/// reference and alias.
const CLASSES: [usize; 2] = [64, 128];
/// The alignment every cached block is allocated with.
const ALIGN: usize = 16;
/// Blocks in a full magazine. A thread keeps two magazines a class (so at
/// most 2 × 128 × (64 + 128) bytes = 48 KiB), and goes to the depot at most
/// once every 128 allocations or frees of a class.
const MAGAZINE: u32 = 128;
/// Full magazines the depot keeps a class: 32 × 128 blocks, 256 KiB of
/// 64-byte blocks and 512 KiB of 128-byte ones at most; past that a full
/// magazine goes back to the global allocator.
const DEPOT_CAP: usize = 32;

/// A free block's first word links it to the next free block.
struct FreeBlock {
    next: *mut FreeBlock,
}

/// A stack of free blocks of one class, linked through their first words.
struct Magazine {
    head: *mut FreeBlock,
    len: u32,
}

// SAFETY: a magazine owns its blocks (free memory, no values in them); moving
// it to the depot moves that ownership, and the depot's lock orders the hand-off.
unsafe impl Send for Magazine {}

impl Magazine {
    const EMPTY: Magazine = Magazine {
        head: ptr::null_mut(),
        len: 0,
    };

    /// Gives every block back to the global allocator.
    fn free_all(mut self, size: usize) {
        while !self.head.is_null() {
            let p = self.head;
            // SAFETY: `p` is a block of this magazine: allocated with the
            // class layout, owned here, its first word a link.
            self.head = unsafe { (*p).next };
            // SAFETY: as above; nothing else refers to it.
            unsafe { std::alloc::dealloc(p.cast(), class_layout(size)) };
        }
    }
}

/// One class's pair of magazines in one thread (Bonwick's magazine layer):
/// `loaded` serves allocations and takes frees; `spare` is empty or full.
struct Class {
    loaded: Cell<Magazine>,
    spare: Cell<Magazine>,
}

/// One thread's cache: two magazines per class.
struct Cache {
    classes: [Class; CLASSES.len()],
}

/// Full magazines shared by all threads, one stack a class. A thread that
/// only frees (a fan-in sink) fills magazines that a thread that only
/// allocates (its senders) takes, instead of both going to `malloc` and
/// `free` across threads (glibc's slowest path: 35% of fan-in's CPU before).
static DEPOT: [std::sync::Mutex<Vec<Magazine>>; CLASSES.len()] = [
    std::sync::Mutex::new(Vec::new()),
    std::sync::Mutex::new(Vec::new()),
];

/// Hands a full magazine of class `i` to the depot (or to the allocator if
/// the depot is full).
#[cold]
fn depot_put(i: usize, m: Magazine) {
    let mut d = DEPOT[i].lock().unwrap_or_else(|e| e.into_inner());
    if d.len() < DEPOT_CAP {
        d.push(m);
    } else {
        drop(d);
        m.free_all(CLASSES[i]);
    }
}

/// A full magazine of class `i` from the depot, if it has one.
#[cold]
fn depot_take(i: usize) -> Option<Magazine> {
    DEPOT[i].lock().unwrap_or_else(|e| e.into_inner()).pop()
}

impl Drop for Cache {
    /// The thread is exiting: its magazines go to the depot (or back).
    fn drop(&mut self) {
        for (i, class) in self.classes.iter().enumerate() {
            for m in [class.loaded.replace(Magazine::EMPTY), class.spare.replace(Magazine::EMPTY)] {
                if m.len == MAGAZINE {
                    depot_put(i, m);
                } else {
                    m.free_all(CLASSES[i]);
                }
            }
        }
    }
}

thread_local! {
    static CACHE: Cache = const {
        Cache {
            classes: [
                Class { loaded: Cell::new(Magazine::EMPTY), spare: Cell::new(Magazine::EMPTY) },
                Class { loaded: Cell::new(Magazine::EMPTY), spare: Cell::new(Magazine::EMPTY) },
            ],
        }
    };
}

fn class_layout(size: usize) -> Layout {
    match Layout::from_size_align(size, ALIGN) {
        Ok(l) => l,
        Err(_) => unreachable!("the size classes are valid layouts"),
    }
}

/// The class a layout belongs to, if any.
#[inline]
fn class_of(layout: Layout) -> Option<usize> {
    if layout.align() > ALIGN {
        return None;
    }
    CLASSES.iter().position(|&c| layout.size() <= c)
}

/// Allocates a block for `layout`, from this thread's cache when it has one.
///
/// # Safety
/// As `std::alloc::alloc`: `layout` has a non-zero size.
#[inline]
pub(crate) unsafe fn alloc(layout: Layout) -> *mut u8 {
    match class_of(layout) {
        Some(i) => alloc_class(i),
        // SAFETY: the caller's contract.
        None => unsafe { std::alloc::alloc(layout) },
    }
}

/// Frees a block [`alloc`] returned for `layout`.
///
/// # Safety
/// As `std::alloc::dealloc`: `p` came from [`alloc`] with this same `layout`
/// and is not used afterwards.
#[inline]
pub(crate) unsafe fn dealloc(p: *mut u8, layout: Layout) {
    match class_of(layout) {
        // SAFETY: a block of class `i` (same layout, same class), given up.
        Some(i) => unsafe { dealloc_class(p, i) },
        // SAFETY: the caller's contract; `alloc` used the global allocator.
        None => unsafe { std::alloc::dealloc(p, layout) },
    }
}

#[inline(never)]
fn alloc_class(i: usize) -> *mut u8 {
    let cached = CACHE
        .try_with(|c| {
            let class = &c.classes[i];
            let mut m = class.loaded.replace(Magazine::EMPTY);
            if m.len == 0 {
                let spare = class.spare.replace(Magazine::EMPTY);
                if spare.len == MAGAZINE {
                    m = spare;
                } else if let Some(full) = depot_take(i) {
                    m = full; // `spare` was empty: nothing dropped
                } else {
                    return ptr::null_mut();
                }
            }
            let p = m.head;
            // SAFETY: `m` is not empty: `p` is a free block whose first word
            // is a link.
            m.head = unsafe { (*p).next };
            m.len -= 1;
            class.loaded.set(m);
            p
        })
        .unwrap_or(ptr::null_mut());
    if !cached.is_null() {
        return cached.cast();
    }
    // SAFETY: the class layouts have a non-zero size.
    unsafe { std::alloc::alloc(class_layout(CLASSES[i])) }
}

/// # Safety
/// `p` is a block of class `i` that the caller gives up.
#[inline(never)]
unsafe fn dealloc_class(p: *mut u8, i: usize) {
    let kept = CACHE
        .try_with(|c| {
            let class = &c.classes[i];
            let mut m = class.loaded.replace(Magazine::EMPTY);
            if m.len == MAGAZINE {
                let spare = class.spare.replace(m);
                if spare.len == MAGAZINE {
                    depot_put(i, spare);
                }
                m = Magazine::EMPTY;
            }
            let b = p.cast::<FreeBlock>();
            // SAFETY: the block is ours (contract), at least 64 bytes and
            // 16-aligned: room for the link.
            unsafe { b.write(FreeBlock { next: m.head }) };
            m.head = b;
            m.len += 1;
            class.loaded.set(m);
        })
        .is_ok();
    if !kept {
        // The thread's cache is gone (thread exit).
        // SAFETY: allocated with the class layout (contract); given up.
        unsafe { std::alloc::dealloc(p, class_layout(CLASSES[i])) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_freed_block_is_reused_by_the_next_allocation_of_its_class() {
        let l = Layout::new::<[u64; 4]>();
        // SAFETY: non-zero size; the block is freed with the same layout.
        unsafe {
            let a = alloc(l);
            dealloc(a, l);
            let b = alloc(l);
            assert_eq!(a, b, "served from the cache");
            dealloc(b, l);
        }
    }

    #[test]
    fn classes_and_the_uncached_rest() {
        assert_eq!(class_of(Layout::from_size_align(1, 1).unwrap()), Some(0));
        assert_eq!(class_of(Layout::from_size_align(64, 16).unwrap()), Some(0));
        assert_eq!(class_of(Layout::from_size_align(65, 8).unwrap()), Some(1));
        assert_eq!(class_of(Layout::from_size_align(129, 8).unwrap()), None);
        assert_eq!(class_of(Layout::from_size_align(32, 64).unwrap()), None);
    }

    /// Held by this thread: its two magazines of class `i`.
    fn held(i: usize) -> u32 {
        CACHE.with(|c| {
            let class = &c.classes[i];
            let (l, s) = (class.loaded.replace(Magazine::EMPTY), class.spare.replace(Magazine::EMPTY));
            let n = l.len + s.len;
            class.loaded.set(l);
            class.spare.set(s);
            n
        })
    }

    #[test]
    fn a_thread_keeps_two_magazines_and_hands_full_ones_to_the_depot() {
        let l = Layout::new::<[u64; 6]>(); // class 0
        let n = 3 * MAGAZINE as usize + 5;
        // SAFETY: non-zero size; every block is freed once with its layout.
        let blocks: Vec<usize> = (0..n).map(|_| unsafe { alloc(l) } as usize).collect();
        std::thread::spawn(move || {
            for &b in &blocks {
                // SAFETY: as above (freed on another thread: a fan-in sink).
                unsafe { dealloc(b as *mut u8, l) };
            }
            // 3 full magazines and 5 blocks: the loaded one has 5, the spare
            // is full, and at least one full magazine went to the depot.
            assert_eq!(held(0), MAGAZINE + 5);
        })
        .join()
        .unwrap();
        // A thread that only allocates takes full magazines from the depot:
        // the blocks the other thread freed come back.
        let mut back = 0;
        let again: Vec<*mut u8> = (0..MAGAZINE as usize)
            // SAFETY: non-zero size.
            .map(|_| unsafe { alloc(l) })
            .collect();
        for &p in &again {
            back += usize::from(!p.is_null());
            // SAFETY: allocated above with `l`.
            unsafe { dealloc(p, l) };
        }
        assert_eq!(back, MAGAZINE as usize);
        let depot = DEPOT[0].lock().unwrap().len();
        assert!(depot <= DEPOT_CAP);
    }
}
