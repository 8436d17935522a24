//! Lab 5B scenarios: shard groups serving the controller's configurations, after 6.5840's shardkv
//! tests (static shards, join then leave, concurrent clients during changes, unreliable network,
//! snapshots), plus crashes inside migrations. Every client operation is recorded and the whole
//! history checked for linearizability (`Run::finish`); clients that own keys also check that
//! every append of theirs is there exactly once, in order.

use std::time::Duration;

use labapi::shard::{Config, Gid};
use labapi::Lab;
use labrpc::{thread, time};
use raftkv::kvsrv::KvClient;

use super::check::check_chain;
use super::groups::{ShardCluster, GIDS};
use crate::kv::check::Run;
use crate::kv::generic::{append_value, check_client_appends};
use crate::kv::history::Recorder;

/// Servers per group.
pub(super) const N: usize = 3;

/// Keys the scenarios use: spread over every shard of the default table.
pub(super) fn key(i: usize) -> String {
    format!("k{i}")
}

/// Two groups serve; one is shut down: exactly the keys of the other group still answer, and
/// all of them once it is back (6.5840's TestStaticShards).
pub fn static_shards_5b<L: Lab>() {
    const KEYS: usize = 20;
    let name = "static_shards_5b";
    let run = Run::start(name);
    let recorder = Recorder::new();
    let cluster = ShardCluster::<L>::new(N, true, None, &recorder);
    let config = {
        cluster.join(&[1]);
        cluster.join(&[2])
    };
    let mut ck = cluster.make_client();
    for i in 0..KEYS {
        ck.put(&key(i), &format!("v{i}"));
    }
    for i in 0..KEYS {
        ck.check(&key(i), &format!("v{i}"));
    }
    // The groups have reached the configuration (they answered every key), so it is current.
    cluster.shutdown_group(1);
    let handles: Vec<_> = (0..KEYS)
        .map(|i| {
            let mut c = cluster.make_client();
            thread::Builder::new().name(format!("reader-{i}")).spawn(move || c.check(&key(i), &format!("v{i}")))
        })
        .collect();
    time::sleep(Duration::from_secs(2));
    let done: Vec<usize> = (0..KEYS).filter(|&i| handles[i].is_finished()).collect();
    let served: Vec<usize> = (0..KEYS).filter(|&i| config.group_of(&key(i)) == 2).collect();
    assert_eq!(done, served, "{name}: with group 1 down, exactly group 2's keys must answer");
    assert!(!served.is_empty() && served.len() < KEYS, "{name}: the keys must span both groups");
    cluster.start_group(1);
    for h in handles {
        h.join().unwrap_or_else(|_| panic!("{name}: a reader panicked"));
    }
    run.finish(&recorder, 2 * N, cluster.total_rpcs());
}

/// One client appends to every key while groups join and leave one at a time: every key's value
/// must hold every append once, in order, through every migration (6.5840's TestJoinLeave).
pub fn join_leave_5b<L: Lab>() {
    join_leave::<L>("join_leave_5b", true, None);
}

/// The same with snapshots (a small `maxraftstate`): shards and duplicate tables must survive
/// being snapshotted and restored.
pub fn join_leave_snapshots_5b<L: Lab>() {
    join_leave::<L>("join_leave_snapshots_5b", true, Some(1000));
}

fn join_leave<L: Lab>(name: &str, reliable: bool, maxraftstate: Option<usize>) {
    const KEYS: usize = 10;
    let run = Run::start(name);
    let recorder = Recorder::new();
    let cluster = ShardCluster::<L>::new(N, reliable, maxraftstate, &recorder);
    let mut ck = cluster.make_client();
    let id = ck.id();
    let mut appends = 0;
    let mut round = |ck: &mut crate::kv::history::Client<L::ShardKvClerk>| {
        for i in 0..KEYS {
            ck.append(&key(i), &append_value(id, appends));
        }
        appends += 1;
        for i in 0..KEYS {
            check_client_appends(id, &ck.get_value(&key(i)), appends);
        }
    };
    // After each change the groups get a second to apply it (as 6.5840's test sleeps), so the
    // next round runs against the new owners and their migrated data.
    let settle = Duration::from_secs(1);
    for (join, gid) in [(true, 1), (true, 2), (true, 3), (false, 1), (false, 2), (true, 1)] {
        if join {
            cluster.join(&[gid]);
        } else {
            cluster.leave(&[gid]);
        }
        time::sleep(settle);
        round(&mut ck);
    }
    run.finish(&recorder, 3 * N, cluster.total_rpcs());
}

