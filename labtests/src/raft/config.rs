//! The Raft test cluster, after the Go labs' config.go: n peers, each on its own labrpc node, on
//! one network; peers crash (crash-stop of the whole node) and restart from a copy of their
//! persisted state. Links, partitions and pauses are in `links.rs`, checks in `checks.rs`, the
//! appliers in `applier.rs`.

use std::sync::Arc;
use std::time::Duration;

use labrpc::channel;
use labrpc::net::{ClientEnd, Network, Server};
use labrpc::persister::Persister;
use labrpc::sync::Mutex;
use labrpc::time::Instant;
use labrpc::{node, thread, NodeId};
use raftkv::raft::Raft;

use super::applier::{self, Applied};
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

/// What the harness knows about one peer.
pub(crate) struct Peer {
    /// The running incarnation, None while crashed. The harness's handle is dropped on a crash so
    /// the apply channel disconnects once the node's threads are gone.
    pub(crate) raft: Option<Raft>,
    /// The persister the current (or next) incarnation gets.
    pub(crate) persister: Persister,
    /// Bumped by every start, so an old applier never calls into a newer incarnation.
    pub(crate) incarnation: u64,
    /// On the network (Go's `connected[i]`).
    pub(crate) connected: bool,
    /// Partition group; ends are enabled only within a group.
    pub(crate) group: usize,
    /// While paused the peer's threads do not run: the checks leave it alone until then, since
    /// calling into it could block the test on a lock a paused thread holds.
    pub(crate) paused_until: Option<Instant>,
}

impl Peer {
    pub(crate) fn is_paused(&self, now: Instant) -> bool {
        self.paused_until.is_some_and(|t| now < t)
    }
}

pub(crate) struct State {
    pub(crate) peers: Vec<Peer>,
    pub(crate) applied: Applied,
    pub(crate) baseline: Option<Baseline>,
    /// The leader monitor polls while this holds (see `monitor.rs`).
    pub(crate) monitor_on: bool,
    /// What the monitor last read from each peer's `state()`, and when (virtual, since start).
    pub(crate) last_seen: Vec<Option<(Seen, Duration)>>,
}

pub(crate) struct Shared {
    pub(crate) n: usize,
    pub(crate) net: Network,
    pub(crate) nodes: Vec<NodeId>,
    /// `ends[from][to]`, owned by node `from`, connected to server `to`; made once and reused by
    /// every incarnation (crash-stop leaves no old instance that could still use them).
    pub(crate) ends: Vec<Vec<ClientEnd>>,
    pub(crate) applier: ApplierKind,
    pub(crate) state: Mutex<State>,
}

/// The cluster under test. Cheap to clone (client threads of a scenario share it); all methods
/// must be called inside the simulation.
#[derive(Clone)]
pub struct Cluster {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) fn server_name(i: usize) -> String {
    format!("raft-{i}")
}

pub(crate) fn end_name(from: usize, to: usize) -> String {
    format!("end-{from}-{to}")
}

