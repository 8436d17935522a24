//! Partitions whose operations follow one another in real time: every operation returned, and
//! each returned before the next was called. The search (`search.rs`) tries candidates front to
//! back, so on a partition whose operations all returned and fit the model in call order it
//! places them in that order without ever backtracking: one step and one new cache entry per
//! operation (each linearized set is one operation larger than the last), then one step that
//! finds nothing left. Replaying the operations through the model in call order gives that
//! answer without the event list and the cache. A key of the kv suites' own-key clients is such
//! a partition (one client, then the checking clerk after it), and most of their operations are.
//!
//! Only partitions without overlapping operations are replayed: there call order is the only
//! order, so a replay that fails means a violation (rare, and the search then proves it); with
//! overlaps the linearization often differs from call order, and a failed replay would be work
//! thrown away.
//!
//! The replay answers only when its answer is the search's own, with the same steps, cache
//! entries and order ([`SearchOutcome::in_call_order`]): every operation fits the model, and
//! neither the step budget nor a limit the search looks at every `STEPS_PER_CLOCK_CHECK`
//! steps would have stopped the search first. Anything else (an operation that does not fit,
//! a limit) goes to the search itself, which then decides as it always did.

use super::cache::Cache;
use super::history::Operation;
use super::model::Model;
use super::search::{limit_reached, Limits, STEPS_PER_CLOCK_CHECK};

#[cfg(doc)]
use super::search::SearchOutcome;

/// Whether `ops` (a partition, in history order) follow one another in real time and the
/// model accepts each in that order within `limits`: then the search would find them
/// linearizable in call order, in `ops.len() + 1` steps.
pub(crate) fn replay<M: Model>(model: &M, ops: &[&Operation<M::Input, M::Output>], limits: &Limits) -> bool {
    let len = ops.len() as u64;
    // The search needs one step per operation and one more to find nothing left.
    if limits.max_steps.is_some_and(|max| max <= len) || !in_sequence(ops) {
        return false;
    }
    let mut state = model.init();
    // What the search's cache would hold: one entry per operation placed so far, whose returned
    // set (the first k operations) compresses to its full words and at most one partial word.
    let mut approx_bytes = 0;
    // Step `steps` places operation `steps`; the last finds nothing left.
    for steps in 0..=ops.len() {
        if (steps as u64).is_multiple_of(STEPS_PER_CLOCK_CHECK) && limit_reached(limits, steps, approx_bytes).is_some()
        {
            return false;
        }
        let Some(op) = ops.get(steps) else { break };
        let Some(next) = model.step_owned(state, &op.input, op.output()) else {
            return false;
        };
        state = next;
        approx_bytes += Cache::<M::State>::entry_bytes(usize::from((steps + 1) % 64 != 0));
    }
    true
}

