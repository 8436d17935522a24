//! Key/value store model: get, put, append, delete, conditional put, swap, scan and one-shot
//! transactions. A history of single-key operations is partitioned by key; one with a scan or a
//! transaction (which span keys) is checked whole.
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
//! - `swap(key, value)` sets the value like `put` and returns the value and version before.
//! - `scan(from, to, limit)` returns the present keys from `from` to `to`, both included, in key
//!   order, with value and version: the first `limit` of them, and whether the range holds more.
//! - A transaction ([`KvTxn`]) evaluates its comparisons on the state before it, then runs the
//!   operations of one branch in order (each sees the writes before it) and returns whether the
//!   comparisons held and each operation's output; it is one step.
//!
//! A `get` whose version was not observed (`version: None`, from files that omit it) is checked
//! on its value alone.

use std::fmt::Write as _;
use std::sync::Arc;

use crate::history::Operation;
use crate::model::{Model, Partition};

pub use super::kv_txn::{KvCmp, KvCompare, KvTarget, KvTxn};

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
    /// Sets the value; returns the value and version before.
    Swap {
        key: String,
        value: String,
    },
    /// The present keys from `from` to `to` (both included): at most `limit`.
    Scan {
        from: String,
        to: String,
        limit: u64,
    },
    Txn(KvTxn),
}

impl KvInput {
    /// The one key of a single-key operation (None for scans and transactions).
    pub fn key(&self) -> Option<&str> {
        match self {
            KvInput::Get { key }
            | KvInput::Put { key, .. }
            | KvInput::Append { key, .. }
            | KvInput::Delete { key }
            | KvInput::CPut { key, .. }
            | KvInput::Swap { key, .. } => Some(key),
            KvInput::Scan { .. } | KvInput::Txn(_) => None,
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
    /// What a `swap` replaced: the value (`None`: absent) and the version before it.
    Swap { value: Option<String>, version: u64 },
    /// What a `scan` found: (key, value, version) in key order, and whether more were in range.
    Scan { entries: Vec<(String, String, u64)>, more: bool },
    /// Whether a transaction's comparisons held, and the outputs of the branch that ran.
    Txn { succeeded: bool, results: Vec<KvOutput> },
}

/// Present keys with their value and version (>= 1), sorted by key; absent keys are not stored,
/// so equal stores have equal states.
///
/// Shared, not copied: the search clones a state at every step and keeps one per configuration
/// it visits, and most steps read a key or change one. Cloning a state is a reference count;
/// a write builds one new array of entries that shares the other keys and values, or, on a
/// state nothing else shares (the replay of a sequential partition holds one state only),
/// changes its entry in place (an append then grows the value's text instead of copying it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct KvState {
    entries: Arc<[Entry]>,
}

/// A present key, its value and its version.
type Entry = (Arc<str>, Value, u64);

/// A stored value and a hash of its text (FNV-1a), which an append extends by the appended
/// bytes alone: values that appends keep growing are hashed once a byte, not at every step
/// that caches a state holding them.
#[derive(Clone)]
struct Value {
    text: Arc<String>,
    hash: u64,
}

impl Value {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

    fn new(text: &str) -> Self {
        Self { text: Arc::new(text.to_string()), hash: Self::extend_hash(Self::FNV_OFFSET, text) }
    }

    /// This value with `suffix` appended: one copy of the text, and the hash carried on.
    fn appended(&self, suffix: &str) -> Self {
        let mut text = String::with_capacity(self.text.len() + suffix.len());
        text.push_str(&self.text);
        text.push_str(suffix);
        Self { text: Arc::new(text), hash: Self::extend_hash(self.hash, suffix) }
    }

    /// Appends `suffix` in place if no other state shares this value's text; whether it did.
    fn append_in_place(&mut self, suffix: &str) -> bool {
        let Some(text) = Arc::get_mut(&mut self.text) else { return false };
        text.push_str(suffix);
        self.hash = Self::extend_hash(self.hash, suffix);
        true
    }

