//! The controller's properties over seeded random operation sequences: after every operation
//! each shard has an existing group, join / leave / table creation leave the groups within one
//! shard of each other and move exactly the fewest shards any balanced assignment could, a move
//! changes one shard, old configurations never change, and retries apply once.

use std::collections::{BTreeMap, BTreeSet};

use labapi::shard::{fewest_moves, Config, Gid, NO_GROUP};

use super::machine::{CtrlOp, CtrlOutcome, CtrlRequest, CtrlerMachine};
use super::rebalance::rebalance;

/// splitmix64: a seeded stream for the tests (no simulator needed for pure logic).
struct Stream(u64);

impl Stream {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn servers(gid: Gid) -> Vec<String> {
    (0..3).map(|i| format!("g{gid}-s{i}")).collect()
}

fn moved(before: &[Gid], after: &[Gid]) -> usize {
    before.iter().zip(after).filter(|(a, b)| a != b).count()
}

fn assert_balanced(config: &Config, context: &str) {
    let groups: BTreeSet<Gid> = config.groups.keys().copied().collect();
    for (shard, owner) in config.shards.iter().enumerate() {
        if groups.is_empty() {
            assert_eq!(*owner, NO_GROUP, "{context}: shard {shard} has group {owner} but there are no groups");
        } else {
            assert!(groups.contains(owner), "{context}: shard {shard} is at group {owner}, not in {groups:?}");
        }
    }
    if let (Some(min), Some(max)) = (
        groups.iter().map(|g| config.shards_of(*g).len()).min(),
        groups.iter().map(|g| config.shards_of(*g).len()).max(),
    ) {
        assert!(max - min <= 1, "{context}: groups hold between {min} and {max} shards: {:?}", config.shards);
    }
}

/// A random operation valid or not (about one in eight is refused), over gids 1..=12.
fn random_op(rng: &mut Stream, latest: &Config, tables: &mut u32) -> CtrlOp {
    let present: Vec<Gid> = latest.groups.keys().copied().collect();
    match rng.below(16) {
        0..=5 => {
            let mut groups = BTreeMap::new();
            for _ in 0..1 + rng.below(3) {
                let gid = 1 + rng.below(12);
                groups.insert(gid, servers(gid));
            }
            CtrlOp::Join { groups }
        }
        6..=10 if !present.is_empty() => {
            let mut gids: Vec<Gid> = present.clone();
            let start = rng.below(gids.len() as u64) as usize;
            gids.rotate_left(start);
            gids.truncate(1 + rng.below(2) as usize);
            CtrlOp::Leave { gids }
        }
        11..=12 => {
            let shard = rng.below(latest.shards.len() as u64 + 1) as u32;
            let gid = present.get(rng.below(present.len() as u64 + 1) as usize).copied().unwrap_or(99);
            CtrlOp::Move { shard, gid }
        }
        13 => {
            *tables += 1;
            CtrlOp::CreateTable { name: format!("t{}", *tables % 5), shards: rng.below(7) as u32 }
        }
        _ => CtrlOp::Query { num: Some(rng.below(latest.num + 3)) },
    }
}

#[test]
fn random_sequences_keep_every_property() {
    let mut checked = BTreeMap::<&str, usize>::new();
    for seed in 0..300u64 {
        let mut rng = Stream(seed);
        let mut machine = CtrlerMachine::new();
        let mut history: Vec<Config> = vec![machine.latest().clone()];
        let mut tables = 0;
        for step in 0..60u64 {
            let before = machine.latest().clone();
            let op = random_op(&mut rng, &before, &mut tables);
            let context = format!("seed {seed} step {step} {op:?}");
            let outcome = machine.apply(CtrlRequest { client: 1, seq: step + 1, op: op.clone() });
            let after = machine.latest().clone();
            match (&op, &outcome) {
                (CtrlOp::Query { num }, CtrlOutcome::Config(config)) => {
                    let n = num.unwrap();
                    let expected = &history[(n as usize).min(history.len() - 1)];
                    assert_eq!(config, expected, "{context}: query answered another configuration");
                    assert_eq!(after, before, "{context}: a query changed the configuration");
                    *checked.entry("query").or_default() += 1;
                    continue;
                }
                (_, CtrlOutcome::Refused(why)) => {
                    assert!(!why.is_empty(), "{context}: refused without a reason");
                    assert_eq!(after, before, "{context}: a refused operation changed the configuration");
                    *checked.entry("refused").or_default() += 1;
                    continue;
                }
                (_, CtrlOutcome::Config(created)) => {
                    assert_eq!(created, &after, "{context}: answered a configuration other than the latest");
                    assert_eq!(after.num, before.num + 1, "{context}: configurations are numbered in order");
                }
            }
            // Balanced with the fewest moves after join, leave and table creation; one shard
            // changed by a move.
            before.check_successor(&after).unwrap_or_else(|e| panic!("{context}: {e}"));
            if !matches!(op, CtrlOp::Move { .. }) {
                assert_balanced(&after, &context);
            }
            match &op {
                CtrlOp::Move { shard, gid } => {
                    assert_eq!(after.shards[*shard as usize], *gid, "{context}");
                    assert_eq!(
                        moved(&before.shards, &after.shards),
                        usize::from(before.shards[*shard as usize] != *gid)
                    );
                    assert_eq!(after.groups, before.groups, "{context}: a move changed the groups");
                    *checked.entry("move").or_default() += 1;
                }
                CtrlOp::Join { groups } => {
                    assert!(groups.iter().all(|(g, s)| after.groups.get(g) == Some(s)), "{context}: joined groups");
                    *checked.entry("join").or_default() += 1;
                }
                CtrlOp::Leave { gids } => {
                    assert!(gids.iter().all(|g| !after.groups.contains_key(g)), "{context}: left groups remain");
                    *checked.entry("leave").or_default() += 1;
                }
                CtrlOp::CreateTable { name, shards } => {
                    let table = after.tables.last().unwrap();
                    assert_eq!((&table.name, table.shards, table.first as usize), (name, *shards, before.shards.len()));
                    assert_eq!(after.shards.len(), before.shards.len() + *shards as usize, "{context}");
                    *checked.entry("create table").or_default() += 1;
                }
                CtrlOp::Query { .. } => unreachable!(),
            }
            history.push(after);
        }
        // Earlier configurations never change.
        for config in &history {
            let asked = machine.apply(CtrlRequest { client: 2, seq: 1, op: CtrlOp::Query { num: Some(config.num) } });
            assert_eq!(asked, CtrlOutcome::Config(config.clone()), "seed {seed}: configuration {} changed", config.num);
        }
    }
    // The sequences met every kind of operation many times (a generator bug would skip some).
    for kind in ["join", "leave", "move", "create table", "query", "refused"] {
        assert!(checked.get(kind).copied().unwrap_or(0) >= 100, "only {checked:?}");
    }
}

#[test]
fn rebalance_is_minimal_from_arbitrary_unbalanced_starts() {
    let mut rng = Stream(7);
    for round in 0..2000 {
        let n = 1 + rng.below(24) as usize;
        let groups: BTreeSet<Gid> = (0..rng.below(9)).map(|_| 1 + rng.below(10)).collect();
        // Owners drawn from present groups, departed ones (11..=13) and no group.
        let before: Vec<Gid> = (0..n).map(|_| rng.below(14)).collect();
        let mut after = before.clone();
        rebalance(&mut after, &groups);
        let config = Config {
            shards: after.clone(),
            groups: groups.iter().map(|&g| (g, servers(g))).collect(),
            ..Config::initial()
        };
        assert_balanced(&config, &format!("round {round}"));
        assert_eq!(
            moved(&before, &after),
            fewest_moves(&before, &groups.iter().copied().collect::<Vec<_>>()),
            "round {round}: {before:?} over {groups:?} -> {after:?}"
        );
        // Deterministic, and idempotent: a balanced assignment stays as it is.
        let mut again = after.clone();
        rebalance(&mut again, &groups);
        assert_eq!(again, after, "round {round}: rebalancing a balanced assignment moved shards");
    }
}

#[test]
fn the_first_join_takes_every_shard_and_the_last_leave_frees_them() {
    let mut machine = CtrlerMachine::new();
    let join = |gids: &[Gid]| CtrlOp::Join { groups: gids.iter().map(|&g| (g, servers(g))).collect() };
    machine.apply(CtrlRequest { client: 1, seq: 1, op: join(&[5]) });
    assert_eq!(machine.latest().shards, vec![5; 10]);
    machine.apply(CtrlRequest { client: 1, seq: 2, op: join(&[3]) });
    assert_eq!(machine.latest().shards_of(5).len(), 5);
    assert_eq!(machine.latest().shards_of(3).len(), 5);
    machine.apply(CtrlRequest { client: 1, seq: 3, op: CtrlOp::Leave { gids: vec![3, 5] } });
    assert_eq!(machine.latest().shards, vec![NO_GROUP; 10]);
    assert_eq!(machine.latest().num, 3);
}

#[test]
fn a_retried_mutation_applies_once_and_gets_the_same_answer() {
    let mut machine = CtrlerMachine::new();
    let request = CtrlRequest { client: 9, seq: 1, op: CtrlOp::Join { groups: [(1, servers(1))].into() } };
    let first = machine.apply(request.clone());
    assert_eq!(machine.apply(request.clone()), first);
    assert_eq!(machine.latest().num, 1, "the retry created a configuration");
    // A refused operation is remembered too: its retry is refused the same way, not re-run.
    let refused = CtrlRequest { client: 9, seq: 2, op: CtrlOp::Join { groups: [(1, servers(1))].into() } };
    let answer = machine.apply(refused.clone());
    assert!(matches!(&answer, CtrlOutcome::Refused(why) if why.contains("group 1 is already")), "{answer:?}");
    assert_eq!(machine.apply(refused), answer);
    // An older request than the client's last is refused, naming both numbers.
    let stale = machine.apply(request);
    assert!(
        matches!(&stale, CtrlOutcome::Refused(why) if why.contains("request 1 of client 9") && why.contains("(2)"))
    );
    assert_eq!(machine.latest().num, 1);
}

#[test]
fn bad_input_is_refused_naming_what_was_wrong() {
    let mut machine = CtrlerMachine::new();
    let mut seq = 0;
    let mut run = |op: CtrlOp| {
        seq += 1;
        match machine.apply(CtrlRequest { client: 1, seq, op }) {
            CtrlOutcome::Refused(why) => why,
            other => panic!("accepted: {other:?}"),
        }
    };
    assert!(run(CtrlOp::Join { groups: BTreeMap::new() }).contains("no groups"));
    assert!(run(CtrlOp::Join { groups: [(0, servers(0))].into() }).contains("gid 0 is reserved"));
    assert!(run(CtrlOp::Join { groups: [(4, vec![])].into() }).contains("group 4 has no servers"));
    assert!(run(CtrlOp::Leave { gids: vec![4] }).contains("group 4 is not in configuration 0"));
    assert!(run(CtrlOp::Move { shard: 10, gid: 1 }).contains("shard 10 does not exist (there are 10)"));
    assert!(run(CtrlOp::Move { shard: 1, gid: 1 }).contains("group 1 is not in configuration 0"));
    assert!(run(CtrlOp::CreateTable { name: String::new(), shards: 2 }).contains("name is empty"));
    assert!(run(CtrlOp::CreateTable { name: "t".into(), shards: 0 }).contains("at least 1"));
    assert!(run(CtrlOp::CreateTable { name: "t".into(), shards: 2000 }).contains("at most 1024"));
}

#[test]
fn keys_of_a_created_table_go_to_its_shards() {
    let mut machine = CtrlerMachine::new();
    machine.apply(CtrlRequest {
        client: 1,
        seq: 1,
        op: CtrlOp::Join { groups: [(1, servers(1)), (2, servers(2))].into() },
    });
    machine.apply(CtrlRequest { client: 1, seq: 2, op: CtrlOp::CreateTable { name: "customers".into(), shards: 4 } });
    let config = machine.latest();
    assert_eq!(config.shards.len(), 14);
    for i in 0..50 {
        let shard = config.shard_of(&format!("customers{i}"));
        assert!((10..14).contains(&shard), "customers{i} -> shard {shard}");
        assert!((0..10).contains(&config.shard_of(&format!("products{i}"))));
    }
    assert_eq!(config.shards_of(1).len(), 7);
}
