//! Lab 2's lock (6.5840's lock tests): clients build a lock on the kvsrv with conditional puts;
//! the harness checks mutual exclusion, progress and linearizability (`labtests::kv::scenarios_lock`).
//! `LAB_SEED=N cargo test -p labtests --test lab2_lock -- NAME --exact` replays seed N of one.

#[test]
fn lock_reliable_one_client_2() {
    labtests::scenario::run("lock_reliable_one_client_2");
}

#[test]
fn lock_reliable_many_clients_2() {
    labtests::scenario::run("lock_reliable_many_clients_2");
}

#[test]
fn lock_unreliable_one_client_2() {
    labtests::scenario::run("lock_unreliable_one_client_2");
}

#[test]
fn lock_unreliable_many_clients_2() {
    labtests::scenario::run("lock_unreliable_many_clients_2");
}
