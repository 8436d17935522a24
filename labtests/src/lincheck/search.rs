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
//! - candidates that returned are tried before those that did not (the order of candidates does
//!   not change which are tried, so the search stays complete);
//! - a never-returned operation that would not change the state is not linearized: placing it
//!   cannot help anything later;
//! - the cache prunes a configuration when one with the same state and returned operations but
//!   a subset of its never-returned operations already failed (see [`Cache`]). Trying returned
//!   candidates first makes that rule bite: by the time a never-returned operation is tried at
//!   a node, the configurations it would lead back to without it have usually failed already.

use super::bitset::Bitset;
use super::cache::{Cache, EntryId};
use super::history::Operation;
use super::model::Model;

/// How the search of one partition ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartitionStatus {
    /// Every operation that returned was placed; the order is a full linearization.
    Linearizable,
    /// The whole search space was explored without a linearization.
    Illegal,
    /// The deadline passed first; nothing is known.
    TimedOut,
    /// The cache reached its memory bound first; nothing is known.
    CacheFull { entries: usize, approx_bytes: usize },
}

/// Limits for one search.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Wall-clock deadline shared by all partitions of one check.
    #[allow(clippy::disallowed_types)] // a real timeout needs real time; checker results never feed a simulation
    pub(crate) deadline: Option<std::time::Instant>,
    pub(crate) max_cache_bytes: usize,
}

/// The outcome of searching one partition; indices are local to the partition.
#[derive(Clone, Debug)]
pub(crate) struct SearchOutcome {
    pub(crate) status: PartitionStatus,
    /// Linearization order: complete when linearizable, otherwise the longest prefix found.
    pub(crate) order: Vec<usize>,
    /// The operation whose return ended the longest prefix: it could not be placed after it.
    pub(crate) blocked: Option<usize>,
    pub(crate) cache_entries: usize,
}

