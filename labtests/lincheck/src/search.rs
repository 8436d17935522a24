//! The Wing-Gong search as improved by Lowe, for one partition.
//!
//! Call and return events sit in one list sorted by time. Scanning from the front, every call
//! met before the first return is a candidate to linearize next: if the model accepts it and the
//! resulting (linearized set, state) is new to the cache, the call and its return are lifted out
//! of the list and the scan restarts. Meeting a return means the pending operations cannot all be
//! placed from here: undo the last linearization and try the next candidate after it. Reaching
//! the end of the list means every operation that returned has been placed.
//!
//! An operation that never returned has a call event only: it is a candidate forever, and the
//! search may leave it out (it never took effect). Three refinements keep such operations cheap:
//! - candidates that returned are tried before those that did not, and those that did not are
//!   tried newest first (the operation a read needs is usually recent, the ones that never took
//!   effect pile up at the front); the order of candidates does not change which are tried, so
//!   the search stays complete;
//! - a never-returned operation that would not change the state is not linearized: placing it
//!   cannot help anything later;
//! - the cache prunes a configuration when one with the same state and returned operations but
//!   a subset of its never-returned operations already failed (see [`Cache`]). Trying returned
//!   candidates first makes that rule bite: by the time a never-returned operation is tried at
//!   a node, the configurations it would lead back to without it have usually failed already.

use std::sync::atomic::{AtomicBool, Ordering};

use super::bitset::Bitset;
use super::cache::{Cache, EntryId};
use super::history::Operation;
use super::model::Model;
use super::sequential;

/// How the search of one partition ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartitionStatus {
    /// Every operation that returned was placed; the order is a full linearization.
    Linearizable,
    /// The whole search space was explored without a linearization.
    Illegal,
    /// The deadline passed first; nothing is known.
    TimedOut,
    /// The check's step budget ran out during (or before) this partition's search, after
    /// `steps` of its own; nothing is known. Deterministic, unlike the deadline: the same
    /// history and budget always stop at the same step.
    BudgetSpent { steps: u64 },
    /// Stopped because another partition was already found illegal: the history is not
    /// linearizable whatever this one holds.
    Cancelled,
    /// The cache reached its memory bound first; nothing is known.
    CacheFull { entries: usize, approx_bytes: usize },
}

/// Limits for one search.
#[allow(clippy::disallowed_types)] // a real timeout needs real time; checker results never feed a simulation
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits<'a> {
    /// Wall-clock deadline shared by all partitions of one check.
    pub(crate) deadline: Option<std::time::Instant>,
    pub(crate) max_cache_bytes: usize,
    /// Search steps this partition may take, both passes together (what the check's budget
    /// has left).
    pub(crate) max_steps: Option<u64>,
    /// Raised when some partition is found illegal: the others stop.
    pub(crate) stop: &'a AtomicBool,
}

/// The outcome of searching one partition; indices are local to the partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SearchOutcome {
    pub(crate) status: PartitionStatus,
    /// Linearization order: complete when linearizable, otherwise the longest prefix found.
    pub(crate) order: Vec<usize>,
    /// The operation whose return ended the longest prefix: it could not be placed after it.
    pub(crate) blocked: Option<usize>,
    pub(crate) cache_entries: usize,
    /// Search steps taken (loop iterations: a candidate tried, skipped or undone).
    pub(crate) steps: u64,
    /// Only for a quick search: it failed, but having skipped some of the search space.
    inconclusive: bool,
}

impl SearchOutcome {
    /// What the search answers for `len` operations it linearizes in call order without ever
    /// backtracking: each is one step and one cache entry, and one last step finds nothing left.
    pub(crate) fn in_call_order(len: usize) -> SearchOutcome {
        SearchOutcome {
            status: PartitionStatus::Linearizable,
            order: (0..len).collect(),
            blocked: None,
            cache_entries: len,
            steps: len as u64 + 1,
            inconclusive: false,
        }
    }
}

