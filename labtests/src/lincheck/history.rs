//! Concurrent histories: operations with call and return times, some of which never returned.

use std::fmt;

/// How an operation ended, if it did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Return<O> {
    /// Return time, in the same monotone unit as call times; `>= call_time`.
    pub time: u64,
    pub output: O,
}

/// One operation of a concurrent history.
///
/// Times are in any one monotone unit (virtual microseconds, ticks...). Two operations are
/// ordered in real time only when one returned strictly before the other was called: equal
/// times count as concurrent, so a checker never reports a violation that hinges on a tie.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation<I, O> {
    pub client_id: u64,
    pub call_time: u64,
    pub input: I,
    /// `None`: the client gave up and the outcome is unknown. The operation may then take
    /// effect at any point after its call, or never.
    pub ret: Option<Return<O>>,
}

impl<I, O> Operation<I, O> {
    /// The output, if the operation returned.
    pub fn output(&self) -> Option<&O> {
        self.ret.as_ref().map(|ret| &ret.output)
    }

    pub fn return_time(&self) -> Option<u64> {
        self.ret.as_ref().map(|ret| ret.time)
    }

    /// True if `self` returned strictly before `other` was called, so any linearization must
    /// place `self` first.
    pub fn precedes<I2, O2>(&self, other: &Operation<I2, O2>) -> bool {
        self.return_time().is_some_and(|ret| ret < other.call_time)
    }
}

/// Index of an operation in its history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId(pub usize);

/// A return time earlier than its call time: the history would be meaningless.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReturnBeforeCall {
    pub call_time: u64,
    pub return_time: u64,
}

impl fmt::Display for ReturnBeforeCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "return {} is before call {}", self.return_time, self.call_time)
    }
}

impl std::error::Error for ReturnBeforeCall {}

/// A concurrent history, built either from complete records ([`History::push`],
/// [`History::push_unknown`]) or live, as a test runs ([`History::invoke`] then
/// [`History::finish`]; an operation never finished has an unknown outcome).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct History<I, O> {
    ops: Vec<Operation<I, O>>,
}

impl<I, O> Default for History<I, O> {
    fn default() -> Self {
        Self { ops: Vec::new() }
    }
}

impl<I, O> History<I, O> {
    pub fn new() -> Self {
        Self::default()
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

    /// Adds an operation that returned `output` at `return_time`.
    pub fn push(
        &mut self,
        client_id: u64,
        call_time: u64,
        return_time: u64,
        input: I,
        output: O,
    ) -> Result<OpId, ReturnBeforeCall> {
        if return_time < call_time {
            return Err(ReturnBeforeCall { call_time, return_time });
        }
        Ok(self.push_op(Operation { client_id, call_time, input, ret: Some(Return { time: return_time, output }) }))
    }

    /// Adds an operation that never returned (outcome unknown).
    pub fn push_unknown(&mut self, client_id: u64, call_time: u64, input: I) -> OpId {
        self.push_op(Operation { client_id, call_time, input, ret: None })
    }

    /// Records a call; the operation's outcome stays unknown until [`History::finish`].
    pub fn invoke(&mut self, client_id: u64, call_time: u64, input: I) -> OpId {
        self.push_unknown(client_id, call_time, input)
    }

    /// Records the return of an operation started with [`History::invoke`].
    ///
    /// Panics if `id` is not from this history or already returned: both are test bugs.
    pub fn finish(&mut self, id: OpId, return_time: u64, output: O) -> Result<(), ReturnBeforeCall> {
        let op = self.ops.get_mut(id.0).unwrap_or_else(|| panic!("finish: no operation {id:?} in this history"));
        assert!(op.ret.is_none(), "finish: operation {id:?} already returned");
        if return_time < op.call_time {
            return Err(ReturnBeforeCall { call_time: op.call_time, return_time });
        }
        op.ret = Some(Return { time: return_time, output });
        Ok(())
    }

    fn push_op(&mut self, op: Operation<I, O>) -> OpId {
        self.ops.push(op);
        OpId(self.ops.len() - 1)
    }
}

impl<I, O> FromIterator<Operation<I, O>> for History<I, O> {
    /// Collects operations; panics on a return before its call (use [`History::push`] to get
    /// an error instead).
    fn from_iter<T: IntoIterator<Item = Operation<I, O>>>(iter: T) -> Self {
        let ops: Vec<_> = iter.into_iter().collect();
        for (index, op) in ops.iter().enumerate() {
            if let Some(ret) = op.return_time() {
                assert!(ret >= op.call_time, "operation {index}: return {ret} is before call {}", op.call_time);
            }
        }
        Self { ops }
    }
}
