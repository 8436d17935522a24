//! Lab 3D (log compaction): one test per scenario of `labtests::scenario`.
//! `LAB_SEED=N cargo test -p labtests --test raft_3d -- NAME --exact` replays seed N of one.

#[test]
fn snapshot_basic_3d() {
    labtests::scenario::run("snapshot_basic_3d");
}

#[test]
fn snapshot_install_3d() {
    labtests::scenario::run("snapshot_install_3d");
}

#[test]
fn snapshot_install_unreliable_3d() {
    labtests::scenario::run("snapshot_install_unreliable_3d");
}

#[test]
fn snapshot_install_crash_3d() {
    labtests::scenario::run("snapshot_install_crash_3d");
}

#[test]
fn snapshot_install_uncrash_3d() {
    labtests::scenario::run("snapshot_install_uncrash_3d");
}

#[test]
fn snapshot_all_crash_3d() {
    labtests::scenario::run("snapshot_all_crash_3d");
}

#[test]
fn snapshot_init_3d() {
    labtests::scenario::run("snapshot_init_3d");
}

#[test]
fn install_snapshot_behind_commit_3d() {
    labtests::scenario::run("install_snapshot_behind_commit_3d");
}