/// Sentinel index for "no entry".
const NONE: u32 = u32::MAX;
/// Steps between two looks at the clock and the stop flag: cheap enough, and a step is
/// microseconds at most.
pub(crate) const STEPS_PER_CLOCK_CHECK: u64 = 256;

#[derive(Clone, Copy, Debug)]
struct Event {
    op: u32,
    is_call: bool,
    /// For a call: the list index of its return event, or NONE if it never returned.
    ret: u32,
}

/// Events in time order, as a doubly linked list over a vector; slot `len` is the head sentinel.
struct EventList {
    events: Vec<Event>,
    next: Vec<u32>,
    prev: Vec<u32>,
}

impl EventList {
    fn new<I, O>(ops: &[&Operation<I, O>]) -> Self {
        // Sort key: real-time order (time, seq), then calls before returns (a tie that the
        // stamps cannot resolve is concurrency), then op for determinism.
        let mut keyed: Vec<((u64, u64, bool), u32)> = Vec::with_capacity(ops.len() * 2);
        for (index, op) in ops.iter().enumerate() {
            let op_index = u32::try_from(index).expect("partition larger than u32::MAX ops");
            keyed.push((op.call_stamp().order_key(false), op_index));
            if let Some(ret) = op.return_stamp() {
                keyed.push((ret.order_key(true), op_index));
            }
        }
        keyed.sort_unstable();
        let len = keyed.len();
        let mut return_slot = vec![NONE; ops.len()];
        for (slot, &((_, _, is_return), op)) in keyed.iter().enumerate() {
            if is_return {
                return_slot[op as usize] = slot as u32;
            }
        }
        let events = keyed
            .iter()
            .map(|&((_, _, is_return), op)| Event {
                op,
                is_call: !is_return,
                ret: if is_return { NONE } else { return_slot[op as usize] },
            })
            .collect();
        // Circular: the head's prev is the last event, the last event's next is the head.
        let head = len as u32;
        let next = (0..=len as u32).map(|i| (i + 1) % (head + 1)).collect();
        let prev = (0..=len as u32).map(|i| (i + head) % (head + 1)).collect();
        Self { events, next, prev }
    }

    fn head(&self) -> u32 {
        self.events.len() as u32
    }

    fn first(&self) -> u32 {
        self.next[self.head() as usize]
    }

    fn unlink(&mut self, slot: u32) {
        let (p, n) = (self.prev[slot as usize], self.next[slot as usize]);
        self.next[p as usize] = n;
        self.prev[n as usize] = p;
    }

    /// Undoes `unlink(slot)`; valid only in reverse order of unlinking (the search is a stack).
    fn relink(&mut self, slot: u32) {
        let (p, n) = (self.prev[slot as usize], self.next[slot as usize]);
        self.next[p as usize] = slot;
        self.prev[n as usize] = slot;
    }

    fn lift(&mut self, call: u32) {
        self.unlink(call);
        let ret = self.events[call as usize].ret;
        if ret != NONE {
            self.unlink(ret);
        }
    }

    fn unlift(&mut self, call: u32) {
        let ret = self.events[call as usize].ret;
        if ret != NONE {
            self.relink(ret);
        }
        self.relink(call);
    }
}

/// Which candidates a scan is trying: first those that returned, front to back; then those that
/// did not, back to front from `boundary`, the first return event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Returned,
    NeverReturned { boundary: u32 },
}

/// One linearized operation; the state after it is its cache entry's.
struct Frame {
    call: u32,
    phase: Phase,
    entry: EntryId,
}

/// Longest prefix seen, maintained incrementally: only the part of the stack that changed since
/// the last snapshot is copied.
struct BestPrefix {
    order: Vec<usize>,
    blocked: Option<usize>,
    /// Stack depth below which the stack has not changed since the last snapshot.
    stable_len: usize,
}