    fn extend_hash(hash: u64, bytes: &str) -> u64 {
        bytes.bytes().fold(hash, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(Self::FNV_PRIME))
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.text == other.text
    }
}

impl Eq for Value {}

impl std::hash::Hash for Value {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.text.fmt(f)
    }
}

impl KvState {
    /// The value and version of `key`; an absent key is `(None, 0)`.
    pub fn get(&self, key: &str) -> (Option<&str>, u64) {
        match self.find(key) {
            Ok(slot) => {
                let (_, value, version) = &self.entries[slot];
                (Some(&value.text), *version)
            }
            Err(_) => (None, 0),
        }
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(present, _, _)| (**present).cmp(key))
    }

    /// The entry of `key`, if present and no other state shares this state's entries (a state
    /// the replay of a sequential partition owns alone): it can then change in place.
    fn unshared_entry(&mut self, key: &str) -> Option<&mut Entry> {
        let slot = self.find(key).ok()?;
        Arc::get_mut(&mut self.entries).map(|entries| &mut entries[slot])
    }

    /// Sets `key` to `value`, incrementing its version.
    fn write(&mut self, key: &str, value: Value) {
        if let Some(entry) = self.unshared_entry(key) {
            entry.1 = value;
            entry.2 += 1;
            return;
        }
        let entries = &self.entries;
        // Exact-size iterators: each collect allocates the new array once.
        self.entries = match self.find(key) {
            Ok(slot) => entries
                .iter()
                .enumerate()
                .map(|(index, entry)| match index == slot {
                    true => (entry.0.clone(), value.clone(), entry.2 + 1),
                    false => entry.clone(),
                })
                .collect(),
            Err(slot) => entries[..slot]
                .iter()
                .cloned()
                .chain(std::iter::once((Arc::from(key), value, 1)))
                .chain(entries[slot..].iter().cloned())
                .collect(),
        };
    }

    fn delete(&mut self, key: &str) {
        if let Ok(slot) = self.find(key) {
            let kept = self.entries.iter().enumerate().filter(|&(index, _)| index != slot);
            self.entries = kept.map(|(_, entry)| entry.clone()).collect();
        }
    }

    /// The present keys from `from` to `to`, both included: the first `limit`, and whether the
    /// range holds more.
    fn scan(&self, from: &str, to: &str, limit: u64) -> (Vec<(String, String, u64)>, bool) {
        let start = self.find(from).unwrap_or_else(|slot| slot);
        let in_range: Vec<&Entry> = self.entries[start..].iter().take_while(|(key, _, _)| **key <= *to).collect();
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = in_range.len() > limit;
        let found = in_range
            .into_iter()
            .take(limit)
            .map(|(key, value, version)| (key.to_string(), value.text.to_string(), *version));
        (found.collect(), more)
    }

    /// Applies `input` and returns its output: the sequential specification, in one place.
    /// A write to a key whose entry (and, for an append, value) no other state shares changes
    /// it in place.
    pub fn apply(&mut self, input: &KvInput) -> KvOutput {
        match input {
            KvInput::Get { key } => {
                let (value, version) = self.get(key);
                KvOutput::Get { value: value.map(str::to_string), version: Some(version) }
            }
            KvInput::Put { key, value } => {
                self.write(key, Value::new(value));
                KvOutput::Done
            }
            KvInput::Append { key, value } => {
                if let Some(entry) = self.unshared_entry(key) {
                    if entry.1.append_in_place(value) {
                        entry.2 += 1;
                        return KvOutput::Done;
                    }
                }
                let appended = match self.find(key) {
                    Ok(slot) => self.entries[slot].1.appended(value),
                    Err(_) => Value::new(value),
                };
                self.write(key, appended);
                KvOutput::Done
            }
            KvInput::Delete { key } => {
                self.delete(key);
                KvOutput::Done
            }
            KvInput::CPut { key, value, version } => {
                let applies = self.get(key).1 == *version;
                if applies {
                    self.write(key, Value::new(value));
                }
                KvOutput::CPut(applies)
            }
            KvInput::Swap { key, value } => {
                let (old, version) = self.get(key);
                let output = KvOutput::Swap { value: old.map(str::to_string), version };
                self.write(key, Value::new(value));
                output
            }
            KvInput::Scan { from, to, limit } => {
                let (entries, more) = self.scan(from, to, *limit);
                KvOutput::Scan { entries, more }
            }
            KvInput::Txn(txn) => {
                let succeeded = txn.compares.iter().all(|c| {
                    let (value, version) = self.get(&c.key);
                    c.holds(value, version)
                });
                let branch = if succeeded { &txn.success } else { &txn.failure };
                let results = branch.iter().map(|op| self.apply(op)).collect();
                KvOutput::Txn { succeeded, results }
            }
        }
    }
}

