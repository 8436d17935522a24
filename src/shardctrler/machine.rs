//! The shard controller's state machine: the numbered configurations and the duplicate table,
//! as plain methods (no threads, no RPC), so it is unit-tested on its own and the replicated
//! service applies it entry by entry.
//!
//! Every operation that changes something appends configuration `latest + 1`; a refused
//! operation (bad input) changes nothing and says why. Join, leave and table creation rebalance
//! ([`super::rebalance`]); a move places one shard and leaves the rest alone (the next join or
//! leave may rebalance it away again, as in 6.5840).

use std::collections::{BTreeMap, BTreeSet};

use labapi::shard::{Config, Gid, Table, MAX_SHARDS, NO_GROUP};
use serde::{Deserialize, Serialize};

use super::rebalance::rebalance;

/// One controller operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CtrlOp {
    /// New groups and their servers.
    Join { groups: BTreeMap<Gid, Vec<String>> },
    /// Groups that leave; their shards go to the others.
    Leave { gids: Vec<Gid> },
    /// Gives `shard` to group `gid`.
    Move { shard: u32, gid: Gid },
    /// Configuration `num`, or the latest when `num` is None or beyond it.
    Query { num: Option<u64> },
    /// A table of `shards` shards whose keys start with `name`.
    CreateTable { name: String, shards: u32 },
}

impl CtrlOp {
    pub fn is_read(&self) -> bool {
        matches!(self, CtrlOp::Query { .. })
    }
}

/// What an operation returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CtrlOutcome {
    /// The configuration the operation created, or the one a query asked for.
    Config(Config),
    /// Bad input: nothing changed; the text names what was wrong.
    Refused(String),
}

/// A client's operation, numbered 1, 2, 3, ... per client (one outstanding at a time).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CtrlRequest {
    pub client: u64,
    pub seq: u64,
    pub op: CtrlOp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Session {
    seq: u64,
    reply: CtrlOutcome,
}

/// Configurations 0..=latest and the duplicate table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CtrlerMachine {
    configs: Vec<Config>,
    sessions: BTreeMap<u64, Session>,
}

impl Default for CtrlerMachine {
    fn default() -> Self {
        CtrlerMachine::new()
    }
}

impl CtrlerMachine {
    /// Only configuration 0 ([`Config::initial`]).
    pub fn new() -> CtrlerMachine {
        CtrlerMachine { configs: vec![Config::initial()], sessions: BTreeMap::new() }
    }

    pub fn latest(&self) -> &Config {
        self.configs.last().expect("there is always configuration 0")
    }

    /// Configuration `num`, or the latest when `num` is None or beyond it.
    pub fn config(&self, num: Option<u64>) -> &Config {
        match num {
            Some(n) if n < self.configs.len() as u64 => &self.configs[n as usize],
            _ => self.latest(),
        }
    }

    /// Applies `request` exactly once: a mutation whose `seq` is the client's last gets the
    /// stored reply again; one older than that is refused (no client waits for it any more).
    /// Queries always run.
    pub fn apply(&mut self, request: CtrlRequest) -> CtrlOutcome {
        let CtrlRequest { client, seq, op } = request;
        if op.is_read() {
            return self.execute(op);
        }
        if let Some(session) = self.sessions.get(&client) {
            if seq == session.seq {
                return session.reply.clone();
            }
            if seq < session.seq {
                return CtrlOutcome::Refused(format!(
                    "request {seq} of client {client} is older than its last one ({})",
                    session.seq
                ));
            }
        }
        let reply = self.execute(op);
        self.sessions.insert(client, Session { seq, reply: reply.clone() });
        reply
    }

    fn execute(&mut self, op: CtrlOp) -> CtrlOutcome {
        if let CtrlOp::Query { num } = op {
            return CtrlOutcome::Config(self.config(num).clone());
        }
        match self.next_config(op) {
            Ok(next) => {
                self.configs.push(next.clone());
                CtrlOutcome::Config(next)
            }
            Err(why) => CtrlOutcome::Refused(why),
        }
    }

    /// The configuration `op` makes from the latest, or why it is refused.
    fn next_config(&self, op: CtrlOp) -> Result<Config, String> {
        let mut next = self.latest().clone();
        next.num += 1;
        match op {
            CtrlOp::Query { .. } => unreachable!("queries create no configuration"),
            CtrlOp::Join { groups } => {
                if groups.is_empty() {
                    return Err("join: no groups given".into());
                }
                for (&gid, servers) in &groups {
                    if gid == NO_GROUP {
                        return Err(format!("join: gid {NO_GROUP} is reserved (no group)"));
                    }
                    if next.groups.contains_key(&gid) {
                        return Err(format!("join: group {gid} is already in configuration {}", next.num - 1));
                    }
                    if servers.is_empty() {
                        return Err(format!("join: group {gid} has no servers"));
                    }
                }
                next.groups.extend(groups);
                rebalance(&mut next.shards, &next.groups.keys().copied().collect());
            }
            CtrlOp::Leave { gids } => {
                if gids.is_empty() {
                    return Err("leave: no groups given".into());
                }
                let unique: BTreeSet<Gid> = gids.iter().copied().collect();
                if unique.len() != gids.len() {
                    return Err(format!("leave: a group is named twice in {gids:?}"));
                }
                for gid in &gids {
                    if next.groups.remove(gid).is_none() {
                        return Err(format!("leave: group {gid} is not in configuration {}", next.num - 1));
                    }
                }
                rebalance(&mut next.shards, &next.groups.keys().copied().collect());
            }
            CtrlOp::Move { shard, gid } => {
                if shard as usize >= next.shards.len() {
                    return Err(format!("move: shard {shard} does not exist (there are {})", next.shards.len()));
                }
                if !next.groups.contains_key(&gid) {
                    return Err(format!("move: group {gid} is not in configuration {}", next.num - 1));
                }
                next.shards[shard as usize] = gid;
            }
            CtrlOp::CreateTable { name, shards } => {
                if name.is_empty() {
                    return Err("create table: the name is empty (\"\" is the default table)".into());
                }
                if next.tables.iter().any(|t| t.name == name) {
                    return Err(format!("create table: table {name:?} exists"));
                }
                let total = next.shards.len() as u64 + u64::from(shards);
                if shards == 0 || total > u64::from(MAX_SHARDS) {
                    return Err(format!(
                        "create table {name:?}: {shards} shards; a table needs at least 1 and all tables at most \
                         {MAX_SHARDS} together ({} exist)",
                        next.shards.len()
                    ));
                }
                let first = next.shards.len() as u32;
                next.tables.push(Table { name, first, shards });
                next.shards.extend(std::iter::repeat_n(NO_GROUP, shards as usize));
                rebalance(&mut next.shards, &next.groups.keys().copied().collect());
            }
        }
        Ok(next)
    }
}
