//! Lab 3B (log replication): one test per scenario of `labtests::scenario`.
//! `LAB_SEED=N cargo test -p labtests --test raft_3b -- NAME --exact` replays seed N of one.

#[test]
fn basic_agree_3b() {
    labtests::scenario::run("basic_agree_3b");
}

#[test]
fn rpc_bytes_3b() {
    labtests::scenario::run("rpc_bytes_3b");
}

#[test]
fn follower_failure_3b() {
    labtests::scenario::run("follower_failure_3b");
}

#[test]
fn leader_failure_3b() {
    labtests::scenario::run("leader_failure_3b");
}

#[test]
fn fail_agree_3b() {
    labtests::scenario::run("fail_agree_3b");
}

#[test]
fn fail_no_agree_3b() {
    labtests::scenario::run("fail_no_agree_3b");
}

#[test]
fn concurrent_starts_3b() {
    labtests::scenario::run("concurrent_starts_3b");
}

#[test]
fn rejoin_3b() {
    labtests::scenario::run("rejoin_3b");
}

#[test]
fn backup_3b() {
    labtests::scenario::run("backup_3b");
}

#[test]
fn count_3b() {
    labtests::scenario::run("count_3b");
}

#[test]
fn far_behind_stale_suffix_3b() {
    labtests::scenario::run("far_behind_stale_suffix_3b");
}

#[test]
fn stale_suffix_heartbeat_3b() {
    labtests::scenario::run("stale_suffix_heartbeat_3b");
}

#[test]
fn same_leader_twice_3b() {
    labtests::scenario::run("same_leader_twice_3b");
}
