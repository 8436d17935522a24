//! The timer queue: a min-heap ordered by (deadline, insertion sequence), so equal deadlines fire in
//! the order they were set. Entries are not removed one by one: a woken or cancelled waiter bumps
//! its park token, the stale entry is skipped when it surfaces, and the runtime sweeps stale
//! entries out in one pass (`retain`) when they outnumber the live ones, so most timed parks end
//! early (a `recv_timeout` answered before its deadline) without growing the heap every pop
//! walks. Live timers fire in the same order either way: the order is total on (deadline,
//! sequence), so the heap's shape never shows.
//!
//! Layout, for the cache: the heap is 4-ary (half the levels of a binary heap) over 16-byte
//! entries (deadline, sequence and what the timer does), so a node's four children share about
//! one cache line. Deadline and sequence are one 64-bit key (44 bits of nanoseconds, about 4.9
//! hours of virtual time, above 20 bits of sequence), so a pop's chain of compares per level is
//! one word each, not two; the rare timers due later than the key holds wait in a sorted list
//! behind the heap (they all fire after every timer in it). A thread's deadline (`Wake`) is kept by its task slot: a thread has at most
//! one timed park in progress, so the slot's record (sequence, generation, token) says whether
//! an entry naming the slot is that park's, and cancelling or firing it is one write to a dense
//! table the slot's index finds. Other kinds (pauses) wait in a side table, read when they fire.
//! Popping from a binary heap of 40-byte entries was about a fifth of the scheduler loop's own
//! time in the Raft family (perf); taking every wake-up's kind from a shared side table through
//! a free list was about 1% of a kvraft run (perf), a miss per timed park on a scattered entry.

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

/// In an entry's `low`: the rest is a task slot's index (a `Wake`), not an index in `kinds`.
const SLOT_BIT: u32 = 1 << 31;

/// Bits of an entry's key that hold its sequence; the deadline is above them.
const SEQ_BITS: u32 = 20;
/// Sequences are below this; when the next would reach it, the timers are renumbered.
const SEQ_LIMIT: u32 = 1 << SEQ_BITS;
/// Deadlines from here on do not fit a key: such timers wait in `Timers::far`.
const FAR_NS: u64 = 1 << (64 - SEQ_BITS);

/// A slot's record when no `Wake` of its is live (none pushed, or the last one fired or was
/// cancelled). Never a sequence in use (sequences are below `SEQ_LIMIT`).
const NO_SEQ: u32 = u32::MAX;

/// A heap entry: the key (deadline above the insertion sequence) and, in `low`, the task slot
/// (`SLOT_BIT` set) or the index of the kind in `Timers::kinds`. Sequences are unique, so the
/// key orders by (deadline, sequence).
#[derive(Clone, Copy, Debug)]
struct Entry {
    key: u64,
    low: u32,
}

impl Entry {
    #[inline(always)]
    fn new(deadline_ns: u64, seq: u32, low: u32) -> Entry {
        debug_assert!(deadline_ns < FAR_NS && seq < SEQ_LIMIT);
        Entry { key: (deadline_ns << SEQ_BITS) | seq as u64, low }
    }

    #[inline(always)]
    fn deadline_ns(self) -> u64 {
        self.key >> SEQ_BITS
    }

    #[inline(always)]
    fn seq(self) -> u32 {
        (self.key & (SEQ_LIMIT as u64 - 1)) as u32
    }
}

/// A timer due at or after `FAR_NS`: kept in (deadline, sequence) order in `Timers::far`.
#[derive(Clone, Copy, Debug)]
struct FarEntry {
    deadline_ns: u64,
    seq: u32,
    low: u32,
}

/// A task slot's live `Wake`: its entry's sequence (`NO_SEQ`: none), and its task and token.
#[derive(Clone, Copy, Debug)]
struct SlotWake {
    seq: u32,
    generation: u32,
    token: u64,
}

impl SlotWake {
    const NONE: SlotWake = SlotWake { seq: NO_SEQ, generation: 0, token: 0 };
}

