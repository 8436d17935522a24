//! The controller as a replicated service: a [`CtrlerMachine`] replicated by the rsm layer
//! ([`crate::rsm`]). Every operation, queries included, goes through the Raft log, so a query
//! answers a configuration at least as new as any operation that finished before it started;
//! the machine's duplicate table makes retried mutations apply once.

use labapi::{StateMachine, SubmitError};
use labrpc::net::{ClientEnd, Service};
use labrpc::persister::Persister;
use serde::{Deserialize, Serialize};

use super::machine::{CtrlOutcome, CtrlRequest, CtrlerMachine};
use crate::raft::Raft;
use crate::rsm::Rsm;

/// The RPC method the controller answers.
pub const CTRL_METHOD: &str = "ShardCtrler.Op";

/// A controller replica's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CtrlReply {
    Ok(CtrlOutcome),
    /// Not the leader, or lost leadership before the request was applied: try another replica.
    WrongLeader,
    /// Leader, but the request was not applied in time (e.g. a leader in a minority).
    Timeout,
}

impl StateMachine for CtrlerMachine {
    type Op = CtrlRequest;
    type Output = CtrlOutcome;

    fn apply(&mut self, op: CtrlRequest) -> CtrlOutcome {
        CtrlerMachine::apply(self, op)
    }

    fn snapshot(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("a controller state always encodes")
    }

    fn restore(&mut self, snapshot: &[u8]) {
        *self = postcard::from_bytes(snapshot)
            .unwrap_or_else(|e| panic!("shardctrler: corrupt snapshot ({} bytes): {e}", snapshot.len()));
    }
}

/// One controller replica. Cheap to clone; clones share it.
#[derive(Clone)]
pub struct ShardCtrler {
    rsm: Rsm<CtrlerMachine>,
}

impl ShardCtrler {
    /// Starts a replica and its Raft peer on the calling thread's node, recovering from
    /// `persister`; `maxraftstate` as for kvraft.
    pub fn start(peers: Vec<ClientEnd>, me: usize, persister: Persister, maxraftstate: Option<usize>) -> ShardCtrler {
        ShardCtrler { rsm: Rsm::make(peers, me, persister, maxraftstate, CtrlerMachine::new()) }
    }

    /// The Raft peer (its `service()` goes on the same labrpc server).
    pub fn raft(&self) -> &Raft {
        self.rsm.raft()
    }

    /// The RPC service: "ShardCtrler.Op" takes a [`CtrlRequest`] and returns a [`CtrlReply`].
    pub fn service(&self) -> Service {
        let rsm = self.rsm.clone();
        Service::new("ShardCtrler").method("Op", move |request: CtrlRequest| match rsm.submit(request) {
            Ok(outcome) => CtrlReply::Ok(outcome),
            Err(SubmitError::WrongLeader) => CtrlReply::WrongLeader,
            Err(SubmitError::Timeout) => CtrlReply::Timeout,
        })
    }

    /// The latest configuration this replica has applied (for tests).
    pub fn latest_applied(&self) -> labapi::shard::Config {
        self.rsm.with_machine(|m| m.latest().clone())
    }
}

impl labapi::ShardCtrlerServer for ShardCtrler {
    type Raft = Raft;

    fn start(peers: Vec<ClientEnd>, me: usize, persister: Persister, maxraftstate: Option<usize>) -> ShardCtrler {
        ShardCtrler::start(peers, me, persister, maxraftstate)
    }

    fn raft(&self) -> &Raft {
        ShardCtrler::raft(self)
    }

    fn service(&self) -> Service {
        ShardCtrler::service(self)
    }
}
