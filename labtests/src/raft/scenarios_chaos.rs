//! Swarm chaos for Raft: each seed draws its fault set (`crate::chaos::FaultSet`: unreliable,
//! long reordering, late duplicates, held replies, crash points after a reply and in or after a
//! save, partitions, one-way cuts, pauses, crashes; preemption always on) and runs it for 30
//! virtual seconds while clients propose, restarting every peer that went down (by the harness or
//! at a crash point) from a copy of its persister; then everything heals. The cluster's own
//! checks run all along; at the end every peer must hold the same committed prefix, including
//! every value a client saw committed.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use labrpc::net::Network;
use labrpc::node;
use labrpc::persister::CrashPoints;

use super::scenarios_3c::{check_client_values, spawn_churn_clients};
use super::{ApplierKind, Cluster, Reliability};
use crate::chaos::{self, FaultSet};

/// How long the faults go on (virtual time).
const CHAOS_DURATION: Duration = Duration::from_secs(30);
/// Clients pause between proposals (see `random_faults_beyond`).
const CLIENT_THINK: Duration = Duration::from_millis(50);

impl chaos::Target for Cluster {
    fn n(&self) -> usize {
        Cluster::n(self)
    }

    fn net(&self) -> &Network {
        Cluster::net(self)
    }

    fn set_crash_points(&self, points: CrashPoints) {
        for peer in &self.shared.state.lock().peers {
            peer.persister.set_crash_points(points);
        }
    }

    fn is_running(&self, i: usize) -> bool {
        Cluster::is_running(self, i)
    }

    fn reap_self_crashed(&self) -> Vec<usize> {
        let down: Vec<usize> =
            (0..self.n()).filter(|&i| Cluster::is_running(self, i) && !node::is_alive(self.node(i))).collect();
        for &i in &down {
            tracing::info!(peer = i, "harness: peer went down at a crash point");
            Cluster::crash(self, i);
        }
        down
    }

    fn crash(&self, i: usize) {
        Cluster::crash(self, i);
    }

    fn restart(&self, i: usize) {
        self.start(i);
        Cluster::connect(self, i);
    }

    fn connect(&self, i: usize) {
        Cluster::connect(self, i);
    }

    fn disconnect(&self, i: usize) {
        Cluster::disconnect(self, i);
    }

    fn partition(&self, p1: &[usize], p2: &[usize]) {
        Cluster::partition(self, &[p1.to_vec(), p2.to_vec()]);
    }

    fn heal_partition(&self) {
        Cluster::heal_partition(self);
        for i in (0..self.n()).filter(|&i| Cluster::is_running(self, i)) {
            Cluster::connect(self, i);
        }
    }

    fn cut(&self, from: usize, to: usize) {
        Cluster::cut(self, from, to);
    }

    fn heal_cut(&self, from: usize, to: usize) {
        Cluster::heal_cut(self, from, to);
    }

    fn pause(&self, i: usize, duration: Duration) {
        Cluster::pause(self, i, duration);
    }
}

fn swarm(applier: ApplierKind) {
    let servers = 5;
    let faults = FaultSet::draw();
    let reliability = if faults.unreliable { Reliability::Unreliable } else { Reliability::Reliable };
    let cfg = Cluster::new(servers, reliability, applier);
    faults.apply(cfg.net());
    chaos::Target::set_crash_points(&cfg, faults.crash_points);
    let kind = if applier == ApplierKind::Snapshots { "with snapshots" } else { "without snapshots" };
    tracing::info!(%faults, "harness: chaos fault set");
    cfg.begin(&format!("Test (chaos): Raft {kind}, 30 s of swarm faults [{faults}]"));

    let stop = Arc::new(AtomicBool::new(false));
    let clients = spawn_churn_clients(&cfg, "chaos-client", 3, &stop, CLIENT_THINK);
    chaos::run_faults(&cfg, &faults, CHAOS_DURATION);
    chaos::heal_all(&cfg);
    check_client_values(&cfg, &stop, clients, servers);
    cfg.end();
}

/// Swarm chaos on Raft whose service never snapshots.
pub fn swarm_chaos() {
    swarm(ApplierKind::Plain);
}

/// Swarm chaos on Raft whose service snapshots (restarts and lagging peers use InstallSnapshot).
pub fn swarm_snapshots_chaos() {
    swarm(ApplierKind::Snapshots);
}
