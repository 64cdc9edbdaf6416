//! Freezing a suspended context: its stack pages go back to the kernel and its
//! frames wait on the heap, byte for byte, until the next resume puts them back
//! at the same addresses (docs/stacks.md, "Freezing an idle stack";
//! docs/adr/scheduler-0003-frozen-stacks.md).
//!
//! # Why it is sound to move frames out and back
//!
//! A suspended context's frames are bytes in `[sp, base)` of its stack, where
//! `sp` is the stack pointer corosensei saved when the context switched away.
//! Nothing reads or writes those bytes until the context is resumed: only the
//! holder of the run right resumes it (task_ref.rs), and that is the thread
//! freezing or thawing it. Pointers into the frames (a frame holding the
//! address of a local of another frame, a `Pin`ned future on the stack) stay
//! valid because the bytes come back to the **same** addresses: the stack's
//! virtual range stays reserved (the slot is still the context's), only its
//! physical pages go. So a frozen context is, to its own code, exactly the
//! context that was suspended.
//!
//! # Where the live frames start
//!
//! corosensei does not lend the saved stack pointer, so [`suspend`] reads the
//! real one just before it switches (arch.rs, `stack_pointer`) into the
//! running record, and `resume` keeps it in `OnStack::sp`. Below that address
//! lie only the frames of the switch itself: corosensei's
//! `Yielder::suspend` (with `switch_yield` inlined into it) and the three words
//! that `switch_yield` pushes (frame pointer, rbx, return address on x86-64).
//! [`SLACK`] bytes below `sp` cover them with room to spare; a test resumes
//! frozen contexts in debug and release builds (where those frames differ),
//! and a slack that were too small would zero a return address and crash it.
//!
//! [`suspend`]: super::suspend

use super::OnStack;
use crate::stack::{discard, page_size};

/// Bytes below the recorded stack pointer kept with the frames: the switch's
/// own frames (module essay). Measured (x86-64, debug and release builds):
/// with 0 the freeze tests crash (the pushed return address is lost), with 32
/// they pass; 64 is twice that. (Every byte here is kept by every frozen
/// process: 128 cost a frozen idle process 64 bytes more for nothing.)
pub(super) const SLACK: usize = 64;

/// What a frozen context's stack held, the words of `[base - 8·n, base)`,
/// without its zero words (a third of an idle process's frames are zeros:
/// padding, cleared locals, null pointers): `[n, bitmap…, nonzero words…]`,
/// where bit `k` of the bitmap says whether word `k` of the range is kept.
pub(super) type Frozen = Box<[usize]>;

/// Bits in a bitmap word.
const BITS: usize = usize::BITS as usize;

/// Packs `words` into a [`Frozen`] (see its layout).
fn pack(words: &[usize]) -> Frozen {
    let map = words.len().div_ceil(BITS);
    let kept = words.iter().filter(|&&w| w != 0).count();
    let mut out = vec![0usize; 1 + map + kept].into_boxed_slice();
    out[0] = words.len();
    let mut next = 1 + map;
    for (k, &w) in words.iter().enumerate() {
        if w != 0 {
            out[1 + k / BITS] |= 1 << (k % BITS);
            out[next] = w;
            next += 1;
        }
    }
    out
}

/// The words `pack` was given, written out one by one through `put(k, w)`.
fn unpack(frozen: &[usize], mut put: impl FnMut(usize, usize)) {
    let n = frozen[0];
    let map = n.div_ceil(BITS);
    let mut next = 1 + map;
    for k in 0..n {
        let w = if frozen[1 + k / BITS] & (1 << (k % BITS)) != 0 {
            next += 1;
            frozen[next - 1]
        } else {
            0
        };
        put(k, w);
    }
}

impl OnStack {
    /// Freezes the suspended context (see the module essay): copies its live
    /// frames to the heap and gives every page of its stack back. False if
    /// there is nothing to freeze (not started, finished, already frozen, or
    /// an architecture without `stack_pointer`); the context is unchanged.
    ///
    /// The caller holds the run right, and the context is suspended (not
    /// running on any thread).
    pub(super) fn freeze(&mut self, usable: (usize, usize)) -> bool {
        let (bottom, base) = usable;
        if self.frozen.is_some() || self.sp == 0 || !self.co.started() || self.co.done() {
            return false;
        }
        let word = std::mem::size_of::<usize>();
        let low = self.sp.saturating_sub(SLACK).max(bottom) & !(word - 1);
        debug_assert!(
            bottom <= low && low < base,
            "sp {:#x} outside the stack",
            self.sp
        );
        let words = (base - low) / word;
        // SAFETY: `[low, base)` lies inside the context's own stack (between
        // its guard zone and its top, checked above), mapped, readable and
        // word-aligned; the context is suspended and its holder is this
        // thread, so nobody writes it while the slice lives (until `pack`
        // returns, before the pages are discarded).
        let live = unsafe { std::slice::from_raw_parts(low as *const usize, words) };
        let saved = pack(live);
        let page = page_size();
        let start = bottom & !(page - 1);
        // SAFETY: the whole usable stack `[bottom, base)` (page-aligned: pool
        // slots are) holds nothing anyone reads before `thaw` writes the live
        // part back: the frames are in `saved`, and what lies below them is
        // dead (a suspended context's stack below its stack pointer is free).
        if !unsafe { discard(start, base - start) } {
            return false; // the pages stay; `saved` is dropped
        }
        self.frozen = Some(saved);
        true
    }

    /// Puts a frozen context's frames back where they were (the first touch
    /// maps fresh pages). No-op if not frozen. The caller holds the run right
    /// and is about to resume or unwind the context.
    #[inline]
    pub(super) fn thaw(&mut self) {
        // A read, not a `take`, on the path every resume runs.
        if self.frozen.is_some() {
            self.thaw_slow();
        }
    }

    #[cold]
    #[inline(never)]
    fn thaw_slow(&mut self) {
        let Some(saved) = self.frozen.take() else {
            return;
        };
        let base = self.base;
        let low = (base - saved[0] * std::mem::size_of::<usize>()) as *mut usize;
        unpack(&saved, |k, w| {
            // SAFETY: word `k` of `[low, base)`, the range `freeze` copied
            // from: inside the context's stack, mapped (discarded pages read
            // and write as fresh zero pages), word-aligned, and nothing else
            // touches it (the caller holds the run right and the context is
            // not running).
            unsafe { low.add(k).write(w) };
        });
    }

    /// Bytes its frozen frames take on the heap, or `None` if not frozen.
    pub(super) fn frozen_bytes(&self) -> Option<usize> {
        self.frozen.as_deref().map(std::mem::size_of_val)
    }
}

#[cfg(test)]
mod tests {
    use super::{pack, unpack, BITS};

    #[test]
    fn pack_keeps_the_nonzero_words_and_unpack_puts_every_word_back() {
        for n in [1, 5, BITS - 1, BITS, BITS + 1, 3 * BITS + 7] {
            let words: Vec<usize> = (0..n)
                .map(|k| if k % 3 == 0 { 0 } else { k * 7 + 1 })
                .collect();
            let frozen = pack(&words);
            let zeros = words.iter().filter(|&&w| w == 0).count();
            assert_eq!(frozen.len(), 1 + n.div_ceil(BITS) + n - zeros);
            let mut back = vec![usize::MAX; n];
            unpack(&frozen, |k, w| back[k] = w);
            assert_eq!(back, words, "{n} words");
        }
    }
}
