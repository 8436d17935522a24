//! Key/value scenarios beyond the labs (one-way cuts, duplicated requests, a paused leader): one test per scenario of `labtests::scenario`; every run's history is checked for
//! linearizability. `LAB_SEED=N cargo test -p labtests --test kv_beyond -- NAME --exact` replays seed N of one;
//! `LAB_VIS=always` writes the HTML view of passing runs too.

#[test]
fn kv_one_way_cuts_beyond() {
    labtests::scenario::run("kv_one_way_cuts_beyond");
}

#[test]
fn kv_duplicates_beyond() {
    labtests::scenario::run("kv_duplicates_beyond");
}

#[test]
fn kv_paused_leader_beyond() {
    labtests::scenario::run("kv_paused_leader_beyond");
}

#[test]
fn kvsrv_duplicates_beyond() {
    labtests::scenario::run("kvsrv_duplicates_beyond");
}
