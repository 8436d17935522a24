//! Simulator benchmark. `cargo run --release -p labrpc --example simbench` prints three lines:
//!   switch_ns: one suspend+resume of a simulated thread through the scheduler
//!   rpcs_per_sec: simulated RPC round trips per wall second, 5 nodes pinging each other
//!   virtual_per_wall: virtual seconds per wall second, 5 nodes exchanging 100 ms heartbeats
//!   for 1000 virtual seconds
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // wall-clock measurement

use std::sync::Arc;
use std::time::{Duration, Instant};

use labrpc::net::{ClientEnd, Network, Server, Service};
use labrpc::sim::{self, Config};
use labrpc::{node, thread, time, NodeId};

const SWITCHES: u64 = 5_000_000;
const PINGS_PER_PAIR: u64 = 2_000;

fn config() -> Config {
    Config { time_limit: Duration::from_secs(10_000), ..Config::default() }
}

/// Five nodes, each serving Ping and holding an end to every other node.
fn five_nodes(net: &Network) -> Vec<(NodeId, Vec<ClientEnd>)> {
    let nodes: Vec<NodeId> = (0..5).map(|i| node::create(&format!("n{i}"))).collect();
    for (i, &n) in nodes.iter().enumerate() {
        let svc = Service::new("Node").method("Ping", |x: u64| x);
        net.add_server(&format!("s{i}"), n, Server::new().with_service(svc));
    }
    nodes
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let ends = (0..5)
                .filter(|&j| j != i)
                .map(|j| {
                    let name = format!("{i}->{j}");
                    let end = net.make_end(&name, n);
                    net.connect(&name, &format!("s{j}"));
                    end
                })
                .collect();
            (n, ends)
        })
        .collect()
}

fn switch_ns() -> f64 {
    let start = Instant::now();
    sim::run(1, &config(), || {
        for _ in 0..SWITCHES {
            thread::yield_now();
        }
    })
    .unwrap();
    start.elapsed().as_nanos() as f64 / SWITCHES as f64
}

fn rpcs_per_sec() -> f64 {
    let start = Instant::now();
    let report = sim::run(2, &config(), || {
        let net = Network::new();
        let handles: Vec<_> = five_nodes(&net)
            .into_iter()
            .map(|(n, ends)| {
                thread::Builder::new().node(n).spawn(move || {
                    for k in 0..PINGS_PER_PAIR {
                        for end in &ends {
                            end.call::<u64, u64>("Node.Ping", &k).unwrap();
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        net.total_rpcs()
    })
    .unwrap();
    report.value as f64 / start.elapsed().as_secs_f64()
}

fn virtual_per_wall() -> f64 {
    let virtual_secs = 1000;
    let start = Instant::now();
    sim::run(3, &config(), move || {
        let net = Network::new();
        for (n, ends) in five_nodes(&net) {
            let ends = Arc::new(ends);
            thread::Builder::new().name("heartbeat").node(n).spawn(move || loop {
                for end in ends.iter() {
                    let end = end.clone();
                    // One thread per heartbeat, like a Raft leader's fan-out.
                    thread::spawn(move || {
                        let _ = end.call::<u64, u64>("Node.Ping", &0);
                    });
                }
                time::sleep(Duration::from_millis(100));
            });
        }
        time::sleep(Duration::from_secs(virtual_secs));
    })
    .unwrap();
    virtual_secs as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    println!("switch_ns: {:.1}", switch_ns());
    println!("rpcs_per_sec: {:.0}", rpcs_per_sec());
    println!("virtual_per_wall: {:.0}", virtual_per_wall());
}
