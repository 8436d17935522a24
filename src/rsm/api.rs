//! The reference layer as the harness drives it (`labapi::Rsm`), over its inherent methods.

use labapi::{RaftPeer, StateMachine, SubmitError};
use labrpc::net::ClientEnd;
use labrpc::persister::Persister;

use super::Rsm;

impl<M: StateMachine, R: RaftPeer> labapi::Rsm<M> for Rsm<M, R> {
    type Raft = R;

    fn make(peers: Vec<ClientEnd>, me: usize, persister: Persister, maxraftstate: Option<usize>, machine: M) -> Self {
        Rsm::make(peers, me, persister, maxraftstate, machine)
    }

    fn raft(&self) -> &R {
        Rsm::raft(self)
    }

    fn submit(&self, op: M::Op) -> Result<M::Output, SubmitError> {
        Rsm::submit(self, op)
    }
}
