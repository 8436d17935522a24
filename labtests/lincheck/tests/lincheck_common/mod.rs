//! Shared by the lincheck integration tests: an independent brute-force checker, a validator for
//! linearizations, and seeded random history generators.

#![allow(dead_code)] // each test binary uses a different subset

use std::collections::BTreeMap;

use lincheck::{History, KvInput, KvOutput, Model, Operation, RegisterInput, RegisterOutput};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// Exhaustive search over every order of every subset of operations that contains all returned
/// ones (an operation that never returned may be left out: it never took effect). No cache, no
/// partitions, no event list: nothing shared with the real search. Exponential; keep `ops` tiny.
pub fn brute_force<M: Model>(model: &M, ops: &[Operation<M::Input, M::Output>]) -> bool {
    assert!(ops.len() <= 10, "brute force on {} ops would take too long", ops.len());
    let mut placed = vec![false; ops.len()];
    place_rest(model, ops, &mut placed, &model.init())
}

fn place_rest<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    placed: &mut [bool],
    state: &M::State,
) -> bool {
    let all_returned_placed = ops.iter().zip(placed.iter()).all(|(op, &placed)| placed || op.ret.is_none());
    if all_returned_placed {
        return true;
    }
    for next in 0..ops.len() {
        if placed[next] {
            continue;
        }
        // Real time: nothing still unplaced may have returned before `next` was called.
        let must_wait = (0..ops.len()).any(|other| !placed[other] && ops[other].precedes(&ops[next]));
        if must_wait {
            continue;
        }
        let op = &ops[next];
        if let Some(after) = model.step(state, &op.input, op.output()) {
            placed[next] = true;
            if place_rest(model, ops, placed, &after) {
                return true;
            }
            placed[next] = false;
        }
    }
    false
}

/// Asserts that `order` (history indices) linearizes the operations `subset`: each returned one
/// appears exactly once, real-time order is respected, and the model accepts every step.
pub fn assert_valid_linearization<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    subset: &[usize],
    order: &[usize],
) {
    let mut position = BTreeMap::new();
    for (at, &index) in order.iter().enumerate() {
        assert!(subset.contains(&index), "op {index} is not in this partition");
        assert!(position.insert(index, at).is_none(), "op {index} placed twice");
    }
    for &index in subset {
        if ops[index].ret.is_some() {
            assert!(position.contains_key(&index), "returned op {index} not placed");
        }
    }
    for (&a, &at_a) in &position {
        for (&b, &at_b) in &position {
            if ops[a].precedes(&ops[b]) {
                assert!(at_a < at_b, "op {a} returned before op {b} was called but comes later");
            }
        }
    }
    let mut state = model.init();
    for &index in order {
        let op = &ops[index];
        state = model
            .step(&state, &op.input, op.output())
            .unwrap_or_else(|| panic!("op {index} illegal in the returned order"));
    }
}

/// Asserts that `order` (history indices) can start a linearization of the operations
/// `subset`: the model accepts every step, and whatever in `subset` had to come before a placed
/// operation (returned before its call) is placed, earlier.
pub fn assert_valid_prefix<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    subset: &[usize],
    order: &[usize],
) {
    let mut state = model.init();
    for (at, &index) in order.iter().enumerate() {
        assert!(subset.contains(&index), "op {index} is not in this partition");
        for &other in subset {
            if ops[other].precedes(&ops[index]) {
                assert!(order[..at].contains(&other), "op {other} must come before op {index} in the prefix");
            }
        }
        let op = &ops[index];
        state = model
            .step(&state, &op.input, op.output())
            .unwrap_or_else(|| panic!("op {index} illegal in the reported prefix"));
    }
}

/// Shape of a random history.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub max_ops: usize,
    pub clients: u64,
    /// Probability that an operation never returns.
    pub unknown: f64,
    /// Probability that each output is replaced by a random one (often making it illegal).
    pub corrupt: f64,
}

/// Client timelines: each operation gets a call and return time, and a linearization point in
/// between (or, if it never returns, maybe none). Ties are common on purpose.
struct Timing {
    client_id: u64,
    call: u64,
    ret: Option<u64>,
    point: Option<u64>,
}

fn timings(rng: &mut ChaCha8Rng, shape: Shape) -> Vec<Timing> {
    let count = rng.random_range(1..=shape.max_ops);
    let mut clock: Vec<u64> = (0..shape.clients).map(|_| rng.random_range(0..3)).collect();
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let client = rng.random_range(0..shape.clients) as usize;
        let call = clock[client] + rng.random_range(0..3);
        let duration = rng.random_range(0..5);
        if rng.random_bool(shape.unknown) {
            let point = rng.random_bool(0.5).then(|| call + rng.random_range(0..8));
            out.push(Timing { client_id: client as u64, call, ret: None, point });
            clock[client] = call + 1;
        } else {
            let ret = call + duration;
            out.push(Timing {
                client_id: client as u64,
                call,
                ret: Some(ret),
                point: Some(rng.random_range(call..=ret)),
            });
            clock[client] = ret + rng.random_range(0..2);
        }
    }
    out
}

/// Indices of timings in linearization-point order (random among equal points); never-taking-
/// effect operations are absent.
fn point_order(rng: &mut ChaCha8Rng, timings: &[Timing]) -> Vec<usize> {
    let mut keyed: Vec<(u64, u64, usize)> = timings
        .iter()
        .enumerate()
        .filter_map(|(index, timing)| timing.point.map(|p| (p, rng.random::<u64>(), index)))
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, _, index)| index).collect()
}

