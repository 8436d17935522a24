//! The controller's clerk: finds the leader, remembers it, fails over, and retries each
//! operation (same client id and number) until a replica answers it, so every mutation applies
//! exactly once however often it is resent (the retry core is [`crate::clerk`]'s).

use std::collections::BTreeMap;
use std::sync::Arc;

use labapi::shard::{Config, Gid};
use labrpc::net::ClientEnd;

use super::machine::{CtrlOp, CtrlOutcome, CtrlRequest};
use super::server::{CtrlReply, CTRL_METHOD};
use crate::clerk::{call_within, Replicas, RequestIds};

/// The clerk's pause after a round of failed calls, and its deadline for one call.
pub use crate::clerk::{CALL_TIMEOUT, RETRY_PAUSE};

/// A client of the controller.
pub struct Clerk {
    replicas: Replicas,
    ids: RequestIds,
}

impl Clerk {
    /// A clerk with a fresh random client id; `servers[i]` reaches replica i.
    pub fn new(servers: Vec<ClientEnd>) -> Clerk {
        // The leader guess is drawn before the client id: swapping them would change every run.
        Clerk { replicas: Replicas::new(servers, "shardctrler"), ids: RequestIds::new() }
    }

    /// Runs `op` until a leader answers it.
    pub fn execute(&mut self, op: CtrlOp) -> CtrlOutcome {
        let (client, seq) = self.ids.next_request();
        let request = Arc::new(CtrlRequest { client, seq, op });
        self.replicas.until_answered(|end| match call_within(end, CTRL_METHOD, &request, CALL_TIMEOUT)? {
            CtrlReply::Ok(outcome) => Some(outcome),
            CtrlReply::WrongLeader | CtrlReply::Timeout => None,
        })
    }

    fn mutate(&mut self, op: CtrlOp) -> Result<Config, String> {
        match self.execute(op) {
            CtrlOutcome::Config(config) => Ok(config),
            CtrlOutcome::Refused(why) => Err(why),
        }
    }

    pub fn join(&mut self, groups: BTreeMap<Gid, Vec<String>>) -> Result<Config, String> {
        self.mutate(CtrlOp::Join { groups })
    }

    pub fn leave(&mut self, gids: &[Gid]) -> Result<Config, String> {
        self.mutate(CtrlOp::Leave { gids: gids.to_vec() })
    }

    pub fn move_shard(&mut self, shard: u32, gid: Gid) -> Result<Config, String> {
        self.mutate(CtrlOp::Move { shard, gid })
    }

    pub fn create_table(&mut self, name: &str, shards: u32) -> Result<Config, String> {
        self.mutate(CtrlOp::CreateTable { name: name.to_string(), shards })
    }

    /// Configuration `num`, or the latest when `num` is None or beyond it.
    pub fn query(&mut self, num: Option<u64>) -> Config {
        match self.execute(CtrlOp::Query { num }) {
            CtrlOutcome::Config(config) => config,
            CtrlOutcome::Refused(why) => panic!("shardctrler: a query was refused: {why}"),
        }
    }
}

impl labapi::ShardCtrlerClerk for Clerk {
    fn new(servers: Vec<ClientEnd>) -> Clerk {
        Clerk::new(servers)
    }

    fn join(&mut self, groups: BTreeMap<Gid, Vec<String>>) -> Result<Config, String> {
        Clerk::join(self, groups)
    }

    fn leave(&mut self, gids: &[Gid]) -> Result<Config, String> {
        Clerk::leave(self, gids)
    }

    fn move_shard(&mut self, shard: u32, gid: Gid) -> Result<Config, String> {
        Clerk::move_shard(self, shard, gid)
    }

    fn create_table(&mut self, name: &str, shards: u32) -> Result<Config, String> {
        Clerk::create_table(self, name, shards)
    }

    fn query(&mut self, num: Option<u64>) -> Config {
        Clerk::query(self, num)
    }
}
