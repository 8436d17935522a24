//! The sharded store's clerk: finds a key's group in the latest configuration it knows, tries the
//! group's servers (starting with the one that last led), and on "wrong group", or when no server
//! of the group answers, fetches the latest configuration and tries again. The request keeps its
//! client id and number throughout, and the shard's duplicate table moves with the shard, so an
//! operation applies once even when it is retried across a migration.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use labapi::shard::{Config, Gid};
use labapi::MakeEnd;
use labrpc::net::ClientEnd;
use labrpc::time;

use super::server::{Ends, ShardReply, ShardRequest, OP_METHOD};
use crate::clerk::{call_within, round, RequestIds, Try};
use crate::kvsrv::{KvClient, Op, Outcome, Request};
use crate::shardctrler;

/// A clerk waits this long before asking the controller again.
pub const CONFIG_RETRY: Duration = Duration::from_millis(100);
/// A clerk gives up on a server that has not answered for this long and tries the next one.
pub use crate::clerk::CALL_TIMEOUT;

pub struct Clerk {
    ctrler: shardctrler::Clerk,
    ends: Ends,
    config: Config,
    /// Per group, the server that answered last.
    leaders: BTreeMap<Gid, usize>,
    ids: RequestIds,
}

impl Clerk {
    pub fn new(ctrlers: Vec<ClientEnd>, make_end: MakeEnd) -> Clerk {
        Clerk {
            // The controller's clerk draws before this clerk's id: swapping them would change
            // every run.
            ctrler: shardctrler::Clerk::new(ctrlers),
            ends: Ends::new(make_end),
            config: Config::initial(),
            leaders: BTreeMap::new(),
            ids: RequestIds::new(),
        }
    }

    /// Tries the servers of `key`'s group in the current configuration once each.
    fn try_group(&mut self, key: &str, request: &Request) -> Option<Outcome> {
        let shard = self.config.shard_of(key);
        let gid = self.config.shards[shard as usize];
        let servers = self.config.groups.get(&gid)?.clone();
        let first = self.leaders.get(&gid).copied().unwrap_or(0);
        let call = Arc::new(ShardRequest { shard, request: request.clone() });
        let ends = &mut self.ends;
        let (leader, outcome) = round(servers.len(), first, |i| {
            let end = ends.get(&servers[i]);
            match call_within::<ShardRequest, ShardReply>(&end, OP_METHOD, &call, CALL_TIMEOUT) {
                Some(ShardReply::Ok(outcome)) => Try::Answered(outcome),
                Some(ShardReply::WrongGroup) => Try::Stop,
                Some(ShardReply::WrongLeader | ShardReply::Timeout) | None => Try::Next,
            }
        })?;
        self.leaders.insert(gid, leader);
        Some(outcome)
    }
}

impl KvClient for Clerk {
    /// Runs a single-key `op` until the group serving its key answers, exactly once.
    fn execute(&mut self, op: Op) -> Outcome {
        let key = op
            .key()
            .unwrap_or_else(|| panic!("shardkv: {op:?} spans keys; the sharded store runs single-key operations"))
            .to_string();
        let (client, seq) = self.ids.next_request();
        let request = Request { client, seq, op };
        loop {
            if let Some(outcome) = self.try_group(&key, &request) {
                return outcome;
            }
            time::sleep(CONFIG_RETRY);
            self.config = self.ctrler.query(None);
        }
    }
}

impl labapi::ShardKvClerk for Clerk {
    fn new(ctrlers: Vec<ClientEnd>, make_end: MakeEnd) -> Clerk {
        Clerk::new(ctrlers, make_end)
    }
}
