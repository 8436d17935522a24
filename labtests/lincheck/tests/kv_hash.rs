//! The kv model's states carry each value's FNV-1a hash, extended by appends instead of
//! recomputed, and the search cache keys configurations by the states' hashes. Two rules keep
//! the checker's answers exact: equal stores make equal states (and equal hashes) however their
//! values were built, and states whose values differ never compare equal, even when the hashes
//! collide. A collision treated as equality would prune a configuration the search still had to
//! explore (a linearizable history called illegal), or, if a step ever compared hashes, let a
//! read of one value pass for the other (a non-linearizable history accepted).
//!
//! The colliding pair below was found for this test with a parallel collision search (van
//! Oorschot-Wiener, distinguished points) over 11-character base64 strings, about 8 * 10^9
//! FNV-1a evaluations; `fnv1a` here recomputes the hash independently to show the pair collides.

use std::hash::{Hash, Hasher};

use lincheck::{check, CheckOptions, History, KvInput, KvModel, KvOutput, KvState, Model, Verdict};

/// Two different values with the same 64-bit FNV-1a hash.
const A: &str = "nhCxNckvIDL";
const B: &str = "kuJ1ovCfsDP";

/// FNV-1a, 64 bits, as the model hashes a value's text.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

fn state_hash(state: &KvState) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    state.hash(&mut hasher);
    hasher.finish()
}

fn put(key: &str, value: &str) -> KvInput {
    KvInput::Put { key: key.into(), value: value.into() }
}

fn append(key: &str, value: &str) -> KvInput {
    KvInput::Append { key: key.into(), value: value.into() }
}

fn get(key: &str) -> KvInput {
    KvInput::Get { key: key.into() }
}

fn read(value: &str, version: Option<u64>) -> KvOutput {
    KvOutput::Get { value: Some(value.into()), version }
}

/// The state after applying `inputs` in order to the empty store.
fn after(inputs: &[KvInput]) -> KvState {
    let mut state = KvModel.init();
    for input in inputs {
        state.apply(input);
    }
    state
}

#[test]
fn the_pair_collides_in_fnv1a_and_stays_colliding_under_a_common_suffix() {
    assert_ne!(A, B);
    assert_eq!(fnv1a(A), fnv1a(B));
    // FNV-1a is a byte-by-byte fold: equal hashes stay equal under any common suffix.
    let suffix = "-tail ✓";
    assert_eq!(fnv1a(&format!("{A}{suffix}")), fnv1a(&format!("{B}{suffix}")));
}

#[test]
fn the_same_value_built_by_puts_appends_and_cputs_makes_equal_states() {
    let text = "héllo, wörld: a value built in pieces";
    let (head, tail) = text.split_at(14);
    let (mid, rest) = tail.split_at(7);
    // Each path ends with the same value at version 3.
    let paths: Vec<Vec<KvInput>> = vec![
        vec![put("k", "x"), put("k", "y"), put("k", text)],
        vec![put("k", head), append("k", mid), append("k", rest)],
        vec![append("k", head), append("k", ""), append("k", tail)],
        vec![append("k", "z"), put("k", ""), append("k", text)],
        vec![
            KvInput::CPut { key: "k".into(), value: head.into(), version: 0 },
            append("k", tail),
            KvInput::Swap { key: "k".into(), value: text.into() },
        ],
        vec![
            put("k", "gone"),
            KvInput::Delete { key: "k".into() },
            append("k", head),
            append("k", mid),
            append("k", rest),
        ],
    ];
    let states: Vec<KvState> = paths.iter().map(|path| after(path)).collect();
    for (path, state) in paths.iter().zip(&states) {
        assert_eq!(state.get("k"), (Some(text), 3), "{path:?}");
        assert_eq!(*state, states[0], "{path:?} and {:?} make different states", paths[0]);
        assert_eq!(state_hash(state), state_hash(&states[0]), "{path:?}: equal states, different hashes");
    }
    // Other keys present too, written in a different order: still one state.
    let one = after(&[put("a", "1"), put("k", head), append("k", tail), put("z", "2")]);
    let other = after(&[put("z", "2"), append("k", head), put("a", "1"), append("k", tail)]);
    assert_eq!(one, other);
    assert_eq!(state_hash(&one), state_hash(&other));
}

