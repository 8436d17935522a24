//! Lab 5A scenarios: the shard controller as a replicated service, after 6.5840's shardctrler
//! tests (basic operations, concurrent clerks, minimal moves, unreliable network), plus crashes
//! and partitions of the controller's replicas while clerks reconfigure. Every run ends with
//! `check::check_chain` (the whole configuration sequence read back and checked, and exactly one
//! configuration per accepted mutation).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use labapi::shard::{Config, Gid, NO_GROUP};
use labapi::{Lab, ShardCtrlerClerk};
use labrpc::net::Network;
use labrpc::sync::Mutex;
use labrpc::{thread, time};

use super::check::check_chain;
use super::ctrler::CtrlerCluster;

/// Replicas of the controller.
const REPLICAS: usize = 3;

/// A group's join argument: gid and three server names.
pub fn group(gid: Gid) -> BTreeMap<Gid, Vec<String>> {
    [(gid, (0..3).map(|i| format!("g{gid}-{i}")).collect())].into()
}

fn gids(config: &Config) -> BTreeSet<Gid> {
    config.groups.keys().copied().collect()
}

fn network(reliable: bool) -> Network {
    let net = Network::new();
    net.set_reliable(reliable);
    net
}

/// Crashes every replica, waits, restarts them all from what they persisted.
fn crash_all<L: Lab>(ctrl: &CtrlerCluster<L>) {
    for i in 0..ctrl.n() {
        ctrl.servers().crash(i);
    }
    time::sleep(Duration::from_secs(1));
    for i in 0..ctrl.n() {
        ctrl.start_server(i);
    }
    ctrl.servers().connect_all();
}

/// One clerk: joins, a refused join, a move, a leave, a table, a crashed replica, more joins and
/// leaves, every replica crashed and restarted; each answer checked as it comes and the whole
/// chain at the end.
pub fn ctrler_basic_5a<L: Lab>() {
    let ctrl = CtrlerCluster::<L>::new(&network(true), REPLICAS);
    let mut ck = ctrl.make_clerk();
    let mut answered = Vec::new();
    assert_eq!(ck.query(None), Config::initial(), "a fresh controller's latest configuration");
    for gid in 1..=4 {
        let config = ck.join(group(gid)).unwrap_or_else(|e| panic!("join of new group {gid} refused: {e}"));
        assert_eq!(gids(&config), (1..=gid).collect(), "groups after joining 1..={gid}");
        answered.push(config);
    }
    let refused = ck.join(group(2));
    assert!(refused.is_err(), "a second join of group 2 was accepted: {refused:?}");
    let moved = ck.move_shard(3, 1).unwrap_or_else(|e| panic!("move of shard 3 to group 1 refused: {e}"));
    assert_eq!(moved.shards[3], 1, "shard 3 after moving it to group 1");
    answered.push(moved);
    let left = ck.leave(&[2]).unwrap_or_else(|e| panic!("leave of group 2 refused: {e}"));
    assert_eq!(gids(&left), [1, 3, 4].into(), "groups after group 2 left");
    answered.push(left);
    let tabled = ck.create_table("customers", 6).unwrap_or_else(|e| panic!("create table refused: {e}"));
    assert_eq!(tabled.shards.len(), 16, "10 default shards and 6 of customers");
    assert!((10..16).contains(&tabled.shard_of("customers42")), "customers42 is not in the customers shards");
    answered.push(tabled);
    let leader = ctrl.leader().unwrap_or(0);
    ctrl.crash_restart(leader, Duration::from_secs(1));
    answered.push(ck.join(group(5)).unwrap_or_else(|e| panic!("join of group 5 refused: {e}")));
    let config = ck.leave(&[1, 3]).unwrap_or_else(|e| panic!("leave of groups 1, 3 refused: {e}"));
    assert_eq!(gids(&config), [4, 5].into(), "groups after 1 and 3 left");
    answered.push(config);
    crash_all(&ctrl);
    let chain = check_chain(&mut ck, &answered);
    let all_left = ck.leave(&[4, 5]).unwrap_or_else(|e| panic!("leave of the last groups refused: {e}"));
    assert!(all_left.shards.iter().all(|&g| g == NO_GROUP), "no group is left but shards are assigned");
    crate::say!("  ctrler_basic_5a: {} configurations checked", chain.len());
}

/// What each concurrent clerk does: join its two groups, move a shard, leave one, rejoin, leave
/// the other; every accepted mutation's answer goes to `answered`. Returns the gids it leaves in.
fn reconfigure<C: ShardCtrlerClerk>(ck: &mut C, me: u64, answered: &Mutex<Vec<Config>>) -> Vec<Gid> {
    let (a, b) = (10 * me + 1, 10 * me + 2);
    let accept = |result: Result<Config, String>, what: &str| {
        let config = result.unwrap_or_else(|e| panic!("clerk {me}: {what} refused: {e}"));
        answered.lock().push(config.clone());
        config
    };
    let joined = accept(ck.join(group(a)), "join a");
    assert!(joined.groups.contains_key(&a), "clerk {me}: group {a} missing from the configuration its join made");
    accept(ck.join(group(b)), "join b");
    let shard = labrpc::rand::range(0..10) as u32;
    let moved = accept(ck.move_shard(shard, b), "move");
    assert_eq!(
        moved.shards[shard as usize], b,
        "clerk {me}: shard {shard} not at {b} in the configuration its move made"
    );
    let left = accept(ck.leave(&[a]), "leave a");
    assert!(!left.groups.contains_key(&a), "clerk {me}: group {a} still in the configuration its leave made");
    accept(ck.join(group(a)), "rejoin a");
    accept(ck.leave(&[b]), "leave b");
    vec![a]
}