/// One server of every group is down while groups join and leave, so it misses configuration
/// changes and must catch up through each of them (from its log, or from a snapshot with
/// `maxraftstate` 1000) when restarted; then a second server of each. One client appends to
/// every key between the changes and checks what it reads (6.5840's TestMissChange).
pub fn miss_change_5b<L: Lab>() {
    const KEYS: usize = 10;
    let name = "miss_change_5b";
    let run = Run::start(name);
    let recorder = Recorder::new();
    let cluster = ShardCluster::<L>::new(N, true, Some(1000), &recorder);
    let mut ck = cluster.make_client();
    let mut values: Vec<String> = (0..KEYS).map(|i| format!("v{i}")).collect();
    cluster.join(&[1]);
    for (i, v) in values.iter().enumerate() {
        ck.put(&key(i), v);
    }
    let mut round = |ck: &mut crate::kv::history::Client<L::ShardKvClerk>, tag: &str| {
        for (i, v) in values.iter_mut().enumerate() {
            ck.check(&key(i), v);
            let more = format!(" {tag}");
            ck.append(&key(i), &more);
            v.push_str(&more);
        }
    };
    cluster.join(&[2]);
    for gid in GIDS {
        cluster.shutdown_server(gid, 0);
    }
    cluster.join(&[3]);
    cluster.leave(&[2]);
    cluster.leave(&[1]);
    round(&mut ck, "a");
    cluster.join(&[2]);
    round(&mut ck, "b");
    for gid in GIDS {
        cluster.restart_server(gid, 0);
    }
    round(&mut ck, "c");
    time::sleep(Duration::from_secs(2));
    for gid in GIDS {
        cluster.shutdown_server(gid, 1);
    }
    cluster.join(&[1]);
    cluster.leave(&[3]);
    round(&mut ck, "d");
    for gid in GIDS {
        cluster.restart_server(gid, 1);
    }
    round(&mut ck, "e");
    run.finish(&recorder, 3 * N, cluster.total_rpcs());
}

/// One configuration change of a concurrent run.
#[derive(Clone, Copy, Debug)]
pub(super) enum Change {
    Join(Gid),
    Leave(Gid),
}

impl Change {
    /// Makes the change through the harness's controller clerk; the configuration it made.
    pub(super) fn apply<L: Lab>(self, cluster: &ShardCluster<L>) -> Config {
        match self {
            Change::Join(gid) => cluster.join(&[gid]),
            Change::Leave(gid) => cluster.leave(&[gid]),
        }
    }
}

/// Clients append to keys of their own while a reconfigurer joins and leaves groups, each change
/// made by `step` (which may fault the cluster before, during or after it); at the end each key
/// holds its client's appends exactly once, in order, the history is linearizable, and the
/// controller made exactly one configuration per change it answered.
pub(super) fn concurrent<L: Lab>(
    name: &str,
    reliable: bool,
    maxraftstate: Option<usize>,
    step: impl Fn(&ShardCluster<L>, Change) -> Config,
) {
    const CLIENTS: usize = 4;
    const KEYS_PER_CLIENT: usize = 3;
    const ROUNDS: usize = 12;
    let run = Run::start(name);
    let recorder = Recorder::new();
    let cluster = ShardCluster::<L>::new(N, reliable, maxraftstate, &recorder);
    let mut answered = vec![cluster.join(&[1])];
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let mut ck = cluster.make_client();
            thread::Builder::new().name(format!("appender-{c}")).spawn(move || {
                let id = ck.id();
                for j in 0..ROUNDS {
                    for k in 0..KEYS_PER_CLIENT {
                        ck.append(&format!("c{c}-{k}"), &append_value(id, j));
                    }
                }
                for k in 0..KEYS_PER_CLIENT {
                    check_client_appends(id, &ck.get_value(&format!("c{c}-{k}")), ROUNDS);
                }
            })
        })
        .collect();
    use Change::{Join, Leave};
    for change in [Join(2), Join(3), Leave(1), Join(1), Leave(2), Leave(3)] {
        time::sleep(Duration::from_millis(labrpc::rand::range(200..900)));
        answered.push(step(&cluster, change));
    }
    for h in clients {
        h.join().unwrap_or_else(|_| panic!("{name}: an appender panicked"));
    }
    check_chain(&mut cluster.ctrl().make_clerk(), &answered);
    run.finish(&recorder, 3 * N, cluster.total_rpcs());
}

/// A step that only makes the change.
fn plain<L: Lab>(cluster: &ShardCluster<L>, change: Change) -> Config {
    change.apply(cluster)
}

/// A step that makes the change, then crashes a random server of a random group and restarts it
/// 100-1000 ms later (in the middle of the change's migrations).
fn crash_one<L: Lab>(cluster: &ShardCluster<L>, change: Change) -> Config {
    let config = change.apply(cluster);
    let victim = 1 + labrpc::rand::range(0..3);
    let server = labrpc::rand::range(0..N as u64) as usize;
    cluster.crash_restart(victim, server, Duration::from_millis(labrpc::rand::range(100..1000)));
    config
}

/// Concurrent clients during joins and leaves on a reliable network (6.5840's TestConcurrent1).
pub fn concurrent_5b<L: Lab>() {
    concurrent::<L>("concurrent_5b", true, None, plain);
}

/// The same over an unreliable network (TestUnreliable1): retried operations must apply once
/// even when the retry reaches the shard's new group.
pub fn unreliable_5b<L: Lab>() {
    concurrent::<L>("unreliable_5b", false, None, plain);
}

/// Concurrent clients while servers of the groups crash and restart in the middle of migrations.
pub fn migration_crashes_5b<L: Lab>() {
    concurrent::<L>("migration_crashes_5b", true, None, crash_one);
}

/// Concurrent clients over an unreliable network with snapshots and crashes.
pub fn unreliable_snapshots_crashes_5b<L: Lab>() {
    concurrent::<L>("unreliable_snapshots_crashes_5b", false, Some(1000), crash_one);
}
