//! One-shot transactions in the style of etcd's Txn: comparisons on keys' values or versions,
//! then the operations of one branch, all applied as one step (one log entry in kvraft).
//!
//! A comparison on a version compares numbers (an absent key is at version 0). A comparison on a
//! value compares strings byte-wise; an absent key has no value, so against it `=`, `<` and `>`
//! fail and `!=` holds. The branch's operations run in order and see each other's writes;
//! each gets the outcome it would get alone (a nested transaction included).

use serde::{Deserialize, Serialize};

use crate::kv::Op;

/// A transaction: if every comparison holds, `success` runs, else `failure`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Txn {
    pub compares: Vec<Compare>,
    pub success: Vec<Op>,
    pub failure: Vec<Op>,
}

/// `key`'s value or version, compared with a constant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compare {
    pub key: String,
    pub cmp: Cmp,
    pub target: Target,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Gt,
}

/// What a comparison reads, and the constant it compares with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    Version(u64),
    Value(String),
}

impl Cmp {
    /// The operator as the client writes it.
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Eq => "=",
            Cmp::Ne => "!=",
            Cmp::Lt => "<",
            Cmp::Gt => ">",
        }
    }

    pub fn from_symbol(text: &str) -> Option<Cmp> {
        [Cmp::Eq, Cmp::Ne, Cmp::Lt, Cmp::Gt].into_iter().find(|c| c.symbol() == text)
    }

    fn holds<T: Ord + ?Sized>(self, current: &T, target: &T) -> bool {
        match self {
            Cmp::Eq => current == target,
            Cmp::Ne => current != target,
            Cmp::Lt => current < target,
            Cmp::Gt => current > target,
        }
    }
}

impl Compare {
    /// Whether the comparison holds for a key whose value is `value` (None: absent) at `version`.
    pub fn holds(&self, value: Option<&str>, version: u64) -> bool {
        match (&self.target, value) {
            (Target::Version(target), _) => self.cmp.holds(&version, target),
            (Target::Value(target), Some(current)) => self.cmp.holds(current, target.as_str()),
            (Target::Value(_), None) => self.cmp == Cmp::Ne,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(cmp: Cmp, target: Target) -> Compare {
        Compare { key: "k".into(), cmp, target }
    }

    #[test]
    fn comparisons_follow_the_documented_rules() {
        assert!(cmp(Cmp::Eq, Target::Version(0)).holds(None, 0));
        assert!(cmp(Cmp::Gt, Target::Version(1)).holds(Some("x"), 2));
        assert!(!cmp(Cmp::Lt, Target::Version(2)).holds(Some("x"), 2));
        assert!(cmp(Cmp::Lt, Target::Value("b".into())).holds(Some("a"), 1));
        assert!(!cmp(Cmp::Gt, Target::Value("b".into())).holds(Some("b"), 1));
        // An absent key has no value: only != holds.
        for c in [Cmp::Eq, Cmp::Lt, Cmp::Gt] {
            assert!(!cmp(c, Target::Value(String::new())).holds(None, 0), "{c:?}");
        }
        assert!(cmp(Cmp::Ne, Target::Value(String::new())).holds(None, 0));
        for c in [Cmp::Eq, Cmp::Ne, Cmp::Lt, Cmp::Gt] {
            assert_eq!(Cmp::from_symbol(c.symbol()), Some(c));
        }
    }
}
