//! Property tests: the checker agrees with an exhaustive brute-force checker on thousands of
//! small random histories, both verdicts, with and without operations that never returned, with
//! sequence numbers ordering ties and with outputs that are unknown.

mod lincheck_common;

use lincheck::{check, CheckOptions, History, KvModel, Model, Operation, RegisterModel, Verdict};
use lincheck_common::{
    assert_valid_linearization, assert_valid_prefix, brute_force, kv_history, register_history, Shape,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CASES: usize = 1500;

/// Checks `CASES` histories from `generate`, comparing verdicts; returns how many were legal.
fn agree<M: Model>(
    model: &M,
    seed: u64,
    mut generate: impl FnMut(&mut ChaCha8Rng) -> History<M::Input, M::Output>,
) -> usize {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut legal = 0;
    for case in 0..CASES {
        let history = generate(&mut rng);
        let expected = brute_force(model, history.ops());
        let result = check(model, &history, &CheckOptions::default());
        let verdict = if expected { Verdict::Ok } else { Verdict::Illegal };
        assert_eq!(
            result.verdict, verdict,
            "seed {seed} case {case}: checker disagrees with brute force on {history:#?}"
        );
        for partition in &result.partitions {
            if expected {
                assert_valid_linearization(model, history.ops(), &partition.op_indices, &partition.linearized);
                assert_eq!(partition.blocked_op, None);
            } else if let Some(blocked) = partition.blocked_op {
                assert!(partition.op_indices.contains(&blocked));
                assert!(!partition.linearized.contains(&blocked));
                assert_valid_prefix(model, history.ops(), &partition.op_indices, &partition.linearized);
            }
        }
        if let Some(violation) = result.violation() {
            assert!(violation.blocked_op.is_some(), "an illegal partition names its blocked op");
        }
        legal += usize::from(expected);
    }
    legal
}

/// Both verdicts must be common, or the comparison proves little.
fn assert_mixed(legal: usize) {
    assert!(legal > CASES / 5 && legal < CASES * 4 / 5, "{legal} of {CASES} legal: generator is too one-sided");
}

#[test]
fn register_agrees_with_brute_force_without_unknowns() {
    let shape = Shape { max_ops: 7, clients: 3, unknown: 0.0, corrupt: 0.15 };
    assert_mixed(agree(&RegisterModel, 1, |rng| register_history(rng, shape)));
}

#[test]
fn register_agrees_with_brute_force_with_unknowns() {
    let shape = Shape { max_ops: 7, clients: 3, unknown: 0.3, corrupt: 0.3 };
    assert_mixed(agree(&RegisterModel, 2, |rng| register_history(rng, shape)));
}

#[test]
fn kv_agrees_with_brute_force_without_unknowns() {
    let shape = Shape { max_ops: 7, clients: 3, unknown: 0.0, corrupt: 0.15 };
    assert_mixed(agree(&KvModel, 3, |rng| kv_history(rng, shape, 2)));
}

#[test]
fn kv_agrees_with_brute_force_with_unknowns() {
    let shape = Shape { max_ops: 7, clients: 3, unknown: 0.3, corrupt: 0.3 };
    assert_mixed(agree(&KvModel, 4, |rng| kv_history(rng, shape, 2)));
}

/// `history` with every tie in time broken by random sequence numbers (a call still before its
/// own return), and each returned operation's output dropped with probability `unknown_output`.
fn sequenced<I: Clone, O: Clone>(rng: &mut ChaCha8Rng, history: History<I, O>, unknown_output: f64) -> History<I, O> {
    let mut ops: Vec<Operation<I, O>> = history.ops().to_vec();
    let mut events: Vec<(u64, u64, usize, bool)> = Vec::new();
    for (index, op) in ops.iter().enumerate() {
        events.push((op.call_time, rng.random(), index, false));
        if let Some(ret) = op.return_time() {
            events.push((ret, rng.random(), index, true));
        }
    }
    events.sort_unstable();
    for (seq, &(_, _, index, is_return)) in events.iter().enumerate() {
        match ops[index].ret.as_mut() {
            Some(ret) if is_return => ret.seq = Some(seq as u64),
            _ => ops[index].call_seq = Some(seq as u64),
        }
    }
    for op in &mut ops {
        if let Some(ret) = op.ret.as_mut() {
            let (call_seq, ret_seq) = (op.call_seq.expect("set above"), ret.seq.expect("set above"));
            if ret_seq < call_seq {
                // Equal times, drawn the wrong way round: the call comes first.
                op.call_seq = Some(ret_seq);
                ret.seq = Some(call_seq);
            }
            if rng.random_bool(unknown_output) {
                ret.output = None;
            }
        }
    }
    ops.into_iter().collect()
}

#[test]
fn kv_agrees_with_brute_force_sequenced_with_unknown_outputs() {
    let shape = Shape { max_ops: 7, clients: 3, unknown: 0.2, corrupt: 0.3 };
    assert_mixed(agree(&KvModel, 6, |rng| {
        let history = kv_history(rng, shape, 2);
        sequenced(rng, history, 0.2)
    }));
}

#[test]
fn register_agrees_with_brute_force_sequenced_with_unknown_outputs() {
    let shape = Shape { max_ops: 7, clients: 3, unknown: 0.2, corrupt: 0.3 };
    assert_mixed(agree(&RegisterModel, 7, |rng| {
        let history = register_history(rng, shape);
        sequenced(rng, history, 0.2)
    }));
}

#[test]
fn uncorrupted_histories_are_linearizable() {
    // The generators execute a correct store: without corruption every history must pass,
    // including larger ones the brute force could not handle.
    let shape = Shape { max_ops: 60, clients: 5, unknown: 0.1, corrupt: 0.0 };
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for case in 0..100 {
        let history = kv_history(&mut rng, shape, 3);
        let result = check(&KvModel, &history, &CheckOptions::default());
        assert_eq!(result.verdict, Verdict::Ok, "case {case}: {history:#?}");
        let history = register_history(&mut rng, shape);
        let result = check(&RegisterModel, &history, &CheckOptions::default());
        assert_eq!(result.verdict, Verdict::Ok, "case {case}: {history:#?}");
    }
}
