//! A faulty-network run you can replay: `cargo run --release -p labrpc --example demo -- [SEED]`.
//!
//! Three servers on an unreliable network with long reordering and duplication keep a counter;
//! one is crashed and restarted, another paused for 2 s. The summary ends with the seed and the
//! determinism hash: run the same seed again and every line is the same. With `RUST_LOG=info`
//! every event is traced with virtual time, node and thread.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // wall-clock figure in the summary

use std::sync::Arc;
use std::time::Duration;

use labrpc::net::{Network, RpcError, Server, Service};
use labrpc::sim::{self, Config};
use labrpc::sync::Mutex;
use labrpc::{node, thread, time, NodeId};

#[derive(Default)]
struct Tally {
    ok: u64,
    lost: u64,
    unreachable: u64,
}

fn world() -> (Vec<u64>, Tally, u64, u64) {
    let net = Network::new();
    net.set_reliable(false);
    net.set_long_reordering(true);
    net.set_duplicate_per_mille(50);
    let nodes: Vec<NodeId> = (0..3).map(|i| node::create(&format!("server-{i}"))).collect();
    let counters: Vec<Arc<Mutex<u64>>> = (0..3).map(|_| Arc::new(Mutex::new(0))).collect();
    let start_server = |i: usize| {
        let counter = counters[i].clone();
        let svc = Service::new("Counter").method("Add", move |x: u64| {
            let mut c = counter.lock();
            *c += x;
            tracing::info!(add = x, total = *c, "applied");
            *c
        });
        net.add_server(&format!("s{i}"), nodes[i], Server::new().with_service(svc));
    };
    (0..3).for_each(start_server);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let clients: Vec<_> = (0..3)
        .map(|i| {
            let end = net.make_end(&format!("client-{i}"), NodeId::MAIN);
            net.connect(&format!("client-{i}"), &format!("s{i}"));
            let tally = tally.clone();
            thread::Builder::new().name(format!("client-{i}")).spawn(move || {
                for k in 0..50u64 {
                    match end.call::<u64, u64>("Counter.Add", &k) {
                        Ok(total) => {
                            tracing::debug!(total, "reply");
                            tally.lock().ok += 1
                        }
                        Err(RpcError::Lost) => tally.lock().lost += 1,
                        Err(RpcError::Unreachable) => tally.lock().unreachable += 1,
                    }
                    time::sleep(Duration::from_millis(labrpc::rand::range(10..100)));
                }
            })
        })
        .collect();
    time::sleep(Duration::from_secs(1));
    tracing::info!("crashing server-0");
    node::crash(nodes[0]);
    time::sleep(Duration::from_secs(1));
    tracing::info!("restarting server-0");
    node::restart(nodes[0]);
    start_server(0);
    tracing::info!("pausing server-1 for 2 s");
    node::pause(nodes[1], Duration::from_secs(2));
    for c in clients {
        c.join().unwrap();
    }
    let totals = counters.iter().map(|c| *c.lock()).collect();
    let tally = std::mem::take(&mut *tally.lock());
    (totals, tally, net.total_rpcs(), net.total_bytes())
}

fn main() {
    let seed = match std::env::args().nth(1) {
        None => 1,
        Some(arg) => arg.parse().unwrap_or_else(|_| {
            eprintln!("error: seed {arg:?} is not a whole number (usage: demo [SEED])");
            std::process::exit(2);
        }),
    };
    let wall = std::time::Instant::now();
    match sim::run(seed, &Config::default(), world) {
        Ok(report) => {
            let (totals, tally, rpcs, bytes) = report.value;
            println!("seed {seed}: {} calls ok, {} lost, {} unreachable", tally.ok, tally.lost, tally.unreachable);
            println!("server totals {totals:?}; {rpcs} rpcs, {bytes} bytes");
            println!(
                "virtual {:.3}s in {:.1} ms of wall time, {} threads, {} scheduling steps",
                report.virtual_time.as_secs_f64(),
                wall.elapsed().as_secs_f64() * 1e3,
                report.threads,
                report.steps
            );
            println!("hash {:#018x} (run seed {seed} again: the same lines, bit for bit)", report.hash);
        }
        Err(failure) => {
            eprintln!("{failure}");
            std::process::exit(1);
        }
    }
}
