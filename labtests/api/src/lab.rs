//! One implementation of every lab, as the harness takes it.

use crate::kv::KvClient;
use crate::lock::KvLock;
use crate::raft::RaftPeer;
use crate::rsm::{Rsm, StateMachine};
use crate::services::{KvraftClerk, KvraftServer, KvsrvClerk, KvsrvServer};
use crate::shard_services::{ShardCtrlerClerk, ShardCtrlerServer, ShardKvClerk, ShardKvServer};

/// Names the types of one solution. The harness's clusters, scenarios, sweeper and benches are
/// generic over it; `labtests/src/impls.rs` registers each implementation under a name.
pub trait Lab: 'static {
    /// Lab 3.
    type Raft: RaftPeer;
    /// Lab 2.
    type KvsrvServer: KvsrvServer;
    type KvsrvClerk: KvsrvClerk;
    /// Lab 2's lock, built by a client over any clerk `C` (the harness hands it a clerk of
    /// `KvsrvClerk` inside wrappers of its own).
    type Lock<C: KvClient + Send + 'static>: KvLock<C>;
    /// Lab 4A's replicated state machine layer, over any service's machine `M` (the harness runs
    /// it with a machine of its own; kvraft and the sharded lab may build on it).
    type Rsm<M: StateMachine>: Rsm<M>;
    /// Lab 4, built on `Raft` or on a peer of its own.
    type KvraftServer: KvraftServer;
    type KvraftClerk: KvraftClerk;
    /// Lab 5A: the shard controller.
    type ShardCtrler: ShardCtrlerServer;
    type ShardCtrlerClerk: ShardCtrlerClerk;
    /// Lab 5B: the shard groups' servers and the store's clerk.
    type ShardKvServer: ShardKvServer;
    type ShardKvClerk: ShardKvClerk;
}
