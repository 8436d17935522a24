//! Lab 4A of 6.5840, the replicated state machine layer alone (phase "rsm"): one test per scenario of
//! `labtests::scenario`; every submit's answer is checked against the replicas' total order of applied ops.
//! `LAB_SEED=N cargo test -p labtests --test rsm_4 -- NAME --exact` replays seed N of one.

#[test]
fn basic_rsm() {
    labtests::scenario::run("basic_rsm");
}

#[test]
fn concurrent_rsm() {
    labtests::scenario::run("concurrent_rsm");
}

#[test]
fn leader_failure_rsm() {
    labtests::scenario::run("leader_failure_rsm");
}

#[test]
fn partition_rsm() {
    labtests::scenario::run("partition_rsm");
}

#[test]
fn restart_rsm() {
    labtests::scenario::run("restart_rsm");
}

#[test]
fn snapshot_rsm() {
    labtests::scenario::run("snapshot_rsm");
}

#[test]
fn unreliable_rsm() {
    labtests::scenario::run("unreliable_rsm");
}
