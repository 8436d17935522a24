//! Operations, outcomes and the request both key/value services carry (kvsrv over one RPC, kvraft
//! through the Raft log).
//!
//! Versions follow the linearizability checker's kv model exactly: an absent key has version 0;
//! every successful put, append or conditional put increments the key's version by 1 (append to
//! an absent key appends to ""); delete makes the key absent again (version 0); get returns the
//! value and the version; a conditional put applies iff the key's version equals the given one.
//! A swap is a put that returns the key's previous value and version; a scan reads the present
//! keys of a range; a transaction ([`Txn`]) applies its comparisons and one branch of operations
//! as one step.

use serde::{Deserialize, Serialize};

pub use crate::txn::{Cmp, Compare, Target, Txn};

/// One client operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    Get {
        key: String,
    },
    Put {
        key: String,
        value: String,
    },
    Append {
        key: String,
        value: String,
    },
    Delete {
        key: String,
    },
    /// Conditional put: applies only if the key's version is `version`.
    CPut {
        key: String,
        value: String,
        version: u64,
    },
    /// Sets the value like a put and answers the key's previous value and version.
    Swap {
        key: String,
        value: String,
    },
    /// The present keys from `from` to `to`, both included, in key order: at most `limit` of
    /// them (and whether more are in the range).
    Scan {
        from: String,
        to: String,
        limit: u64,
    },
    /// Comparisons, then the operations of one branch, as one step.
    Txn(Txn),
}

impl Op {
    /// The one key a single-key operation reads or writes (None for scans and transactions).
    pub fn key(&self) -> Option<&str> {
        match self {
            Op::Get { key }
            | Op::Put { key, .. }
            | Op::Append { key, .. }
            | Op::Delete { key }
            | Op::CPut { key, .. }
            | Op::Swap { key, .. } => Some(key),
            Op::Scan { .. } | Op::Txn(_) => None,
        }
    }

    /// Reads change nothing, so they need no duplicate detection.
    pub fn is_read(&self) -> bool {
        matches!(self, Op::Get { .. } | Op::Scan { .. })
    }

    /// Whether a retry must get back the whole first answer (data, not just done / wrong
    /// version), so the duplicate table keeps it.
    pub fn answer_has_data(&self) -> bool {
        matches!(self, Op::Swap { .. } | Op::Txn(_))
    }
}

/// One key of a scan's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
    pub version: u64,
}

/// What an operation returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// A get: the value (`None`: absent) and the key's version (0 when absent). A swap: the same
    /// for the key before the swap.
    Value { value: Option<String>, version: u64 },
    /// A put, append or delete took effect, or a conditional put applied.
    Done,
    /// A conditional put was refused: the key's version was not the one given (ErrVersion).
    ErrVersion,
    /// The service cannot tell whether this (retried) conditional put took effect (ErrMaybe). The
    /// duplicate tables answer every retry exactly, so a clerk only sees this for a request older
    /// than its client's latest, which a clerk with one outstanding operation never waits on.
    ErrMaybe,
    /// A scan: the keys found, in key order, and whether the range holds more than the limit.
    Range { entries: Vec<KeyValue>, more: bool },
    /// A transaction: whether its comparisons held, and each operation's outcome in the branch
    /// that ran.
    Txn { succeeded: bool, results: Vec<Outcome> },
}

/// Why a conditional put did not report success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CPutError {
    /// The key's version differed: nothing changed.
    Version,
    /// Unknown whether it took effect.
    Maybe,
}

/// A client's identity and the number of its operation: a client has one operation outstanding
/// at a time and numbers them 1, 2, 3, ..., so a request whose `seq` is not above the last one a
/// server applied for the client is a duplicate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub client: u64,
    pub seq: u64,
    pub op: Op,
}

/// A client of either key/value service: each runs an operation to completion with `execute`;
/// the typed operations are written once, here.
pub trait KvClient {
    /// Runs `op` until some server answers it, exactly once.
    fn execute(&mut self, op: Op) -> Outcome;

    /// The value (None: absent) and version of `key`.
    fn get(&mut self, key: &str) -> (Option<String>, u64) {
        match self.execute(Op::Get { key: key.to_string() }) {
            Outcome::Value { value, version } => (value, version),
            other => panic!("kv: get({key:?}) answered {other:?}"),
        }
    }

    fn put(&mut self, key: &str, value: &str) {
        expect_done(key, self.execute(Op::Put { key: key.to_string(), value: value.to_string() }));
    }

    fn append(&mut self, key: &str, value: &str) {
        expect_done(key, self.execute(Op::Append { key: key.to_string(), value: value.to_string() }));
    }

    fn delete(&mut self, key: &str) {
        expect_done(key, self.execute(Op::Delete { key: key.to_string() }));
    }

    /// Sets `key` to `value`; the previous value (None: absent) and version.
    fn swap(&mut self, key: &str, value: &str) -> (Option<String>, u64) {
        match self.execute(Op::Swap { key: key.to_string(), value: value.to_string() }) {
            Outcome::Value { value, version } => (value, version),
            other => panic!("kv: swap({key:?}) answered {other:?}"),
        }
    }

    /// The present keys from `from` to `to` (both included): at most `limit`, and whether more
    /// are in the range.
    fn scan(&mut self, from: &str, to: &str, limit: u64) -> (Vec<KeyValue>, bool) {
        match self.execute(Op::Scan { from: from.to_string(), to: to.to_string(), limit }) {
            Outcome::Range { entries, more } => (entries, more),
            other => panic!("kv: scan({from:?}, {to:?}) answered {other:?}"),
        }
    }

    /// Runs `txn`: whether its comparisons held and the outcomes of the branch that ran; None
    /// when a retry cannot tell whether it took effect (ErrMaybe).
    fn txn(&mut self, txn: Txn) -> Option<(bool, Vec<Outcome>)> {
        match self.execute(Op::Txn(txn)) {
            Outcome::Txn { succeeded, results } => Some((succeeded, results)),
            Outcome::ErrMaybe => None,
            other => panic!("kv: a transaction answered {other:?}"),
        }
    }

    /// Sets `key` to `value` iff its version is `version`.
    fn cput(&mut self, key: &str, value: &str, version: u64) -> Result<(), CPutError> {
        match self.execute(Op::CPut { key: key.to_string(), value: value.to_string(), version }) {
            Outcome::Done => Ok(()),
            Outcome::ErrVersion => Err(CPutError::Version),
            Outcome::ErrMaybe => Err(CPutError::Maybe),
            other => panic!("kv: a conditional put of key {key:?} answered {other:?}"),
        }
    }
}

fn expect_done(key: &str, outcome: Outcome) {
    match outcome {
        Outcome::Done => {}
        other => panic!("kv: a put/append/delete of key {key:?} answered {other:?}"),
    }
}
