//! Lab 2 (kvsrv, one key/value server): one test per scenario of `labtests::scenario`; every run's history is checked for
//! linearizability. `LAB_SEED=N cargo test -p labtests --test lab2_kvsrv -- NAME --exact` replays seed N of one;
//! `LAB_VIS=always` writes the HTML view of passing runs too.

// The memory scenarios read the bytes the server's node holds (`labrpc::node::memory`).
labrpc::count_allocations!();

#[test]
fn basic_2() {
    labtests::scenario::run("basic_2");
}

#[test]
fn concurrent_2() {
    labtests::scenario::run("concurrent_2");
}

#[test]
fn unreliable_2() {
    labtests::scenario::run("unreliable_2");
}

#[test]
fn unreliable_one_key_2() {
    labtests::scenario::run("unreliable_one_key_2");
}

#[test]
fn unreliable_random_keys_2() {
    labtests::scenario::run("unreliable_random_keys_2");
}

#[test]
fn mem_get_2() {
    labtests::scenario::run("mem_get_2");
}

#[test]
fn mem_put_2() {
    labtests::scenario::run("mem_put_2");
}

#[test]
fn mem_append_2() {
    labtests::scenario::run("mem_append_2");
}

#[test]
fn mem_put_many_clients_2() {
    labtests::scenario::run("mem_put_many_clients_2");
}

#[test]
fn mem_get_many_clients_2() {
    labtests::scenario::run("mem_get_many_clients_2");
}

#[test]
fn mem_many_appends_2() {
    labtests::scenario::run("mem_many_appends_2");
}
