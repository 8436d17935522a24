//! What the harness reports to the timeline while a run is recorded (`labrpc::observe`): each
//! peer's answer to `state()`, each applied index, the links it makes and breaks, and the kv
//! clients' operations. All of it is observed through the public API, so the timeline draws any
//! implementation. Reporting is a thread-local check while nothing records.

use labrpc::observe::record_harness;
use labrpc::{node, NodeId};

/// A harness event, as the timeline receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HarnessEvent {
    /// A poll of `state()` on the peer running on node `node`.
    PeerState { node: String, term: u64, leader: bool },
    /// The peer's service applied `index` (a command, or a snapshot through it).
    Applied { node: String, index: u64, snapshot: bool },
    /// The harness connected or disconnected the server on `node`.
    Connected { node: String, connected: bool },
    /// The servers were split into groups of nodes; an empty list ends the partition.
    Partition { groups: Vec<Vec<String>> },
    /// Client `client` called operation `op` (described by `text`).
    ClientCall { client: u64, op: u64, text: String },
    /// Operation `op` returned with `text`.
    ClientReturn { op: u64, text: String },
}

pub fn peer_state(node_id: NodeId, term: u64, leader: bool) {
    record_harness(|| HarnessEvent::PeerState { node: node::name(node_id), term, leader });
}

pub fn applied(node_id: NodeId, index: u64, snapshot: bool) {
    record_harness(|| HarnessEvent::Applied { node: node::name(node_id), index, snapshot });
}

pub fn connected(node_id: NodeId, connected: bool) {
    record_harness(|| HarnessEvent::Connected { node: node::name(node_id), connected });
}

pub fn partition(groups: impl FnOnce() -> Vec<Vec<NodeId>>) {
    record_harness(|| HarnessEvent::Partition {
        groups: groups().into_iter().map(|g| g.into_iter().map(node::name).collect()).collect(),
    });
}

pub fn client_call(client: u64, op: u64, text: impl FnOnce() -> String) {
    record_harness(|| HarnessEvent::ClientCall { client, op, text: text() });
}

pub fn client_return(op: u64, text: impl FnOnce() -> String) {
    record_harness(|| HarnessEvent::ClientReturn { op, text: text() });
}