#[derive(Default)]
pub(crate) struct Timers {
    /// 4-ary min-heap on `Entry::key`.
    heap: Vec<Entry>,
    /// Timers due at or after `FAR_NS`, sorted by (deadline, sequence): they fire after every
    /// timer in the heap, whose deadlines are all below `FAR_NS`. Nearly always empty.
    far: Vec<FarEntry>,
    /// Kinds of the heap's timers other than `Wake`, by index; unused indices are in `free`.
    kinds: Vec<TimerKind>,
    free: Vec<u32>,
    /// By task slot: the slot's live `Wake`, the timer of its thread's timed park in progress.
    wakes: Vec<SlotWake>,
    /// The next insertion sequence. When it reaches `SEQ_LIMIT`, the entries are renumbered in
    /// their order (`renumber`), which keeps every comparison's outcome.
    next_seq: u32,
}

impl Timers {
    /// Queues a timer. A `Wake` must be its slot's only live one (the last one fired or was
    /// cancelled: a thread parks again only after its last park ended). What a push allocates
    /// (the queue or a side table growing, a renumbering, a far timer) is the simulator's own
    /// bookkeeping, charged to no node; such pushes go out of line, so the common one (a park's
    /// deadline, inlined into the park) does not set and restore the thread's ledger around
    /// itself. Inlined: out of line, the caller's freshly built `kind` went through memory and
    /// was read back at once, which stalled (perf: half of the call's time on that copy).
    #[inline(always)]
    pub(crate) fn push(&mut self, deadline_ns: u64, kind: TimerKind) {
        let may_allocate = self.heap.len() == self.heap.capacity()
            || self.next_seq == SEQ_LIMIT
            || deadline_ns >= FAR_NS
            || match kind {
                TimerKind::Wake { task, .. } => task.index as usize >= self.wakes.len(),
                // Other kinds are rare (pauses): the side table may grow.
                _ => true,
            };
        if may_allocate {
            return self.push_untracked(deadline_ns, kind);
        }
        self.push_in_place(deadline_ns, kind);
    }

    #[cold]
    #[inline(never)]
    fn push_untracked(&mut self, deadline_ns: u64, kind: TimerKind) {
        crate::alloc::untracked(|| self.push_in_place(deadline_ns, kind));
    }

