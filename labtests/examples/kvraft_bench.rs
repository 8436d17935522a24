//! kvraft benchmark: 5 servers, 10 closed-loop clients, no message loss; prints throughput and
//! median/p99 operation latency in virtual time, and the wall time the simulation took.
//!
//! labrpc's reliable network delivers in zero virtual time (as the Go labs' does), so on it
//! alone every operation would take 0 ms. The first row therefore turns on labrpc's latency rule:
//! every message, client and Raft alike, spends 0.5-1.5 ms on the wire. The second row runs on
//! labrpc's unreliable network (0-26 ms per request, 10% of requests and replies lost).
//!
//! `cargo run --release -p labtests --example kvraft_bench [SEED]`

mod closed_loop;

use std::time::Duration;

use labapi::Lab;
use labrpc::sim::{self, Config};
use labrpc::time;
use labtests::impls::Reference;
use labtests::kv::{KvCluster, Recorder};
use raftkv::kvsrv::KvClient;

const SERVERS: usize = 5;
const CLIENTS: usize = 10;
const KEYS: u64 = 100;
const WARMUP: Duration = Duration::from_secs(2);
const MEASURE: Duration = Duration::from_secs(20);
const MAXRAFTSTATE: usize = 1000;

struct Figures {
    ops: usize,
    latencies_us: Vec<u64>,
}

/// One row, with implementation `L` (the reference in `main`).
fn bench<L: Lab>(unreliable: bool, latency: Option<(Duration, Duration)>) -> Figures {
    let recorder = Recorder::new();
    let cluster = KvCluster::<L>::new(SERVERS, unreliable, Some(MAXRAFTSTATE), &recorder);
    if let Some((min, max)) = latency {
        cluster.net().set_latency(min, max);
    }
    let mut ck = cluster.make_client(&cluster.all());
    ck.put("warm", "up");
    time::sleep(WARMUP);
    let start = time::now();
    let end = start + MEASURE;
    let handles: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let client = cluster.make_client(&cluster.all());
            let node = cluster.client_node(client.id());
            closed_loop::spawn(c, client, Some(node), KEYS, end)
        })
        .collect();
    let latencies_us = closed_loop::latencies_us(handles);
    Figures { ops: latencies_us.len(), latencies_us }
}

#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // wall time is reported only
fn main() {
    let seed = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1);
    println!("kvraft bench: {SERVERS} servers, {CLIENTS} closed-loop clients, 50% put / 50% get on {KEYS} keys,");
    println!(
        "maxraftstate {MAXRAFTSTATE}, {} s measured after {} s warm-up, seed {seed}",
        MEASURE.as_secs(),
        WARMUP.as_secs()
    );
    let rows = [
        ("reliable, 0.5-1.5 ms latency", false, Some((Duration::from_micros(500), Duration::from_micros(1500)))),
        ("unreliable (labrpc)", true, None),
    ];
    for (label, unreliable, latency) in rows {
        let wall = std::time::Instant::now();
        let config = Config { time_limit: Duration::from_secs(600), ..Config::default() };
        let report = sim::run(seed, &config, move || bench::<Reference>(unreliable, latency))
            .unwrap_or_else(|failure| panic!("bench run failed: {failure}"));
        let wall_ms = wall.elapsed().as_millis();
        let figures = report.value;
        let throughput = figures.ops as f64 / MEASURE.as_secs_f64();
        println!(
            "{label:<28} throughput {throughput:8.0} ops/s   median {:7.2} ms   p99 {:7.2} ms   ops {:6}   wall {wall_ms} ms",
            closed_loop::percentile_ms(&figures.latencies_us, 0.5),
            closed_loop::percentile_ms(&figures.latencies_us, 0.99),
            figures.ops
        );
    }
}
