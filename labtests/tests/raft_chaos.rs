//! Raft swarm chaos (each seed draws its own fault set): one test per scenario of `labtests::scenario`.
//! `LAB_SEED=N cargo test -p labtests --test raft_chaos -- NAME --exact` replays seed N of one.

#[test]
fn swarm_chaos() {
    labtests::scenario::run("swarm_chaos");
}

#[test]
fn swarm_snapshots_chaos() {
    labtests::scenario::run("swarm_snapshots_chaos");
}
