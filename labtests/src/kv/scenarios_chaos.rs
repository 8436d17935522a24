//! Swarm chaos for kvraft: each seed draws its fault set (`crate::chaos::FaultSet`) and whether
//! the servers snapshot; five clients put, append, delete, cput and read random keys for 20
//! virtual seconds of those faults, every server that goes down (by the harness or at a crash
//! point) restarts from a copy of its persister, then everything heals, a fresh client reads every
//! key, and the whole history is checked for linearizability.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use labrpc::net::Network;
use labrpc::persister::CrashPoints;
use labrpc::{rand, thread};

use super::check::Run;
use super::cluster::KvCluster;
use super::generic::client_loop;
use super::history::Recorder;
use super::scenarios_4b::MAXRAFTSTATE;
use crate::chaos::{self, FaultSet};

/// How long the faults go on (virtual time).
const CHAOS_DURATION: Duration = Duration::from_secs(20);
const SERVERS: usize = 5;
const CLIENTS: usize = 5;

impl chaos::Target for KvCluster {
    fn n(&self) -> usize {
        KvCluster::n(self)
    }

    fn net(&self) -> &Network {
        KvCluster::net(self)
    }

    fn set_crash_points(&self, points: CrashPoints) {
        KvCluster::set_crash_points(self, points);
    }

    fn is_running(&self, i: usize) -> bool {
        KvCluster::is_running(self, i)
    }

    fn reap_self_crashed(&self) -> Vec<usize> {
        KvCluster::reap_self_crashed(self)
    }

    fn crash(&self, i: usize) {
        self.recorder().event(format!("crash {i}"), format!("server {i} crashed by the harness"));
        self.crash_server(i);
    }

    fn restart(&self, i: usize) {
        self.recorder().event(format!("restart {i}"), format!("server {i} restarted from its persisted state"));
        self.start_server(i);
        KvCluster::connect(self, i);
    }

    fn connect(&self, i: usize) {
        KvCluster::connect(self, i);
    }

    fn disconnect(&self, i: usize) {
        KvCluster::disconnect(self, i);
    }

    fn partition(&self, p1: &[usize], p2: &[usize]) {
        KvCluster::partition(self, p1, p2);
    }

    fn heal_partition(&self) {
        self.connect_all();
    }

    fn cut(&self, from: usize, to: usize) {
        KvCluster::cut(self, self.node(from), self.node(to));
    }

    fn heal_cut(&self, from: usize, to: usize) {
        KvCluster::heal_cut(self, self.node(from), self.node(to));
    }

    fn pause(&self, i: usize, duration: Duration) {
        KvCluster::pause(self, i, duration);
    }
}

/// Swarm chaos on kvraft, with or without snapshots (drawn), checked for linearizability.
pub fn kvraft_swarm_chaos() {
    let name = "kvraft_swarm_chaos";
    let faults = FaultSet::draw();
    let snapshots = rand::per_mille(500);
    let run = Run::start(name);
    let recorder = Recorder::new();
    let cluster = KvCluster::new(SERVERS, faults.unreliable, snapshots.then_some(MAXRAFTSTATE), &recorder);
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
                .spawn(move || client_loop(client, index as u64, CLIENTS, true, done))
        })
        .collect();
    chaos::run_faults(&cluster, &faults, CHAOS_DURATION);
    chaos::heal_all(&cluster);
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