impl BestPrefix {
    fn popped_to(&mut self, depth: usize) {
        self.stable_len = self.stable_len.min(depth);
    }

    fn offer(&mut self, stack: &[Frame], events: &[Event], blocked: usize) {
        if self.blocked.is_some() && stack.len() <= self.order.len() {
            return;
        }
        self.order.truncate(self.stable_len);
        self.order.extend(stack[self.stable_len..].iter().map(|frame| events[frame.call as usize].op as usize));
        self.stable_len = stack.len();
        self.blocked = Some(blocked);
    }
}

/// The search state of one partition.
struct Searcher<'a, M: Model> {
    model: &'a M,
    ops: &'a [&'a Operation<M::Input, M::Output>],
    list: EventList,
    cache: Cache<M::State>,
    /// Each operation's slot in the bitset of its kind, numbered in call order so that the
    /// linearized set is mostly a run of ones (which the cache stores compactly).
    slots: Vec<usize>,
    /// Linearized operations: `[returned, never returned]`.
    linearized: [Bitset; 2],
    /// Operations that never returned and are not linearized: while there are none, a scan
    /// that meets a return has no never-returned candidates to walk back over.
    never_returned_left: usize,
    /// The state before anything is linearized; after, the state is the top frame's entry's.
    initial: M::State,
    stack: Vec<Frame>,
    best: BestPrefix,
    mode: Mode,
    /// Whether `Mode::Quick` skipped anything, making a failure inconclusive.
    skipped: bool,
}

/// See [`search`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// After linearizing a never-returned operation, the next one must have returned.
    Quick,
    /// No restriction: a failure is a proof.
    Complete,
}

