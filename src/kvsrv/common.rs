//! Operations, outcomes and the request both key/value services carry (kvsrv over one RPC, kvraft
//! through the Raft log).
//!
//! Versions follow the linearizability checker's kv model exactly: an absent key has version 0;
//! every successful put, append or conditional put increments the key's version by 1 (append to
//! an absent key appends to ""); delete makes the key absent again (version 0); get returns the
//! value and the version; a conditional put applies iff the key's version equals the given one.

use serde::{Deserialize, Serialize};

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
}

impl Op {
    pub fn key(&self) -> &str {
        match self {
            Op::Get { key }
            | Op::Put { key, .. }
            | Op::Append { key, .. }
            | Op::Delete { key }
            | Op::CPut { key, .. } => key,
        }
    }

    /// Reads change nothing, so they need no duplicate detection.
    pub fn is_read(&self) -> bool {
        matches!(self, Op::Get { .. })
    }
}

/// What an operation returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// A get: the value (`None`: absent) and the key's version (0 when absent).
    Value { value: Option<String>, version: u64 },
    /// A put, append or delete took effect, or a conditional put applied.
    Done,
    /// A conditional put was refused: the key's version was not the one given (ErrVersion).
    ErrVersion,
    /// The service cannot tell whether this (retried) conditional put took effect (ErrMaybe). The
    /// duplicate tables answer every retry exactly, so a clerk only sees this for a request older
    /// than its client's latest, which a clerk with one outstanding operation never waits on.
    ErrMaybe,
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
