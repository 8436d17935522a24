//! Labs 2 and 4: the key/value services and their clerks as the harness drives them. A clerk
//! runs operations through [`KvClient`] (module `kv`); the servers answer the RPCs their
//! `service()` handles.

use labrpc::net::{ClientEnd, Service};
use labrpc::persister::Persister;

use crate::kv::KvClient;
use crate::raft::RaftPeer;

/// Lab 2: one key/value server (no replication). A handle: clones share the server.
pub trait KvsrvServer: Clone + Send + Sync + 'static {
    /// An empty store, created on the calling thread's node.
    fn new() -> Self;
    /// The RPC service its clerks call, to put on the server's labrpc server.
    fn service(&self) -> Service;
}

/// Lab 2: a client of one [`KvsrvServer`]; retries each operation until the server answers, and
/// makes every mutation take effect exactly once.
pub trait KvsrvClerk: KvClient + Send + 'static {
    fn new(server: ClientEnd) -> Self;
}

/// Lab 4: one replicated key/value server, a [`RaftPeer`] underneath. A handle: clones share it.
pub trait KvraftServer: Clone + Send + Sync + 'static {
    type Raft: RaftPeer;

    /// Starts the server and its Raft peer on the calling thread's node, recovering from
    /// `persister` (`peers` as in [`RaftPeer::make`]). `maxraftstate`: take a snapshot when the
    /// persisted Raft state reaches that many bytes (None: never).
    fn start(peers: Vec<ClientEnd>, me: usize, persister: Persister, maxraftstate: Option<usize>) -> Self;

    /// Its Raft peer: the harness puts the peer's service next to the server's and reads its
    /// `state()` to annotate leader changes.
    fn raft(&self) -> &Self::Raft;

    /// The RPC service its clerks call.
    fn service(&self) -> Service;
}

/// Lab 4: a client of the replicated service: `servers[i]` reaches server i; finds the leader
/// and retries until an operation is answered, exactly once.
pub trait KvraftClerk: KvClient + Send + 'static {
    fn new(servers: Vec<ClientEnd>) -> Self;
}
