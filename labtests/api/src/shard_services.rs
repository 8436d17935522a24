//! Lab 5: the shard controller's service and clerk as the harness drives them.

use std::collections::BTreeMap;

use labrpc::net::{ClientEnd, Service};
use labrpc::persister::Persister;

use crate::raft::RaftPeer;
use crate::shard::{Config, Gid};

/// Lab 5A: one replica of the shard controller, a [`RaftPeer`] underneath. A handle: clones share it.
pub trait ShardCtrlerServer: Clone + Send + Sync + 'static {
    type Raft: RaftPeer;

    /// Starts the replica and its Raft peer on the calling thread's node, recovering from
    /// `persister` (`peers` as in [`RaftPeer::make`]); `maxraftstate` as for kvraft.
    fn start(peers: Vec<ClientEnd>, me: usize, persister: Persister, maxraftstate: Option<usize>) -> Self;

    /// Its Raft peer (the harness puts the peer's service next to the controller's).
    fn raft(&self) -> &Self::Raft;

    /// The RPC service its clerks call.
    fn service(&self) -> Service;
}

/// Lab 5A: a client of the controller: `servers[i]` reaches replica i. Every operation is retried
/// until a leader answers it and takes effect exactly once. A mutation answers the configuration
/// it created, or `Err` naming why the controller refused it (bad input; nothing changed).
pub trait ShardCtrlerClerk: Send + 'static {
    fn new(servers: Vec<ClientEnd>) -> Self;

    /// Adds groups (gid -> its servers' names) and rebalances.
    fn join(&mut self, groups: BTreeMap<Gid, Vec<String>>) -> Result<Config, String>;

    /// Removes groups and gives their shards to the others.
    fn leave(&mut self, gids: &[Gid]) -> Result<Config, String>;

    /// Gives `shard` to group `gid`.
    fn move_shard(&mut self, shard: u32, gid: Gid) -> Result<Config, String>;

    /// Creates a table: keys starting with `name` are split into `shards` new shards.
    fn create_table(&mut self, name: &str, shards: u32) -> Result<Config, String>;

    /// Configuration `num`, or the latest when `num` is None or beyond it.
    fn query(&mut self, num: Option<u64>) -> Config;
}

/// Makes a client end, owned by the calling thread's node, to the labrpc server named `name`
/// (the names a configuration lists for each group). 6.5840's `make_end`.
pub type MakeEnd = std::sync::Arc<dyn Fn(&str) -> ClientEnd + Send + Sync>;

/// Lab 5B: one server of a shard group (a replica group serving the shards the controller gives
/// it). A handle: clones share it.
pub trait ShardKvServer: Clone + Send + Sync + 'static {
    type Raft: RaftPeer;

    /// Starts server `me` of group `gid` and its Raft peer on the calling thread's node,
    /// recovering from `persister` (`peers` as in [`RaftPeer::make`], `maxraftstate` as for
    /// kvraft). `ctrlers[i]` reaches controller replica i; `make_end` reaches other groups'
    /// servers by name.
    fn start(
        peers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        maxraftstate: Option<usize>,
        gid: Gid,
        ctrlers: Vec<ClientEnd>,
        make_end: MakeEnd,
    ) -> Self;

    fn raft(&self) -> &Self::Raft;

    /// The RPC service clerks and other groups call.
    fn service(&self) -> Service;
}

/// Lab 5B: a client of the sharded store: finds a key's group from the latest configuration,
/// retries with a newer one when told "wrong group", exactly once across migrations.
pub trait ShardKvClerk: crate::kv::KvClient + Send + 'static {
    fn new(ctrlers: Vec<ClientEnd>, make_end: MakeEnd) -> Self;
}
