//! Lab 5B beyond the course: the concurrent workload of `scenarios_5b` (clients appending to keys
//! of their own while groups join and leave), with one fault landing in the middle of each
//! change's migrations: a group's leader cut off by a partition, a whole group down, one-way cuts
//! inside a group or between two groups, a paused group leader, and the controller's leader
//! changing while the change is being made. Every history is checked for linearizability, every
//! key for its client's appends exactly once, and the controller's chain for one configuration per
//! answered change.

use std::time::Duration;

use labapi::shard::{Config, Gid};
use labapi::Lab;
use labrpc::{rand, thread, time};

use super::groups::{ShardCluster, GIDS};
use super::scenarios_5b::{concurrent, Change, N};

/// A random group of the three (any may hold shards, be gaining them, or be idle).
fn victim() -> Gid {
    GIDS[rand::range(0..GIDS.len() as u64) as usize]
}

/// Waits 0-300 ms: groups poll the controller every 100 ms or so, so the fault lands before,
/// during or after the change's pulls and deletes, depending on the seed.
fn into_migration() {
    time::sleep(Duration::from_millis(rand::range(0..300)));
}

/// How long a fault lasts: 200-1500 ms (past the reference's election timeouts).
fn hold() -> Duration {
    Duration::from_millis(rand::range(200..1500))
}

/// Group `gid`'s leader alone on one side of a partition (a random split when no server leads
/// now), healed after `hold`.
fn partition_step<L: Lab>(cluster: &ShardCluster<L>, change: Change) -> Config {
    let config = change.apply(cluster);
    into_migration();
    let gid = victim();
    match cluster.leader(gid) {
        Some(l) => cluster.group(gid).partition(&[vec![l], (0..N).filter(|&i| i != l).collect()]),
        None => cluster.random_split(gid),
    }
    time::sleep(hold());
    cluster.heal(gid);
    config
}

/// Partitions inside a group in the middle of migrations: the cut-off leader may still answer
/// pulls from its frozen copy, but nothing it proposes commits.
pub fn migration_partitions_5b<L: Lab>() {
    concurrent::<L>("migration_partitions_5b", true, None, partition_step);
}

/// Every server of a group crashed in the middle of migrations and restarted 200-1500 ms later
/// from what it persisted (with snapshots): a group must resume a half-done migration, as source
/// or receiver, from its log and snapshot alone.
pub fn migration_group_down_5b<L: Lab>() {
    concurrent::<L>("migration_group_down_5b", true, Some(1000), |cluster, change| {
        let config = change.apply(cluster);
        into_migration();
        let gid = victim();
        cluster.shutdown_group(gid);
        time::sleep(hold());
        cluster.start_group(gid);
        config
    });
}

/// One-way cuts in the middle of migrations, healed after `hold`: either a group's leader loses
/// its links to its followers (they still reach it), or every link from one group's servers to
/// another's is cut (the other still reaches them, but requests one way and replies the other are
/// lost: pulls and delete notices go unanswered).
pub fn migration_one_way_cuts_5b<L: Lab>() {
    concurrent::<L>("migration_one_way_cuts_5b", true, None, |cluster, change| {
        let config = change.apply(cluster);
        into_migration();
        let a = victim();
        let mut cuts = Vec::new();
        if rand::per_mille(500) {
            if let Some(l) = cluster.leader(a) {
                let servers = cluster.group(a);
                cuts.extend((0..N).filter(|&j| j != l).map(|j| (servers.node(l), servers.node(j))));
            }
        } else {
            let b = GIDS.iter().copied().filter(|&g| g != a).nth(rand::range(0..2) as usize).expect("two other groups");
            let (from, to) = (cluster.group(a), cluster.group(b));
            cuts.extend((0..N).flat_map(|i| (0..N).map(move |j| (i, j))).map(|(i, j)| (from.node(i), to.node(j))));
        }
        for &(from, to) in &cuts {
            cluster.group(a).cut_nodes(from, to);
        }
        time::sleep(hold());
        for &(from, to) in &cuts {
            cluster.group(a).heal_cut_nodes(from, to);
        }
        config
    });
}

/// A group's leader paused for 300-2000 ms in the middle of migrations (like a long GC pause):
/// when it wakes, whatever it was about to propose or answer is from before the pause.
pub fn migration_paused_leaders_5b<L: Lab>() {
    concurrent::<L>("migration_paused_leaders_5b", true, None, |cluster, change| {
        let config = change.apply(cluster);
        into_migration();
        let gid = victim();
        if let Some(l) = cluster.leader(gid) {
            cluster.group(gid).pause(l, Duration::from_millis(rand::range(300..2000)));
        }
        config
    });
}

/// The controller's leader cut off, crashed and restarted, or paused, 0-100 ms after the change
/// was sent: the change must be made exactly once (the chain check counts configurations), and
/// groups polling the controller must find the next configuration at the new leader.
pub fn ctrler_leader_change_5b<L: Lab>() {
    concurrent::<L>("ctrler_leader_change_5b", true, None, |cluster, change| {
        let maker = cluster.clone();
        let made = thread::Builder::new().name(format!("{change:?}")).spawn(move || change.apply(&maker));
        time::sleep(Duration::from_millis(rand::range(0..100)));
        let ctrl = cluster.ctrl();
        if let Some(l) = ctrl.leader() {
            match rand::range(0..3) {
                0 => {
                    ctrl.servers().disconnect(l);
                    time::sleep(hold());
                    ctrl.servers().connect(l);
                }
                1 => ctrl.crash_restart(l, hold()),
                _ => ctrl.servers().pause(l, hold()),
            }
        }
        made.join().unwrap_or_else(|_| panic!("ctrler_leader_change_5b: {change:?} panicked"))
    });
}
