//! The seeds' key/value API (swap, scan, one-shot transactions) under faults, for kvsrv and
//! kvraft: one test per scenario of `labtests::scenario`; every run's history is checked for
//! linearizability as one partition. `LAB_SEED=N cargo test -p labtests --test kv_api -- NAME
//! --exact` replays seed N of one.

#[test]
fn kvsrv_unreliable_api() {
    labtests::scenario::run("kvsrv_unreliable_api");
}

#[test]
fn kvraft_partitions_api() {
    labtests::scenario::run("kvraft_partitions_api");
}

#[test]
fn kvraft_crashes_snapshots_api() {
    labtests::scenario::run("kvraft_crashes_snapshots_api");
}
