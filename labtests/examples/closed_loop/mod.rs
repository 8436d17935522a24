//! The closed-loop clients of the key/value benchmarks (kvraft_bench, shardkv_bench): each keeps
//! one operation in flight, 50% put / 50% get on random keys, until a virtual deadline, and
//! records every operation's latency in virtual microseconds.

use labrpc::thread::{self, JoinHandle};
use labrpc::time::{self, Instant};
use labrpc::{rand, NodeId};
use labtests::kv::{Client, KvClerk};
use raftkv::kvsrv::Op;

/// Starts bench client `c` in a thread of its own (on `node`, else on the caller's), running
/// operations on keys `0..keys` until `end`; the thread returns its latencies.
pub fn spawn<C: KvClerk>(
    c: usize,
    mut client: Client<C>,
    node: Option<NodeId>,
    keys: u64,
    end: Instant,
) -> JoinHandle<Vec<u64>> {
    let builder = thread::Builder::new().name(format!("bench-{c}"));
    let builder = match node {
        Some(node) => builder.node(node),
        None => builder,
    };
    builder.spawn(move || {
        let mut latencies_us = Vec::new();
        while time::now() < end {
            let key = rand::range(0..keys).to_string();
            let op = if rand::per_mille(500) {
                Op::Put { key, value: format!("v{c}-{}", latencies_us.len()) }
            } else {
                Op::Get { key }
            };
            let called = time::now();
            client.clerk().execute(op);
            latencies_us.push((time::now() - called).as_micros() as u64);
        }
        latencies_us
    })
}

/// Every client's latencies, sorted.
pub fn latencies_us(handles: Vec<JoinHandle<Vec<u64>>>) -> Vec<u64> {
    let mut all: Vec<u64> = handles.into_iter().flat_map(|h| h.join().expect("a bench client ends")).collect();
    all.sort_unstable();
    all
}

/// The `p` quantile (0 to 1) of `sorted` microseconds, in milliseconds (0 when empty).
pub fn percentile_ms(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[at] as f64 / 1000.0
}
