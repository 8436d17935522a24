//! A second implementation for the generic harness: the reference's Raft behind a newtype, so it
//! is a different type to the harness (every scenario, cluster and check is instantiated anew for
//! it) and runs the same protocol. Its runs match the reference's seed for seed, which makes it a
//! check of the harness's plumbing rather than of Raft.

use labapi::{ApplyMsg, Lab, RaftPeer};
use labrpc::channel::Sender;
use labrpc::net::{ClientEnd, Service};
use labrpc::persister::Persister;

/// The reference Raft under another name.
#[derive(Clone)]
pub struct WrappedRaft(raftkv::raft::Raft);

impl RaftPeer for WrappedRaft {
    fn make(peers: Vec<ClientEnd>, me: usize, persister: Persister, apply_tx: Sender<ApplyMsg>) -> WrappedRaft {
        WrappedRaft(raftkv::raft::Raft::make(peers, me, persister, apply_tx))
    }

    fn start(&self, command: Vec<u8>) -> Option<(u64, u64)> {
        self.0.start(command)
    }

    fn state(&self) -> (u64, bool) {
        self.0.state()
    }

    fn snapshot(&self, index: u64, snapshot: Vec<u8>) {
        self.0.snapshot(index, snapshot)
    }

    fn service(&self) -> Service {
        self.0.service()
    }
}

/// "reference-b": the wrapped Raft, with the reference's state machine layer on it; the kv servers and clerks are the reference's (its kvraft
/// runs the reference Raft), driven through the kv harness's own instantiation for this `Lab`.
pub struct ReferenceB;

impl Lab for ReferenceB {
    type Raft = WrappedRaft;
    type Rsm<M: labapi::StateMachine> = raftkv::rsm::Rsm<M, WrappedRaft>;
    type KvsrvServer = raftkv::kvsrv::KvServer;
    type KvsrvClerk = raftkv::kvsrv::Clerk;
    type Lock<C: labapi::KvClient + Send + 'static> = raftkv::kvsrv::Lock<C>;
    type KvraftServer = raftkv::kvraft::KvServer;
    type KvraftClerk = raftkv::kvraft::Clerk;
    type ShardCtrler = raftkv::shardctrler::ShardCtrler;
    type ShardCtrlerClerk = raftkv::shardctrler::Clerk;
    type ShardKvServer = raftkv::shardkv::ShardKv;
    type ShardKvClerk = raftkv::shardkv::Clerk;
}
