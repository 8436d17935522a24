//! A shard group's state machine: the configuration the group has reached, and per shard its
//! store with its own duplicate table (a [`KvMachine`]) and where it stands in a migration. Plain
//! methods, applied entry by entry by the rsm layer, so every replica of the group moves through
//! configurations at the same log positions.
//!
//! A shard's life in a group, one configuration at a time:
//!
//! ```text
//! gained from group 0 (first config) -> Serving
//! gained from group g  -> Pulling --Insert (data + dedup state from g)--> Notifying
//!                      --Notified (g deleted its copy)--> Serving
//! lost to another group -> Leaving --Delete (the receiver has it)--> gone
//! lost to group 0 (every group left) -> Parked --Delete (a later owner has it)--> gone
//! gained from group 0, parked at g -> Pulling (from g) -> Notifying -> Serving, as above
//! gained from group 0, parked here -> Serving (with the parked data)
//! ```
//!
//! When every group leaves, the shards' owner becomes group 0, which no server runs: the last
//! owner keeps each shard Parked (not served, not blocking later configurations) until a later
//! configuration gives it to a group, which pulls it from there. Every group applies every
//! configuration, so every group knows where each shard at group 0 is parked (`parked`).
//!
//! The group applies the next configuration only when every shard is Serving, so migrations of
//! one configuration finish (both sides) before the next starts; it serves a shard only while it
//! is Serving or Notifying in the current configuration, and answers "wrong group" otherwise.
//! A shard's data is frozen from the entry that makes it Leaving, so any replica that applied
//! that entry can hand it over.

use std::collections::BTreeMap;

use labapi::shard::{Config, Gid, NO_GROUP};
use serde::{Deserialize, Serialize};

use crate::kvmachine::KvMachine;
use crate::kvsrv::{Outcome, Request};

/// Where a shard stands in this group (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShardState {
    Serving,
    Pulling,
    Notifying,
    Leaving,
    /// Held while the shard belongs to no group, since configuration `since` (see the module doc).
    Parked {
        since: u64,
    },
}

/// Where a shard's data is handed over: by group `gid` (`servers`), for configuration `num`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub gid: Gid,
    pub servers: Vec<String>,
    pub num: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub state: ShardState,
    pub kv: KvMachine,
}

/// What goes through a group's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupOp {
    /// A client's operation on a key of `shard` (the shard the client computed).
    Client { shard: u32, request: Request },
    /// Move to the next configuration.
    Reconfigure(Config),
    /// Data (and duplicate tables) of shards pulled for configuration `num`.
    Insert { num: u64, shards: BTreeMap<u32, KvMachine> },
    /// The new owners have these shards of configuration `num` (or parked since `num`): drop our
    /// copies.
    Delete { num: u64, shards: Vec<u32> },
    /// The previous owners dropped these shards of configuration `num`.
    Notified { num: u64, shards: Vec<u32> },
}

/// What applying a [`GroupOp`] answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupOutput {
    Kv(Outcome),
    /// The shard is not served here in the current configuration (not ours, or not arrived).
    WrongGroup,
    /// A migration step took effect, or had already.
    Applied,
    /// A migration step for another configuration than the current one: ignored.
    Stale,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMachine {
    gid: Gid,
    config: Config,
    /// The configuration before `config` (who owned each shard before).
    prev: Config,
    shards: BTreeMap<u32, Shard>,
    /// Shards at group 0 in `config` that some group holds Parked: where.
    parked: BTreeMap<u32, Source>,
    /// Our Pulling and Notifying shards whose data comes from a Parked copy: from where.
    unparking: BTreeMap<u32, Source>,
}