/// `clerks` clerks reconfigure at once while `faults` runs; then the chain is checked and the
/// final groups must be exactly those the clerks left in.
fn concurrent<L: Lab>(name: &str, clerks: u64, reliable: bool, faults: fn(&CtrlerCluster<L>, Duration)) {
    let ctrl = CtrlerCluster::<L>::new(&network(reliable), REPLICAS);
    let answered = Arc::new(Mutex::new(Vec::new()));
    let handles: Vec<_> = (1..=clerks)
        .map(|me| {
            let (mut ck, answered) = (ctrl.make_clerk(), answered.clone());
            thread::Builder::new().name(format!("clerk-{me}")).spawn(move || reconfigure(&mut ck, me, &answered))
        })
        .collect();
    faults(&ctrl, Duration::from_secs(6));
    ctrl.servers().connect_all();
    let mut expected = BTreeSet::new();
    for h in handles {
        expected.extend(h.join().unwrap_or_else(|_| panic!("{name}: a clerk thread panicked")));
    }
    let mut ck = ctrl.make_clerk();
    let answered = answered.lock().clone();
    let chain = check_chain(&mut ck, &answered);
    let last = chain.last().expect("configuration 0 at least");
    assert_eq!(gids(last), expected, "{name}: groups in the latest configuration");
    crate::say!("  {name}: {} configurations checked", chain.len());
}

fn no_faults<L: Lab>(_: &CtrlerCluster<L>, _: Duration) {}

/// Random partitions (each replica a coin flip) and crashes of a replica, for `duration`.
fn partitions_and_crashes<L: Lab>(ctrl: &CtrlerCluster<L>, duration: Duration) {
    let end = time::now() + duration;
    while time::now() < end {
        let side: Vec<usize> = (0..ctrl.n()).filter(|_| labrpc::rand::range(0..2) == 0).collect();
        let other: Vec<usize> = (0..ctrl.n()).filter(|i| !side.contains(i)).collect();
        ctrl.servers().partition(&[side, other]);
        time::sleep(Duration::from_millis(labrpc::rand::range(200..1200)));
        ctrl.servers().connect_all();
        if labrpc::rand::per_mille(400) {
            let victim = labrpc::rand::range(0..ctrl.n() as u64) as usize;
            ctrl.crash_restart(victim, Duration::from_millis(labrpc::rand::range(100..800)));
        }
        time::sleep(Duration::from_millis(labrpc::rand::range(200..800)));
    }
}

/// Isolates whichever replica leads, several times, while clerks reconfigure.
fn leader_changes<L: Lab>(ctrl: &CtrlerCluster<L>, duration: Duration) {
    let end = time::now() + duration;
    while time::now() < end {
        time::sleep(Duration::from_millis(500));
        if let Some(leader) = ctrl.leader() {
            ctrl.servers().disconnect(leader);
            time::sleep(Duration::from_millis(1500));
            ctrl.servers().connect(leader);
        }
    }
}

/// 6.5840's concurrent test: clerks join and leave at once on a reliable network.
pub fn ctrler_concurrent_5a<L: Lab>() {
    concurrent::<L>("ctrler_concurrent_5a", 6, true, no_faults::<L>);
}

/// Concurrent clerks over an unreliable network (drops, delays, reordering): retries must not
/// apply twice.
pub fn ctrler_unreliable_5a<L: Lab>() {
    concurrent::<L>("ctrler_unreliable_5a", 6, false, no_faults::<L>);
}

/// Concurrent clerks while replicas are partitioned and crashed at random.
pub fn ctrler_partitions_crashes_5a<L: Lab>() {
    concurrent::<L>("ctrler_partitions_crashes_5a", 5, false, partitions_and_crashes::<L>);
}

/// Concurrent clerks while the leader is cut off again and again (a controller leader change
/// during reconfiguration).
pub fn ctrler_leader_change_5a<L: Lab>() {
    concurrent::<L>("ctrler_leader_change_5a", 5, true, leader_changes::<L>);
}

/// Many groups joined and left one at a time: every step must move the fewest shards (the chain
/// check compares each with a brute-force minimum) and end balanced.
pub fn ctrler_minimal_moves_5a<L: Lab>() {
    let ctrl = CtrlerCluster::<L>::new(&network(true), REPLICAS);
    let mut ck = ctrl.make_clerk();
    let mut answered = Vec::new();
    for gid in 1..=12 {
        answered.push(ck.join(group(gid)).unwrap_or_else(|e| panic!("join {gid} refused: {e}")));
    }
    for gid in [3, 7, 1, 12, 5] {
        answered.push(ck.leave(&[gid]).unwrap_or_else(|e| panic!("leave {gid} refused: {e}")));
    }
    answered.push(ck.create_table("orders", 7).unwrap_or_else(|e| panic!("create table refused: {e}")));
    for gid in [3, 20] {
        answered.push(ck.join(group(gid)).unwrap_or_else(|e| panic!("join {gid} refused: {e}")));
    }
    let chain = check_chain(&mut ck, &answered);
    crate::say!("  ctrler_minimal_moves_5a: {} configurations checked", chain.len());
}