    /// `push` itself: it allocates only where `push` found it may, and then runs under `untracked`.
    #[inline(always)]
    fn push_in_place(&mut self, deadline_ns: u64, kind: TimerKind) {
        if self.next_seq == SEQ_LIMIT {
            self.renumber();
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let low = match kind {
            TimerKind::Wake { task, token } => {
                let slot = task.index as usize;
                assert!(task.index < SLOT_BIT, "labrpc: too many threads for the timer queue");
                if slot >= self.wakes.len() {
                    self.wakes.resize(slot + 1, SlotWake::NONE);
                }
                debug_assert_eq!(self.wakes[slot].seq, NO_SEQ, "a slot's second live wake-up timer");
                self.wakes[slot] = SlotWake { seq, generation: task.generation, token };
                task.index | SLOT_BIT
            }
            _ => self.push_kind(kind),
        };
        if deadline_ns >= FAR_NS {
            self.push_far(FarEntry { deadline_ns, seq, low });
            return;
        }
        let entry = Entry::new(deadline_ns, seq, low);
        self.heap.push(entry);
        self.sift_up(self.heap.len() - 1, entry);
    }

    /// Files a timer due at or after `FAR_NS` after the far timers due no later (its sequence
    /// is the newest, so it goes after those with its deadline).
    #[cold]
    #[inline(never)]
    fn push_far(&mut self, far: FarEntry) {
        let at = self.far.partition_point(|f| f.deadline_ns <= far.deadline_ns);
        self.far.insert(at, far);
    }

    /// Keeps a kind other than `Wake` in the side table; returns its index.
    #[inline(never)]
    fn push_kind(&mut self, kind: TimerKind) -> u32 {
        match self.free.pop() {
            Some(index) => {
                self.kinds[index as usize] = kind;
                index
            }
            None => {
                assert!(self.kinds.len() < SLOT_BIT as usize, "labrpc: too many timers");
                self.kinds.push(kind);
                (self.kinds.len() - 1) as u32
            }
        }
    }

    /// Marks the deadline timer of `task`'s park `Cancelled`: the park ended another way. Only
    /// for a timed park that is still on (its timer is in the queue, and its slot's live one).
    #[inline(always)]
    pub(crate) fn cancel_wake(&mut self, task: TaskId) {
        let wake = &mut self.wakes[task.index as usize];
        debug_assert!(
            wake.seq != NO_SEQ && wake.generation == task.generation,
            "cancel_wake: the slot has no live timer of this thread's"
        );
        wake.seq = NO_SEQ;
    }

    /// The kind of the earliest timer.
    pub(crate) fn peek_kind(&self) -> Option<TimerKind> {
        match self.heap.first() {
            Some(&e) => Some(kind_of(&self.kinds, &self.wakes, e.seq(), e.low)),
            None => self.far.first().map(|f| kind_of(&self.kinds, &self.wakes, f.seq, f.low)),
        }
    }

    pub(crate) fn peek_deadline(&self) -> Option<u64> {
        match self.heap.first() {
            Some(e) => Some(e.deadline_ns()),
            None => self.far.first().map(|f| f.deadline_ns),
        }
    }

    /// Takes the earliest timer off the queue (its deadline is `peek_deadline`'s).
    pub(crate) fn pop(&mut self) -> Option<TimerKind> {
        let Some(last) = self.heap.pop() else { return self.pop_far() };
        let top = match self.heap.first().copied() {
            Some(top) => {
                self.sift_down_to_bottom(last);
                top
            }
            None => last,
        };
        let kind = kind_of(&self.kinds, &self.wakes, top.seq(), top.low);
        release(&mut self.free, &mut self.wakes, top.low, kind);
        Some(kind)
    }

    /// `pop` once the heap is empty: the earliest far timer.
    #[cold]
    #[inline(never)]
    fn pop_far(&mut self) -> Option<TimerKind> {
        if self.far.is_empty() {
            return None;
        }
        let f = self.far.remove(0);
        let kind = kind_of(&self.kinds, &self.wakes, f.seq, f.low);
        release(&mut self.free, &mut self.wakes, f.low, kind);
        Some(kind)
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len() + self.far.len()
    }

    /// Keeps only the timers `keep` accepts (one pass, then the heap is rebuilt). A `Wake`
    /// dropped here is its slot's live one no more.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&TimerKind) -> bool) {
        let (kinds, free, wakes) = (&self.kinds, &mut self.free, &mut self.wakes);
        let mut keep_one = |seq: u32, low: u32| {
            let kind = kind_of(kinds, wakes, seq, low);
            let kept = keep(&kind);
            if !kept {
                release(free, wakes, low, kind);
            }
            kept
        };
        self.heap.retain(|&e| keep_one(e.seq(), e.low));
        self.far.retain(|f| keep_one(f.seq, f.low));
        self.heapify();
    }