fn assemble<I, O>(timings: Vec<Timing>, inputs: Vec<I>, mut outputs: Vec<Option<O>>) -> History<I, O> {
    timings
        .into_iter()
        .zip(inputs)
        .zip(outputs.iter_mut())
        .map(|((timing, input), output)| Operation {
            client_id: timing.client_id,
            call_time: timing.call,
            call_seq: None,
            input,
            ret: timing.ret.map(|time| lincheck::Return {
                time,
                seq: None,
                output: Some(output.take().expect("returned op has an output")),
            }),
        })
        .collect()
}

/// A register history executed by a correct register, then maybe corrupted.
pub fn register_history(rng: &mut ChaCha8Rng, shape: Shape) -> History<RegisterInput, RegisterOutput> {
    let timings = timings(rng, shape);
    let inputs: Vec<RegisterInput> = timings
        .iter()
        .map(|_| match rng.random_range(0..3) {
            0 => RegisterInput::Read,
            1 => RegisterInput::Write(rng.random_range(0..3)),
            _ => RegisterInput::Cas { from: rng.random_range(0..3), to: rng.random_range(0..3) },
        })
        .collect();
    let mut outputs: Vec<Option<RegisterOutput>> = (0..timings.len()).map(|_| None).collect();
    let mut register: Option<i64> = None;
    for index in point_order(rng, &timings) {
        outputs[index] = Some(match inputs[index] {
            RegisterInput::Read => RegisterOutput::Read(register),
            RegisterInput::Write(value) => {
                register = Some(value);
                RegisterOutput::Done
            }
            RegisterInput::Cas { from, to } => {
                let swaps = register == Some(from);
                if swaps {
                    register = Some(to);
                }
                RegisterOutput::Cas(swaps)
            }
        });
    }
    for index in 0..timings.len() {
        if !rng.random_bool(shape.corrupt) {
            continue;
        }
        outputs[index] = match inputs[index] {
            RegisterInput::Read => Some(RegisterOutput::Read(rng.random_bool(0.8).then(|| rng.random_range(0..3)))),
            RegisterInput::Write(_) => Some(RegisterOutput::Done),
            RegisterInput::Cas { .. } => Some(RegisterOutput::Cas(rng.random())),
        };
    }
    for (timing, output) in timings.iter().zip(outputs.iter_mut()) {
        if timing.ret.is_none() {
            *output = None;
        }
    }
    assemble(timings, inputs, outputs)
}

/// A kv history over a few keys executed by a correct store (the documented version rules),
/// then maybe corrupted. Gets sometimes omit the version.
pub fn kv_history(rng: &mut ChaCha8Rng, shape: Shape, keys: usize) -> History<KvInput, KvOutput> {
    let timings = timings(rng, shape);
    let key_names = ["a", "b", "c", "d"];
    assert!(keys <= key_names.len());
    let pick_key = |rng: &mut ChaCha8Rng| key_names[rng.random_range(0..keys)].to_string();
    let inputs: Vec<KvInput> = timings
        .iter()
        .map(|_| {
            let key = pick_key(rng);
            let value = ["x", "y"][rng.random_range(0..2)].to_string();
            match rng.random_range(0..6) {
                0 | 1 => KvInput::Get { key },
                2 => KvInput::Put { key, value },
                3 => KvInput::Append { key, value },
                4 => KvInput::Delete { key },
                _ => KvInput::CPut { key, value, version: rng.random_range(0..3) },
            }
        })
        .collect();
    let mut outputs: Vec<Option<KvOutput>> = (0..timings.len()).map(|_| None).collect();
    // key -> (value, version >= 1); absent keys are not stored.
    let mut store: BTreeMap<String, (String, u64)> = BTreeMap::new();
    for index in point_order(rng, &timings) {
        outputs[index] = Some(match &inputs[index] {
            KvInput::Get { key } => {
                let (value, version) = match store.get(key) {
                    Some((value, version)) => (Some(value.clone()), *version),
                    None => (None, 0),
                };
                KvOutput::Get { value, version: rng.random_bool(0.7).then_some(version) }
            }
            KvInput::Put { key, value } => {
                let version = store.get(key).map_or(0, |entry| entry.1);
                store.insert(key.clone(), (value.clone(), version + 1));
                KvOutput::Done
            }
            KvInput::Append { key, value } => {
                let (old, version) = store.get(key).cloned().unwrap_or_default();
                store.insert(key.clone(), (old + value, version + 1));
                KvOutput::Done
            }
            KvInput::Delete { key } => {
                store.remove(key);
                KvOutput::Done
            }
            KvInput::CPut { key, value, version } => {
                let current = store.get(key).map_or(0, |entry| entry.1);
                let applies = current == *version;
                if applies {
                    store.insert(key.clone(), (value.clone(), current + 1));
                }
                KvOutput::CPut(applies)
            }
            other => unreachable!("not generated: {other:?}"),
        });
    }
    for index in 0..timings.len() {
        if !rng.random_bool(shape.corrupt) {
            continue;
        }
        outputs[index] = match &inputs[index] {
            KvInput::Get { .. } => {
                let value = match rng.random_range(0..4) {
                    0 => None,
                    1 => Some("x".to_string()),
                    2 => Some("xy".to_string()),
                    _ => Some("y".to_string()),
                };
                Some(KvOutput::Get { value, version: rng.random_bool(0.5).then(|| rng.random_range(0..3)) })
            }
            KvInput::CPut { .. } => Some(KvOutput::CPut(rng.random())),
            _ => Some(KvOutput::Done),
        };
    }
    for (timing, output) in timings.iter().zip(outputs.iter_mut()) {
        if timing.ret.is_none() {
            *output = None;
        }
    }
    assemble(timings, inputs, outputs)
}
