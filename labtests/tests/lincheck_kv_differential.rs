//! The servers' state machine (`raftkv::kvsrv::KvMachine`) and the checker's kv model
//! (`labtests::lincheck::KvModel`) on the same random operation sequences: the model must accept
//! exactly the output the machine gave (and no other), and both must hold the same store after
//! every operation, so the specification and the servers cannot drift apart.

use labtests::kv::history::{to_input, to_output};
use labtests::lincheck::{KvInput, KvModel, KvOutput, KvState, Model};
use raftkv::kvsrv::{KvMachine, Op, Outcome, Request};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const KEYS: [&str; 3] = ["a", "b", "c"];
const SEQUENCES: u64 = 300;
const OPS_PER_SEQUENCE: usize = 200;

/// What the sequences exercised; each must be non-zero or the comparison proves little.
#[derive(Debug, Default)]
struct Coverage {
    gets_absent: u64,
    gets_present: u64,
    puts: u64,
    appends_to_absent: u64,
    appends_to_present: u64,
    deletes_of_present: u64,
    deletes_of_absent: u64,
    cputs_applied: u64,
    cputs_creating: u64,
    cputs_refused: u64,
}

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

fn count(coverage: &mut Coverage, op: &Op, before: &KvMachine, outcome: &Outcome) {
    let present = before.get(op.key()).0.is_some();
    let counter = match (op, outcome) {
        (Op::Get { .. }, _) if present => &mut coverage.gets_present,
        (Op::Get { .. }, _) => &mut coverage.gets_absent,
        (Op::Put { .. }, _) => &mut coverage.puts,
        (Op::Append { .. }, _) if present => &mut coverage.appends_to_present,
        (Op::Append { .. }, _) => &mut coverage.appends_to_absent,
        (Op::Delete { .. }, _) if present => &mut coverage.deletes_of_present,
        (Op::Delete { .. }, _) => &mut coverage.deletes_of_absent,
        (Op::CPut { .. }, Outcome::Done) if present => &mut coverage.cputs_applied,
        (Op::CPut { .. }, Outcome::Done) => &mut coverage.cputs_creating,
        (Op::CPut { .. }, _) => &mut coverage.cputs_refused,
    };
    *counter += 1;
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
    let mut coverage = Coverage::default();
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
            count(&mut coverage, &op, &before, &outcome);
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
    let counts = format!("{coverage:?}");
    let Coverage {
        gets_absent,
        gets_present,
        puts,
        appends_to_absent,
        appends_to_present,
        deletes_of_present,
        deletes_of_absent,
        cputs_applied,
        cputs_creating,
        cputs_refused,
    } = coverage;
    for covered in [
        gets_absent,
        gets_present,
        puts,
        appends_to_absent,
        appends_to_present,
        deletes_of_present,
        deletes_of_absent,
        cputs_applied,
        cputs_creating,
        cputs_refused,
    ] {
        assert!(covered >= 100, "every case must be exercised often: {counts}");
    }
}
