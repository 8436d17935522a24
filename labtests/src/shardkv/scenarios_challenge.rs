//! Lab 5B's challenges, after 6.5840's TestChallenge1Delete and TestChallenge2Unaffected /
//! TestChallenge2Partial, held to the public API only: a group must delete the shards that moved
//! away once the receiver has them (what the groups persist stays bounded by one copy of the data
//! per replica), and must keep serving the shards that are not moving, and those that already
//! arrived, while another shard's migration is stuck. Also the case the course leaves out: every
//! group leaves, so no group serves any shard, and groups join again: the data must still be
//! there. Every client operation is recorded and the history checked for linearizability.

use std::collections::BTreeSet;
use std::time::Duration;

use labapi::shard::Gid;
use labapi::Lab;
use labrpc::{thread, time};
use raftkv::kvsrv::KvClient;

use super::groups::{ShardCluster, GIDS};
use super::scenarios_5b::{key, N};
use crate::kv::check::Run;
use crate::kv::history::Recorder;

/// A 1000-byte value for key `i` (6.5840's challenge 1 uses 1000-byte random values).
fn big_value(i: usize) -> String {
    let head = format!("v{i}-");
    format!("{head}{}", "x".repeat(1000 - head.len()))
}

/// Shards move between the three groups many times (with `maxraftstate` 1, so every server
/// snapshots after every entry); afterwards what all nine servers persist, Raft state and
/// snapshots summed, must stay within one copy of the data per replica plus slack. A group that
/// kept the shards it gave away would hold up to three copies (6.5840's TestChallenge1Delete).
pub fn delete_moved_shards_5b<L: Lab>() {
    const KEYS: usize = 30;
    const VALUE_BYTES: usize = 1000;
    let name = "delete_moved_shards_5b";
    let run = Run::start(name);
    let recorder = Recorder::new();
    let cluster = ShardCluster::<L>::new(N, true, Some(1), &recorder);
    cluster.join(&[1]);
    let mut ck = cluster.make_client();
    for i in 0..KEYS {
        ck.put(&key(i), &big_value(i));
    }
    let settle = Duration::from_secs(1);
    for _ in 0..2 {
        for (join, gid) in [(true, 2), (false, 1), (true, 3), (false, 2), (true, 1), (false, 3)] {
            if join {
                cluster.join(&[gid]);
            } else {
                cluster.leave(&[gid]);
            }
            time::sleep(settle);
        }
        for i in 0..KEYS {
            ck.check(&key(i), &big_value(i));
        }
    }
    // Deletions are proposed once the receiver has a shard: give the last ones time to apply.
    time::sleep(Duration::from_secs(2));
    let per_group: Vec<usize> = GIDS.iter().map(|&g| cluster.persisted_bytes(g)).collect();
    let total: usize = per_group.iter().sum();
    // Each replica of the owners holds the data once; the slack (10 KB per replica, a third of
    // the data) covers configurations, duplicate tables and the log after the last snapshot.
    let data = KEYS * VALUE_BYTES;
    let bound = N * (data + 10_000);
    assert!(
        total <= bound,
        "{name}: the groups persist {total} bytes in all ({per_group:?} for groups {GIDS:?}), more than {bound} \
         (one copy of the {data} bytes of data per replica, plus slack): shards that moved away were not deleted"
    );
    crate::say!("  {name}: {total} bytes persisted over {} servers (bound {bound})", N * GIDS.len());
    run.finish(&recorder, 3 * N, cluster.total_rpcs());
}

