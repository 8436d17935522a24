//! The Raft test cluster, after the Go labs' config.go: n peers, each on its own labrpc node, on
//! one network; peers crash (crash-stop of the whole node) and restart from a copy of their
//! persisted state. The semantics of links, partitions, pauses and crashes are the shared cluster
//! module's (`crate::cluster`), reached from here and `links.rs`; checks are in `checks.rs`, the
//! appliers in `applier.rs`.

use std::sync::Arc;
use std::time::Duration;

use labapi::RaftPeer;
use labrpc::channel;
use labrpc::net::{ClientEnd, Network, Server};
use labrpc::sync::{Condvar, Mutex};
use labrpc::NodeId;

use crate::cluster::{Fabric, Members, Naming, Servers, Slot};

use super::applier::{self, Applied};
use super::durable_terms::DurableTerms;
use super::links::TraceJournal;
use super::monitor::Seen;
use super::stats::Baseline;

/// How the network treats messages (the Go config's `unreliable` flag).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reliability {
    Reliable,
    /// 0-26 ms extra delay, 10% of requests and 10% of replies dropped.
    Unreliable,
}

/// What reads each peer's apply channel (the Go config's `snapshot` flag).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplierKind {
    /// Checks every applied command; the service never takes snapshots.
    Plain,
    /// Also snapshots its state every `SNAPSHOT_INTERVAL` entries and restores from snapshots.
    Snapshots,
}

/// What the harness knows about one peer (`crate::cluster::Slot`).
pub(crate) type Peer<R> = Slot<R>;

/// The harness state behind the cluster's one mutex.
pub struct State<R: RaftPeer> {
    pub(crate) peers: Vec<Peer<R>>,
    pub(crate) applied: Applied,
    pub(crate) baseline: Option<Baseline>,
    /// The leader monitor polls while this holds (see `monitor.rs`).
    pub(crate) monitor_on: bool,
    /// What the monitor last read from each peer's `state()`, and when (virtual, since start).
    pub(crate) last_seen: Vec<Option<(Seen, Duration)>>,
    /// The terms each peer answered requests in, as the monitor saw them (`durable_terms.rs`).
    pub(crate) durable_terms: DurableTerms,
    /// Peers whose service takes nothing Raft applies until released (`Cluster::hold_applies`).
    pub(crate) applies_held: Vec<bool>,
}

impl<R: RaftPeer> Members for State<R> {
    type Server = R;

    fn slots(&self) -> &[Peer<R>] {
        &self.peers
    }

    fn slots_mut(&mut self) -> &mut [Peer<R>] {
        &mut self.peers
    }
}

pub(crate) struct Shared<R: RaftPeer> {
    pub(crate) n: usize,
    /// The network, one node per peer and the ends between them (`crate::cluster`).
    pub(crate) fabric: Fabric,
    pub(crate) applier: ApplierKind,
    pub(crate) state: Mutex<State<R>>,
    /// Notified when a held service may take applies again.
    pub(crate) applies_released: Condvar,
}

/// The cluster under test. Cheap to clone (client threads of a scenario share it); all methods
/// must be called inside the simulation.
#[derive(Clone)]
pub struct Cluster<R: RaftPeer> {
    pub(crate) shared: Arc<Shared<R>>,
}

/// Names in traces: nodes `peer-i`, servers `raft-i`, ends `end-from-to`.
const NAMING: Naming = Naming {
    node: |i| format!("peer-{i}"),
    server: |i| format!("raft-{i}"),
    end: |from, to| format!("end-{from}-{to}"),
};

impl<R: RaftPeer> Cluster<R> {
    /// Starts `n` peers and connects them all (Go's `make_config`). Calls without a route take up
    /// to 7 s to fail, as in the Go config (long delays on).
    pub fn new(n: usize, reliability: Reliability, applier: ApplierKind) -> Cluster<R> {
        let net = Network::new();
        net.set_reliable(reliability == Reliability::Reliable);
        net.set_long_delays(true);
        let fabric = Fabric::new(net, n, NAMING, Box::new(TraceJournal));
        let peers = (0..n).map(|_| Peer::new()).collect();
        let state = Mutex::new(State {
            peers,
            applied: Applied::new(n),
            baseline: None,
            monitor_on: true,
            last_seen: vec![None; n],
            durable_terms: DurableTerms::new(n),
            applies_held: vec![false; n],
        });
        let applies_released = Condvar::new();
        let cluster = Cluster { shared: Arc::new(Shared { n, fabric, applier, state, applies_released }) };
        for i in 0..n {
            cluster.start(i);
        }
        for i in 0..n {
            cluster.connect(i);
        }
        cluster.spawn_monitor();
        cluster
    }

