//! The state machine layer alone (6.5840's lab 4A rsm tests): replicas of `L::Rsm<Probe>`, ops
//! submitted through the layer, every answer checked against the replicas' total order
//! (`super::probe`).

use std::time::Duration;

use labapi::Lab;
use labrpc::{thread, time};

use super::cluster::RsmCluster;
use crate::say;

/// Time allowed for one op to be applied somewhere, elections included.
const SUBMIT_LIMIT: Duration = Duration::from_secs(20);
/// Snapshot threshold of the snapshot scenario (the 4B one).
pub const MAXRAFTSTATE: usize = 1000;

fn submit_many<L: Lab>(cluster: &RsmCluster<L>, count: usize) -> Vec<u64> {
    (0..count).map(|_| cluster.must_submit(SUBMIT_LIMIT)).collect()
}

fn finish<L: Lab>(cluster: &RsmCluster<L>) {
    cluster.check();
    say!("  ... Passed --  {} ops applied", cluster.applied());
}

/// One submitter, one op at a time: each is applied, after the one before.
pub fn basic_rsm<L: Lab>() {
    say!("Test (rsm): basic submits ...");
    let cluster = RsmCluster::<L>::new(3, false, None);
    let positions = submit_many(&cluster, 30);
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "rsm: sequential submits applied out of order: {positions:?}");
    finish(&cluster);
}

/// Several submitters at once, to every replica in turn.
pub fn concurrent_rsm<L: Lab>() {
    say!("Test (rsm): concurrent submits ...");
    let cluster = RsmCluster::<L>::new(3, false, None);
    let workers: Vec<_> = (0..5)
        .map(|_| {
            let c = cluster.clone();
            thread::Builder::new().name("submitter").spawn(move || submit_many(&c, 10))
        })
        .collect();
    for w in workers {
        w.join().unwrap_or_else(|_| panic!("rsm: a submitter did not finish"));
    }
    assert!(cluster.applied() >= 50, "rsm: {} ops applied, 50 were answered applied", cluster.applied());
    finish(&cluster);
}

/// The leader is cut off; the others go on; it comes back and catches up.
pub fn leader_failure_rsm<L: Lab>() {
    say!("Test (rsm): leader failure ...");
    let cluster = RsmCluster::<L>::new(3, false, None);
    submit_many(&cluster, 10);
    for _ in 0..2 {
        let leader = cluster.leader().expect("rsm: no leader after ops were applied");
        cluster.servers().disconnect(leader);
        submit_many(&cluster, 10);
        cluster.servers().connect(leader);
        submit_many(&cluster, 5);
    }
    finish(&cluster);
}

/// A leader in a minority may not answer an op as applied; the majority goes on.
pub fn partition_rsm<L: Lab>() {
    say!("Test (rsm): leader in a minority partition ...");
    let cluster = RsmCluster::<L>::new(5, false, None);
    submit_many(&cluster, 5);
    let leader = cluster.leader().expect("rsm: no leader after ops were applied");
    let minority = vec![leader, (leader + 1) % 5];
    let majority: Vec<usize> = (0..5).filter(|i| !minority.contains(i)).collect();
    cluster.servers().partition(&[minority, majority.clone()]);
    let c = cluster.clone();
    let stranded = thread::Builder::new().name("minority-submit").spawn(move || c.submit_to(leader));
    time::sleep(Duration::from_secs(1));
    submit_many(&cluster, 10);
    time::sleep(Duration::from_secs(1));
    cluster.servers().heal_partition();
    let answered = stranded.join().unwrap_or_else(|_| panic!("rsm: the minority submit did not return"));
    assert_eq!(answered, None, "rsm: the old leader {leader}, cut off in a minority, answered its op as applied");
    submit_many(&cluster, 10);
    finish(&cluster);
}

/// Every replica crashes and restarts between rounds: the machine comes back from the log.
pub fn restart_rsm<L: Lab>() {
    say!("Test (rsm): restarts ...");
    let cluster = RsmCluster::<L>::new(3, false, None);
    for _ in 0..3 {
        submit_many(&cluster, 10);
        for i in 0..cluster.n() {
            cluster.restart(i);
        }
    }
    submit_many(&cluster, 10);
    finish(&cluster);
}

/// With maxraftstate the layer snapshots: the log stays small, a lagging replica catches up
/// through a snapshot, and restarts restore from one.
pub fn snapshot_rsm<L: Lab>() {
    say!("Test (rsm): snapshots ...");
    let cluster = RsmCluster::<L>::new(3, false, Some(MAXRAFTSTATE));
    submit_many(&cluster, 60);
    let size = cluster.raft_state_bytes();
    assert!(size <= 8 * MAXRAFTSTATE, "rsm: logs were not trimmed ({size} > 8*{MAXRAFTSTATE} bytes)");
    let lagging = (cluster.leader().expect("rsm: no leader") + 1) % 3;
    cluster.servers().disconnect(lagging);
    submit_many(&cluster, 60);
    cluster.servers().connect(lagging);
    let other = (lagging + 1) % 3;
    cluster.servers().disconnect(other);
    // Only the lagging replica can make a majority now: it must catch up first.
    submit_many(&cluster, 5);
    cluster.servers().connect(other);
    for i in 0..cluster.n() {
        cluster.restart(i);
    }
    submit_many(&cluster, 10);
    let size = cluster.raft_state_bytes();
    assert!(size <= 8 * MAXRAFTSTATE, "rsm: logs were not trimmed ({size} > 8*{MAXRAFTSTATE} bytes)");
    finish(&cluster);
}

/// Concurrent submitters on an unreliable network, with a leader restart among them.
pub fn unreliable_rsm<L: Lab>() {
    say!("Test (rsm): unreliable network ...");
    let cluster = RsmCluster::<L>::new(5, true, None);
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let c = cluster.clone();
            thread::Builder::new().name("submitter").spawn(move || submit_many(&c, 10))
        })
        .collect();
    time::sleep(Duration::from_secs(2));
    if let Some(leader) = cluster.leader() {
        cluster.restart(leader);
    }
    for w in workers {
        w.join().unwrap_or_else(|_| panic!("rsm: a submitter did not finish"));
    }
    finish(&cluster);
}
