//! Raft scenarios beyond the Go labs (one-way cuts, duplicates, pauses, random faults): one test per scenario of `labtests::scenario`.
//! `LAB_SEED=N cargo test -p labtests --test raft_beyond -- NAME --exact` replays seed N of one.

#[test]
fn one_way_leader_cut_beyond() {
    labtests::scenario::run("one_way_leader_cut_beyond");
}

#[test]
fn duplicates_beyond() {
    labtests::scenario::run("duplicates_beyond");
}

#[test]
fn paused_leader_beyond() {
    labtests::scenario::run("paused_leader_beyond");
}

#[test]
fn random_faults_beyond() {
    labtests::scenario::run("random_faults_beyond");
}
