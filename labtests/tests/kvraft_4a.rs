//! Lab 4A (kvraft without snapshots): one test per scenario of `labtests::scenario`; every run's history is checked for
//! linearizability. `LAB_SEED=N cargo test -p labtests --test kvraft_4a -- NAME --exact` replays seed N of one;
//! `LAB_VIS=always` writes the HTML view of passing runs too.

#[test]
fn basic_4a() {
    labtests::scenario::run("basic_4a");
}

#[test]
fn speed_4a() {
    labtests::scenario::run("speed_4a");
}

#[test]
fn concurrent_4a() {
    labtests::scenario::run("concurrent_4a");
}

#[test]
fn unreliable_4a() {
    labtests::scenario::run("unreliable_4a");
}

#[test]
fn unreliable_one_key_4a() {
    labtests::scenario::run("unreliable_one_key_4a");
}

#[test]
fn one_partition_4a() {
    labtests::scenario::run("one_partition_4a");
}

#[test]
fn many_partitions_one_client_4a() {
    labtests::scenario::run("many_partitions_one_client_4a");
}

#[test]
fn many_partitions_many_clients_4a() {
    labtests::scenario::run("many_partitions_many_clients_4a");
}

#[test]
fn persist_one_client_4a() {
    labtests::scenario::run("persist_one_client_4a");
}

#[test]
fn persist_concurrent_4a() {
    labtests::scenario::run("persist_concurrent_4a");
}

#[test]
fn persist_concurrent_unreliable_4a() {
    labtests::scenario::run("persist_concurrent_unreliable_4a");
}

#[test]
fn persist_partition_4a() {
    labtests::scenario::run("persist_partition_4a");
}

#[test]
fn persist_partition_unreliable_4a() {
    labtests::scenario::run("persist_partition_unreliable_4a");
}

#[test]
fn persist_partition_unreliable_linearizable_4a() {
    labtests::scenario::run("persist_partition_unreliable_linearizable_4a");
}
