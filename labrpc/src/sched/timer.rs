//! The timer queue: a min-heap ordered by (deadline, insertion sequence), so equal deadlines fire in
//! the order they were set. Entries are never removed early; a woken or cancelled waiter bumps its
//! park token and the stale entry is skipped when it surfaces.

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

    pub(crate) fn peek_deadline(&self) -> Option<u64> {
        self.heap.peek().map(|t| t.0.deadline_ns)
    }

    pub(crate) fn pop(&mut self) -> Option<Timer> {
        self.heap.pop().map(|t| t.0)
    }
}
