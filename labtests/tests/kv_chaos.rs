//! kvraft swarm chaos (each seed draws its own fault set), checked for linearizability: one test
//! per scenario of `labtests::scenario`.
//! `LAB_SEED=N cargo test -p labtests --test kv_chaos -- NAME --exact` replays seed N of one.

#[test]
fn kvraft_swarm_chaos() {
    labtests::scenario::run("kvraft_swarm_chaos");
}
