//! Times the checker on random linearizable kv histories of 1k, 10k and 100k operations (10
//! clients, 10 keys, about 1% of operations never return) and reports throughput and memory.
//!
//! `cargo run --release -p lincheck --example lincheck_bench`
//!
//! Memory: a counting global allocator gives the peak bytes allocated during each check (the
//! history itself excluded); VmHWM from /proc/self/status gives the process's peak resident set.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use lincheck::{check, CheckOptions, History, KvInput, KvModel, KvOutput, Model, Operation, Return, Verdict};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Counts live heap bytes and their peak since the last reset.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        ptr
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const CLIENTS: u64 = 10;
const KEYS: u64 = 10;
/// Default probability that an operation never returns (the client gives up and moves on); the
/// first argument overrides it.
const UNKNOWN: f64 = 0.01;

struct Planned {
    client_id: u64,
    call_us: u64,
    return_us: Option<u64>,
    /// When it takes effect; `None`: never (only for operations that never return).
    point_us: Option<u64>,
    input: KvInput,
}

/// A history executed by a correct store with the documented version rules.
fn history(ops: usize, seed: u64, unknown: f64) -> History<KvInput, KvOutput> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut clock_us = vec![0u64; CLIENTS as usize];
    let mut planned = Vec::with_capacity(ops);
    for _ in 0..ops {
        // The client that is free first issues the next operation.
        let client = (0..CLIENTS as usize).min_by_key(|&c| clock_us[c]).expect("clients > 0");
        let call_us = clock_us[client] + rng.random_range(1..50);
        let latency_us = rng.random_range(10..500);
        let key = format!("k{}", rng.random_range(0..KEYS));
        let value = format!("v{}", rng.random_range(0..1000));
        let input = match rng.random_range(0..20) {
            0..10 => KvInput::Get { key },
            10..14 => KvInput::Put { key, value },
            14..16 => KvInput::Append { key, value },
            16..19 => KvInput::CPut { key, value, version: 0 }, // version chosen at its point
            _ => KvInput::Delete { key },
        };
        let (return_us, point_us) = if rng.random_bool(unknown) {
            clock_us[client] = call_us + 1000; // gives up after a timeout
            (None, rng.random_bool(0.5).then(|| call_us + rng.random_range(0..2 * latency_us)))
        } else {
            clock_us[client] = call_us + latency_us;
            (Some(call_us + latency_us), Some(call_us + rng.random_range(0..=latency_us)))
        };
        planned.push(Planned { client_id: client as u64, call_us, return_us, point_us, input });
    }

    let mut order: Vec<usize> = (0..planned.len()).filter(|&i| planned[i].point_us.is_some()).collect();
    order.sort_by_key(|&i| (planned[i].point_us, i));
    let mut outputs: Vec<Option<KvOutput>> = (0..planned.len()).map(|_| None).collect();
    // A correct store is the model itself, run sequentially at the linearization points.
    let mut state = KvModel.init();
    for index in order {
        let input = &mut planned[index].input;
        let (value, current) = state.get(input.key().expect("the bench plans single-key operations"));
        let output = match input {
            KvInput::Get { .. } => KvOutput::Get { value: value.map(str::to_string), version: Some(current) },
            KvInput::Put { .. } | KvInput::Append { .. } | KvInput::Delete { .. } => KvOutput::Done,
            KvInput::Swap { .. } | KvInput::Scan { .. } | KvInput::Txn(_) => unreachable!("not planned"),
            KvInput::CPut { version, .. } => {
                // Usually the version the client last saw is current; sometimes it is stale.
                *version = if rng.random_bool(0.7) { current } else { current.checked_sub(1).unwrap_or(1) };
                KvOutput::CPut(*version == current)
            }
        };
        state = KvModel.step(&state, input, Some(&output)).expect("a sequential run of the model is legal");
        outputs[index] = Some(output);
    }
    planned
        .into_iter()
        .zip(outputs)
        .map(|(plan, output)| Operation {
            client_id: plan.client_id,
            call_time: plan.call_us,
            call_seq: None,
            input: plan.input,
            ret: plan.return_us.map(|time| Return {
                time,
                seq: None,
                output: Some(output.expect("an operation that returned took effect")),
            }),
        })
        .collect()
}

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let timeout = Duration::from_secs(120);
    let unknown = match std::env::args().nth(1) {
        None => UNKNOWN,
        Some(arg) => match arg.parse::<f64>() {
            Ok(fraction) if (0.0..=1.0).contains(&fraction) => fraction,
            _ => {
                eprintln!("usage: lincheck_bench [FRACTION_NEVER_RETURNING (0..=1, default {UNKNOWN})], got {arg:?}");
                std::process::exit(2);
            }
        },
    };
    println!("lincheck_bench: kv, {CLIENTS} clients, {KEYS} keys, {unknown} of ops never return, timeout {timeout:?}");
    for ops in [1_000, 10_000, 100_000] {
        let history = history(ops, ops as u64, unknown);
        let unknown = history.ops().iter().filter(|op| op.ret.is_none()).count();
        PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
        let before = LIVE.load(Ordering::Relaxed);
        let result =
            check(&KvModel, &history, &CheckOptions { threads: Some(1), ..CheckOptions::with_timeout(timeout) });
        let peak_mib = (PEAK.load(Ordering::Relaxed) - before) as f64 / (1 << 20) as f64;
        let seconds = result.elapsed.as_secs_f64();
        let configurations: usize = result.partitions.iter().map(|p| p.cache_entries).sum();
        println!(
            "{ops:>7} ops ({unknown} never returned): {:?} in {:.3} s = {:.0} ops/s, {configurations} cached configurations, peak allocated during check {:.1} MiB",
            result.verdict,
            seconds,
            ops as f64 / seconds,
            peak_mib,
        );
        assert_eq!(result.verdict, Verdict::Ok, "the generator runs a correct store");
    }
    match vm_hwm_kib() {
        Some(kib) => println!("process peak resident set (VmHWM): {:.1} MiB", kib as f64 / 1024.0),
        None => println!("process peak resident set: /proc/self/status unavailable"),
    }
}
