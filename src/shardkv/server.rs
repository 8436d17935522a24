//! A shard group's server: a [`GroupMachine`] replicated by the rsm layer, its RPCs (clients'
//! operations, and the two migration calls other groups make), and three loops that run on every
//! replica and act only while it leads: poll the controller for the next configuration, pull
//! gained shards from their previous owners, and tell previous owners to delete what arrived.
//!
//! **Fencing.** Every step names the configuration it belongs to and the machine ignores steps
//! of any other (`GroupOutput::Stale`); configurations are applied one at a time, in order, and
//! only when the previous one's migrations are done on this side. A group that missed
//! configurations catches up through every one of them; an old leader's proposals land in the
//! log behind the current configuration and are ignored; a group serves a shard only once its
//! data arrived in the current configuration, and the old owner stops serving it at the log
//! position of the configuration that took it away, so two groups never serve one shard in the
//! same configuration.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use labapi::shard::Gid;
use labapi::{MakeEnd, StateMachine, SubmitError};
use labrpc::net::{ClientEnd, Service};
use labrpc::persister::Persister;
use labrpc::{thread, time};
use serde::{Deserialize, Serialize};

use super::machine::{GroupMachine, GroupOp, GroupOutput, ShardState};
use crate::clerk::call_within;
use crate::kvmachine::KvMachine;
use crate::kvsrv::{Outcome, Request};
use crate::raft::Raft;
use crate::rsm::Rsm;
use crate::shardctrler;

/// RPC methods a group answers.
pub const OP_METHOD: &str = "ShardKV.Op";
pub const PULL_METHOD: &str = "ShardKV.Pull";
pub const DELETE_METHOD: &str = "ShardKV.Delete";

/// How often a leader asks the controller for the next configuration.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How often a leader retries its pending pulls and delete notices.
pub const MIGRATE_INTERVAL: Duration = Duration::from_millis(50);
/// How long a migration call may take before the next server of the group is tried.
pub const MIGRATE_CALL_TIMEOUT: Duration = Duration::from_millis(500);

/// A client's operation on a key of `shard`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardRequest {
    pub shard: u32,
    pub request: Request,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShardReply {
    Ok(Outcome),
    /// This group does not serve the shard now: fetch a newer configuration.
    WrongGroup,
    WrongLeader,
    Timeout,
}

/// Another group asks for shards it gained in configuration `num`, or for shards parked here
/// since configuration `num` (see `machine`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    pub num: u64,
    pub shards: Vec<u32>,
}

/// The shards' stores with their duplicate tables, or None when this replica is not at `num`
/// with them ready to hand over (the caller retries later or elsewhere).
pub type PullReply = Option<BTreeMap<u32, KvMachine>>;

/// The new owner has these shards of configuration `num` (or parked since `num`): answered true
/// once they are deleted here (through our log), or were already.
pub type DeleteRequest = PullRequest;

impl StateMachine for GroupMachine {
    type Op = GroupOp;
    type Output = GroupOutput;

    fn apply(&mut self, op: GroupOp) -> GroupOutput {
        GroupMachine::apply(self, op)
    }

    fn snapshot(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("a group's state always encodes")
    }

    fn restore(&mut self, snapshot: &[u8]) {
        *self = postcard::from_bytes(snapshot)
            .unwrap_or_else(|e| panic!("shardkv: corrupt snapshot ({} bytes): {e}", snapshot.len()));
    }
}

/// One server of a shard group. Cheap to clone; clones share it.
#[derive(Clone)]
pub struct ShardKv {
    rsm: Rsm<GroupMachine>,
    gid: Gid,
}

impl ShardKv {
    /// Starts server `me` of group `gid` on the calling thread's node (see
    /// `labapi::ShardKvServer::start`) and its three loops.
    pub fn start(
        peers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        maxraftstate: Option<usize>,
        gid: Gid,
        ctrlers: Vec<ClientEnd>,
        make_end: MakeEnd,
    ) -> ShardKv {
        let rsm = Rsm::make(peers, me, persister, maxraftstate, GroupMachine::new(gid));
        let server = ShardKv { rsm, gid };
        let ends = Ends::new(make_end);
        let poller = server.clone();
        thread::Builder::new()
            .name(format!("g{gid}-poll"))
            .spawn_detached(move || poller.poll(shardctrler::Clerk::new(ctrlers)));
        let migrator = server.clone();
        thread::Builder::new().name(format!("g{gid}-migrate")).spawn_detached(move || migrator.migrate(ends));
        server
    }

    pub fn raft(&self) -> &Raft {
        self.rsm.raft()
    }

    pub fn gid(&self) -> Gid {
        self.gid
    }

    /// "ShardKV.Op", "ShardKV.Pull" and "ShardKV.Delete".
    pub fn service(&self) -> Service {
        let (op, pull, delete) = (self.clone(), self.clone(), self.clone());
        Service::new("ShardKV")
            .method("Op", move |r: ShardRequest| op.handle(r))
            .method("Pull", move |r: PullRequest| -> PullReply {
                pull.rsm.with_machine(|m| m.leaving(r.num, &r.shards))
            })
            .method("Delete", move |r: DeleteRequest| {
                matches!(delete.rsm.submit(GroupOp::Delete { num: r.num, shards: r.shards }), Ok(GroupOutput::Applied))
            })
    }

