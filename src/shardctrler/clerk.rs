//! The controller's clerk: finds the leader, remembers it, fails over, and retries each
//! operation (same client id and number) until a replica answers it, so every mutation applies
//! exactly once however often it is resent.

use std::collections::BTreeMap;
use std::time::Duration;

use labapi::shard::{Config, Gid};
use labrpc::net::ClientEnd;
use labrpc::time;

use super::machine::{CtrlOp, CtrlOutcome, CtrlRequest};
use super::server::{CtrlReply, CTRL_METHOD};
use crate::shardkv::rpc::call_within;

/// A clerk pauses this long after every replica in turn failed to answer.
pub const RETRY_PAUSE: Duration = Duration::from_millis(20);
/// A clerk gives up on a replica that has not answered for this long (e.g. a paused leader) and
/// tries the next one.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(1);

/// A client of the controller.
pub struct Clerk {
    servers: Vec<ClientEnd>,
    leader: usize,
    client: u64,
    seq: u64,
}

impl Clerk {
    /// A clerk with a fresh random client id; `servers[i]` reaches replica i.
    pub fn new(servers: Vec<ClientEnd>) -> Clerk {
        assert!(!servers.is_empty(), "shardctrler: a clerk needs at least one server");
        let leader = labrpc::rand::range(0..servers.len() as u64) as usize;
        Clerk { servers, leader, client: labrpc::rand::next_u64(), seq: 0 }
    }

    /// Runs `op` until a leader answers it.
    pub fn execute(&mut self, op: CtrlOp) -> CtrlOutcome {
        self.seq += 1;
        let request = CtrlRequest { client: self.client, seq: self.seq, op };
        let mut failures = 0;
        loop {
            let end = &self.servers[self.leader];
            match call_within::<CtrlRequest, CtrlReply>(end, CTRL_METHOD, &request, CALL_TIMEOUT) {
                Some(CtrlReply::Ok(outcome)) => return outcome,
                Some(CtrlReply::WrongLeader | CtrlReply::Timeout) | None => {
                    self.leader = (self.leader + 1) % self.servers.len();
                    failures += 1;
                    if failures % self.servers.len() == 0 {
                        time::sleep(RETRY_PAUSE);
                    }
                }
            }
        }
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