impl Cluster {
    /// Starts `n` peers and connects them all (Go's `make_config`). Calls without a route take up
    /// to 7 s to fail, as in the Go config (long delays on).
    pub fn new(n: usize, reliability: Reliability, applier: ApplierKind) -> Cluster {
        assert!((1..=16).contains(&n), "a cluster has 1 to 16 peers, not {n}");
        let net = Network::new();
        net.set_reliable(reliability == Reliability::Reliable);
        net.set_long_delays(true);
        let nodes: Vec<NodeId> = (0..n).map(|i| node::create(&format!("peer-{i}"))).collect();
        let ends: Vec<Vec<ClientEnd>> = (0..n)
            .map(|from| {
                (0..n)
                    .map(|to| {
                        let name = end_name(from, to);
                        let end = net.make_end(&name, nodes[from]);
                        // A peer never calls itself: its own end stays unconnected.
                        if from != to {
                            net.connect(&name, &server_name(to));
                        }
                        net.enable(&name, false);
                        end
                    })
                    .collect()
            })
            .collect();
        let peers = (0..n)
            .map(|_| Peer {
                raft: None,
                persister: Persister::new(),
                incarnation: 0,
                connected: false,
                group: 0,
                paused_until: None,
            })
            .collect();
        let state = Mutex::new(State {
            peers,
            applied: Applied::new(n),
            baseline: None,
            monitor_on: true,
            last_seen: vec![None; n],
        });
        let cluster = Cluster { shared: Arc::new(Shared { n, net, nodes, ends, applier, state }) };
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

    pub fn net(&self) -> &Network {
        &self.shared.net
    }

    pub fn node(&self, i: usize) -> NodeId {
        self.shared.nodes[i]
    }

    pub fn is_running(&self, i: usize) -> bool {
        self.shared.state.lock().peers[i].raft.is_some()
    }

    /// The running incarnation of peer `i`; fails the run if it is crashed.
    pub fn raft(&self, i: usize) -> Raft {
        let st = self.shared.state.lock();
        st.peers[i].raft.clone().unwrap_or_else(|| panic!("peer {i} is crashed: no Raft to call"))
    }

    /// The running incarnation of peer `i`, if any.
    pub fn try_raft(&self, i: usize) -> Option<Raft> {
        self.shared.state.lock().peers[i].raft.clone()
    }

    /// Starts (or, if running, crashes and restarts) peer `i` from its persisted state (Go's
    /// `start1`). The peer stays disconnected until `connect`.
    pub fn start(&self, i: usize) {
        if self.is_running(i) {
            self.crash(i);
        }
        let node = self.shared.nodes[i];
        if !node::is_alive(node) {
            node::restart(node);
        }
        let (persister, incarnation, last_applied) = {
            let mut st = self.shared.state.lock();
            let st = &mut *st;
            let peer = &mut st.peers[i];
            peer.incarnation += 1;
            // A fresh persister with the old content: nothing of an earlier incarnation can
            // write into this one's state.
            peer.persister = peer.persister.copy();
            let persister = peer.persister.clone();
            let incarnation = peer.incarnation;
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
        let ends: Vec<ClientEnd> = self.shared.ends[i].clone();
        // Unbuffered, as in the Go lab: a send waits for the service to take the message, so a
        // Raft that delivers while holding its lock, when the service calls back into it
        // (`snapshot`), deadlocks here, as it would there, instead of hiding behind a buffer.
        let (apply_tx, apply_rx) = channel::bounded(0);
        // Make runs on the peer's node, so every thread it spawns belongs to that node and dies
        // with it on a crash.
        let raft = thread::Builder::new()
            .name(format!("make-{i}"))
            .node(node)
            .spawn(move || Raft::make(ends, i, persister, apply_tx))
            .join()
            .unwrap_or_else(|_| panic!("Raft::make of peer {i} did not return"));
        let service = raft.service();
        self.shared.state.lock().peers[i].raft = Some(raft);
        applier::spawn(self.clone(), i, incarnation, apply_rx, last_applied);
        self.shared.net.add_server(&server_name(i), node, Server::new().with_service(service));
    }

    /// Crash-stops peer `i` (Go's `crash1`): disconnects it, removes its server, unwinds every
    /// thread of its node, and keeps a copy of what it persisted for the next incarnation.
    pub fn crash(&self, i: usize) {
        self.disconnect(i);
        self.shared.net.delete_server(&server_name(i));
        let node = self.shared.nodes[i];
        if node::is_alive(node) {
            tracing::info!(peer = i, "harness: crash peer");
            node::crash(node);
        }
        let old = {
            let mut st = self.shared.state.lock();
            let peer = &mut st.peers[i];
            peer.persister = peer.persister.copy();
            peer.paused_until = None;
            peer.raft.take()
        };
        // Dropped outside the lock: the last handle going away drops the apply sender.
        drop(old);
    }

    /// Largest persisted Raft state (term, vote, log) over all peers, in bytes (Go's `LogSize`).
    pub fn log_size(&self) -> usize {
        let st = self.shared.state.lock();
        st.peers.iter().map(|p| p.persister.raft_state_size()).max().unwrap_or(0)
    }

    /// Requests dispatched to peer `i`'s server since it was last started (Go's `rpcCount`).
    pub fn rpc_count(&self, i: usize) -> u64 {
        self.shared.net.rpc_count(&server_name(i))
    }

    pub fn rpc_total(&self) -> u64 {
        self.shared.net.total_rpcs()
    }

    /// Request and reply bytes over the whole network.
    pub fn bytes_total(&self) -> u64 {
        self.shared.net.total_bytes()
    }
}
