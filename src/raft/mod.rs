//! Raft (lab 3A-3D), synchronous and thread-based on the labrpc API.
//!
//! STUB: the API is fixed; the implementation is being written.

use labrpc::channel::Sender;
use labrpc::net::{ClientEnd, Service};
use labrpc::persister::Persister;

/// What a peer delivers, in log order, on its apply channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplyMsg {
    /// A committed command at `index` (1-based), from `term`.
    Command { index: u64, term: u64, command: Vec<u8> },
    /// A snapshot installed from the leader: the service replaces its state with it; every later
    /// `Command` has an index above `index`.
    Snapshot { index: u64, term: u64, snapshot: Vec<u8> },
}

/// One Raft peer. Cheap to clone; clones share the peer.
#[derive(Clone)]
pub struct Raft {}

impl Raft {
    /// Starts a peer on the calling thread's node: `peers[i]` reaches peer i (`peers[me]` is
    /// unused), `persister` holds what an earlier incarnation saved, committed entries go to
    /// `apply_tx`. Spawns the peer's background threads and returns at once.
    pub fn make(peers: Vec<ClientEnd>, me: usize, persister: Persister, apply_tx: Sender<ApplyMsg>) -> Raft {
        let _ = (peers, me, persister, apply_tx);
        todo!("raft is being written")
    }

    /// Proposes `command`. Returns (index, term) it will have if committed, or None when this peer
    /// does not believe it is the leader. Returns at once.
    pub fn start(&self, command: Vec<u8>) -> Option<(u64, u64)> {
        let _ = command;
        todo!()
    }

    /// (current term, whether this peer believes it is the leader).
    pub fn state(&self) -> (u64, bool) {
        todo!()
    }

    /// The service has a snapshot of its state through log `index`: Raft may discard entries up
    /// to it and persists the snapshot.
    pub fn snapshot(&self, index: u64, snapshot: Vec<u8>) {
        let _ = (index, snapshot);
        todo!()
    }

    /// The RPC service ("Raft.RequestVote", "Raft.AppendEntries", "Raft.InstallSnapshot") to add
    /// to this peer's server.
    pub fn service(&self) -> Service {
        todo!()
    }
}
