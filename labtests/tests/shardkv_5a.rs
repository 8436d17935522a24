//! Lab 5A (the shard controller): one test per scenario of `labtests::scenario`; every run reads
//! the whole configuration sequence back and checks it. `LAB_SEED=N cargo test -p labtests --test
//! shardkv_5a -- NAME --exact` replays seed N of one.

#[test]
fn ctrler_basic_5a() {
    labtests::scenario::run("ctrler_basic_5a");
}

#[test]
fn ctrler_concurrent_5a() {
    labtests::scenario::run("ctrler_concurrent_5a");
}

#[test]
fn ctrler_unreliable_5a() {
    labtests::scenario::run("ctrler_unreliable_5a");
}

#[test]
fn ctrler_partitions_crashes_5a() {
    labtests::scenario::run("ctrler_partitions_crashes_5a");
}

#[test]
fn ctrler_leader_change_5a() {
    labtests::scenario::run("ctrler_leader_change_5a");
}

#[test]
fn ctrler_minimal_moves_5a() {
    labtests::scenario::run("ctrler_minimal_moves_5a");
}