    /// Moves `entry` up from hole `i` to its place.
    #[inline(always)]
    fn sift_up(&mut self, mut i: usize, entry: Entry) {
        let key = entry.key;
        while i > 0 {
            let parent = (i - 1) / ARITY;
            if self.heap[parent].key <= key {
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
        let key = entry.key;
        let len = self.heap.len();
        loop {
            let first = ARITY * i + 1;
            if first >= len {
                break;
            }
            let mut least = first;
            let mut least_key = self.heap[first].key;
            for child in first + 1..(first + ARITY).min(len) {
                let child_key = self.heap[child].key;
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
                if self.heap[child].key < self.heap[least].key {
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
        let (k0, k1, k2, k3) = (four[0].key, four[1].key, four[2].key, four[3].key);
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

    /// Gives the entries the sequences 0, 1, ... in their current order, the heap's then the far
    /// ones' (a sorted array is a heap), so sequences can go on without wrapping around; a
    /// slot's live `Wake` keeps its entry's new sequence (found by the old ones first: an old and
    /// a new number may collide).
    #[cold]
    fn renumber(&mut self) {
        let count = self.heap.len() + self.far.len();
        assert!(count < SEQ_LIMIT as usize, "labrpc: more than {} timers pending", SEQ_LIMIT - 1);
        self.heap.sort_unstable_by_key(|e| e.key);
        let (kinds, wakes) = (&self.kinds, &self.wakes);
        let live = |seq, low| matches!(kind_of(kinds, wakes, seq, low), TimerKind::Wake { .. });
        let old: Vec<(u32, u32, bool)> = (self.heap.iter().map(|e| (e.seq(), e.low)))
            .chain(self.far.iter().map(|f| (f.seq, f.low)))
            .map(|(seq, low)| (seq, low, live(seq, low)))
            .collect();
        for (seq, (_, low, live)) in old.into_iter().enumerate() {
            if live {
                self.wakes[(low & !SLOT_BIT) as usize].seq = seq as u32;
            }
        }
        let heap_len = self.heap.len();
        for (seq, e) in self.heap.iter_mut().enumerate() {
            *e = Entry::new(e.deadline_ns(), seq as u32, e.low);
        }
        for (seq, f) in self.far.iter_mut().enumerate() {
            f.seq = (heap_len + seq) as u32;
        }
        self.next_seq = count as u32;
        debug_assert!(self.heap.iter().enumerate().all(|(i, e)| e.seq() as usize == i));
    }
}

/// Frees what `entry` held as it leaves the heap, fired or dropped (`kind` is its `kind_of`): its
/// index in the side table, or, if it was its slot's live `Wake`, the slot's record, so the slot
/// has no live timer any more.
#[inline(always)]
fn release(free: &mut Vec<u32>, wakes: &mut [SlotWake], low: u32, kind: TimerKind) {
    if low & SLOT_BIT == 0 {
        free.push(low);
    } else if matches!(kind, TimerKind::Wake { .. }) {
        wakes[(low & !SLOT_BIT) as usize].seq = NO_SEQ;
    }
}

/// What the entry with sequence `seq` and `low` does when it fires: its kind from the side
/// table, or its slot's `Wake` if it is that slot's live one, else `Cancelled`.
#[inline(always)]
fn kind_of(kinds: &[TimerKind], wakes: &[SlotWake], seq: u32, low: u32) -> TimerKind {
    if low & SLOT_BIT == 0 {
        return kinds[low as usize];
    }
    let index = low & !SLOT_BIT;
    let wake = wakes[index as usize];
    if wake.seq != seq {
        return TimerKind::Cancelled;
    }
    TimerKind::Wake { task: TaskId { index, generation: wake.generation }, token: wake.token }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wake-up of a thread of its own (a slot has one live timer at a time), its token the
    /// push number.
    fn wake(token: u64) -> TimerKind {
        TimerKind::Wake { task: TaskId { index: token as u32, generation: 0 }, token }
    }

    fn token(kind: TimerKind) -> u64 {
        match kind {
            TimerKind::Wake { token, .. } => token,
            TimerKind::Unpause { .. } | TimerKind::Cancelled => unreachable!(),
        }
    }

    /// A cancelled wake-up stays in its place in the queue as `Cancelled`, beside its slot's
    /// later timer, and a sweep that drops cancelled timers keeps the others' order; firing or
    /// dropping a slot's timer leaves the slot free for the next.
    #[test]
    fn cancel_marks_the_slots_live_wake_up() {
        let mut timers = Timers::default();
        let task = |index, generation| TaskId { index, generation };
        timers.push(20, TimerKind::Wake { task: task(0, 0), token: 1 });
        timers.push(10, TimerKind::Wake { task: task(1, 0), token: 1 });
        timers.cancel_wake(task(0, 0));
        timers.push(30, TimerKind::Wake { task: task(0, 1), token: 2 });
        timers.push(15, TimerKind::Unpause { node: NodeId(3), generation: 4 });
        timers.cancel_wake(task(1, 0));
        let kinds: Vec<(u64, TimerKind)> =
            std::iter::from_fn(|| Some((timers.peek_deadline()?, timers.pop()?))).collect();
        assert_eq!(
            kinds,
            vec![
                (10, TimerKind::Cancelled),
                (15, TimerKind::Unpause { node: NodeId(3), generation: 4 }),
                (20, TimerKind::Cancelled),
                (30, TimerKind::Wake { task: task(0, 1), token: 2 })
            ]
        );
        assert!(timers.wakes.iter().all(|w| w.seq == NO_SEQ), "a fired wake-up is its slot's no more");
        for (deadline, index) in [(5, 2), (6, 3), (7, 4)] {
            timers.push(deadline, TimerKind::Wake { task: task(index, 0), token: deadline });
        }
        timers.cancel_wake(task(4, 0));
        timers.retain(|kind| *kind != TimerKind::Cancelled);
        timers.retain(|kind| *kind != TimerKind::Wake { task: task(3, 0), token: 6 });
        assert_eq!(timers.wakes[3].seq, NO_SEQ, "a dropped wake-up is its slot's no more");
        timers.push(8, TimerKind::Wake { task: task(3, 0), token: 8 });
        assert_eq!(drain(&mut timers), vec![(5, 5), (8, 8)]);
    }

    /// Timers due too late for a key fire after all the others, in (deadline, push order), and
    /// are cancelled like the others.
    #[test]
    fn timers_due_too_late_for_a_key_fire_last_in_order() {
        let mut timers = Timers::default();
        for (token, deadline) in [(0, u64::MAX), (1, FAR_NS), (2, FAR_NS - 1), (3, u64::MAX), (4, 5)] {
            timers.push(deadline, wake(token));
        }
        timers.cancel_wake(TaskId { index: 1, generation: 0 });
        assert_eq!(timers.len(), 5);
        let fired: Vec<(u64, TimerKind)> =
            std::iter::from_fn(|| Some((timers.peek_deadline()?, timers.pop()?))).collect();
        assert_eq!(
            fired,
            vec![
                (5, wake(4)),
                (FAR_NS - 1, wake(2)),
                (FAR_NS, TimerKind::Cancelled),
                (u64::MAX, wake(0)),
                (u64::MAX, wake(3))
            ]
        );
        assert!(timers.wakes.iter().all(|w| w.seq == NO_SEQ));
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

    /// Interleaved pushes, pops, sweeps and renumberings, with some deadlines too late for a key,
    /// fire exactly in (deadline, push order), as a plain sorted list of the same timers does.
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
            if pushed % 997 == 0 {
                // Renumber at the next push (any sequence above those in use keeps the order).
                timers.next_seq = SEQ_LIMIT;
            }
            match if pushed < 5_000 { 0 } else { r % 10 } {
                0..=5 => {
                    // Now and then a deadline too late for a key: into the far list.
                    let deadline = match next() % 64 {
                        0 => FAR_NS + next() % 4,
                        1 => u64::MAX - next() % 2,
                        _ => next() % 4096,
                    };
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
        assert!(timers.wakes.iter().all(|w| w.seq == NO_SEQ), "every slot's timer fired or was dropped");
    }

    /// When the 32-bit sequences run out, the entries are renumbered in order: timers pushed
    /// before and after still fire in (deadline, push order).
    #[test]
    fn sequences_running_out_keep_the_order() {
        let mut timers = Timers { next_seq: SEQ_LIMIT - 3, ..Timers::default() };
        for (i, deadline) in [5, 3, 5, 1, 3, 5, 5, 1].into_iter().enumerate() {
            timers.push(deadline, wake(i as u64));
        }
        assert!(timers.next_seq < 10, "renumbered");
        assert_eq!(drain(&mut timers), vec![(1, 3), (1, 7), (3, 1), (3, 4), (5, 0), (5, 2), (5, 5), (5, 6)]);
    }

    /// Renumbering keeps each slot's live timer live and a cancelled one cancelled, though an
    /// old sequence may equal another entry's new one.
    #[test]
    fn renumbering_keeps_which_timers_are_live() {
        let mut timers = Timers { next_seq: SEQ_LIMIT - 4, ..Timers::default() };
        let task = |index| TaskId { index, generation: 0 };
        timers.push(9, TimerKind::Wake { task: task(0), token: 1 });
        timers.cancel_wake(task(0));
        timers.push(1, TimerKind::Wake { task: task(0), token: 2 });
        timers.push(2, TimerKind::Wake { task: task(1), token: 3 });
        timers.push(3, TimerKind::Wake { task: task(2), token: 4 });
        timers.cancel_wake(task(2));
        timers.push(4, TimerKind::Wake { task: task(3), token: 5 });
        timers.push(0, TimerKind::Wake { task: task(2), token: 6 });
        assert!(timers.next_seq < 10, "renumbered");
        let kinds: Vec<TimerKind> = std::iter::from_fn(|| timers.pop()).collect();
        let wake = |index, token| TimerKind::Wake { task: task(index), token };
        assert_eq!(
            kinds,
            vec![wake(2, 6), wake(0, 2), wake(1, 3), TimerKind::Cancelled, wake(3, 5), TimerKind::Cancelled]
        );
    }
}
