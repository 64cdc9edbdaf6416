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
/// Blocks kept per class per thread: 256 × (64 + 128) bytes = 48 KiB at most.
/// A steady stream between two processes needs a handful; the cap bounds what
/// a thread that only receives (a fan-in sink) hoards.
const CAP: u32 = 256;

/// A free block's first word links it to the next free block.
struct FreeBlock {
    next: *mut FreeBlock,
}

/// One free list.
struct List {
    head: Cell<*mut FreeBlock>,
    len: Cell<u32>,
}

/// One thread's cache: a free list per class.
struct Cache {
    lists: [List; CLASSES.len()],
}

impl Drop for Cache {
    /// The thread is exiting: give every cached block back.
    fn drop(&mut self) {
        for (list, &size) in self.lists.iter().zip(CLASSES.iter()) {
            let mut p = list.head.replace(ptr::null_mut());
            while !p.is_null() {
                // SAFETY: `p` is a block on this list: allocated with the
                // class layout, owned by the list, its first word a link.
                let next = unsafe { (*p).next };
                // SAFETY: as above; nothing else refers to it.
                unsafe { std::alloc::dealloc(p.cast(), class_layout(size)) };
                p = next;
            }
        }
    }
}

thread_local! {
    static CACHE: Cache = const {
        Cache {
            lists: [
                List { head: Cell::new(ptr::null_mut()), len: Cell::new(0) },
                List { head: Cell::new(ptr::null_mut()), len: Cell::new(0) },
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
            let list = &c.lists[i];
            let p = list.head.get();
            if !p.is_null() {
                // SAFETY: `p` heads this thread's list: a free block whose
                // first word is a link.
                list.head.set(unsafe { (*p).next });
                list.len.set(list.len.get() - 1);
            }
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
            let list = &c.lists[i];
            if list.len.get() >= CAP {
                return false;
            }
            let b = p.cast::<FreeBlock>();
            // SAFETY: the block is ours (contract), at least 64 bytes and
            // 16-aligned: room for the link.
            unsafe {
                b.write(FreeBlock {
                    next: list.head.get(),
                })
            };
            list.head.set(b);
            list.len.set(list.len.get() + 1);
            true
        })
        .unwrap_or(false);
    if !kept {
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

    #[test]
    fn the_cache_keeps_at_most_cap_blocks_and_frees_the_rest() {
        let l = Layout::new::<u64>();
        // SAFETY: non-zero size; every block is freed once with its layout.
        let blocks: Vec<*mut u8> = (0..CAP + 10).map(|_| unsafe { alloc(l) }).collect();
        for &b in &blocks {
            // SAFETY: as above.
            unsafe { dealloc(b, l) };
        }
        let len = CACHE.with(|c| c.lists[0].len.get());
        assert_eq!(len, CAP);
    }
}
