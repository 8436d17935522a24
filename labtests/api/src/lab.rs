//! One implementation of every lab, as the harness takes it.

use crate::raft::RaftPeer;
use crate::services::{KvraftClerk, KvraftServer, KvsrvClerk, KvsrvServer};

/// Names the types of one solution. The harness's clusters, scenarios, sweeper and benches are
/// generic over it; `labtests/src/impls.rs` registers each implementation under a name.
pub trait Lab: 'static {
    /// Lab 3.
    type Raft: RaftPeer;
    /// Lab 2.
    type KvsrvServer: KvsrvServer;
    type KvsrvClerk: KvsrvClerk;
    /// Lab 4, built on `Raft` or on a peer of its own.
    type KvraftServer: KvraftServer;
    type KvraftClerk: KvraftClerk;
}
