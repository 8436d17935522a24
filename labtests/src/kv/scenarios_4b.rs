//! Lab 4B scenarios (kvraft with snapshots, maxraftstate 1000), after the Go test_test.go.

use super::check::Run;
use super::cluster::KvCluster;
use super::generic::{generic, Faults, Spec};
use super::history::Recorder;
use super::scenarios_4a::speed;
use super::ELECTION_TIMEOUT;
use labapi::Lab;
use raftkv::kvsrv::KvClient;

/// Go's maxraftstate for 4B.
pub const MAXRAFTSTATE: usize = 1000;

/// Go's TestSnapshotRPC: a lagging server catches up through InstallSnapshot.
pub fn snapshot_rpc_4b<L: Lab>() {
    let run = Run::start("snapshot_rpc_4b");
    let recorder = Recorder::new();
    let cluster = KvCluster::<L>::new(3, false, Some(MAXRAFTSTATE), &recorder);
    let mut ck = cluster.make_client(&cluster.all());
    ck.put("a", "A");
    ck.check("a", "A");
    // A bunch of puts into the majority partition.
    cluster.partition(&[0, 1], &[2]);
    {
        let mut ck1 = cluster.make_client(&[0, 1]);
        for i in 0..50 {
            ck1.put(&i.to_string(), &i.to_string());
        }
        labrpc::time::sleep(ELECTION_TIMEOUT);
        ck1.put("b", "B");
    }
    // The majority has thrown away most of its log.
    let size = cluster.log_size();
    assert!(size <= 8 * MAXRAFTSTATE, "logs were not trimmed ({size} > 8*{MAXRAFTSTATE})");
    // A group that needs the lagging server, which must catch up through a snapshot.
    cluster.partition(&[0, 2], &[1]);
    {
        let mut ck1 = cluster.make_client(&[0, 2]);
        ck1.put("c", "C");
        ck1.put("d", "D");
        ck1.check("a", "A");
        ck1.check("b", "B");
        ck1.check("1", "1");
        ck1.check("49", "49");
    }
    // Everybody.
    cluster.connect_all();
    ck.put("e", "E");
    ck.check("c", "C");
    ck.check("e", "E");
    ck.check("1", "1");
    run.finish(&recorder, 3, cluster.total_rpcs());
}

/// Go's TestSnapshotSize: persisted Raft state stays under 8 x maxraftstate and snapshots of a
/// small key set stay under 500 bytes.
pub fn snapshot_size_4b<L: Lab>() {
    const MAX_SNAPSHOT: usize = 500;
    let run = Run::start("snapshot_size_4b");
    let recorder = Recorder::new();
    let cluster = KvCluster::<L>::new(3, false, Some(MAXRAFTSTATE), &recorder);
    let mut ck = cluster.make_client(&cluster.all());
    for _ in 0..200 {
        ck.put("x", "0");
        ck.check("x", "0");
        ck.put("x", "1");
        ck.check("x", "1");
    }
    let size = cluster.log_size();
    assert!(size <= 8 * MAXRAFTSTATE, "logs were not trimmed ({size} > 8*{MAXRAFTSTATE})");
    let snapshot = cluster.snapshot_size();
    assert!(snapshot <= MAX_SNAPSHOT, "snapshot too large ({snapshot} > {MAX_SNAPSHOT})");
    crate::say!("  snapshot_size_4b: persisted Raft state {size} bytes, snapshot {snapshot} bytes");
    run.finish(&recorder, 3, cluster.total_rpcs());
}

pub fn speed_4b<L: Lab>() {
    speed::<L>("speed_4b", Some(MAXRAFTSTATE));
}

fn spec(name: &'static str, nclients: usize, nservers: usize) -> Spec {
    Spec { maxraftstate: Some(MAXRAFTSTATE), ..Spec::new(name, nclients, nservers) }
}

pub fn snapshot_recover_4b<L: Lab>() {
    generic::<L>(Spec { crash: true, ..spec("snapshot_recover_4b", 1, 5) });
}

pub fn snapshot_recover_many_clients_4b<L: Lab>() {
    generic::<L>(Spec { crash: true, ..spec("snapshot_recover_many_clients_4b", 20, 5) });
}

pub fn snapshot_unreliable_4b<L: Lab>() {
    generic::<L>(Spec { unreliable: true, ..spec("snapshot_unreliable_4b", 5, 5) });
}

pub fn snapshot_unreliable_recover_4b<L: Lab>() {
    generic::<L>(Spec { unreliable: true, crash: true, ..spec("snapshot_unreliable_recover_4b", 5, 5) });
}

pub fn snapshot_unreliable_recover_concurrent_partition_4b<L: Lab>() {
    generic::<L>(Spec {
        unreliable: true,
        crash: true,
        faults: Faults::Partitions,
        ..spec("snapshot_unreliable_recover_concurrent_partition_4b", 5, 5)
    });
}

pub fn snapshot_unreliable_recover_concurrent_partition_linearizable_4b<L: Lab>() {
    generic::<L>(Spec {
        unreliable: true,
        crash: true,
        faults: Faults::Partitions,
        randomkeys: true,
        ..spec("snapshot_unreliable_recover_concurrent_partition_linearizable_4b", 15, 7)
    });
}
