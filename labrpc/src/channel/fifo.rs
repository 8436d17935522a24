//! A FIFO queue that keeps its front value inline and allocates only from the second one on.
//!
//! Most simulated channels never hold two values or two waiters at once (an RPC's reply channel
//! holds one reply and has one receiver waiting), and a `VecDeque` allocates at its first push and
//! frees at its drop: two allocations per queue per RPC. This one does neither until a second
//! value is queued. Order is exactly a `VecDeque`'s.

use std::collections::VecDeque;

pub(super) struct Fifo<T> {
    /// The front value; `None` only when the queue is empty.
    front: Option<T>,
    /// The values behind the front, in order.
    rest: VecDeque<T>,
}

impl<T> Fifo<T> {
    pub(super) const fn new() -> Fifo<T> {
        Fifo { front: None, rest: VecDeque::new() }
    }

    #[inline]
    pub(super) fn len(&self) -> usize {
        usize::from(self.front.is_some()) + self.rest.len()
    }

    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        debug_assert!(self.front.is_some() || self.rest.is_empty(), "fifo: values behind an empty front");
        self.front.is_none()
    }

    #[inline]
    pub(super) fn push_back(&mut self, value: T) {
        if self.front.is_none() {
            debug_assert!(self.rest.is_empty(), "fifo: values behind an empty front");
            self.front = Some(value);
        } else {
            self.rest.push_back(value);
        }
    }

    #[inline]
    pub(super) fn pop_front(&mut self) -> Option<T> {
        let value = self.front.take()?;
        self.front = self.rest.pop_front();
        Some(value)
    }

    pub(super) fn pop_back(&mut self) -> Option<T> {
        self.rest.pop_back().or_else(|| self.front.take())
    }

    /// Keeps the values for which `keep` holds, in order.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        if self.front.as_ref().is_some_and(|v| !keep(v)) {
            self.front = None;
        }
        self.rest.retain(keep);
        if self.front.is_none() {
            self.front = self.rest.pop_front();
        }
    }

    /// Removes every value, front first.
    pub(super) fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.front.take().into_iter().chain(self.rest.drain(..))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation, in a mixed sequence, against a `VecDeque` doing the same.
    #[test]
    fn behaves_as_a_vecdeque() {
        let (mut fifo, mut deque) = (Fifo::new(), VecDeque::new());
        let mut next = 0u32;
        // A fixed pattern of operations (0 push, 1 pop front, 2 pop back, 3 retain odd, 4 drain).
        let ops = [0, 0, 1, 0, 1, 1, 1, 0, 0, 0, 2, 1, 0, 0, 3, 1, 0, 4, 0, 2, 2, 0, 0, 0, 0, 3, 1, 1, 1, 1, 0];
        for op in ops {
            match op {
                0 => {
                    fifo.push_back(next);
                    deque.push_back(next);
                    next += 1;
                }
                1 => assert_eq!(fifo.pop_front(), deque.pop_front()),
                2 => assert_eq!(fifo.pop_back(), deque.pop_back()),
                3 => {
                    fifo.retain(|v| v % 2 == 1);
                    deque.retain(|v| v % 2 == 1);
                }
                _ => assert_eq!(fifo.drain().collect::<Vec<_>>(), deque.drain(..).collect::<Vec<_>>()),
            }
            assert_eq!(fifo.len(), deque.len());
            assert_eq!(fifo.is_empty(), deque.is_empty());
        }
    }

    #[test]
    fn retain_dropping_the_front_promotes_the_next() {
        let mut fifo = Fifo::new();
        for v in [1, 2, 3] {
            fifo.push_back(v);
        }
        fifo.retain(|&v| v != 1);
        assert_eq!(fifo.drain().collect::<Vec<_>>(), [2, 3]);
        assert!(fifo.is_empty());
    }
}
