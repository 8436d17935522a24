//! The timer queue: a min-heap ordered by (deadline, insertion sequence), so equal deadlines fire in
//! the order they were set. Entries are not removed one by one: a woken or cancelled waiter bumps
//! its park token, the stale entry is skipped when it surfaces, and the runtime sweeps stale
//! entries out in one pass (`retain`) when they outnumber the live ones, so most timed parks end
//! early (a `recv_timeout` answered before its deadline) without growing the heap every pop
//! walks. Live timers fire in the same order either way: the order is total on (deadline,
//! sequence), so the heap's shape never shows.
//!
//! Layout, for the cache: the heap is 4-ary (half the levels of a binary heap) over 16-byte
//! entries (deadline, sequence and the index of the timer's kind), so a node's four children
//! share about one cache line; the kinds wait in a side table, read once, when a timer fires.
//! Popping from a binary heap of 40-byte entries was about a fifth of the scheduler loop's own
//! time in the Raft family (perf).

use super::task::{NodeId, TaskId};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimerKind {
    /// Wake `task` if it is still parked with `token`.
    Wake { task: TaskId, token: u64 },
    /// End the pause of `node` if its pause generation is still `generation`.
    Unpause { node: NodeId, generation: u64 },
    /// A `Wake` whose park ended another way (`cancel_wake`): it does nothing when it surfaces,
    /// and a sweep drops it without looking its thread up.
    Cancelled,
}

/// Children per heap node.
const ARITY: usize = 4;

/// A heap entry: the deadline, then one word with the insertion sequence in its high half and
/// the kind's index in `Timers::kinds` in its low half. Sequences are unique, so comparing
/// (deadline, word) orders by (deadline, sequence).
#[derive(Clone, Copy, Debug)]
struct Entry {
    deadline_ns: u64,
    seq_and_kind: u64,
}

impl Entry {
    #[inline(always)]
    fn key(self) -> u128 {
        ((self.deadline_ns as u128) << 64) | self.seq_and_kind as u128
    }

    #[inline(always)]
    fn kind_index(self) -> usize {
        self.seq_and_kind as u32 as usize
    }

    #[inline(always)]
    fn seq(self) -> u32 {
        (self.seq_and_kind >> 32) as u32
    }
}

#[derive(Default)]
pub(crate) struct Timers {
    /// 4-ary min-heap on `Entry::key`.
    heap: Vec<Entry>,
    /// Kinds of the timers in the heap, by index; unused indices are in `free`.
    kinds: Vec<TimerKind>,
    free: Vec<u32>,
    /// By task slot: the kind index of the last `Wake` pushed for the slot's thread, which is the
    /// timer of its park while that park is timed and on.
    wake_of_slot: Vec<u32>,
    /// The next insertion sequence. 32 bits: when they run out, the entries are renumbered in
    /// their order (`renumber`), which keeps every comparison's outcome.
    next_seq: u32,
}

impl Timers {
    /// Inlined: out of line, the caller's freshly built `kind` went through memory and was read
    /// back at once, which stalled (perf: half of the call's time on that copy).
    #[inline(always)]
    pub(crate) fn push(&mut self, deadline_ns: u64, kind: TimerKind) {
        if self.next_seq == u32::MAX {
            self.renumber();
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let index = match self.free.pop() {
            Some(index) => {
                self.kinds[index as usize] = kind;
                index
            }
            None => {
                assert!(self.kinds.len() < u32::MAX as usize, "labrpc: too many timers");
                self.kinds.push(kind);
                (self.kinds.len() - 1) as u32
            }
        };
        if let TimerKind::Wake { task, .. } = kind {
            let slot = task.index as usize;
            if slot >= self.wake_of_slot.len() {
                self.wake_of_slot.resize(slot + 1, u32::MAX);
            }
            self.wake_of_slot[slot] = index;
        }
        let entry = Entry { deadline_ns, seq_and_kind: ((seq as u64) << 32) | index as u64 };
        self.heap.push(entry);
        self.sift_up(self.heap.len() - 1, entry);
    }

    /// Marks the deadline timer of `task`'s park `Cancelled`: the park ended another way. Only
    /// for a timed park that is still on (its timer is in the queue, and the last `Wake` pushed
    /// for the task's slot).
    #[inline(always)]
    pub(crate) fn cancel_wake(&mut self, task: TaskId) {
        let index = self.wake_of_slot[task.index as usize] as usize;
        debug_assert!(
            matches!(self.kinds[index], TimerKind::Wake { task: t, .. } if t == task),
            "cancel_wake: the slot's last timer is not this thread's"
        );
        self.kinds[index] = TimerKind::Cancelled;
    }

    /// The kind of the earliest timer.
    pub(crate) fn peek_kind(&self) -> Option<TimerKind> {
        self.heap.first().map(|e| self.kinds[e.kind_index()])
    }

    pub(crate) fn peek_deadline(&self) -> Option<u64> {
        self.heap.first().map(|e| e.deadline_ns)
    }

    /// Takes the earliest timer off the queue (its deadline is `peek_deadline`'s).
    pub(crate) fn pop(&mut self) -> Option<TimerKind> {
        let last = self.heap.pop()?;
        let top = match self.heap.first().copied() {
            Some(top) => {
                self.sift_down_to_bottom(last);
                top
            }
            None => last,
        };
        let index = top.kind_index();
        self.free.push(index as u32);
        Some(self.kinds[index])
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Keeps only the timers `keep` accepts (one pass, then the heap is rebuilt).
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&TimerKind) -> bool) {
        let (kinds, free) = (&self.kinds, &mut self.free);
        self.heap.retain(|e| {
            let kept = keep(&kinds[e.kind_index()]);
            if !kept {
                free.push(e.kind_index() as u32);
            }
            kept
        });
        self.heapify();
    }

