//! Swarm chaos for Raft: each seed draws its fault set (`crate::cluster::faults::FaultSet`: unreliable,
//! long reordering, late duplicates, held replies, crash points after a reply and in or after a
//! save, partitions, one-way cuts, pauses, crashes; preemption always on) and runs it for 30
//! virtual seconds while clients propose, restarting every peer that went down (by the harness or
//! at a crash point) from a copy of its persister; then everything heals. The cluster's own
//! checks run all along; at the end every peer must hold the same committed prefix, including
//! every value a client saw committed.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use super::churn::{check_client_values, spawn_churn_clients};
use super::config::State;
use super::{ApplierKind, Cluster, Reliability};
use crate::cluster::faults::{self, FaultSet};
use crate::cluster::Servers;
use labapi::RaftPeer;

/// How long the faults go on (virtual time).
const CHAOS_DURATION: Duration = Duration::from_secs(30);
/// Clients pause between proposals (see `random_faults_beyond`).
const CLIENT_THINK: Duration = Duration::from_millis(50);

impl<R: RaftPeer> faults::Target for Cluster<R> {
    type Members = State<R>;

    fn servers(&self) -> Servers<'_, State<R>> {
        Cluster::servers(self)
    }

    fn restart(&self, i: usize) {
        self.start(i);
        self.connect(i);
    }
}

fn swarm<R: RaftPeer>(applier: ApplierKind) {
    let servers = 5;
    let faults = FaultSet::draw();
    let reliability = if faults.unreliable { Reliability::Unreliable } else { Reliability::Reliable };
    let cfg = Cluster::<R>::new(servers, reliability, applier);
    faults.apply(cfg.net());
    cfg.servers().set_crash_points(faults.crash_points);
    let kind = if applier == ApplierKind::Snapshots { "with snapshots" } else { "without snapshots" };
    tracing::info!(%faults, "harness: chaos fault set");
    cfg.begin(&format!("Test (chaos): Raft {kind}, 30 s of swarm faults [{faults}]"));

    let stop = Arc::new(AtomicBool::new(false));
    let clients = spawn_churn_clients(&cfg, "chaos-client", 3, &stop, CLIENT_THINK);
    faults::run_faults(&cfg, &faults, CHAOS_DURATION);
    faults::heal_all(&cfg);
    check_client_values(&cfg, &stop, clients, servers);
    cfg.end();
}

/// Swarm chaos on Raft whose service never snapshots.
pub fn swarm_chaos<R: RaftPeer>() {
    swarm::<R>(ApplierKind::Plain);
}

/// Swarm chaos on Raft whose service snapshots (restarts and lagging peers use InstallSnapshot).
pub fn swarm_snapshots_chaos<R: RaftPeer>() {
    swarm::<R>(ApplierKind::Snapshots);
}