/// Whether a recorded output `seen` is what the specification answered (`expected`): equal, but
/// a get's unobserved version matches any. An output of the wrong kind is a bug in whoever built
/// the history.
fn agrees(input: &KvInput, expected: &KvOutput, seen: &KvOutput) -> bool {
    match (expected, seen) {
        (KvOutput::Get { value, version }, KvOutput::Get { value: seen_value, version: seen_version }) => {
            value == seen_value && (seen_version.is_none() || seen_version == version)
        }
        (KvOutput::Txn { succeeded, results }, KvOutput::Txn { succeeded: seen_succeeded, results: seen_results }) => {
            let KvInput::Txn(txn) = input else { mismatch(input, seen) };
            let seen_branch = if *seen_succeeded { &txn.success } else { &txn.failure };
            if seen_results.len() != seen_branch.len() {
                mismatch(input, seen);
            }
            succeeded == seen_succeeded
                && seen_branch.iter().zip(results.iter().zip(seen_results)).all(|(op, (e, s))| agrees(op, e, s))
        }
        (expected, seen) if std::mem::discriminant(expected) == std::mem::discriminant(seen) => expected == seen,
        _ => mismatch(input, seen),
    }
}

/// For a get with a known output, whether `state` gives that output (`None` for anything
/// else). A get is most of what the search tries, and most tries fail: compared in place
/// rather than through the output `apply` builds (a copy of the value). Same rule as `agrees`.
fn read_fits(state: &KvState, input: &KvInput, output: Option<&KvOutput>) -> Option<bool> {
    let (KvInput::Get { key }, Some(KvOutput::Get { value, version: seen_version })) = (input, output) else {
        return None;
    };
    let (current, version) = state.get(key);
    Some(value.as_deref() == current && seen_version.is_none_or(|seen| seen == version))
}