    /// Moves `entry` up from hole `i` to its place.
    #[inline(always)]
    fn sift_up(&mut self, mut i: usize, entry: Entry) {
        let key = entry.key();
        while i > 0 {
            let parent = (i - 1) / ARITY;
            if self.heap[parent].key() <= key {
                break;
            }
            self.heap[i] = self.heap[parent];
            i = parent;
        }
        self.heap[i] = entry;
    }

    /// Moves `entry` down from hole `i` to its place.
    #[inline(always)]
    fn sift_down(&mut self, mut i: usize, entry: Entry) {
        let key = entry.key();
        let len = self.heap.len();
        loop {
            let first = ARITY * i + 1;
            if first >= len {
                break;
            }
            let mut least = first;
            let mut least_key = self.heap[first].key();
            for child in first + 1..(first + ARITY).min(len) {
                let child_key = self.heap[child].key();
                if child_key < least_key {
                    least = child;
                    least_key = child_key;
                }
            }
            if key <= least_key {
                break;
            }
            self.heap[i] = self.heap[least];
            i = least;
        }
        self.heap[i] = entry;
    }

    /// Fills the hole at the root with `entry` (the last one): the hole moves down to a leaf,
    /// each level's least child moving up, then `entry` moves up from there. The last entry
    /// nearly always belongs near the bottom, so this skips a comparison with it per level.
    #[inline(always)]
    fn sift_down_to_bottom(&mut self, entry: Entry) {
        let len = self.heap.len();
        let mut i = 0;
        loop {
            let first = ARITY * i + 1;
            if first + ARITY > len {
                break;
            }
            let least = self.least_of_four(first);
            self.heap[i] = self.heap[least];
            i = least;
        }
        let first = ARITY * i + 1;
        if first < len {
            // Fewer than four children, all leaves.
            let mut least = first;
            for child in first + 1..len {
                if self.heap[child].key() < self.heap[least].key() {
                    least = child;
                }
            }
            self.heap[i] = self.heap[least];
            i = least;
        }
        self.sift_up(i, entry);
    }

    /// The index of the least of the four entries from `first`. Which child is least is a coin
    /// toss for the branch predictor, so the choice is made with arithmetic, not branches.
    #[inline(always)]
    fn least_of_four(&self, first: usize) -> usize {
        let four = &self.heap[first..first + ARITY];
        let (k0, k1, k2, k3) = (four[0].key(), four[1].key(), four[2].key(), four[3].key());
        let (low, high) = (k1 < k0, k3 < k2);
        let (a, ka) = (low as usize, if low { k1 } else { k0 });
        let (b, kb) = (2 + high as usize, if high { k3 } else { k2 });
        let second = kb < ka;
        first + if second { b } else { a }
    }

    fn heapify(&mut self) {
        let len = self.heap.len();
        if len < 2 {
            return;
        }
        for i in (0..=(len - 2) / ARITY).rev() {
            let entry = self.heap[i];
            self.sift_down(i, entry);
        }
    }

