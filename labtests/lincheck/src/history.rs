//! Concurrent histories: operations with call and return times, some of which never returned
//! and some of which returned without a known output.

use std::fmt;

/// When an event (a call or a return) happened: a time in the history's monotone unit and,
/// optionally, its position `seq` in a total order of all the history's events.
///
/// Real-time order is `(time, seq)`: `seq` only orders events with equal times. A history either
/// stamps every event with a `seq` or none: without one, events at equal times are concurrent
/// (a return at time t does not precede a call at time t); with one, they are ordered as the
/// recorder saw them, so a put and a get that both took zero time at t are still ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Stamp {
    pub time: u64,
    pub seq: Option<u64>,
}

impl Stamp {
    /// An event at `time`, concurrent with every other event at `time`.
    pub fn at(time: u64) -> Stamp {
        Stamp { time, seq: None }
    }

    /// An event at `time`, `seq`th in the total order of the history's events.
    pub fn sequenced(time: u64, seq: u64) -> Stamp {
        Stamp { time, seq: Some(seq) }
    }

    /// Sort key in real time; at equal (time, seq) a call sorts before a return, so events that
    /// cannot be told apart are concurrent.
    pub(crate) fn order_key(self, is_return: bool) -> (u64, u64, bool) {
        (self.time, self.seq.unwrap_or(0), is_return)
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.seq {
            Some(seq) => write!(f, "{} (seq {seq})", self.time),
            None => write!(f, "{}", self.time),
        }
    }
}

/// How an operation ended, when it did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Return<O> {
    /// Return time, in the same monotone unit as call times; `>= call_time`.
    pub time: u64,
    /// Position in the history's total order of events (see [`Stamp`]).
    pub seq: Option<u64>,
    /// `None`: the operation returned but its output is unknown (a conditional put answered
    /// "maybe"). It took effect, or not, between its call and its return, and the model accepts
    /// whichever outcome the state at that point gives. Unlike an operation that never returned,
    /// it precedes everything called after its return.
    pub output: Option<O>,
}

/// One operation of a concurrent history.
///
/// Times are in any one monotone unit (virtual microseconds, ticks...). Two operations are
/// ordered in real time only when one returned strictly before the other was called, comparing
/// `(time, seq)` (see [`Stamp`]); without sequence numbers equal times count as concurrent, so
/// a checker never reports a violation that hinges on a tie it cannot resolve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation<I, O> {
    pub client_id: u64,
    pub call_time: u64,
    /// Position of the call in the history's total order of events (see [`Stamp`]).
    pub call_seq: Option<u64>,
    pub input: I,
    /// `None`: the client gave up and the outcome is unknown. The operation may then take
    /// effect at any point after its call, or never.
    pub ret: Option<Return<O>>,
}

impl<I, O> Operation<I, O> {
    /// The output, if the operation returned one.
    pub fn output(&self) -> Option<&O> {
        self.ret.as_ref().and_then(|ret| ret.output.as_ref())
    }

    pub fn return_time(&self) -> Option<u64> {
        self.ret.as_ref().map(|ret| ret.time)
    }

    /// Whether the operation returned without a known output.
    pub fn output_unknown(&self) -> bool {
        self.ret.as_ref().is_some_and(|ret| ret.output.is_none())
    }

    pub fn call_stamp(&self) -> Stamp {
        Stamp { time: self.call_time, seq: self.call_seq }
    }

    pub fn return_stamp(&self) -> Option<Stamp> {
        self.ret.as_ref().map(|ret| Stamp { time: ret.time, seq: ret.seq })
    }

    /// True if `self` returned strictly before `other` was called, so any linearization must
    /// place `self` first.
    pub fn precedes<I2, O2>(&self, other: &Operation<I2, O2>) -> bool {
        self.return_stamp().is_some_and(|ret| ret.order_key(true) < other.call_stamp().order_key(false))
    }

    /// Whether the operation's events carry sequence numbers; `None` if they disagree.
    fn sequenced(&self) -> Option<bool> {
        let call = self.call_seq.is_some();
        match &self.ret {
            Some(ret) if ret.seq.is_some() != call => None,
            _ => Some(call),
        }
    }
}

/// Index of an operation in its history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId(pub usize);

/// A return earlier than its call: the history would be meaningless.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReturnBeforeCall {
    pub call: Stamp,
    pub ret: Stamp,
}

impl fmt::Display for ReturnBeforeCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "return {} is before call {}", self.ret, self.call)
    }
}

impl std::error::Error for ReturnBeforeCall {}

fn check_return(call: Stamp, ret: Stamp) -> Result<(), ReturnBeforeCall> {
    // Equal stamps are allowed only without seq (an instantaneous operation at one time).
    let before = match (call.seq, ret.seq) {
        (Some(_), Some(_)) => (ret.time, ret.seq) <= (call.time, call.seq),
        _ => ret.time < call.time,
    };
    if before {
        Err(ReturnBeforeCall { call, ret })
    } else {
        Ok(())
    }
}

/// A concurrent history, built either from complete records ([`History::push`],
/// [`History::push_unknown`], [`History::push_output_unknown`]) or live, as a test runs
/// ([`History::invoke_at`] then [`History::finish_at`]; an operation never finished has an
/// unknown outcome).
///
/// Either every event carries a sequence number or none does (see [`Stamp`]); mixing them is a
/// bug in whoever builds the history and panics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct History<I, O> {
    ops: Vec<Operation<I, O>>,
    /// Whether events carry sequence numbers; `None` until the first operation.
    sequenced: Option<bool>,
}

impl<I, O> Default for History<I, O> {
    fn default() -> Self {
        Self { ops: Vec::new(), sequenced: None }
    }
}

