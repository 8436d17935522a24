//! Lab 5B (shard groups): one test per scenario of `labtests::scenario`; every run's history is
//! checked for linearizability. `LAB_SEED=N cargo test -p labtests --test shardkv_5b -- NAME
//! --exact` replays seed N of one; `LAB_VIS=always` writes the HTML view of passing runs too.

#[test]
fn static_shards_5b() {
    labtests::scenario::run("static_shards_5b");
}

#[test]
fn join_leave_5b() {
    labtests::scenario::run("join_leave_5b");
}

#[test]
fn join_leave_snapshots_5b() {
    labtests::scenario::run("join_leave_snapshots_5b");
}

#[test]
fn miss_change_5b() {
    labtests::scenario::run("miss_change_5b");
}

#[test]
fn concurrent_5b() {
    labtests::scenario::run("concurrent_5b");
}

#[test]
fn unreliable_5b() {
    labtests::scenario::run("unreliable_5b");
}

#[test]
fn migration_crashes_5b() {
    labtests::scenario::run("migration_crashes_5b");
}

#[test]
fn unreliable_snapshots_crashes_5b() {
    labtests::scenario::run("unreliable_snapshots_crashes_5b");
}

#[test]
fn delete_moved_shards_5b() {
    labtests::scenario::run("delete_moved_shards_5b");
}

#[test]
fn unaffected_shards_5b() {
    labtests::scenario::run("unaffected_shards_5b");
}

#[test]
fn all_leave_rejoin_5b() {
    labtests::scenario::run("all_leave_rejoin_5b");
}

#[test]
fn migration_partitions_5b() {
    labtests::scenario::run("migration_partitions_5b");
}

#[test]
fn migration_group_down_5b() {
    labtests::scenario::run("migration_group_down_5b");
}

#[test]
fn migration_one_way_cuts_5b() {
    labtests::scenario::run("migration_one_way_cuts_5b");
}

#[test]
fn migration_paused_leaders_5b() {
    labtests::scenario::run("migration_paused_leaders_5b");
}

#[test]
fn ctrler_leader_change_5b() {
    labtests::scenario::run("ctrler_leader_change_5b");
}
