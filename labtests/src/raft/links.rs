//! Who can talk to whom: connect/disconnect (Go's config), partitions into groups, one-way link
//! cuts between peers, and pausing a peer. The semantics are the shared cluster module's
//! (`crate::cluster::Servers`): the end from peer `a` to peer `b` is enabled exactly when both
//! are connected and in the same partition group, so connect, disconnect and partitions compose
//! in any order.

use std::time::Duration;

use labrpc::NodeId;

use super::config::Cluster;
use crate::cluster::Journal;
use labapi::RaftPeer;

/// The Raft harness's record of its actions: trace lines (the fixed-seed trace snapshots pin
/// them, targets included).
pub(crate) struct TraceJournal;

impl Journal for TraceJournal {
    fn connect(&self, i: usize) {
        tracing::info!(peer = i, "harness: connect");
    }

    fn disconnect(&self, i: usize) {
        tracing::info!(peer = i, "harness: disconnect");
    }

    fn connect_all(&self) {
        tracing::info!("harness: connect all");
    }

    fn partition(&self, groups: &[Vec<usize>]) {
        tracing::info!(?groups, "harness: partition");
    }

    fn heal_partition(&self) {
        tracing::info!("harness: heal partition");
    }

    fn cut(&self, from: NodeId, to: NodeId, servers: Option<(usize, usize)>) {
        match servers {
            Some((from, to)) => tracing::info!(from, to, "harness: one-way cut"),
            None => {
                tracing::info!(from = %labrpc::node::name(from), to = %labrpc::node::name(to), "harness: one-way cut")
            }
        }
    }

    fn heal_cut(&self, from: NodeId, to: NodeId, servers: Option<(usize, usize)>) {
        match servers {
            Some((from, to)) => tracing::info!(from, to, "harness: heal one-way cut"),
            None => {
                tracing::info!(from = %labrpc::node::name(from), to = %labrpc::node::name(to), "harness: heal one-way cut")
            }
        }
    }

    fn heal_all_cuts(&self) {
        tracing::info!("harness: heal all cuts");
    }

    fn pause(&self, i: usize, duration: Duration) {
        tracing::info!(peer = i, duration_ms = duration.as_millis() as u64, "harness: pause");
    }

    fn crashing(&self, i: usize) {
        tracing::info!(target: "labtests::raft::config", peer = i, "harness: crash peer");
    }

    fn went_down(&self, i: usize) {
        tracing::info!(target: "labtests::raft::scenarios_chaos", peer = i, "harness: peer went down at a crash point");
    }
}

impl<R: RaftPeer> Cluster<R> {
    /// Attaches peer `i` to the network: its ends to and from every connected peer in its group.
    pub fn connect(&self, i: usize) {
        self.servers().connect(i);
    }

    /// Detaches peer `i`: every end from it and to it is disabled.
    pub fn disconnect(&self, i: usize) {
        self.servers().disconnect(i);
    }

    pub fn is_connected(&self, i: usize) -> bool {
        self.servers().is_connected(i)
    }

    /// Splits the peers into `groups` (each peer in exactly one): ends work only within a group.
    pub fn partition(&self, groups: &[Vec<usize>]) {
        self.servers().partition(groups);
    }

    /// Ends any partition: every connected peer reaches every other.
    pub fn heal_partition(&self) {
        self.servers().heal_partition();
    }

    /// Cuts the link from peer `from` to peer `to` one way: `from`'s requests to `to` and `from`'s
    /// replies to `to`'s calls are lost, while `to` still reaches `from`.
    pub fn cut(&self, from: usize, to: usize) {
        self.servers().cut(from, to);
    }

    pub fn heal_cut(&self, from: usize, to: usize) {
        self.servers().heal_cut(from, to);
    }

    pub fn heal_all_cuts(&self) {
        self.servers().heal_all_cuts();
    }

    /// Holds every reply from peer `from` to peer `to` (answers to `to`'s calls) until
    /// `release_replies` (labrpc's rule 13): a construction picks the instant an old answer lands.
    pub fn hold_replies(&self, from: usize, to: usize) {
        tracing::info!(from, to, "harness: hold replies");
        self.net().hold_replies(self.node(from), self.node(to));
    }

    /// Delivers the replies held from `from` to `to`, now, and holds no more.
    pub fn release_replies(&self, from: usize, to: usize) {
        tracing::info!(from, to, "harness: release held replies");
        self.net().release_replies(self.node(from), self.node(to));
    }

    /// Stops every thread of peer `i` for `duration` (like a long GC pause); returns at once.
    /// Until it resumes the checks skip it, like a disconnected peer.
    pub fn pause(&self, i: usize, duration: Duration) {
        self.servers().pause(i, duration);
    }

    pub fn is_paused(&self, i: usize) -> bool {
        self.servers().is_paused(i)
    }

    /// Peers the checks may call: running, connected and not paused (Go's `connected[i]`, where
    /// a crashed peer is always disconnected).
    pub(crate) fn live(&self) -> Vec<(usize, R)> {
        self.servers().running_awake(true)
    }

    /// Running (node up) and not paused, connected or not (whose state `wait` may read).
    pub(crate) fn awake(&self) -> Vec<(usize, R)> {
        self.servers().running_awake(false)
    }

    /// [`Cluster::awake`] into `into` (emptied first), for the monitor, which reuses its list.
    pub(crate) fn awake_into(&self, into: &mut Vec<(usize, R)>) {
        self.servers().running_awake_into(false, into)
    }
}