#[test]
fn colliding_values_make_unequal_states_whatever_built_them() {
    let pairs = [
        (after(&[put("k", A)]), after(&[put("k", B)])),
        (after(&[append("k", A)]), after(&[append("k", B)])),
        (after(&[put("k", A), append("k", "-tail")]), after(&[put("k", B), append("k", "-tail")])),
        (after(&[put("k", ""), append("k", A)]), after(&[put("k", ""), append("k", B)])),
        (after(&[put("j", "1"), put("k", A)]), after(&[put("j", "1"), put("k", B)])),
    ];
    for (with_a, with_b) in pairs {
        // The precondition that makes this test mean something: the collision reaches the
        // states' hashes (the search cache's key). If the model's hash changes, find a pair that
        // collides in the new one.
        assert_eq!(state_hash(&with_a), state_hash(&with_b), "the pair no longer collides in the state's hash");
        assert_ne!(with_a, with_b, "states holding {:?} and {:?} compare equal", with_a.get("k"), with_b.get("k"));
        let read_a = with_a.get("k").0.unwrap().to_string();
        let read_b = with_b.get("k").0.unwrap().to_string();
        assert_ne!(read_a, read_b);
        // A step reads the text: a read of the other value is illegal from each state.
        assert!(KvModel.step(&with_a, &get("k"), Some(&read(&read_b, None))).is_none());
        assert!(KvModel.step(&with_b, &get("k"), Some(&read(&read_a, None))).is_none());
        assert!(KvModel.step(&with_a, &get("k"), Some(&read(&read_a, None))).is_some());
    }
}

fn verdict(history: &History<KvInput, KvOutput>) -> Verdict {
    let options = CheckOptions { max_steps: Some(100_000), threads: Some(1), ..CheckOptions::default() };
    check(&KvModel, history, &options).verdict
}

/// Two concurrent puts of the colliding values, then a read of `seen`. Both orders of the puts
/// reach the same linearized set with states that hash alike, so the search's cache meets the
/// collision whichever order it tries first. `pending`: plus an operation that never returned
/// (a cput that cannot apply), which turns on the cache's failed-configuration rule.
fn history(seen: &str, version: Option<u64>, tail: Option<&str>, pending: bool) -> History<KvInput, KvOutput> {
    let mut h = History::new();
    h.push(1, 0, 100, put("k", A), KvOutput::Done).unwrap();
    h.push(2, 0, 100, put("k", B), KvOutput::Done).unwrap();
    if let Some(tail) = tail {
        h.push(3, 150, 160, append("k", tail), KvOutput::Done).unwrap();
    }
    if pending {
        h.push_unknown(4, 0, KvInput::CPut { key: "k".into(), value: "never".into(), version: 99 });
    }
    h.push(5, 200, 300, get("k"), read(seen, version)).unwrap();
    h
}

#[test]
fn a_read_of_either_colliding_value_after_concurrent_puts_is_linearizable() {
    for tail in [None, Some("-tail")] {
        for pending in [false, true] {
            for value in [A, B] {
                let seen = format!("{value}{}", tail.unwrap_or(""));
                for version in [None, Some(2 + u64::from(tail.is_some()))] {
                    let h = history(&seen, version, tail, pending);
                    assert_eq!(
                        verdict(&h),
                        Verdict::Ok,
                        "read {seen:?} (version {version:?}, pending op: {pending}) after concurrent puts of {A:?} and {B:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn reads_that_need_both_colliding_values_at_once_are_illegal() {
    for pending in [false, true] {
        // The store holds one of the two after both puts; reading one, then the other with no
        // write between, is not linearizable.
        let mut h = history(A, None, None, pending);
        h.push(6, 400, 500, get("k"), read(B, None)).unwrap();
        assert_eq!(verdict(&h), Verdict::Illegal, "read {A:?} then {B:?} (pending op: {pending})");
        // The same with the reads the other way round, and a read of a third value.
        let mut h = history(B, None, None, pending);
        h.push(6, 400, 500, get("k"), read(A, None)).unwrap();
        assert_eq!(verdict(&h), Verdict::Illegal, "read {B:?} then {A:?} (pending op: {pending})");
        assert_eq!(verdict(&history("neither", None, None, pending)), Verdict::Illegal);
        // A version that no order gives.
        assert_eq!(verdict(&history(A, Some(1), None, pending)), Verdict::Illegal);
    }
}