/// `state` after `input`, if its output agrees with `output` (when known): the step past
/// `read_fits`, which both `step` and `step_owned` have already tried.
fn apply_checked(mut state: KvState, input: &KvInput, output: Option<&KvOutput>) -> Option<KvState> {
    let expected = state.apply(input);
    match output {
        Some(seen) if !agrees(input, &expected, seen) => None,
        _ => Some(state),
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
        if let Some(legal) = read_fits(state, input, output) {
            return legal.then(|| state.clone());
        }
        apply_checked(state.clone(), input, output)
    }

    /// Changes `state` in place where nothing else shares it (see [`KvState::apply`]).
    fn step_owned(&self, state: KvState, input: &KvInput, output: Option<&KvOutput>) -> Option<KvState> {
        if let Some(legal) = read_fits(&state, input, output) {
            return legal.then_some(state);
        }
        apply_checked(state, input, output)
    }

    fn partition(&self, ops: &[Operation<KvInput, KvOutput>]) -> Vec<Partition> {
        if ops.iter().any(|op| op.input.key().is_none()) {
            // A scan or a transaction spans keys: the keys are not independent.
            let label = "all keys (scans or transactions span them)".to_string();
            return vec![Partition { label, op_indices: (0..ops.len()).collect() }];
        }
        // BTreeMap: partitions come out sorted by key, the same on every run.
        let mut by_key: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
        for (index, op) in ops.iter().enumerate() {
            by_key.entry(op.input.key().expect("single-key operations only here")).or_default().push(index);
        }
        by_key.into_iter().map(|(key, op_indices)| Partition { label: format!("key {key:?}"), op_indices }).collect()
    }

    fn describe_op(&self, input: &KvInput, output: Option<&KvOutput>) -> String {
        let mut text = describe_input(input);
        match output {
            None => text.push_str(" -> ?"),
            Some(KvOutput::Done) => {}
            Some(output) => {
                let _ = write!(text, " -> {}", describe_output(output));
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

fn describe_input(input: &KvInput) -> String {
    match input {
        KvInput::Get { key } => format!("get({key:?})"),
        KvInput::Put { key, value } => format!("put({key:?}, {value:?})"),
        KvInput::Append { key, value } => format!("append({key:?}, {value:?})"),
        KvInput::Delete { key } => format!("delete({key:?})"),
        KvInput::CPut { key, value, version } => format!("cput({key:?}, {value:?}, version {version})"),
        KvInput::Swap { key, value } => format!("swap({key:?}, {value:?})"),
        KvInput::Scan { from, to, limit } => format!("scan({from:?}..={to:?}, limit {limit})"),
        KvInput::Txn(txn) => {
            let compares: Vec<String> = txn.compares.iter().map(KvCompare::describe).collect();
            let ops = |ops: &[KvInput]| ops.iter().map(describe_input).collect::<Vec<_>>().join("; ");
            format!("txn(if {} then [{}] else [{}])", compares.join(" and "), ops(&txn.success), ops(&txn.failure))
        }
    }
}

fn describe_output(output: &KvOutput) -> String {
    let value_version = |value: &Option<String>, version: Option<u64>| {
        let mut text = match value {
            Some(value) => format!("{value:?}"),
            None => "absent".to_string(),
        };
        if let Some(version) = version {
            let _ = write!(text, " (version {version})");
        }
        text
    };
    match output {
        KvOutput::Done => "done".to_string(),
        KvOutput::CPut(applied) => applied.to_string(),
        KvOutput::Get { value, version } => value_version(value, *version),
        KvOutput::Swap { value, version } => format!("was {}", value_version(value, Some(*version))),
        KvOutput::Scan { entries, more } => {
            let found: Vec<String> = entries.iter().map(|(k, v, n)| format!("{k:?}: {v:?} (version {n})")).collect();
            format!("[{}]{}", found.join(", "), if *more { " and more" } else { "" })
        }
        KvOutput::Txn { succeeded, results } => {
            let results: Vec<String> = results.iter().map(describe_output).collect();
            format!("{} [{}]", if *succeeded { "then" } else { "else" }, results.join("; "))
        }
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
    fn swap_scan_and_transactions_follow_the_documented_rules() {
        let put = |k: &str, v: &str| KvInput::Put { key: k.into(), value: v.into() };
        let s1 = run(&KvModel.init(), put("a", "1"), Some(KvOutput::Done)).unwrap();
        let swap = KvInput::Swap { key: "a".into(), value: "2".into() };
        assert!(run(&s1, swap.clone(), Some(KvOutput::Swap { value: None, version: 0 })).is_none());
        let s2 = run(&s1, swap, Some(KvOutput::Swap { value: Some("1".into()), version: 1 })).unwrap();
        assert_eq!(s2.get("a"), (Some("2"), 2));
        let s3 = run(&s2, put("c", "3"), None).unwrap();
        let scan = |from: &str, to: &str, limit| KvInput::Scan { from: from.into(), to: to.into(), limit };
        let found = |entries: &[(&str, &str, u64)], more| KvOutput::Scan {
            entries: entries.iter().map(|(k, v, n)| (k.to_string(), v.to_string(), *n)).collect(),
            more,
        };
        assert!(run(&s3, scan("a", "c", 5), Some(found(&[("a", "2", 2), ("c", "3", 1)], false))).is_some());
        assert!(run(&s3, scan("a", "c", 1), Some(found(&[("a", "2", 2)], true))).is_some());
        assert!(run(&s3, scan("a", "c", 1), Some(found(&[("a", "2", 2)], false))).is_none());
        assert!(run(&s3, scan("b", "bz", 5), Some(found(&[], false))).is_some());
        assert!(run(&s3, scan("c", "a", 5), Some(found(&[], false))).is_some());
        // A transaction: comparisons on the state before it, then its branch in order.
        let txn = KvInput::Txn(KvTxn {
            compares: vec![KvCompare { key: "a".into(), cmp: KvCmp::Gt, target: KvTarget::Version(1) }],
            success: vec![put("b", "x"), KvInput::Get { key: "b".into() }],
            failure: vec![KvInput::Delete { key: "a".into() }],
        });
        let then = KvOutput::Txn {
            succeeded: true,
            results: vec![KvOutput::Done, KvOutput::Get { value: Some("x".into()), version: Some(1) }],
        };
        let s4 = run(&s3, txn.clone(), Some(then)).unwrap();
        assert_eq!(s4.get("b"), (Some("x"), 1));
        assert!(
            run(&s3, txn.clone(), Some(KvOutput::Txn { succeeded: false, results: vec![KvOutput::Done] })).is_none()
        );
        let s5 = run(&s1, txn, Some(KvOutput::Txn { succeeded: false, results: vec![KvOutput::Done] })).unwrap();
        assert_eq!(s5, KvModel.init());
    }

    /// A state stepped in place (owned alone) goes through the same states and answers as one
    /// stepped by copies, over random operations on three keys with right and wrong outputs.
    #[test]
    fn owned_steps_answer_as_shared_steps() {
        let (mut shared, mut owned) = (KvModel.init(), KvModel.init());
        let mut seed = 7u64;
        let mut next = |below: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % below
        };
        let mut in_place = 0;
        for step in 0..5000 {
            let key = ["a", "b", "c"][next(3) as usize].to_string();
            let value = next(5).to_string();
            let input = match next(6) {
                0 | 1 => KvInput::Append { key, value },
                2 => KvInput::Put { key, value },
                3 => KvInput::Delete { key },
                4 => KvInput::CPut { key, value, version: next(4) },
                _ => KvInput::Get { key },
            };
            let right = shared.clone().apply(&input);
            let output = match next(8) {
                0 => None,
                1 => Some(get(Some("9"), Some(1))),
                2 => Some(KvOutput::CPut(true)),
                _ => Some(right),
            };
            let output =
                output.filter(|o| std::mem::discriminant(o) == std::mem::discriminant(&shared.clone().apply(&input)));
            let by_copy = KvModel.step(&shared, &input, output.as_ref());
            let by_owner = KvModel.step_owned(owned.clone(), &input, output.as_ref());
            assert_eq!(by_copy, by_owner, "step {step}: {input:?} -> {output:?}");
            drop(by_owner);
            // Advance both when the step fits, the owned state alone (so nothing shares it).
            if let Some(next_state) = by_copy {
                shared = next_state;
                let (entries, present) = (owned.entries.as_ptr(), owned.get("a").0.is_some());
                owned = KvModel.step_owned(owned, &input, output.as_ref()).expect("fits as above");
                let appended_to_a = matches!(&input, KvInput::Append { key, .. } if key == "a");
                in_place += usize::from(appended_to_a && present && owned.entries.as_ptr() == entries);
                assert_eq!(shared, owned, "step {step}");
            }
        }
        assert!(in_place > 200, "{in_place} appends changed the state in place");
    }

    #[test]
    fn a_multi_key_operation_puts_the_whole_history_in_one_partition() {
        let op = |input: KvInput| Operation { client_id: 0, call_time: 0, call_seq: None, input, ret: None };
        let scan = KvInput::Scan { from: "a".into(), to: "b".into(), limit: 9 };
        let parts = KvModel.partition(&[
            op(KvInput::Delete { key: "b".into() }),
            op(scan),
            op(KvInput::Delete { key: "a".into() }),
        ]);
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].op_indices, vec![0, 1, 2]);
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
