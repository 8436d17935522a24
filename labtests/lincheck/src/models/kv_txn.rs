//! The kv model's transactions: comparisons on keys' values or versions, then the operations of
//! one branch, all in one step (etcd's Txn, one-shot).
//!
//! A comparison on a version compares numbers (an absent key is at version 0). A comparison on
//! a value compares strings byte-wise; an absent key has no value, so against it `=`, `<` and
//! `>` fail and `!=` holds. The branch's operations run in order, each seeing the writes before
//! it, and each answers what it would answer alone.

use super::kv::KvInput;

/// A transaction: if every comparison holds, `success` runs, else `failure`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KvTxn {
    pub compares: Vec<KvCompare>,
    pub success: Vec<KvInput>,
    pub failure: Vec<KvInput>,
}

/// `key`'s value or version compared with a constant.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KvCompare {
    pub key: String,
    pub cmp: KvCmp,
    pub target: KvTarget,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KvCmp {
    Eq,
    Ne,
    Lt,
    Gt,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvTarget {
    Version(u64),
    Value(String),
}

impl KvCompare {
    /// Whether the comparison holds for a key whose value is `value` (None: absent) at `version`.
    pub fn holds(&self, value: Option<&str>, version: u64) -> bool {
        let ordering = match (&self.target, value) {
            (KvTarget::Version(target), _) => version.cmp(target),
            (KvTarget::Value(target), Some(current)) => current.cmp(target.as_str()),
            (KvTarget::Value(_), None) => return self.cmp == KvCmp::Ne,
        };
        match self.cmp {
            KvCmp::Eq => ordering.is_eq(),
            KvCmp::Ne => ordering.is_ne(),
            KvCmp::Lt => ordering.is_lt(),
            KvCmp::Gt => ordering.is_gt(),
        }
    }

    pub fn describe(&self) -> String {
        let op = match self.cmp {
            KvCmp::Eq => "=",
            KvCmp::Ne => "!=",
            KvCmp::Lt => "<",
            KvCmp::Gt => ">",
        };
        match &self.target {
            KvTarget::Version(n) => format!("version({:?}) {op} {n}", self.key),
            KvTarget::Value(v) => format!("value({:?}) {op} {v:?}", self.key),
        }
    }
}
