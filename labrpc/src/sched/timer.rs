//! The timer queue: a min-heap ordered by (deadline, insertion sequence), so equal deadlines fire in
//! the order they were set. Entries are not removed one by one: a woken or cancelled waiter bumps
//! its park token, the stale entry is skipped when it surfaces, and the runtime sweeps stale
//! entries out in one pass (`retain`) when they outnumber the live ones, so most timed parks end
//! early (a `recv_timeout` answered before its deadline) without growing the heap every pop
//! walks. Live timers fire in the same order either way: the order is total on (deadline,
//! sequence).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::task::{NodeId, TaskId};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimerKind {
    /// Wake `task` if it is still parked with `token`.
    Wake { task: TaskId, token: u64 },
    /// End the pause of `node` if its pause generation is still `generation`.
    Unpause { node: NodeId, generation: u64 },
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Timer {
    pub(crate) deadline_ns: u64,
    pub(crate) seq: u64,
    pub(crate) kind: TimerKind,
}

impl PartialEq for Timer {
    fn eq(&self, other: &Self) -> bool {
        (self.deadline_ns, self.seq) == (other.deadline_ns, other.seq)
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timer {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.deadline_ns, self.seq).cmp(&(other.deadline_ns, other.seq))
    }
}

#[derive(Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<Timer>>,
    next_seq: u64,
}

impl Timers {
    pub(crate) fn push(&mut self, deadline_ns: u64, kind: TimerKind) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Reverse(Timer { deadline_ns, seq, kind }));
    }

    pub(crate) fn peek(&self) -> Option<&Timer> {
        self.heap.peek().map(|t| &t.0)
    }

    pub(crate) fn peek_deadline(&self) -> Option<u64> {
        self.heap.peek().map(|t| t.0.deadline_ns)
    }

    pub(crate) fn pop(&mut self) -> Option<Timer> {
        self.heap.pop().map(|t| t.0)
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Keeps only the timers `keep` accepts (one pass, then the heap is rebuilt).
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&TimerKind) -> bool) {
        self.heap.retain(|t| keep(&t.0.kind));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wake(token: u64) -> TimerKind {
        TimerKind::Wake { task: TaskId { index: 0, generation: 0 }, token }
    }

    fn token(kind: TimerKind) -> u64 {
        match kind {
            TimerKind::Wake { token, .. } => token,
            TimerKind::Unpause { .. } => unreachable!(),
        }
    }

    /// Pops everything, as (deadline, token) pairs.
    fn drain(timers: &mut Timers) -> Vec<(u64, u64)> {
        std::iter::from_fn(|| timers.pop()).map(|t| (t.deadline_ns, token(t.kind))).collect()
    }

    #[test]
    fn equal_deadlines_fire_in_push_order() {
        let mut timers = Timers::default();
        for (i, deadline) in [5, 3, 5, 1, 3, 5].into_iter().enumerate() {
            timers.push(deadline, wake(i as u64));
        }
        assert_eq!(drain(&mut timers), vec![(1, 3), (3, 1), (3, 4), (5, 0), (5, 2), (5, 5)]);
    }

    #[test]
    fn retain_keeps_the_firing_order_of_the_survivors() {
        let mut timers = Timers::default();
        for i in 0..300u64 {
            timers.push((i * 7919) % 101, wake(i));
        }
        timers.retain(|kind| !token(*kind).is_multiple_of(3));
        assert_eq!(timers.len(), 200);
        let mut want: Vec<(u64, u64)> =
            (0..300u64).filter(|i| !i.is_multiple_of(3)).map(|i| ((i * 7919) % 101, i)).collect();
        want.sort();
        assert_eq!(drain(&mut timers), want, "survivors fire in (deadline, push order)");
    }
}
