//! Lab 4A scenarios (kvraft without snapshots), after the Go test_test.go of 6.5840.

use raftkv::kvsrv::KvClient;
use std::time::Duration;

use labrpc::{thread, time};

use super::check::Run;
use super::cluster::KvCluster;
use super::generic::{
    append_and_read, append_value, check_client_appends, check_concurrent_appends, generic, Faults, Spec,
};
use super::history::Recorder;
use labapi::Lab;

/// Go's GenericTestSpeed: 1000 sequential appends by one client, at most 33 virtual ms each on
/// average (three per heartbeat interval: the service must not wait for heartbeats to commit).
pub fn speed<L: Lab>(name: &str, maxraftstate: Option<usize>) {
    const OPS: usize = 1000;
    let run = Run::start(name);
    let recorder = Recorder::new();
    let cluster = KvCluster::<L>::new(3, false, maxraftstate, &recorder);
    let mut ck = cluster.make_client(&cluster.all());
    // The first operation completes once a leader is elected.
    ck.get("x");
    let start = time::now();
    for i in 0..OPS {
        ck.append("x", &append_value(0, i));
    }
    let elapsed = start.elapsed();
    let value = ck.get_value("x");
    check_client_appends(0, &value, OPS);
    let per_op = elapsed / OPS as u32;
    crate::say!("  {name}: {OPS} appends in {elapsed:?} virtual ({per_op:?} per op)");
    assert!(per_op <= Duration::from_millis(33), "operations too slow: {per_op:?} per op (at most 33 ms)");
    run.finish(&recorder, 3, cluster.total_rpcs());
}

/// Go's TestUnreliableOneKey: 5 clients append 10 times each to one key over an unreliable
/// network; every append appears exactly once, in per-client order.
pub fn unreliable_one_key<L: Lab>(name: &str, maxraftstate: Option<usize>) {
    const CLIENTS: usize = 5;
    const UPTO: usize = 10;
    let run = Run::start(name);
    let recorder = Recorder::new();
    let cluster = KvCluster::<L>::new(3, true, maxraftstate, &recorder);
    let mut ck = cluster.make_client(&cluster.all());
    ck.put("k", "");
    let handles: Vec<_> = (0..CLIENTS)
        .map(|me| {
            let mut client = cluster.make_client(&cluster.all());
            let node = cluster.client_node(client.id());
            thread::Builder::new().name(format!("client-{me}")).node(node).spawn(move || {
                append_and_read(&mut client, "k", me, UPTO);
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("a client thread ends");
    }
    let value = ck.get_value("k");
    check_concurrent_appends(&value, &[UPTO; CLIENTS]);
    run.finish(&recorder, 3, cluster.total_rpcs());
}

pub fn basic_4a<L: Lab>() {
    generic::<L>(Spec::new("basic_4a", 1, 5));
}

pub fn speed_4a<L: Lab>() {
    speed::<L>("speed_4a", None);
}

pub fn concurrent_4a<L: Lab>() {
    generic::<L>(Spec::new("concurrent_4a", 5, 5));
}

pub fn unreliable_4a<L: Lab>() {
    generic::<L>(Spec { unreliable: true, ..Spec::new("unreliable_4a", 5, 5) });
}

pub fn unreliable_one_key_4a<L: Lab>() {
    unreliable_one_key::<L>("unreliable_one_key_4a", None);
}

/// Go's TestOnePartition: the majority makes progress, the minority (with the old leader) does
/// not, and the minority's operations complete within 3 s once the partition heals.
pub fn one_partition_4a<L: Lab>() {
    let run = Run::start("one_partition_4a");
    let recorder = Recorder::new();
    let cluster = KvCluster::<L>::new(5, false, None, &recorder);
    let mut ck = cluster.make_client(&cluster.all());
    ck.put("1", "13");
    // Progress in the majority.
    let (p1, p2) = cluster.make_partition();
    cluster.partition(&p1, &p2);
    let mut ckp1 = cluster.make_client(&p1);
    let mut ckp2a = cluster.make_client(&p2);
    let mut ckp2b = cluster.make_client(&p2);
    ckp1.put("1", "14");
    ckp1.check("1", "14");
    // No progress in the minority.
    let (ida, idb) = (ckp2a.id(), ckp2b.id());
    let put = thread::Builder::new().name("minority-put").node(cluster.client_node(ida)).spawn(move || {
        ckp2a.put("1", "15");
    });
    let get = thread::Builder::new().name("minority-get").node(cluster.client_node(idb)).spawn(move || {
        ckp2b.get("1");
    });
    time::sleep(Duration::from_secs(1));
    assert!(!put.is_finished(), "a put in the minority completed");
    assert!(!get.is_finished(), "a get in the minority completed");
    ckp1.check("1", "14");
    ckp1.put("1", "16");
    ckp1.check("1", "16");
    // Completion after heal.
    cluster.connect_all();
    cluster.connect_client(ida, &cluster.all());
    cluster.connect_client(idb, &cluster.all());
    let healed = time::now();
    while !(put.is_finished() && get.is_finished()) {
        assert!(
            healed.elapsed() <= Duration::from_secs(3),
            "minority operations did not complete within 3 s of healing (put done: {}, get done: {})",
            put.is_finished(),
            get.is_finished()
        );
        time::sleep(Duration::from_millis(10));
    }
    put.join().expect("the minority put ends");
    get.join().expect("the minority get ends");
    ck.check("1", "15");
    run.finish(&recorder, 5, cluster.total_rpcs());
}

pub fn many_partitions_one_client_4a<L: Lab>() {
    generic::<L>(Spec { faults: Faults::Partitions, ..Spec::new("many_partitions_one_client_4a", 1, 5) });
}

pub fn many_partitions_many_clients_4a<L: Lab>() {
    generic::<L>(Spec { faults: Faults::Partitions, ..Spec::new("many_partitions_many_clients_4a", 5, 5) });
}

pub fn persist_one_client_4a<L: Lab>() {
    generic::<L>(Spec { crash: true, ..Spec::new("persist_one_client_4a", 1, 5) });
}

pub fn persist_concurrent_4a<L: Lab>() {
    generic::<L>(Spec { crash: true, ..Spec::new("persist_concurrent_4a", 5, 5) });
}

pub fn persist_concurrent_unreliable_4a<L: Lab>() {
    generic::<L>(Spec { crash: true, unreliable: true, ..Spec::new("persist_concurrent_unreliable_4a", 5, 5) });
}

pub fn persist_partition_4a<L: Lab>() {
    generic::<L>(Spec { crash: true, faults: Faults::Partitions, ..Spec::new("persist_partition_4a", 5, 5) });
}

pub fn persist_partition_unreliable_4a<L: Lab>() {
    generic::<L>(Spec {
        crash: true,
        unreliable: true,
        faults: Faults::Partitions,
        ..Spec::new("persist_partition_unreliable_4a", 5, 5)
    });
}

pub fn persist_partition_unreliable_linearizable_4a<L: Lab>() {
    generic::<L>(Spec {
        crash: true,
        unreliable: true,
        faults: Faults::Partitions,
        randomkeys: true,
        ..Spec::new("persist_partition_unreliable_linearizable_4a", 15, 7)
    });
}
