//! Lab 4B (kvraft with snapshots, maxraftstate 1000): one test per scenario of `labtests::scenario`; every run's history is checked for
//! linearizability. `LAB_SEED=N cargo test -p labtests --test kvraft_4b -- NAME --exact` replays seed N of one;
//! `LAB_VIS=always` writes the HTML view of passing runs too.

#[test]
fn snapshot_rpc_4b() {
    labtests::scenario::run("snapshot_rpc_4b");
}

#[test]
fn snapshot_size_4b() {
    labtests::scenario::run("snapshot_size_4b");
}

#[test]
fn speed_4b() {
    labtests::scenario::run("speed_4b");
}

#[test]
fn snapshot_recover_4b() {
    labtests::scenario::run("snapshot_recover_4b");
}

#[test]
fn snapshot_recover_many_clients_4b() {
    labtests::scenario::run("snapshot_recover_many_clients_4b");
}

#[test]
fn snapshot_unreliable_4b() {
    labtests::scenario::run("snapshot_unreliable_4b");
}

#[test]
fn snapshot_unreliable_recover_4b() {
    labtests::scenario::run("snapshot_unreliable_recover_4b");
}

#[test]
fn snapshot_unreliable_recover_concurrent_partition_4b() {
    labtests::scenario::run("snapshot_unreliable_recover_concurrent_partition_4b");
}

#[test]
fn snapshot_unreliable_recover_concurrent_partition_linearizable_4b() {
    labtests::scenario::run("snapshot_unreliable_recover_concurrent_partition_linearizable_4b");
}