impl<'a, M: Model> Searcher<'a, M> {
    fn new(model: &'a M, ops: &'a [&'a Operation<M::Input, M::Output>], mode: Mode) -> Self {
        let list = EventList::new(ops);
        let mut slots = vec![usize::MAX; ops.len()];
        let mut counts = [0, 0];
        for event in list.events.iter().filter(|event| event.is_call) {
            let kind = usize::from(event.ret == NONE);
            slots[event.op as usize] = counts[kind];
            counts[kind] += 1;
        }
        Self {
            model,
            ops,
            list,
            cache: Cache::new(counts[1]),
            slots,
            linearized: [Bitset::new(counts[0]), Bitset::new(counts[1])],
            never_returned_left: counts[1],
            initial: model.init(),
            stack: Vec::with_capacity(ops.len()),
            best: BestPrefix { order: Vec::new(), blocked: None, stable_len: 0 },
            mode,
            skipped: false,
        }
    }

    /// Whether the last operation linearized is one that never returned.
    fn top_never_returned(&self) -> bool {
        self.stack.last().is_some_and(|frame| {
            let op = self.list.events[frame.call as usize].op as usize;
            self.ops[op].ret.is_none()
        })
    }

    fn state(&self) -> &M::State {
        self.stack.last().map_or(&self.initial, |frame| self.cache.state(frame.entry))
    }

    fn kind_and_slot(&self, op: usize) -> (usize, usize) {
        (usize::from(self.ops[op].ret.is_none()), self.slots[op])
    }

    /// Linearizes the operation of call event `call` if the model accepts it and the resulting
    /// configuration is worth exploring; returns whether it did.
    fn try_linearize(&mut self, call: u32, phase: Phase) -> bool {
        let op_index = self.list.events[call as usize].op as usize;
        let op = self.ops[op_index];
        let Some(next) = self.model.step(self.state(), &op.input, op.output()) else {
            return false;
        };
        if op.ret.is_none() && next == *self.state() {
            return false;
        }
        let (kind, slot) = self.kind_and_slot(op_index);
        self.linearized[kind].insert(slot);
        let [returned, never] = &self.linearized;
        let Some(entry) = self.cache.insert(returned, never, next) else {
            self.linearized[kind].remove(slot);
            return false;
        };
        self.stack.push(Frame { call, phase, entry });
        self.list.lift(call);
        self.never_returned_left -= kind;
        true
    }

    /// Undoes the last linearization; returns the frame's phase and call event, or `None` if
    /// the stack is empty (the partition is not linearizable).
    fn backtrack(&mut self, boundary: u32) -> Option<(Phase, u32)> {
        let blocked = self.list.events[boundary as usize].op as usize;
        self.best.offer(&self.stack, &self.list.events, blocked);
        let frame = self.stack.pop()?;
        self.best.popped_to(self.stack.len());
        self.cache.mark_failed(frame.entry);
        let op_index = self.list.events[frame.call as usize].op as usize;
        let (kind, slot) = self.kind_and_slot(op_index);
        self.linearized[kind].remove(slot);
        self.list.unlift(frame.call);
        self.never_returned_left += kind;
        Some((frame.phase, frame.call))
    }

    fn outcome(self, status: PartitionStatus, steps: u64) -> SearchOutcome {
        let cache_entries = self.cache.entries();
        if status == PartitionStatus::TimedOut {
            free_in_background(self.cache);
        }
        SearchOutcome {
            status,
            order: self.best.order,
            blocked: self.best.blocked,
            cache_entries,
            steps,
            inconclusive: self.skipped,
        }
    }

    fn run(mut self, limits: Limits) -> SearchOutcome {
        let head = self.list.head();
        let mut cursor = self.list.first();
        let mut phase = Phase::Returned;
        let max_steps = limits.max_steps.unwrap_or(u64::MAX);
        // Bounded: every iteration either moves the cursor over a finite list, or pushes a
        // configuration new to the (finite) cache, or pops one; the limits stop it sooner.
        for steps in 0u64.. {
            if steps == max_steps {
                return self.outcome(PartitionStatus::BudgetSpent { steps }, steps);
            }
            if steps % STEPS_PER_CLOCK_CHECK == 0 {
                if let Some(status) = limit_reached(&limits, self.cache.entries(), self.cache.approx_bytes()) {
                    return self.outcome(status, steps);
                }
            }
            match phase {
                Phase::Returned if cursor == head => {
                    // Only calls of operations that never returned are left: they never took
                    // effect. The stack is a full linearization.
                    let stack = &self.stack;
                    let events = &self.list.events;
                    self.best.order = stack.iter().map(|frame| events[frame.call as usize].op as usize).collect();
                    self.best.blocked = None;
                    return self.outcome(PartitionStatus::Linearizable, steps + 1);
                }
                Phase::Returned => {
                    let event = self.list.events[cursor as usize];
                    if !event.is_call {
                        // An operation that returned must be placed before this point and none
                        // of the returned candidates led anywhere: try the never-returned ones.
                        phase = Phase::NeverReturned { boundary: cursor };
                        cursor = self.list.prev[cursor as usize];
                        if self.mode == Mode::Quick && self.top_never_returned() {
                            self.skipped = true;
                            cursor = head;
                        } else if self.never_returned_left == 0 {
                            cursor = head;
                        }
                    } else if event.ret != NONE && self.try_linearize(cursor, phase) {
                        cursor = self.list.first();
                    } else {
                        cursor = self.list.next[cursor as usize];
                    }
                }
                Phase::NeverReturned { boundary } if cursor == head => {
                    let Some((resume, call)) = self.backtrack(boundary) else {
                        return self.outcome(PartitionStatus::Illegal, steps + 1);
                    };
                    phase = resume;
                    cursor = match resume {
                        Phase::Returned => self.list.next[call as usize],
                        Phase::NeverReturned { .. } => self.list.prev[call as usize],
                    };
                }
                Phase::NeverReturned { .. } => {
                    let event = self.list.events[cursor as usize];
                    debug_assert!(event.is_call, "only calls come before the first return");
                    if event.ret == NONE && self.try_linearize(cursor, phase) {
                        cursor = self.list.first();
                        phase = Phase::Returned;
                    } else {
                        cursor = self.list.prev[cursor as usize];
                    }
                }
            }
        }
        unreachable!("the step counter cannot overflow before a limit or an answer")
    }
}

/// Frees a cache on a thread of its own. Freeing millions of configurations takes seconds; a
/// search stopped by its deadline must not spend them before answering (a 10 s timeout took
/// 12.5 s on porcupine's c50-bad keys), and a process that exits right after never pays them.
#[allow(clippy::disallowed_methods)] // a real thread: the checker is not simulated, timeouts are wall-clock only
fn free_in_background<S: Send + 'static>(cache: Cache<S>) {
    let spawned = std::thread::Builder::new().name("lincheck-free".into()).spawn(move || drop(cache));
    // Without a thread (resource limits), the caller frees it: slower, still correct.
    drop(spawned);
}

