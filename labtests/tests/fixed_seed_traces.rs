//! The trace of fixed seeds, as insta snapshots: any change to scheduling, to the network's fault
//! order or to the reference Raft's timing shows up in review as a diff of these lines.
//!
//! Each scenario runs with its default seed (the one plain `cargo test` uses) and the trace at INFO
//! level: elections, leader changes and the harness's fault actions, with virtual time, node and
//! thread; one also at DEBUG level, the reference Raft's protocol trace (`src/raft/trace.rs`). After an intended change, review the diff and accept it with `cargo insta review` (or
//! `INSTA_UPDATE=always`).

use labrpc::{sim, trace};
use labtests::scenario;

fn trace_of(name: &str) -> String {
    trace_at(name, tracing::Level::INFO)
}

fn trace_at(name: &str, level: tracing::Level) -> String {
    let s = scenario::find(name).unwrap_or_else(|| panic!("no scenario {name}"));
    let seed = sim::seed_from_name(s.name);
    labtests::set_quiet(true);
    let (report, text) = trace::capture(level, || sim::run(seed, &s.config(), s.run));
    labtests::set_quiet(false);
    let report = report.unwrap_or_else(|failure| panic!("{name} failed:\n{failure}"));
    assert!(!text.is_empty(), "{name}: no trace lines captured");
    format!("seed {seed}, virtual {:?}\n{text}", report.virtual_time)
}

#[test]
fn re_election_3a_trace() {
    insta::assert_snapshot!(trace_of("re_election_3a"));
}

#[test]
fn persist1_3c_trace() {
    insta::assert_snapshot!(trace_of("persist1_3c"));
}

#[test]
fn unreliable_agree_3c_trace() {
    insta::assert_snapshot!(trace_of("unreliable_agree_3c"));
}

/// The reference Raft's protocol trace (DEBUG: votes, AppendEntries, commits, snapshots taken,
/// sent, installed and refused as stale, applies) of a short run: an election, commits, and
/// InstallSnapshots across a cut link.
#[test]
fn install_snapshot_behind_commit_3d_debug_trace() {
    insta::assert_snapshot!(trace_at("install_snapshot_behind_commit_3d", tracing::Level::DEBUG));
}