    pub fn n(&self) -> usize {
        self.shared.n
    }

    /// Peer `i`'s service takes nothing its Raft applies until `release_applies(i)`: a slow
    /// service, which Raft must tolerate (its delivery waits; replication and commits go on).
    pub fn hold_applies(&self, i: usize) {
        self.shared.state.lock().applies_held[i] = true;
    }

    pub fn release_applies(&self, i: usize) {
        self.shared.state.lock().applies_held[i] = false;
        self.shared.applies_released.notify_all();
    }

    pub fn net(&self) -> &Network {
        &self.shared.fabric.net
    }

    pub fn node(&self, i: usize) -> NodeId {
        self.shared.fabric.nodes[i]
    }

    /// The shared cluster operations (links, pauses, crashes) over this cluster's peers.
    pub(crate) fn servers(&self) -> Servers<'_, State<R>> {
        Servers { fabric: &self.shared.fabric, state: &self.shared.state }
    }

    pub fn is_running(&self, i: usize) -> bool {
        self.servers().is_running(i)
    }

    /// The running incarnation of peer `i`; fails the run if it is crashed.
    pub fn raft(&self, i: usize) -> R {
        self.try_raft(i).unwrap_or_else(|| panic!("peer {i} is crashed: no Raft to call"))
    }

    /// The running incarnation of peer `i`, if any.
    pub fn try_raft(&self, i: usize) -> Option<R> {
        self.servers().server(i)
    }

    /// Starts (or, if running, crashes and restarts) peer `i` from its persisted state (Go's
    /// `start1`). The peer stays disconnected until `connect`.
    pub fn start(&self, i: usize) {
        if self.is_running(i) {
            self.crash(i);
        }
        self.shared.fabric.revive_node(i);
        let (persister, incarnation, last_applied) = {
            let mut st = self.shared.state.lock();
            let st = &mut *st;
            let (persister, incarnation) = st.peers[i].reincarnate();
            // Like a service restarting, the snapshot applier restores its state from the
            // persisted snapshot before Raft runs.
            let last_applied = match self.shared.applier {
                ApplierKind::Snapshots => {
                    let snapshot = persister.read_snapshot();
                    if snapshot.is_empty() {
                        0
                    } else {
                        st.applied.ingest(i, &snapshot, None).unwrap_or_else(|e| panic!("restart of peer {i}: {e}"))
                    }
                }
                ApplierKind::Plain => 0,
            };
            (persister, incarnation, last_applied)
        };
        tracing::info!(peer = i, incarnation, last_applied, "harness: start peer");
        let ends: Vec<ClientEnd> = self.shared.fabric.ends[i].clone();
        // Unbuffered, as in the Go lab: a send waits for the service to take the message, so a
        // Raft that delivers while holding its lock, when the service calls back into it
        // (`snapshot`), deadlocks here, as it would there, instead of hiding behind a buffer.
        let (apply_tx, apply_rx) = channel::bounded(0);
        // Make runs on the peer's node, so every thread it spawns belongs to that node and dies
        // with it on a crash.
        let raft = self.shared.fabric.boot(i, format!("make-{i}"), move || R::make(ends, i, persister, apply_tx));
        let service = raft.service();
        self.shared.state.lock().peers[i].server = Some(raft);
        applier::spawn(self.clone(), i, incarnation, apply_rx, last_applied);
        self.shared.fabric.add_server(i, Server::new().with_service(service));
    }

    /// Crash-stops peer `i` (Go's `crash1`): disconnects it, removes its server, unwinds every
    /// thread of its node, and keeps a copy of what it persisted for the next incarnation.
    pub fn crash(&self, i: usize) {
        self.servers().crash(i);
    }

    /// Largest persisted Raft state (term, vote, log) over all peers, in bytes (Go's `LogSize`).
    pub fn log_size(&self) -> usize {
        self.servers().log_size()
    }

    /// Requests dispatched to peer `i`'s server since it was last started (Go's `rpcCount`).
    pub fn rpc_count(&self, i: usize) -> u64 {
        self.net().rpc_count(self.shared.fabric.server_name(i))
    }

    /// (requests dispatched to, requests answered by) peer `i`'s server since it was last
    /// started, in one read of the network.
    pub fn server_counts(&self, i: usize) -> (u64, u64) {
        self.net().server_counts_of(self.shared.fabric.server_id(i))
    }

    pub fn rpc_total(&self) -> u64 {
        self.net().total_rpcs()
    }

    /// Request and reply bytes over the whole network.
    pub fn bytes_total(&self) -> u64 {
        self.net().total_bytes()
    }
}