    /// Gives the entries the sequences 0, 1, ... in their current order (a sorted array is a
    /// heap), so sequences can go on without wrapping around.
    #[cold]
    fn renumber(&mut self) {
        self.heap.sort_unstable_by_key(|e| e.key());
        for (seq, e) in self.heap.iter_mut().enumerate() {
            e.seq_and_kind = ((seq as u64) << 32) | e.kind_index() as u64;
        }
        self.next_seq = self.heap.len() as u32;
        debug_assert!(self.heap.iter().enumerate().all(|(i, e)| e.seq() as usize == i));
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
            TimerKind::Unpause { .. } | TimerKind::Cancelled => unreachable!(),
        }
    }

    /// A cancelled wake-up stays in its place in the queue as `Cancelled`, and a sweep that drops
    /// cancelled timers keeps the others' order; a slot's later timer is the one cancelled next.
    #[test]
    fn cancel_marks_the_slots_last_wake_up() {
        let mut timers = Timers::default();
        let task = |index| TaskId { index, generation: 0 };
        timers.push(30, TimerKind::Wake { task: task(0), token: 1 });
        timers.push(10, TimerKind::Wake { task: task(1), token: 1 });
        timers.push(20, TimerKind::Wake { task: task(0), token: 2 });
        timers.cancel_wake(task(0));
        timers.cancel_wake(task(1));
        let kinds: Vec<(u64, TimerKind)> =
            std::iter::from_fn(|| Some((timers.peek_deadline()?, timers.pop()?))).collect();
        assert_eq!(
            kinds,
            vec![
                (10, TimerKind::Cancelled),
                (20, TimerKind::Cancelled),
                (30, TimerKind::Wake { task: task(0), token: 1 })
            ]
        );
        for (deadline, index) in [(5, 2), (6, 3), (7, 2)] {
            timers.push(deadline, TimerKind::Wake { task: task(index), token: deadline });
        }
        timers.cancel_wake(task(2));
        timers.retain(|kind| *kind != TimerKind::Cancelled);
        assert_eq!(drain(&mut timers), vec![(5, 5), (6, 6)]);
    }

    /// Pops everything, as (deadline, token) pairs.
    fn drain(timers: &mut Timers) -> Vec<(u64, u64)> {
        std::iter::from_fn(|| Some((timers.peek_deadline()?, token(timers.pop()?)))).collect()
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

    /// Interleaved pushes, pops and sweeps fire exactly in (deadline, push order), as a plain
    /// sorted list of the same timers does.
    #[test]
    fn matches_a_sorted_list_under_mixed_operations() {
        let mut timers = Timers::default();
        let mut model: Vec<(u64, u64)> = Vec::new(); // (deadline, token), token = push number
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for pushed in 0..20_000u64 {
            let r = next();
            // A deep heap first (pushes only), then everything mixed.
            match if pushed < 5_000 { 0 } else { r % 10 } {
                0..=5 => {
                    let deadline = next() % 4096;
                    timers.push(deadline, wake(pushed));
                    model.push((deadline, pushed));
                }
                6..=8 => {
                    model.sort();
                    let want = (!model.is_empty()).then(|| model.remove(0));
                    let deadline = timers.peek_deadline();
                    assert_eq!(timers.pop().map(|kind| (deadline.unwrap(), token(kind))), want);
                }
                _ => {
                    let divisor = 2 + r % 5;
                    timers.retain(|kind| !token(*kind).is_multiple_of(divisor));
                    model.retain(|(_, t)| !t.is_multiple_of(divisor));
                }
            }
            assert_eq!(timers.len(), model.len());
        }
        model.sort();
        assert_eq!(drain(&mut timers), model);
        assert!(timers.kinds.len() <= 20_000, "kind slots are reused");
    }

    /// When the 32-bit sequences run out, the entries are renumbered in order: timers pushed
    /// before and after still fire in (deadline, push order).
    #[test]
    fn sequences_running_out_keep_the_order() {
        let mut timers = Timers { next_seq: u32::MAX - 3, ..Timers::default() };
        for (i, deadline) in [5, 3, 5, 1, 3, 5, 5, 1].into_iter().enumerate() {
            timers.push(deadline, wake(i as u64));
        }
        assert!(timers.next_seq < 10, "renumbered");
        assert_eq!(drain(&mut timers), vec![(1, 3), (1, 7), (3, 1), (3, 4), (5, 0), (5, 2), (5, 5), (5, 6)]);
    }
}
