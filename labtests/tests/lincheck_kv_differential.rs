//! The servers' state machine (`raftkv::kvsrv::KvMachine`) and the checker's kv model
//! (`lincheck::KvModel`) on the same random operation sequences: the model must accept
//! exactly the output the machine gave (and no other), and both must hold the same store after
//! every operation, so the specification and the servers cannot drift apart.

use std::collections::BTreeMap;

use labtests::kv::history::{to_input, to_output};
use lincheck::{KvInput, KvModel, KvOutput, KvState, Model};
use raftkv::kvsrv::{KvMachine, Op, Outcome, Request};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const KEYS: [&str; 3] = ["a", "b", "c"];
const SEQUENCES: u64 = 300;
const OPS_PER_SEQUENCE: usize = 200;

fn random_op(rng: &mut ChaCha8Rng, machine: &KvMachine) -> Op {
    let key = KEYS[rng.random_range(0..KEYS.len())].to_string();
    let value = format!("v{}", rng.random_range(0..5));
    match rng.random_range(0..10) {
        0..=2 => Op::Get { key },
        3 => Op::Put { key, value },
        4 | 5 => Op::Append { key, value },
        6 => Op::Delete { key },
        _ => {
            // Near the current version, so both outcomes are common; 0 creates an absent key.
            let current = machine.get(&key).1;
            let version = match rng.random_range(0..4) {
                0 => 0,
                1 => current + 1,
                2 => current.saturating_sub(1),
                _ => current,
            };
            Op::CPut { key, value, version }
        }
    }
}

/// How many distinct values `case` returns.
const CASES: usize = 10;

/// The case an operation exercised, for the coverage count.
fn case(op: &Op, before: &KvMachine, outcome: &Outcome) -> &'static str {
    let present = before.get(op.key()).0.is_some();
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
    }
}

/// Outputs of the same kind as `output` that differ from it.
fn other_outputs(output: &KvOutput) -> Vec<KvOutput> {
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
            let op = random_op(&mut rng, &machine);
            let context = format!("sequence {sequence} op {step}: {op:?}");
            let before = machine.clone();
            // Through `apply`, as the services do: a random client with its next sequence number.
            let client = rng.random_range(0..next_seq.len());
            let outcome = machine.apply(Request { client: client as u64, seq: next_seq[client], op: op.clone() });
            next_seq[client] += 1;
            *coverage.entry(case(&op, &before, &outcome)).or_default() += 1;
            let input: KvInput = to_input(&op);
            let output = to_output(&op, &outcome).unwrap_or_else(|| panic!("{context}: no output for {outcome:?}"));
            let next = KvModel
                .step(&state, &input, Some(&output))
                .unwrap_or_else(|| panic!("{context}: the model rejects the machine's {output:?}"));
            for other in other_outputs(&output) {
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
