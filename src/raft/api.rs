//! The reference Raft as the harness drives it: the interface (`labapi::RaftPeer`) over the
//! inherent methods, which the real-cluster CLI (`src/cli`) calls directly.

use labrpc::channel::Sender;
use labrpc::net::{ClientEnd, Service};
use labrpc::persister::Persister;

use super::{ApplyMsg, Raft};

impl labapi::RaftPeer for Raft {
    fn make(peers: Vec<ClientEnd>, me: usize, persister: Persister, apply_tx: Sender<ApplyMsg>) -> Raft {
        Raft::make(peers, me, persister, apply_tx)
    }

    fn start(&self, command: Vec<u8>) -> Option<(u64, u64)> {
        Raft::start(self, command)
    }

    fn state(&self) -> (u64, bool) {
        Raft::state(self)
    }

    fn snapshot(&self, index: u64, snapshot: Vec<u8>) {
        Raft::snapshot(self, index, snapshot)
    }

    fn service(&self) -> Service {
        Raft::service(self)
    }
}