    /// The shards this replica holds and their states, and its configuration number (tests).
    pub fn status(&self) -> (u64, BTreeMap<u32, ShardState>) {
        self.rsm.with_machine(|m| (m.config().num, m.shard_states()))
    }

    fn handle(&self, r: ShardRequest) -> ShardReply {
        match self.rsm.submit(GroupOp::Client { shard: r.shard, request: r.request }) {
            Ok(GroupOutput::Kv(outcome)) => ShardReply::Ok(outcome),
            Ok(GroupOutput::WrongGroup) => ShardReply::WrongGroup,
            Ok(other) => unreachable!("a client operation answered {other:?}"),
            Err(SubmitError::WrongLeader) => ShardReply::WrongLeader,
            Err(SubmitError::Timeout) => ShardReply::Timeout,
        }
    }

    fn leads(&self) -> bool {
        labapi::RaftPeer::state(self.raft()).1
    }

    /// Proposes the next configuration whenever this replica leads and its group is settled.
    fn poll(self, mut ctrler: shardctrler::Clerk) {
        loop {
            time::sleep(POLL_INTERVAL);
            if !self.leads() {
                continue;
            }
            let (num, settled) = self.rsm.with_machine(|m| (m.config().num, m.settled()));
            if !settled {
                continue;
            }
            let next = ctrler.query(Some(num + 1));
            if next.num == num + 1 {
                tracing::debug!(gid = self.gid, num = next.num, "shardkv: proposing configuration");
                let _ = self.rsm.submit(GroupOp::Reconfigure(next));
            }
        }
    }

    /// Pulls gained shards and sends delete notices for arrived ones, while leading.
    fn migrate(self, mut ends: Ends) {
        loop {
            time::sleep(MIGRATE_INTERVAL);
            if !self.leads() {
                continue;
            }
            // Each transfer: the holder's servers, the configuration number it hands over for
            // (ours, or the one that parked the shards), and the shards.
            let (num, pulling, notifying) = self.rsm.with_machine(|m| {
                let num = m.config().num;
                let transfers = |state| {
                    let from_prev = m
                        .by_previous_owner(state)
                        .into_iter()
                        .map(|(owner, shards)| (m.prev().groups.get(&owner).cloned().unwrap_or_default(), num, shards));
                    let from_parked =
                        m.unparking(state).into_iter().map(|(src, shards)| (src.servers, src.num, shards));
                    from_prev.chain(from_parked).collect::<Vec<_>>()
                };
                (num, transfers(ShardState::Pulling), transfers(ShardState::Notifying))
            });
            for (servers, at, shards) in pulling {
                let request = PullRequest { num: at, shards };
                let got = ends.first_answer(&servers, PULL_METHOD, &request, |r: &PullReply| r.is_some());
                if let Some(Some(data)) = got {
                    let _ = self.rsm.submit(GroupOp::Insert { num, shards: data });
                }
            }
            for (servers, at, shards) in notifying {
                let request = DeleteRequest { num: at, shards: shards.clone() };
                if ends.first_answer(&servers, DELETE_METHOD, &request, |done: &bool| *done) == Some(true) {
                    let _ = self.rsm.submit(GroupOp::Notified { num, shards });
                }
            }
        }
    }
}

/// Ends to other groups' servers by name, made once each (owned by this server's node).
pub struct Ends {
    make_end: MakeEnd,
    ends: BTreeMap<String, ClientEnd>,
}

impl Ends {
    pub fn new(make_end: MakeEnd) -> Ends {
        Ends { make_end, ends: BTreeMap::new() }
    }

    pub fn get(&mut self, name: &str) -> ClientEnd {
        let make_end = &self.make_end;
        self.ends.entry(name.to_string()).or_insert_with(|| make_end(name)).clone()
    }

    /// Asks each of `servers` in turn until one gives an answer `good` accepts.
    fn first_answer<Req, Rep>(
        &mut self,
        servers: &[String],
        method: &'static str,
        request: &Req,
        good: impl Fn(&Rep) -> bool,
    ) -> Option<Rep>
    where
        Req: Serialize + Clone + Send + Sync + 'static,
        Rep: serde::de::DeserializeOwned + Send + 'static,
    {
        let request = Arc::new(request.clone());
        servers.iter().find_map(|name| {
            let end = self.get(name);
            call_within::<Req, Rep>(&end, method, &request, MIGRATE_CALL_TIMEOUT).filter(|r| good(r))
        })
    }
}

impl labapi::ShardKvServer for ShardKv {
    type Raft = Raft;

    fn start(
        peers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        maxraftstate: Option<usize>,
        gid: Gid,
        ctrlers: Vec<ClientEnd>,
        make_end: MakeEnd,
    ) -> ShardKv {
        ShardKv::start(peers, me, persister, maxraftstate, gid, ctrlers, make_end)
    }

    fn raft(&self) -> &Raft {
        ShardKv::raft(self)
    }

    fn service(&self) -> Service {
        ShardKv::service(self)
    }
}
