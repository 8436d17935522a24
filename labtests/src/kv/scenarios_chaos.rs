//! Swarm chaos for kvraft: each seed draws its fault set (`crate::cluster::faults::FaultSet`) and whether
//! the servers snapshot; five clients put, append, delete, cput and read random keys for 20
//! virtual seconds of those faults, every server that goes down (by the harness or at a crash
//! point) restarts from a copy of its persister, then everything heals, a fresh client reads every
//! key, and the whole history is checked for linearizability.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use labrpc::{rand, thread};

use super::check::Run;
use super::cluster::KvCluster;
use super::generic::client_loop;
use super::history::Recorder;
use super::scenarios_4b::MAXRAFTSTATE;
use crate::cluster::faults::{self, FaultSet};
use labapi::Lab;

/// How long the faults go on (virtual time).
const CHAOS_DURATION: Duration = Duration::from_secs(20);
const SERVERS: usize = 5;
const CLIENTS: usize = 5;

/// Swarm chaos on kvraft, with or without snapshots (drawn), checked for linearizability.
pub fn kvraft_swarm_chaos<L: Lab>() {
    let name = "kvraft_swarm_chaos";
    let faults = FaultSet::draw();
    let snapshots = rand::per_mille(500);
    let run = Run::start(name);
    let recorder = Recorder::new();
    let cluster = KvCluster::<L>::new(SERVERS, faults.unreliable, snapshots.then_some(MAXRAFTSTATE), &recorder);
    faults.apply(cluster.net());
    cluster.set_crash_points(faults.crash_points);
    let what = format!("{} snapshots, swarm faults [{faults}]", if snapshots { "with" } else { "without" });
    crate::say!("Test: kvraft chaos, 20 s, {what} ...");
    tracing::info!(%faults, snapshots, "harness: chaos fault set");
    recorder.event("faults", what);

    let done = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|index| {
            let client = cluster.make_client(&cluster.all());
            let node = cluster.client_node(client.id());
            let done = done.clone();
            thread::Builder::new()
                .name(format!("client-{index}"))
                .node(node)
                .spawn(move || client_loop::<L>(client, index as u64, CLIENTS, true, done))
        })
        .collect();
    faults::run_faults(&cluster, &faults, CHAOS_DURATION);
    faults::heal_all(&cluster);
    done.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().expect("a client thread ends once the faults heal");
    }
    // Liveness after healing: every key answers.
    let mut reader = cluster.make_client(&cluster.all());
    for key in 0..CLIENTS {
        reader.get_value(&key.to_string());
    }
    run.finish(&recorder, SERVERS, cluster.total_rpcs());
}
