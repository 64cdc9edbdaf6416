//! The work stacks of the encoder and decoder, kept off the heap while small.
//!
//! Both walk terms with an explicit stack instead of recursion (see
//! `etf/mod.rs`). Most terms on the wire are shallow — a control tuple, a
//! message of a few levels — so a fresh `Vec` per call would be a heap
//! allocation per message for nothing. [`Stack`] keeps its first `N` entries
//! in an array inside the caller's frame and spills to a `Vec` beyond that.
//! (The sizes are guesses, not tuned: room for typical depths and tuple
//! widths at a few hundred bytes of native stack.)

/// A LIFO stack: the first `N` entries inline, the rest in a `Vec`.
///
/// Invariant: `spill` is non-empty only while all `N` inline slots are in
/// use, so the newest entry is always `spill`'s last, else `inline[len - 1]`.
pub(crate) struct Stack<T, const N: usize> {
    inline: [Option<T>; N],
    len: usize,
    spill: Vec<T>,
}

impl<T, const N: usize> Stack<T, N> {
    pub(crate) fn new() -> Self {
        Stack {
            inline: std::array::from_fn(|_| None),
            len: 0,
            spill: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, v: T) {
        if self.len < N && self.spill.is_empty() {
            self.inline[self.len] = Some(v);
            self.len += 1;
        } else {
            self.spill.push(v);
        }
    }

    pub(crate) fn pop(&mut self) -> Option<T> {
        if let Some(v) = self.spill.pop() {
            return Some(v);
        }
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        self.inline[self.len].take()
    }

    pub(crate) fn last_mut(&mut self) -> Option<&mut T> {
        if !self.spill.is_empty() {
            return self.spill.last_mut();
        }
        match self.len {
            0 => None,
            n => self.inline[n - 1].as_mut(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len + self.spill.len()
    }
}

impl<T, const N: usize> Extend<T> for Stack<T, N> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for v in iter {
            self.push(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Stack;

    #[test]
    fn is_lifo_across_the_inline_part_and_the_spill() {
        let mut s: Stack<u32, 3> = Stack::new();
        let mut model = Vec::new();
        // Pushes and pops interleaved so the spill empties and refills.
        for step in 0..200u32 {
            if step % 7 < 4 {
                s.push(step);
                model.push(step);
            } else {
                assert_eq!(s.pop(), model.pop());
            }
            assert_eq!(s.len(), model.len());
            assert_eq!(s.last_mut().copied(), model.last().copied());
        }
        while let Some(v) = model.pop() {
            assert_eq!(s.pop(), Some(v));
        }
        assert_eq!(s.pop(), None);
    }
}