/// Every operation returned, after its call, and before the next one's call: the search's
/// event list is then call, return, call, return... in `ops`' order.
fn in_sequence<I, O>(ops: &[&Operation<I, O>]) -> bool {
    let returned_after_call = |op: &&Operation<I, O>| {
        op.return_stamp().is_some_and(|ret| op.call_stamp().order_key(false) < ret.order_key(true))
    };
    ops.iter().all(returned_after_call) && ops.windows(2).all(|pair| pair[0].precedes(pair[1]))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::super::history::{Operation, Return};
    use super::super::models::kv::{KvInput, KvModel, KvOutput};
    use super::super::search::{search, search_by_cache, Limits, PartitionStatus};

    type KvOp = Operation<KvInput, KvOutput>;

    /// A random kv partition of `len` operations on key "k": mostly one after another, some
    /// overlapping, a few that never returned or returned without an output, and outputs that
    /// are mostly right (a store applying them in call order) and sometimes wrong.
    fn partition(rng: &mut ChaCha8Rng, len: usize, sequenced: bool) -> Vec<KvOp> {
        let (mut time, mut value, mut version) = (0u64, String::new(), 0u64);
        let mut ops = Vec::with_capacity(len);
        for index in 0..len as u64 {
            let call_time = time + rng.random_range(0..3);
            let return_time = call_time + rng.random_range(0..3);
            // Usually the next call comes after this return; sometimes it overlaps it.
            time = if rng.random_bool(0.9) { return_time + rng.random_range(0..2) } else { call_time };
            let piece = format!("{}", rng.random_range(0..4));
            let (input, right) = match rng.random_range(0..3) {
                0 => {
                    let output = KvOutput::Get { value: (version > 0).then(|| value.clone()), version: Some(version) };
                    (KvInput::Get { key: "k".into() }, output)
                }
                1 => {
                    value.push_str(&piece);
                    version += 1;
                    (KvInput::Append { key: "k".into(), value: piece }, KvOutput::Done)
                }
                _ => {
                    value = piece.clone();
                    version += 1;
                    (KvInput::Put { key: "k".into(), value: piece }, KvOutput::Done)
                }
            };
            let output = match rng.random_range(0..40) {
                0 => KvOutput::Get { value: Some("wrong".into()), version: Some(version) },
                1 => KvOutput::Get { value: (version > 0).then(|| value.clone()), version: Some(version + 1) },
                _ => right,
            };
            let output = match output {
                KvOutput::Get { .. } if !matches!(input, KvInput::Get { .. }) => KvOutput::Done,
                output => output,
            };
            let ret = match rng.random_range(0..60) {
                0 => None,
                1 => Some(Return { time: return_time, seq: None, output: None }),
                _ => Some(Return { time: return_time, seq: None, output: Some(output) }),
            };
            let (call_seq, ret) = match sequenced {
                // Sequence numbers in time order, calls before returns at equal times.
                true => (
                    Some(2 * call_time * 1000 + index),
                    ret.map(|ret| Return { seq: Some(2 * ret.time * 1000 + 500 + index), ..ret }),
                ),
                false => (None, ret),
            };
            ops.push(Operation { client_id: 0, call_time, call_seq, input, ret });
        }
        ops
    }

    /// The search's answer with the replay and without it are the same in every field, for
    /// partitions sequential or not, right or wrong, under any step budget and cache bound.
    #[test]
    fn the_replay_answers_exactly_as_the_search() {
        let mut rng = ChaCha8Rng::seed_from_u64(15);
        let stop = AtomicBool::new(false);
        let (mut replayed, mut compared, mut statuses) = (0, 0, [0; 5]);
        for round in 0..3000 {
            let len = match round % 10 {
                0 => rng.random_range(250..600),
                _ => rng.random_range(0..12),
            };
            let ops = partition(&mut rng, len, round % 2 == 0);
            let refs: Vec<&KvOp> = ops.iter().collect();
            let budgets = [None, Some(0), Some(len as u64), Some(len as u64 + 1), Some(rng.random_range(0..700))];
            let cache_bounds = [1 << 30, 0, rng.random_range(0..40_000)];
            for max_steps in budgets {
                for max_cache_bytes in cache_bounds {
                    let limits = Limits { deadline: None, max_cache_bytes, max_steps, stop: &stop };
                    let (fast, full) = (search(&KvModel, &refs, limits), search_by_cache(&KvModel, &refs, limits));
                    assert_eq!(
                        fast, full,
                        "round {round}, budget {max_steps:?}, cache bound {max_cache_bytes}: {ops:?}"
                    );
                    replayed += usize::from(super::replay(&KvModel, &refs, &limits));
                    compared += 1;
                    let kind = match full.status {
                        PartitionStatus::Linearizable => 0,
                        PartitionStatus::Illegal => 1,
                        PartitionStatus::BudgetSpent { .. } => 2,
                        PartitionStatus::CacheFull { .. } => 3,
                        _ => 4,
                    };
                    statuses[kind] += 1;
                }
            }
        }
        // Both kinds were compared (partitions replayed and left to the search), and the
        // search's answers cover every way a search of these can end.
        assert!(replayed > compared / 10 && replayed < compared * 9 / 10, "{replayed} of {compared} replayed");
        assert!(statuses[..4].iter().all(|&count| count > 0), "statuses seen: {statuses:?}");
    }

    /// `len` operations one after another, each with the output a store applying them in
    /// order gives.
    fn in_order(len: usize) -> Vec<KvOp> {
        (0..len as u64)
            .map(|k| {
                let input = KvInput::Append { key: "k".into(), value: k.to_string() };
                let ret = Some(Return { time: 2 * k + 1, seq: None, output: Some(KvOutput::Done) });
                Operation { client_id: 0, call_time: 2 * k, call_seq: None, input, ret }
            })
            .collect()
    }

    /// The search looks at its cache's size every 256 steps: at one byte under and at the
    /// size it found there, the replay must answer as the search does (stop, or go on).
    #[test]
    fn the_replay_sees_the_cache_bound_where_the_search_does() {
        let stop = AtomicBool::new(false);
        for len in [255, 256, 257, 300, 511, 512, 513, 700] {
            let ops = in_order(len);
            let refs: Vec<&KvOp> = ops.iter().collect();
            let limits = |max_cache_bytes| Limits { deadline: None, max_cache_bytes, max_steps: None, stop: &stop };
            // The sizes the search finds at each look, from a bound just under each.
            let mut bound = 0;
            let mut looks = 0;
            while let PartitionStatus::CacheFull { approx_bytes, .. } =
                search_by_cache(&KvModel, &refs, limits(bound)).status
            {
                for max_cache_bytes in [approx_bytes - 1, approx_bytes] {
                    let limits = limits(max_cache_bytes);
                    assert_eq!(search(&KvModel, &refs, limits), search_by_cache(&KvModel, &refs, limits), "{len} ops");
                }
                bound = approx_bytes;
                looks += 1;
            }
            assert_eq!(looks, len / 256, "{len} ops");
            assert!(super::replay(&KvModel, &refs, &limits(bound)));
        }
    }

    /// A partition stopped before it starts (another partition was found illegal) is not replayed.
    #[test]
    fn a_stopped_check_is_not_replayed() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let ops = loop {
            let ops = partition(&mut rng, 5, false);
            let refs: Vec<&KvOp> = ops.iter().collect();
            let stop = AtomicBool::new(false);
            let limits = Limits { deadline: None, max_cache_bytes: 1 << 30, max_steps: None, stop: &stop };
            if super::replay(&KvModel, &refs, &limits) {
                break ops;
            }
        };
        let refs: Vec<&KvOp> = ops.iter().collect();
        let stop = AtomicBool::new(true);
        let limits = Limits { deadline: None, max_cache_bytes: 1 << 30, max_steps: None, stop: &stop };
        assert!(!super::replay(&KvModel, &refs, &limits));
        assert_eq!(search(&KvModel, &refs, limits).status, PartitionStatus::Cancelled);
    }
}
