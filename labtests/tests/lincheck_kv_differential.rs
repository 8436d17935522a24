//! The servers' state machine (`raftkv::kvmachine::KvMachine`) and the checker's kv model
//! (`lincheck::KvModel`) on the same random operation sequences: the model must accept
//! exactly the output the machine gave (and no other), and both must hold the same store after
//! every operation, so the specification and the servers cannot drift apart. Swaps, scans and
//! transactions (with nested ones) included.

use std::collections::BTreeMap;

use labtests::kv::history::{to_input, to_output};
use lincheck::{KvInput, KvModel, KvOutput, KvState, Model};
use raftkv::kvmachine::KvMachine;
use raftkv::kvsrv::{Cmp, Compare, Op, Outcome, Request, Target, Txn};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const KEYS: [&str; 3] = ["a", "b", "c"];
/// Scan bounds: the keys, and names between, before and after them.
const BOUNDS: [&str; 6] = ["", "a", "a0", "b", "c", "z"];
const SEQUENCES: u64 = 300;
const OPS_PER_SEQUENCE: usize = 200;

fn pick<T: Copy>(rng: &mut ChaCha8Rng, from: &[T]) -> T {
    from[rng.random_range(0..from.len())]
}

/// A version near the current one, so both outcomes of a comparison are common.
fn near_version(rng: &mut ChaCha8Rng, machine: &KvMachine, key: &str) -> u64 {
    let current = machine.get(key).1;
    match rng.random_range(0..4) {
        0 => 0,
        1 => current + 1,
        2 => current.saturating_sub(1),
        _ => current,
    }
}

fn random_op(rng: &mut ChaCha8Rng, machine: &KvMachine, depth: u32) -> Op {
    let key = pick(rng, &KEYS).to_string();
    let value = format!("v{}", rng.random_range(0..5));
    match rng.random_range(0..14) {
        0..=2 => Op::Get { key },
        3 => Op::Put { key, value },
        4 | 5 => Op::Append { key, value },
        6 => Op::Delete { key },
        7 | 8 => {
            let version = near_version(rng, machine, &key);
            Op::CPut { key, value, version }
        }
        9 => Op::Swap { key, value },
        10 => {
            Op::Scan { from: pick(rng, &BOUNDS).into(), to: pick(rng, &BOUNDS).into(), limit: rng.random_range(0..4) }
        }
        _ if depth > 0 => random_op(rng, machine, depth),
        _ => Op::Txn(random_txn(rng, machine, depth)),
    }
}

fn random_txn(rng: &mut ChaCha8Rng, machine: &KvMachine, depth: u32) -> Txn {
    let compares = (0..rng.random_range(0..3))
        .map(|_| {
            let key = pick(rng, &KEYS).to_string();
            let cmp = pick(rng, &[Cmp::Eq, Cmp::Ne, Cmp::Lt, Cmp::Gt]);
            let target = if rng.random_bool(0.5) {
                Target::Version(near_version(rng, machine, &key))
            } else {
                // The current value or another one, the empty string included.
                let current = machine.get(&key).0.map(str::to_string);
                let other = ["", "v1", "v3", "v2v4"][rng.random_range(0..4)].to_string();
                Target::Value(if rng.random_bool(0.5) { current.unwrap_or(other) } else { other })
            };
            Compare { key, cmp, target }
        })
        .collect();
    // One level of nesting, rarely: a nested transaction is an operation like any other.
    let branch = |rng: &mut ChaCha8Rng| -> Vec<Op> {
        (0..rng.random_range(0..4))
            .map(|_| {
                let nest = rng.random_bool(0.05);
                random_op(rng, machine, if nest { depth } else { depth + 1 })
            })
            .collect()
    };
    let success = branch(rng);
    let failure = branch(rng);
    Txn { compares, success, failure }
}

/// The case an operation exercised, for the coverage count.
fn case(op: &Op, before: &KvMachine, outcome: &Outcome) -> &'static str {
    let present = op.key().is_some_and(|key| before.get(key).0.is_some());
    match (op, outcome) {
        (Op::Get { .. }, _) if present => "get of a present key",
        (Op::Get { .. }, _) => "get of an absent key",
        (Op::Put { .. }, _) => "put",
        (Op::Append { .. }, _) if present => "append to a present key",
        (Op::Append { .. }, _) => "append to an absent key",
        (Op::Delete { .. }, _) if present => "delete of a present key",
        (Op::Delete { .. }, _) => "delete of an absent key",
        (Op::CPut { .. }, Outcome::Done) if present => "cput applied",
        (Op::CPut { .. }, Outcome::Done) => "cput creating the key",
        (Op::CPut { .. }, _) => "cput refused",
        (Op::Swap { .. }, _) if present => "swap of a present key",
        (Op::Swap { .. }, _) => "swap of an absent key",
        (Op::Scan { .. }, Outcome::Range { more: true, .. }) => "scan cut by its limit",
        (Op::Scan { .. }, Outcome::Range { entries, .. }) if entries.is_empty() => "scan finding nothing",
        (Op::Scan { .. }, _) => "scan of a whole range",
        (Op::Txn(_), Outcome::Txn { succeeded: true, results }) if !results.is_empty() => "txn: then-branch ran",
        (Op::Txn(_), Outcome::Txn { succeeded: false, results }) if !results.is_empty() => "txn: else-branch ran",
        (Op::Txn(_), _) => "txn with an empty branch",
    }
}

