//! Key/value store model: get, put, append, delete and conditional put, partitioned by key.
//!
//! # Versions
//!
//! Every key has a version, which the kv services must implement exactly so:
//!
//! - A key that is absent (never written, or deleted) has version 0.
//! - Each successful `put`, `append` or `cput` increments the key's version by 1, so a present
//!   key has version >= 1. `append` to an absent key appends to the empty string: the key
//!   becomes present with version 1.
//! - `delete` makes the key absent again: version 0. Deleting an absent key changes nothing.
//! - `get` returns the value (or absent) and the version.
//! - `cput(key, value, version)` succeeds, and returns true, iff the key's version equals
//!   `version`; it then sets the value and increments the version (so `cput(k, v, 0)` creates an
//!   absent key, with version 1). Otherwise it changes nothing and returns false.
//!
//! A `get` whose version was not observed (`version: None`, from files that omit it) is checked
//! on its value alone.

use std::fmt::Write as _;

use crate::history::Operation;
use crate::model::{Model, Partition};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvInput {
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

impl KvInput {
    pub fn key(&self) -> &str {
        match self {
            KvInput::Get { key }
            | KvInput::Put { key, .. }
            | KvInput::Append { key, .. }
            | KvInput::Delete { key }
            | KvInput::CPut { key, .. } => key,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvOutput {
    /// What a `get` returned: the value (`None`: absent) and the version (`None`: not observed).
    Get { value: Option<String>, version: Option<u64> },
    /// A `put`, `append` or `delete` completed.
    Done,
    /// Whether a `cput` applied.
    CPut(bool),
}

/// Present keys with their value and version (>= 1), sorted by key; absent keys are not stored,
/// so equal stores have equal states.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct KvState {
    entries: Vec<(String, String, u64)>,
}

impl KvState {
    /// The value and version of `key`; an absent key is `(None, 0)`.
    pub fn get(&self, key: &str) -> (Option<&str>, u64) {
        match self.find(key) {
            Ok(slot) => {
                let (_, value, version) = &self.entries[slot];
                (Some(value), *version)
            }
            Err(_) => (None, 0),
        }
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(present, _, _)| present.as_str().cmp(key))
    }

    /// Sets `key` to `value`, incrementing its version.
    fn write(&mut self, key: &str, value: String) {
        match self.find(key) {
            Ok(slot) => {
                let entry = &mut self.entries[slot];
                entry.1 = value;
                entry.2 += 1;
            }
            Err(slot) => self.entries.insert(slot, (key.to_string(), value, 1)),
        }
    }

    fn delete(&mut self, key: &str) {
        if let Ok(slot) = self.find(key) {
            self.entries.remove(slot);
        }
    }
}

/// The key/value model; see the module doc for the version rules.
#[derive(Clone, Copy, Debug, Default)]
pub struct KvModel;

impl Model for KvModel {
    type State = KvState;
    type Input = KvInput;
    type Output = KvOutput;

    fn init(&self) -> KvState {
        KvState::default()
    }

    fn step(&self, state: &KvState, input: &KvInput, output: Option<&KvOutput>) -> Option<KvState> {
        let (current, version) = state.get(input.key());
        match (input, output) {
            (KvInput::Get { .. }, None) => Some(state.clone()),
            (KvInput::Get { .. }, Some(KvOutput::Get { value, version: seen_version })) => {
                let legal = value.as_deref() == current && seen_version.is_none_or(|seen| seen == version);
                legal.then(|| state.clone())
            }
            (KvInput::Put { key, value }, None | Some(KvOutput::Done)) => {
                let mut next = state.clone();
                next.write(key, value.clone());
                Some(next)
            }
            (KvInput::Append { key, value }, None | Some(KvOutput::Done)) => {
                let mut next = state.clone();
                next.write(key, format!("{}{value}", current.unwrap_or("")));
                Some(next)
            }
            (KvInput::Delete { key }, None | Some(KvOutput::Done)) => {
                let mut next = state.clone();
                next.delete(key);
                Some(next)
            }
            (KvInput::CPut { key, value, version: expected }, output) => {
                let applies = *expected == version;
                match output {
                    None => {}
                    Some(KvOutput::CPut(applied)) if *applied == applies => {}
                    Some(KvOutput::CPut(_)) => return None,
                    Some(other) => mismatch(input, other),
                }
                let mut next = state.clone();
                if applies {
                    next.write(key, value.clone());
                }
                Some(next)
            }
            (input, Some(output)) => mismatch(input, output),
        }
    }

    fn partition(&self, ops: &[Operation<KvInput, KvOutput>]) -> Vec<Partition> {
        // BTreeMap: partitions come out sorted by key, the same on every run.
        let mut by_key: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
        for (index, op) in ops.iter().enumerate() {
            by_key.entry(op.input.key()).or_default().push(index);
        }
        by_key.into_iter().map(|(key, op_indices)| Partition { label: format!("key {key:?}"), op_indices }).collect()
    }

    fn describe_op(&self, input: &KvInput, output: Option<&KvOutput>) -> String {
        let mut text = match input {
            KvInput::Get { key } => format!("get({key:?})"),
            KvInput::Put { key, value } => format!("put({key:?}, {value:?})"),
            KvInput::Append { key, value } => format!("append({key:?}, {value:?})"),
            KvInput::Delete { key } => format!("delete({key:?})"),
            KvInput::CPut { key, value, version } => format!("cput({key:?}, {value:?}, version {version})"),
        };
        match output {
            None => text.push_str(" -> ?"),
            Some(KvOutput::Done) => {}
            Some(KvOutput::CPut(applied)) => {
                let _ = write!(text, " -> {applied}");
            }
            Some(KvOutput::Get { value, version }) => {
                match value {
                    Some(value) => {
                        let _ = write!(text, " -> {value:?}");
                    }
                    None => text.push_str(" -> absent"),
                }
                if let Some(version) = version {
                    let _ = write!(text, " (version {version})");
                }
            }
        }
        text
    }

    fn describe_state(&self, state: &KvState) -> String {
        if state.entries.is_empty() {
            return "all keys absent".to_string();
        }
        let entries: Vec<String> = state
            .entries
            .iter()
            .map(|(key, value, version)| format!("{key:?}: {value:?} (version {version})"))
            .collect();
        format!("{{{}}}", entries.join(", "))
    }
}

/// An output of the wrong kind for its input is a bug in whoever built the history.
fn mismatch(input: &KvInput, output: &KvOutput) -> ! {
    panic!("kv history bug: output {output:?} cannot answer {input:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(value: Option<&str>, version: Option<u64>) -> KvOutput {
        KvOutput::Get { value: value.map(str::to_string), version }
    }

    fn run(state: &KvState, input: KvInput, output: Option<KvOutput>) -> Option<KvState> {
        KvModel.step(state, &input, output.as_ref())
    }

    #[test]
    fn versions_follow_the_documented_rules() {
        let key = || "k".to_string();
        let s0 = KvModel.init();
        assert_eq!(s0.get("k"), (None, 0));
        let s1 = run(&s0, KvInput::Append { key: key(), value: "a".into() }, Some(KvOutput::Done)).unwrap();
        assert_eq!(s1.get("k"), (Some("a"), 1));
        let s2 = run(&s1, KvInput::Put { key: key(), value: "b".into() }, None).unwrap();
        assert_eq!(s2.get("k"), (Some("b"), 2));
        // A stale cput fails and changes nothing; a current one applies.
        let stale = KvInput::CPut { key: key(), value: "c".into(), version: 1 };
        assert!(run(&s2, stale.clone(), Some(KvOutput::CPut(true))).is_none());
        assert_eq!(run(&s2, stale, Some(KvOutput::CPut(false))), Some(s2.clone()));
        let current = KvInput::CPut { key: key(), value: "c".into(), version: 2 };
        let s3 = run(&s2, current, Some(KvOutput::CPut(true))).unwrap();
        assert_eq!(s3.get("k"), (Some("c"), 3));
        // Delete resets to absent, version 0; cput at version 0 then creates the key.
        let s4 = run(&s3, KvInput::Delete { key: key() }, Some(KvOutput::Done)).unwrap();
        assert_eq!(s4, KvModel.init());
        let create = KvInput::CPut { key: key(), value: "d".into(), version: 0 };
        let s5 = run(&s4, create, None).unwrap();
        assert_eq!(s5.get("k"), (Some("d"), 1));
        // Gets compare the version only when it was observed.
        let read = || KvInput::Get { key: key() };
        assert!(run(&s5, read(), Some(get(Some("d"), Some(1)))).is_some());
        assert!(run(&s5, read(), Some(get(Some("d"), None))).is_some());
        assert!(run(&s5, read(), Some(get(Some("d"), Some(2)))).is_none());
        assert!(run(&s5, read(), Some(get(None, None))).is_none());
        assert!(run(&s4, read(), Some(get(None, Some(0)))).is_some());
    }

    #[test]
    fn partitions_by_key_in_key_order() {
        let op = |key: &str| Operation {
            client_id: 0,
            call_time: 0,
            call_seq: None,
            input: KvInput::Delete { key: key.into() },
            ret: None,
        };
        let parts = KvModel.partition(&[op("b"), op("a"), op("b")]);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].label, "key \"a\"");
        assert_eq!(parts[0].op_indices, vec![1]);
        assert_eq!(parts[1].op_indices, vec![0, 2]);
    }
}