#[allow(clippy::disallowed_types, clippy::disallowed_methods)] // the timeout reads the real clock
pub(crate) fn limit_reached(limits: &Limits, entries: usize, approx_bytes: usize) -> Option<PartitionStatus> {
    if limits.stop.load(Ordering::Relaxed) {
        return Some(PartitionStatus::Cancelled);
    }
    if limits.deadline.is_some_and(|deadline| std::time::Instant::now() >= deadline) {
        return Some(PartitionStatus::TimedOut);
    }
    (approx_bytes > limits.max_cache_bytes).then_some(PartitionStatus::CacheFull { entries, approx_bytes })
}

/// Searches one partition. `ops` are the partition's operations in history order.
///
/// Two passes. Sequences of never-returned operations make the search exponential: where the
/// returned candidates at a node all fail, every subset of the pending never-returned writes
/// may be tried, and with a versioned store every subset leads to a distinct state. A history
/// that is linearizable rarely needs two never-returned operations in a row, so a quick pass
/// forbids that; any linearization it finds is valid. Only if it fails having skipped
/// something does a complete pass (fresh cache) decide.
///
/// The step budget covers both passes: the complete pass gets what the quick one left.
///
/// A partition whose operations follow one another in real time is replayed instead
/// ([`sequential::replay`]) whenever that gives the search's own outcome.
pub(crate) fn search<M: Model>(model: &M, ops: &[&Operation<M::Input, M::Output>], limits: Limits) -> SearchOutcome {
    if sequential::replay(model, ops, &limits) {
        return SearchOutcome::in_call_order(ops.len());
    }
    search_by_cache(model, ops, limits)
}

/// [`search`] without the replay of sequential partitions: the two passes of the search.
pub(crate) fn search_by_cache<M: Model>(
    model: &M,
    ops: &[&Operation<M::Input, M::Output>],
    limits: Limits,
) -> SearchOutcome {
    let quick = Searcher::new(model, ops, Mode::Quick).run(limits);
    if quick.status != PartitionStatus::Illegal || !quick.inconclusive {
        return quick;
    }
    let left = Limits { max_steps: limits.max_steps.map(|max| max - quick.steps), ..limits };
    let mut complete = Searcher::new(model, ops, Mode::Complete).run(left);
    let steps = quick.steps + complete.steps;
    if let PartitionStatus::BudgetSpent { steps: spent } = &mut complete.status {
        *spent = steps;
    }
    if complete.status == PartitionStatus::Illegal || complete.order.len() >= quick.order.len() {
        SearchOutcome { steps, ..complete }
    } else {
        // Stopped at a limit: show the longer prefix, but the status of the complete pass.
        SearchOutcome { status: complete.status, cache_entries: complete.cache_entries, steps, ..quick }
    }
}

/// Checker budget defaults: large enough never to matter for test-sized histories.
pub(crate) const DEFAULT_MAX_CACHE_BYTES: usize = 1 << 30;
