//! Property tests: the checker agrees with an exhaustive brute-force checker on thousands of
//! small random histories, both verdicts, with and without operations that never returned.

mod lincheck_common;

use labtests::lincheck::{check, CheckOptions, History, KvModel, Model, RegisterModel, Verdict};
use lincheck_common::{
    assert_valid_linearization, assert_valid_prefix, brute_force, kv_history, register_history, Shape,
};
use rand::SeedableRng;
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