/// How many distinct values `case` returns.
const CASES: usize = 18;

/// Outputs of the same kind as `output` that differ from it (for the input `input`).
fn other_outputs(input: &KvInput, output: &KvOutput) -> Vec<KvOutput> {
    match output {
        KvOutput::Get { value, version } => {
            let version = version.expect("the machine always reports the version");
            let other_value = match value {
                Some(value) => vec![None, Some(format!("{value}x"))],
                None => vec![Some(String::new())],
            };
            let mut others: Vec<KvOutput> =
                other_value.into_iter().map(|value| KvOutput::Get { value, version: Some(version) }).collect();
            others.push(KvOutput::Get { value: value.clone(), version: Some(version + 1) });
            if version > 0 {
                others.push(KvOutput::Get { value: value.clone(), version: Some(version - 1) });
            }
            others
        }
        KvOutput::Swap { value, version } => {
            let other_value = if value.is_some() { None } else { Some(String::new()) };
            vec![
                KvOutput::Swap { value: other_value, version: *version },
                KvOutput::Swap { value: value.clone(), version: version + 1 },
            ]
        }
        KvOutput::Scan { entries, more } => {
            let mut others = vec![KvOutput::Scan { entries: entries.clone(), more: !more }];
            if let Some((first, rest)) = entries.split_first() {
                others.push(KvOutput::Scan { entries: rest.to_vec(), more: *more });
                let mut bumped = entries.clone();
                bumped[0].2 += 1;
                others.push(KvOutput::Scan { entries: bumped, more: *more });
                let mut doubled = entries.clone();
                doubled.push(first.clone());
                others.push(KvOutput::Scan { entries: doubled, more: *more });
            } else {
                let ghost = ("a".to_string(), "v0".to_string(), 1);
                others.push(KvOutput::Scan { entries: vec![ghost], more: *more });
            }
            others
        }
        KvOutput::Txn { succeeded, results } => {
            let KvInput::Txn(txn) = input else { panic!("{output:?} answers {input:?}") };
            let branch = if *succeeded { &txn.success } else { &txn.failure };
            let other_branch = if *succeeded { &txn.failure } else { &txn.success };
            let mut others = Vec::new();
            if other_branch.len() == results.len() {
                others.push(KvOutput::Txn { succeeded: !succeeded, results: results.clone() });
            }
            for (i, (op, result)) in branch.iter().zip(results).enumerate() {
                for other in other_outputs(op, result) {
                    let mut changed = results.clone();
                    changed[i] = other;
                    others.push(KvOutput::Txn { succeeded: *succeeded, results: changed });
                }
            }
            others
        }
        KvOutput::CPut(applied) => vec![KvOutput::CPut(!applied)],
        KvOutput::Done => Vec::new(),
    }
}

fn assert_same_store(machine: &KvMachine, state: &KvState, context: &str) {
    for key in KEYS {
        assert_eq!(machine.get(key), state.get(key), "{context}: key {key:?}");
    }
}

#[test]
fn the_servers_state_machine_and_the_checkers_model_agree() {
    let mut coverage: BTreeMap<&str, u64> = BTreeMap::new();
    for sequence in 0..SEQUENCES {
        let mut rng = ChaCha8Rng::seed_from_u64(sequence);
        let mut machine = KvMachine::new();
        let mut state = KvModel.init();
        let mut next_seq = [1u64; 4];
        for step in 0..OPS_PER_SEQUENCE {
            let op = random_op(&mut rng, &machine, 0);
            let context = format!("sequence {sequence} op {step}: {op:?}");
            let before = machine.clone();
            // Through `apply`, as the services do: a random client with its next sequence number.
            let client = rng.random_range(0..next_seq.len());
            let outcome = machine.apply(Request { client: client as u64, seq: next_seq[client], op: op.clone() });
            next_seq[client] += 1;
            *coverage.entry(case(&op, &before, &outcome)).or_default() += 1;
            let input: KvInput = to_input(&op);
            let output = to_output(&input, &outcome).unwrap_or_else(|| panic!("{context}: no output for {outcome:?}"));
            let next = KvModel
                .step(&state, &input, Some(&output))
                .unwrap_or_else(|| panic!("{context}: the model rejects the machine's {output:?}"));
            for other in other_outputs(&input, &output) {
                assert!(
                    KvModel.step(&state, &input, Some(&other)).is_none(),
                    "{context}: the model also accepts {other:?} where the machine answered {output:?}"
                );
            }
            state = next;
            assert_same_store(&machine, &state, &context);
        }
    }
    // Every case, each exercised often, or the comparison proves little.
    assert_eq!(coverage.len(), CASES, "{coverage:?}");
    assert!(coverage.values().all(|&count| count >= 100), "{coverage:?}");
}