impl GroupMachine {
    pub fn new(gid: Gid) -> GroupMachine {
        assert_ne!(gid, NO_GROUP, "shardkv: gid {NO_GROUP} is not a group");
        GroupMachine {
            gid,
            config: Config::initial(),
            prev: Config::initial(),
            shards: BTreeMap::new(),
            parked: BTreeMap::new(),
            unparking: BTreeMap::new(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn prev(&self) -> &Config {
        &self.prev
    }

    /// Whether every shard here is Serving or Parked (ready for the next configuration).
    pub fn settled(&self) -> bool {
        self.shards.values().all(|s| matches!(s.state, ShardState::Serving | ShardState::Parked { .. }))
    }

    /// The shards in `state`, grouped by the group that owned them in the previous configuration
    /// (shards coming from a Parked copy are in `unparking`).
    pub fn by_previous_owner(&self, state: ShardState) -> BTreeMap<Gid, Vec<u32>> {
        let mut out: BTreeMap<Gid, Vec<u32>> = BTreeMap::new();
        for (&s, shard) in &self.shards {
            if shard.state == state && !self.unparking.contains_key(&s) {
                out.entry(self.prev.shards[s as usize]).or_default().push(s);
            }
        }
        out
    }

    /// Our shards in `state` whose data comes from a Parked copy, grouped by where it is.
    pub fn unparking(&self, state: ShardState) -> Vec<(Source, Vec<u32>)> {
        let mut out: Vec<(Source, Vec<u32>)> = Vec::new();
        for (&s, source) in &self.unparking {
            if self.shards.get(&s).is_some_and(|x| x.state == state) {
                match out.iter_mut().find(|(src, _)| src == source) {
                    Some((_, shards)) => shards.push(s),
                    None => out.push((source.clone(), vec![s])),
                }
            }
        }
        out
    }

    /// Copies of `shards` if we hold every one ready to hand over for configuration `num`: Leaving
    /// while we are at `num`, or Parked since `num`.
    pub fn leaving(&self, num: u64, shards: &[u32]) -> Option<BTreeMap<u32, KvMachine>> {
        shards
            .iter()
            .map(|s| match self.shards.get(s) {
                Some(shard) if self.hands_over(shard, num) => Some((*s, shard.kv.clone())),
                _ => None,
            })
            .collect()
    }

    fn hands_over(&self, shard: &Shard, num: u64) -> bool {
        match shard.state {
            ShardState::Leaving => self.config.num == num,
            ShardState::Parked { since } => since == num,
            _ => false,
        }
    }

    pub fn apply(&mut self, op: GroupOp) -> GroupOutput {
        match op {
            GroupOp::Client { shard, request } => {
                let key_shard = request.op.key().map(|k| self.config.shard_of(k));
                let ours = self.config.shards.get(shard as usize) == Some(&self.gid) && key_shard == Some(shard);
                match self.shards.get_mut(&shard) {
                    Some(s) if ours && matches!(s.state, ShardState::Serving | ShardState::Notifying) => {
                        GroupOutput::Kv(s.kv.apply(request))
                    }
                    _ => GroupOutput::WrongGroup,
                }
            }
            GroupOp::Reconfigure(next) => {
                if next.num != self.config.num + 1 || !self.settled() {
                    return GroupOutput::Stale;
                }
                for (s, &new_owner) in next.shards.iter().enumerate() {
                    let s = s as u32;
                    let old_owner = self.config.shards.get(s as usize).copied().unwrap_or(NO_GROUP);
                    if old_owner != NO_GROUP && new_owner == NO_GROUP {
                        let servers = self.config.groups.get(&old_owner).cloned().unwrap_or_default();
                        self.parked.insert(s, Source { gid: old_owner, servers, num: next.num });
                        if old_owner == self.gid {
                            let shard = self.shards.get_mut(&s).expect("a shard we owned is here");
                            shard.state = ShardState::Parked { since: next.num };
                        }
                    } else if old_owner == NO_GROUP && new_owner != NO_GROUP {
                        // Every group forgets where it was parked: from now on its owner knows.
                        let source = self.parked.remove(&s);
                        if new_owner == self.gid {
                            self.gain_unowned(s, source);
                        }
                    } else if new_owner == self.gid && old_owner != self.gid {
                        self.shards.insert(s, Shard { state: ShardState::Pulling, kv: KvMachine::new() });
                    } else if old_owner == self.gid && new_owner != self.gid {
                        let shard = self.shards.get_mut(&s).expect("a shard we owned is here");
                        shard.state = ShardState::Leaving;
                    }
                }
                self.prev = std::mem::replace(&mut self.config, next);
                GroupOutput::Applied
            }
            GroupOp::Insert { num, shards } => {
                if num != self.config.num {
                    return GroupOutput::Stale;
                }
                for (s, kv) in shards {
                    if let Some(shard) = self.shards.get_mut(&s).filter(|x| x.state == ShardState::Pulling) {
                        *shard = Shard { state: ShardState::Notifying, kv };
                    }
                }
                GroupOutput::Applied
            }
            GroupOp::Delete { num, shards } => {
                if num > self.config.num {
                    return GroupOutput::Stale;
                }
                for s in shards {
                    if self.shards.get(&s).is_some_and(|x| self.hands_over(x, num)) {
                        self.shards.remove(&s);
                    }
                }
                GroupOutput::Applied
            }
            GroupOp::Notified { num, shards } => {
                if num != self.config.num {
                    return GroupOutput::Stale;
                }
                for s in shards {
                    if let Some(shard) = self.shards.get_mut(&s).filter(|x| x.state == ShardState::Notifying) {
                        shard.state = ShardState::Serving;
                        self.unparking.remove(&s);
                    }
                }
                GroupOutput::Applied
            }
        }
    }

    /// Takes shard `s`, which belonged to no group: new and empty if it never had an owner, our
    /// Parked copy if we hold it, else to be pulled from where it is parked.
    fn gain_unowned(&mut self, s: u32, source: Option<Source>) {
        match source {
            None => {
                self.shards.insert(s, Shard { state: ShardState::Serving, kv: KvMachine::new() });
            }
            Some(source) if source.gid == self.gid => {
                let shard = self.shards.get_mut(&s).expect("a shard parked here is here until a later owner has it");
                assert_eq!(shard.state, ShardState::Parked { since: source.num }, "shardkv: shard {s} parked here");
                shard.state = ShardState::Serving;
            }
            Some(source) => {
                self.shards.insert(s, Shard { state: ShardState::Pulling, kv: KvMachine::new() });
                self.unparking.insert(s, source);
            }
        }
    }

    /// The shards this replica holds, with their states (for tests and the harness's view).
    pub fn shard_states(&self) -> BTreeMap<u32, ShardState> {
        self.shards.iter().map(|(&s, shard)| (s, shard.state)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kvsrv::Op;

    fn config(num: u64, shards: Vec<Gid>) -> Config {
        let groups = shards.iter().filter(|&&g| g != NO_GROUP).map(|&g| (g, vec![format!("g{g}-0")])).collect();
        Config { num, shards, ..Config::initial() }.with_groups(groups)
    }

    trait WithGroups {
        fn with_groups(self, groups: BTreeMap<Gid, Vec<String>>) -> Self;
    }

    impl WithGroups for Config {
        fn with_groups(mut self, groups: BTreeMap<Gid, Vec<String>>) -> Config {
            self.groups = groups;
            self
        }
    }

    /// A key of `shard` in the default table.
    fn key_of(shard: u32) -> String {
        (0..).map(|i| format!("k{i}")).find(|k| Config::initial().shard_of(k) == shard).expect("some key")
    }

    fn put(shard: u32, client: u64, seq: u64, value: &str) -> GroupOp {
        GroupOp::Client {
            shard,
            request: Request { client, seq, op: Op::Put { key: key_of(shard), value: value.into() } },
        }
    }

    fn get(shard: u32) -> GroupOp {
        GroupOp::Client { shard, request: Request { client: 99, seq: 0, op: Op::Get { key: key_of(shard) } } }
    }

    #[test]
    fn a_gained_shard_is_served_only_after_its_data_arrived_and_the_old_owner_stops_at_the_change() {
        let (mut g1, mut g2) = (GroupMachine::new(1), GroupMachine::new(2));
        let c1 = config(1, vec![1; 10]);
        let mut c2 = config(2, vec![1; 10]);
        c2.shards[3] = 2;
        c2.groups.insert(2, vec!["g2-0".into()]);
        for g in [&mut g1, &mut g2] {
            assert_eq!(g.apply(GroupOp::Reconfigure(c1.clone())), GroupOutput::Applied);
        }
        assert_eq!(g1.apply(put(3, 7, 1, "a")), GroupOutput::Kv(Outcome::Done));
        // Configuration 3 cannot come before 2.
        let mut c3 = c2.clone();
        c3.num = 3;
        assert_eq!(g1.apply(GroupOp::Reconfigure(c3.clone())), GroupOutput::Stale);
        for g in [&mut g1, &mut g2] {
            assert_eq!(g.apply(GroupOp::Reconfigure(c2.clone())), GroupOutput::Applied);
        }
        // Neither serves shard 3 now: group 1 gave it away, group 2 has no data yet.
        assert_eq!(g1.apply(get(3)), GroupOutput::WrongGroup);
        assert_eq!(g2.apply(get(3)), GroupOutput::WrongGroup);
        assert_eq!(g2.by_previous_owner(ShardState::Pulling), [(1, vec![3])].into());
        // Not settled: the next configuration waits.
        assert_eq!(g2.apply(GroupOp::Reconfigure(c3.clone())), GroupOutput::Stale);
        let data = g1.leaving(2, &[3]).expect("group 1 hands over shard 3 at configuration 2");
        assert_eq!(g1.leaving(1, &[3]), None, "only for the configuration it is at");
        // An insert for another configuration is ignored.
        assert_eq!(g2.apply(GroupOp::Insert { num: 1, shards: data.clone() }), GroupOutput::Stale);
        assert_eq!(g2.apply(GroupOp::Insert { num: 2, shards: data }), GroupOutput::Applied);
        let value = GroupOutput::Kv(Outcome::Value { value: Some("a".into()), version: 1 });
        assert_eq!(g2.apply(get(3)), value);
        // The duplicate table moved too: client 7's retry of request 1 is not applied again.
        assert_eq!(g2.apply(put(3, 7, 1, "a")), GroupOutput::Kv(Outcome::Done));
        assert_eq!(g2.apply(get(3)), value);
        // Group 1 deletes its copy when told, then may move on; group 2 once notified.
        assert_eq!(g1.apply(GroupOp::Delete { num: 2, shards: vec![3] }), GroupOutput::Applied);
        assert!(g1.settled() && !g1.shard_states().contains_key(&3));
        assert_eq!(g2.apply(GroupOp::Notified { num: 2, shards: vec![3] }), GroupOutput::Applied);
        assert!(g2.settled());
        assert_eq!(g2.apply(GroupOp::Reconfigure(c3)), GroupOutput::Applied);
    }

    #[test]
    fn shards_of_a_store_every_group_left_stay_parked_with_their_last_owner_until_a_group_takes_them() {
        let (mut g1, mut g2) = (GroupMachine::new(1), GroupMachine::new(2));
        let mut c1 = config(1, vec![1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
        c1.groups.insert(1, vec!["g1-0".into()]);
        let c2 = Config { num: 2, ..Config::initial() };
        let c3 = config(3, vec![2; 10]);
        for g in [&mut g1, &mut g2] {
            assert_eq!(g.apply(GroupOp::Reconfigure(c1.clone())), GroupOutput::Applied);
        }
        assert_eq!(g1.apply(put(3, 7, 1, "a")), GroupOutput::Kv(Outcome::Done));
        assert_eq!(g2.apply(put(6, 7, 2, "b")), GroupOutput::Kv(Outcome::Done));
        // Every group leaves: each keeps its shards parked, unserved, and may move on.
        for g in [&mut g1, &mut g2] {
            assert_eq!(g.apply(GroupOp::Reconfigure(c2.clone())), GroupOutput::Applied);
            assert!(g.settled());
        }
        assert_eq!(g1.shard_states()[&3], ShardState::Parked { since: 2 });
        assert_eq!(g1.apply(get(3)), GroupOutput::WrongGroup);
        // Group 2 alone takes every shard: its own parked ones at once, group 1's by a pull.
        for g in [&mut g1, &mut g2] {
            assert_eq!(g.apply(GroupOp::Reconfigure(c3.clone())), GroupOutput::Applied);
        }
        assert_eq!(g2.apply(get(6)), GroupOutput::Kv(Outcome::Value { value: Some("b".into()), version: 1 }));
        assert_eq!(g2.apply(get(3)), GroupOutput::WrongGroup);
        let source = Source { gid: 1, servers: vec!["g1-0".into()], num: 2 };
        assert_eq!(g2.unparking(ShardState::Pulling), vec![(source, vec![0, 1, 2, 3, 4])]);
        assert!(g2.by_previous_owner(ShardState::Pulling).is_empty());
        assert_eq!(g1.leaving(3, &[3]), None, "parked since configuration 2, not 3");
        let data = g1.leaving(2, &[0, 1, 2, 3, 4]).expect("group 1 hands over what it parked");
        assert_eq!(g2.apply(GroupOp::Insert { num: 3, shards: data }), GroupOutput::Applied);
        assert_eq!(g2.apply(get(3)), GroupOutput::Kv(Outcome::Value { value: Some("a".into()), version: 1 }));
        assert_eq!(g1.apply(GroupOp::Delete { num: 2, shards: vec![0, 1, 2, 3, 4] }), GroupOutput::Applied);
        assert!(g1.shard_states().is_empty());
        assert_eq!(g2.apply(GroupOp::Notified { num: 3, shards: vec![0, 1, 2, 3, 4] }), GroupOutput::Applied);
        assert!(g2.settled() && g2.unparking(ShardState::Notifying).is_empty());
    }

    #[test]
    fn a_key_whose_table_changed_is_refused_for_the_shard_the_client_computed() {
        let mut g = GroupMachine::new(1);
        assert_eq!(g.apply(GroupOp::Reconfigure(config(1, vec![1; 10]))), GroupOutput::Applied);
        let key = "t5".to_string();
        let stale_shard = Config::initial().shard_of(&key);
        let mut c2 = config(2, vec![1; 12]);
        c2.tables.push(labapi::shard::Table { name: "t".into(), first: 10, shards: 2 });
        assert_eq!(g.apply(GroupOp::Reconfigure(c2)), GroupOutput::Applied);
        let request = Request { client: 1, seq: 1, op: Op::Put { key, value: "x".into() } };
        assert_eq!(g.apply(GroupOp::Client { shard: stale_shard, request }), GroupOutput::WrongGroup);
    }
}