/// Groups 1-3 serve; group 1 is shut down, then groups 1 and 2 leave, so every shard goes to
/// group 3. Group 2's shards can move; group 1's cannot until it is back. Within `BOUND` every
/// operation on a shard group 3 already held (unaffected) and on one that came from group 2
/// (arrived) must complete, while none on a shard of group 1 may (no running group has its data).
/// 6.5840's TestChallenge2Unaffected and TestChallenge2Partial in one run.
pub fn unaffected_shards_5b<L: Lab>() {
    const KEYS: usize = 30;
    /// How long the served operations may take (3 s: a poll of the controller, a pull, and a
    /// clerk's retries, many times over; the reference needs well under one).
    const BOUND: Duration = Duration::from_secs(3);
    let name = "unaffected_shards_5b";
    let run = Run::start(name);
    let recorder = Recorder::new();
    let cluster = ShardCluster::<L>::new(N, true, None, &recorder);
    cluster.join(&[1]);
    cluster.join(&[2]);
    let before = cluster.join(&[3]);
    let mut ck = cluster.make_client();
    for i in 0..KEYS {
        ck.put(&key(i), &format!("v{i}"));
    }
    // The owners answered every key, so each group has reached `before` and holds its shards;
    // a second more lets the old owners' deletions finish (as the course's test sleeps), since
    // a receiver may wait for them before it takes the next configuration.
    for i in 0..KEYS {
        ck.check(&key(i), &format!("v{i}"));
    }
    time::sleep(Duration::from_secs(1));
    let owner = |i: usize| before.group_of(&key(i));
    let by_owner = |g: Gid| (0..KEYS).filter(|&i| owner(i) == g).collect::<BTreeSet<usize>>();
    for g in GIDS {
        assert!(!by_owner(g).is_empty(), "{name}: group {g} holds none of the {KEYS} keys: use more keys");
    }
    cluster.shutdown_group(1);
    cluster.leave(&[1, 2]);
    let handles: Vec<_> = (0..KEYS)
        .map(|i| {
            let mut c = cluster.make_client();
            thread::Builder::new().name(format!("client-key-{i}")).spawn(move || {
                c.append(&key(i), "+");
                c.check(&key(i), &format!("v{i}+"));
            })
        })
        .collect();
    time::sleep(BOUND);
    let done: BTreeSet<usize> = (0..KEYS).filter(|&i| handles[i].is_finished()).collect();
    let unaffected = by_owner(3);
    let arrived = by_owner(2);
    let stuck = by_owner(1);
    let missing = |set: &BTreeSet<usize>| set.difference(&done).copied().collect::<Vec<_>>();
    assert!(
        missing(&unaffected).is_empty(),
        "{name}: keys {:?} of shards group 3 kept did not complete within {BOUND:?} while group 1's shards were \
         stuck migrating",
        missing(&unaffected)
    );
    assert!(
        missing(&arrived).is_empty(),
        "{name}: keys {:?} of shards that moved from group 2 to group 3 did not complete within {BOUND:?} while \
         group 1's shards were stuck migrating",
        missing(&arrived)
    );
    let served_stuck: Vec<usize> = stuck.intersection(&done).copied().collect();
    assert!(
        served_stuck.is_empty(),
        "{name}: keys {served_stuck:?} of group 1's shards were served while group 1, the only holder of their data, \
         was down"
    );
    cluster.start_group(1);
    for h in handles {
        h.join().unwrap_or_else(|_| panic!("{name}: a client panicked"));
    }
    run.finish(&recorder, 3 * N, cluster.total_rpcs());
}

/// Groups 1 and 2 serve and hold data; both leave, so the controller's configuration has no
/// group (clients' operations must wait, not fail); then group 2 joins alone, then group 3,
/// which never held data, takes over from it, then group 1 joins. Every key must keep its value
/// and its appends throughout: leaving the store empty of groups must not lose the data.
pub fn all_leave_rejoin_5b<L: Lab>() {
    const KEYS: usize = 20;
    let name = "all_leave_rejoin_5b";
    let run = Run::start(name);
    let recorder = Recorder::new();
    let cluster = ShardCluster::<L>::new(N, true, None, &recorder);
    cluster.join(&[1, 2]);
    let mut ck = cluster.make_client();
    for i in 0..KEYS {
        ck.put(&key(i), &format!("v{i}"));
    }
    let empty = cluster.leave(&[1, 2]);
    assert!(empty.groups.is_empty(), "{name}: after every group left the configuration still has {:?}", empty.groups);
    // Operations issued while no group serves: they complete once some group does.
    let waiting: Vec<_> = (0..3)
        .map(|i| {
            let mut c = cluster.make_client();
            thread::Builder::new().name(format!("waiting-{i}")).spawn(move || {
                c.append(&key(i), "+");
            })
        })
        .collect();
    time::sleep(Duration::from_secs(1));
    assert!(waiting.iter().all(|h| !h.is_finished()), "{name}: an operation completed while no group served");
    let expected = |i: usize| if i < 3 { format!("v{i}+") } else { format!("v{i}") };
    cluster.join(&[2]);
    for h in waiting {
        h.join().unwrap_or_else(|_| panic!("{name}: a waiting client panicked"));
    }
    for i in 0..KEYS {
        ck.check(&key(i), &expected(i));
    }
    cluster.join(&[3]);
    cluster.leave(&[2]);
    for i in 0..KEYS {
        ck.check(&key(i), &expected(i));
    }
    cluster.join(&[1]);
    for i in 0..KEYS {
        ck.append(&key(i), "!");
        ck.check(&key(i), &format!("{}!", expected(i)));
    }
    run.finish(&recorder, 3 * N, cluster.total_rpcs());
}