/// Sentinel index for "no entry".
const NONE: u32 = u32::MAX;
/// Steps between two looks at the clock: cheap enough, and a step is microseconds at most.
const STEPS_PER_CLOCK_CHECK: u64 = 256;

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
        // Sort key: time, then calls before returns (a tie is concurrency), then op for
        // determinism.
        let mut keyed: Vec<(u64, bool, u32)> = Vec::with_capacity(ops.len() * 2);
        for (index, op) in ops.iter().enumerate() {
            let op_index = u32::try_from(index).expect("partition larger than u32::MAX ops");
            keyed.push((op.call_time, false, op_index));
            if let Some(ret) = op.return_time() {
                keyed.push((ret, true, op_index));
            }
        }
        keyed.sort_unstable();
        let len = keyed.len();
        let mut return_slot = vec![NONE; ops.len()];
        for (slot, &(_, is_return, op)) in keyed.iter().enumerate() {
            if is_return {
                return_slot[op as usize] = slot as u32;
            }
        }
        let events = keyed
            .iter()
            .map(|&(_, is_return, op)| Event {
                op,
                is_call: !is_return,
                ret: if is_return {
                    NONE
                } else {
                    return_slot[op as usize]
                },
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

/// Which candidates a scan is trying: first those that returned, then those that did not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Returned,
    NeverReturned,
}

struct Frame<S> {
    call: u32,
    phase: Phase,
    state_before: S,
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

    fn offer<S>(&mut self, stack: &[Frame<S>], events: &[Event], blocked: usize) {
        if self.blocked.is_some() && stack.len() <= self.order.len() {
            return;
        }
        self.order.truncate(self.stable_len);
        self.order.extend(
            stack[self.stable_len..]
                .iter()
                .map(|frame| events[frame.call as usize].op as usize),
        );
        self.stable_len = stack.len();
        self.blocked = Some(blocked);
    }
}

/// Searches one partition. `ops` are the partition's operations in history order.
#[allow(clippy::disallowed_types, clippy::disallowed_methods)] // the timeout reads the real clock
pub(crate) fn search<M: Model>(
    model: &M,
    ops: &[&Operation<M::Input, M::Output>],
    limits: Limits,
) -> SearchOutcome {
    let mut list = EventList::new(ops);
    let mut cache = Cache::new();
    // Each operation's slot in the bitset of its kind: returned, or never returned.
    let mut slots = Vec::with_capacity(ops.len());
    let (mut returned_count, mut never_count) = (0, 0);
    for op in ops {
        let counter = if op.ret.is_some() { &mut returned_count } else { &mut never_count };
        slots.push(*counter);
        *counter += 1;
    }
    let mut linearized = [Bitset::new(returned_count), Bitset::new(never_count)];
    let set_of = |op: &Operation<M::Input, M::Output>| usize::from(op.ret.is_none());
    let mut state = model.init();
    let mut stack: Vec<Frame<M::State>> = Vec::with_capacity(ops.len());
    let mut best = BestPrefix {
        order: Vec::new(),
        blocked: None,
        stable_len: 0,
    };
    let mut cursor = list.first();
    let mut phase = Phase::Returned;
    let mut steps: u64 = 0;
    let head = list.head();

    let outcome = |status, best: BestPrefix, cache: &Cache<M::State>| SearchOutcome {
        status,
        order: best.order,
        blocked: best.blocked,
        cache_entries: cache.entries(),
    };

    loop {
        steps += 1;
        if steps % STEPS_PER_CLOCK_CHECK == 0 {
            if limits
                .deadline
                .is_some_and(|deadline| std::time::Instant::now() >= deadline)
            {
                return outcome(PartitionStatus::TimedOut, best, &cache);
            }
            if cache.approx_bytes() > limits.max_cache_bytes {
                let status = PartitionStatus::CacheFull {
                    entries: cache.entries(),
                    approx_bytes: cache.approx_bytes(),
                };
                return outcome(status, best, &cache);
            }
        }

        if cursor == head {
            // Only calls of operations that never returned are left: leave them out.
            debug_assert!(phase == Phase::Returned, "the second scan stops at a return");
            best.order = stack
                .iter()
                .map(|frame| list.events[frame.call as usize].op as usize)
                .collect();
            best.blocked = None;
            return outcome(PartitionStatus::Linearizable, best, &cache);
        }

        let event = list.events[cursor as usize];
        if event.is_call {
            let op = ops[event.op as usize];
            let returned = op.ret.is_some();
            if returned == (phase == Phase::Returned) {
                if let Some(next) = model.step(&state, &op.input, op.output()) {
                    let useful = returned || next != state;
                    if useful {
                        let (set, slot) = (set_of(op), slots[event.op as usize]);
                        linearized[set].insert(slot);
                        if let Some(entry) = cache.insert(&linearized[0], &linearized[1], &next) {
                            let state_before = std::mem::replace(&mut state, next);
                            stack.push(Frame {
                                call: cursor,
                                phase,
                                state_before,
                                entry,
                            });
                            list.lift(cursor);
                            if phase == Phase::NeverReturned { unsafe { P2 += 1; } } else { unsafe { P1 += 1; } }
                            if stack.len() > unsafe { MAXD } { unsafe { MAXD = stack.len(); } }
                            cursor = list.first();
                            phase = Phase::Returned;
                            continue;
                        }
                        linearized[set].remove(slot);
                    }
                }
            }
            cursor = list.next[cursor as usize];
            continue;
        }

        // A return: the operation it ends is pending and none of the candidates before it led
        // anywhere in this phase.
        if phase == Phase::Returned {
            phase = Phase::NeverReturned;
            cursor = list.first();
            continue;
        }
        best.offer(&stack, &list.events, event.op as usize);
        let Some(frame) = stack.pop() else {
            return outcome(PartitionStatus::Illegal, best, &cache);
        };
        best.popped_to(stack.len());
        cache.mark_failed(frame.entry);
        let call = frame.call;
        let op = list.events[call as usize].op as usize;
        linearized[set_of(ops[op])].remove(slots[op]);
        state = frame.state_before;
        list.unlift(call);
        cursor = list.next[call as usize];
        phase = frame.phase;
    }
}

/// Checker budget defaults: large enough never to matter for test-sized histories.
pub(crate) const DEFAULT_MAX_CACHE_BYTES: usize = 1 << 30;


pub static mut P1: u64 = 0; pub static mut P2: u64 = 0; pub static mut MAXD: usize = 0;
