//! Sharded store benchmark: 3 groups of 3 servers, a 3-replica controller, N closed-loop clients
//! (default 10; 50% put / 50% get on 100 keys over the default table's 10 shards); prints
//! throughput, median/p99/max operation latency in virtual time, and the wall time the simulation
//! took. Closed-loop clients keep one operation each in flight, so throughput is about N over the
//! median latency until the groups saturate.
//!
//! Every message spends 0.5-1.5 ms on the wire (labrpc's latency rule, as in kvraft_bench: on the
//! reliable network alone an operation takes no virtual time). Two rows: the three groups joined
//! before measuring, no migration; and the same while groups leave and join every 2 s, so shards
//! move between groups during the measurement (clients then also wait on "wrong group" retries
//! and on shards in flight).
//!
//! `cargo run --release -p labtests --example shardkv_bench [SEED [CLIENTS]]`. The phases' own cost
//! (virtual and wall seconds of every 5A and 5B scenario) is `suite_bench shardctrler shardkv`.

mod closed_loop;

use std::time::Duration;

use labapi::shard::Gid;
use labapi::Lab;
use labrpc::sim::{self, Config};
use labrpc::time;
use labtests::impls::Reference;
use labtests::kv::Recorder;
use labtests::shardkv::groups::ShardCluster;
use raftkv::kvsrv::KvClient;

const SERVERS_PER_GROUP: usize = 3;
const DEFAULT_CLIENTS: usize = 10;
const KEYS: u64 = 100;
const WARMUP: Duration = Duration::from_secs(2);
const MEASURE: Duration = Duration::from_secs(20);
/// In the migrating row: one change every this long, cycling through these.
const CHANGE_EVERY: Duration = Duration::from_secs(2);
const CHANGES: [(bool, Gid); 4] = [(false, 1), (true, 1), (false, 2), (true, 2)];

struct Figures {
    latencies_us: Vec<u64>,
    /// The controller's latest configuration when the measurement ended.
    configs: u64,
}

fn bench<L: Lab>(clients: usize, migrate: bool) -> Figures {
    let recorder = Recorder::new();
    let cluster = ShardCluster::<L>::new(SERVERS_PER_GROUP, true, None, &recorder);
    cluster.net().set_latency(Duration::from_micros(500), Duration::from_micros(1500));
    cluster.join(&[1, 2, 3]);
    let mut ck = cluster.make_client();
    for k in 0..KEYS {
        ck.put(&k.to_string(), "0");
    }
    time::sleep(WARMUP);
    let end = time::now() + MEASURE;
    let handles: Vec<_> = (0..clients).map(|c| closed_loop::spawn(c, cluster.make_client(), None, KEYS, end)).collect();
    if migrate {
        for &(join, gid) in CHANGES.iter().cycle() {
            time::sleep(CHANGE_EVERY);
            if time::now() >= end {
                break;
            }
            if join {
                cluster.join(&[gid]);
            } else {
                cluster.leave(&[gid]);
            }
        }
    }
    let latencies_us = closed_loop::latencies_us(handles);
    Figures { latencies_us, configs: cluster.query().num }
}

#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // wall time is reported only
fn main() {
    let arg = |i: usize| {
        std::env::args().nth(i).map(|s| s.parse().unwrap_or_else(|_| panic!("argument {i}: {s:?} is not a number")))
    };
    let seed = arg(1).unwrap_or(1);
    let clients = arg(2).map(|c| c as usize).unwrap_or(DEFAULT_CLIENTS);
    println!(
        "shardkv bench: 3 groups x {SERVERS_PER_GROUP} servers, {clients} closed-loop clients, 50% put / 50% get on \
         {KEYS} keys,"
    );
    println!(
        "0.5-1.5 ms latency per message, {} s measured after {} s warm-up, seed {seed}",
        MEASURE.as_secs(),
        WARMUP.as_secs()
    );
    let rows = [("no migrations", false), ("a leave or join every 2 s", true)];
    for (label, migrate) in rows {
        let wall = std::time::Instant::now();
        let config = Config { time_limit: Duration::from_secs(600), ..Config::default() };
        let report = sim::run(seed, &config, move || bench::<Reference>(clients, migrate))
            .unwrap_or_else(|failure| panic!("bench run failed: {failure}"));
        let wall_s = wall.elapsed().as_secs_f64();
        let figures = report.value;
        let ops = figures.latencies_us.len();
        println!(
            "{label:<26} throughput {:7.0} ops/virtual s   median {:7.2} ms   p99 {:7.2} ms   max {:7.2} ms   ops {ops:6}   \
             configurations {:2}   {:.1} virtual s in {wall_s:.2} wall s",
            ops as f64 / MEASURE.as_secs_f64(),
            closed_loop::percentile_ms(&figures.latencies_us, 0.5),
            closed_loop::percentile_ms(&figures.latencies_us, 0.99),
            closed_loop::percentile_ms(&figures.latencies_us, 1.0),
            figures.configs,
            report.virtual_time.as_secs_f64(),
        );
    }
}