impl<I, O> History<I, O> {
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty history with room for `ops` operations before its list grows (a live recorder
    /// that knows about how many operations a run makes saves the list's copies as it grows).
    pub fn with_capacity(ops: usize) -> Self {
        Self { ops: Vec::with_capacity(ops), sequenced: None }
    }

    pub fn ops(&self) -> &[Operation<I, O>] {
        &self.ops
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Whether the events carry sequence numbers (false for an empty history).
    pub fn is_sequenced(&self) -> bool {
        self.sequenced == Some(true)
    }

    /// Adds an operation that returned `output` at `return_time`.
    pub fn push(
        &mut self,
        client_id: u64,
        call_time: u64,
        return_time: u64,
        input: I,
        output: O,
    ) -> Result<OpId, ReturnBeforeCall> {
        self.push_returned(client_id, Stamp::at(call_time), Stamp::at(return_time), input, Some(output))
    }

    /// Adds an operation that returned at `return_time` without a known output (see
    /// [`Return::output`]).
    pub fn push_output_unknown(
        &mut self,
        client_id: u64,
        call_time: u64,
        return_time: u64,
        input: I,
    ) -> Result<OpId, ReturnBeforeCall> {
        self.push_returned(client_id, Stamp::at(call_time), Stamp::at(return_time), input, None)
    }

    /// Adds an operation that returned at `ret`, with `output` (`None`: unknown).
    pub fn push_returned(
        &mut self,
        client_id: u64,
        call: Stamp,
        ret: Stamp,
        input: I,
        output: Option<O>,
    ) -> Result<OpId, ReturnBeforeCall> {
        check_return(call, ret)?;
        let ret = Some(Return { time: ret.time, seq: ret.seq, output });
        Ok(self.push_op(Operation { client_id, call_time: call.time, call_seq: call.seq, input, ret }))
    }

    /// Adds an operation that never returned (outcome unknown).
    pub fn push_unknown(&mut self, client_id: u64, call_time: u64, input: I) -> OpId {
        self.invoke_at(client_id, Stamp::at(call_time), input)
    }

    /// Records a call; the operation's outcome stays unknown until [`History::finish`].
    pub fn invoke(&mut self, client_id: u64, call_time: u64, input: I) -> OpId {
        self.invoke_at(client_id, Stamp::at(call_time), input)
    }

    /// Records a call at `call`; the operation never returned until [`History::finish_at`].
    pub fn invoke_at(&mut self, client_id: u64, call: Stamp, input: I) -> OpId {
        self.push_op(Operation { client_id, call_time: call.time, call_seq: call.seq, input, ret: None })
    }

    /// Records the return of an operation started with [`History::invoke`].
    ///
    /// Panics if `id` is not from this history or already returned: both are test bugs.
    pub fn finish(&mut self, id: OpId, return_time: u64, output: O) -> Result<(), ReturnBeforeCall> {
        self.finish_at(id, Stamp::at(return_time), Some(output))
    }

    /// Records the return at `at` of an operation started with [`History::invoke_at`], with
    /// `output` (`None`: returned, output unknown).
    ///
    /// Panics if `id` is not from this history, already returned, or stamped unlike its call.
    pub fn finish_at(&mut self, id: OpId, at: Stamp, output: Option<O>) -> Result<(), ReturnBeforeCall> {
        let op = self.ops.get_mut(id.0).unwrap_or_else(|| panic!("finish: no operation {id:?} in this history"));
        assert!(op.ret.is_none(), "finish: operation {id:?} already returned");
        assert_eq!(at.seq.is_some(), op.call_seq.is_some(), "finish: {id:?} mixes events with and without seq");
        check_return(op.call_stamp(), at)?;
        op.ret = Some(Return { time: at.time, seq: at.seq, output });
        Ok(())
    }

    /// The first pair (earlier, later) of operations of one client that overlap, by the later
    /// one's call: a client runs one operation at a time, so its earlier operation must have
    /// returned by the later call (equal stamps allowed: an instantaneous return then call), and
    /// one that never returned must be its last.
    pub fn first_overlap(&self) -> Option<(OpId, OpId)> {
        let key = |stamp: Stamp| (stamp.time, stamp.seq.unwrap_or(0));
        let mut by_call: Vec<usize> = (0..self.ops.len()).collect();
        by_call.sort_by_key(|&index| (key(self.ops[index].call_stamp()), index));
        let mut last_of_client: std::collections::BTreeMap<u64, usize> = Default::default();
        for index in by_call {
            let op = &self.ops[index];
            if let Some(earlier) = last_of_client.insert(op.client_id, index) {
                let ended = self.ops[earlier].return_stamp().is_some_and(|ret| key(ret) <= key(op.call_stamp()));
                if !ended {
                    return Some((OpId(earlier), OpId(index)));
                }
            }
        }
        None
    }

    fn push_op(&mut self, op: Operation<I, O>) -> OpId {
        let sequenced = op.sequenced().expect("an operation's call and return both have a seq or neither");
        let expected = *self.sequenced.get_or_insert(sequenced);
        assert_eq!(sequenced, expected, "operation {}: a history's events all have a seq or none do", self.ops.len());
        self.ops.push(op);
        OpId(self.ops.len() - 1)
    }
}

impl<I, O> FromIterator<Operation<I, O>> for History<I, O> {
    /// Collects operations; panics on a return before its call or on mixed sequencing (use
    /// [`History::push_returned`] to get an error instead).
    fn from_iter<T: IntoIterator<Item = Operation<I, O>>>(iter: T) -> Self {
        let mut history = History::new();
        for (index, op) in iter.into_iter().enumerate() {
            if let Some(ret) = op.return_stamp() {
                if let Err(error) = check_return(op.call_stamp(), ret) {
                    panic!("operation {index}: {error}");
                }
            }
            history.push_op(op);
        }
        history
    }
}
