//! The timeline view of one run (`scripts/dstest --replay SCENARIO --seed S --html FILE`, and
//! next to every failure log of a sweep): one self-contained HTML page with a lane per node
//! showing what the harness saw through the public API (each peer's `state()`, applied
//! indices), every RPC as arrows between lanes (filterable by method), faults as bands and
//! marks, the kv clients' operations, and the failing check marked, with a button to jump to it.
//!
//! How it is recorded: the run is replayed once more under `labrpc::observe::recording`, which
//! turns on hooks in the network and nodes (labrpc) and in the harness (`event.rs`). The hooks
//! never touch the schedule, so the replay is the same run as the failing one.
//!
//! - `event.rs`: what the harness reports; `model.rs`: observations to lanes, arrows, bands;
//! - `window.rs`: the bound on a long run's page; `page.rs` (with `page.js`, `page.css`): HTML.

pub mod event;
pub mod model;
pub mod page;
pub mod window;

use std::path::{Path, PathBuf};

use labrpc::sim::{Failure, Report};

use crate::dstest::Case;
pub use model::Timeline;

/// Runs `seed` of `case` once, recording, and returns its outcome and its timeline (bounded to
/// `window::MAX_ITEMS` drawn items around the failure).
pub fn record(case: &Case, seed: u64) -> (Result<Report<()>, Failure>, Timeline) {
    let (outcome, observations) = labrpc::observe::recording(|| case.run_seed(seed, false));
    let title = format!("{} seed {seed}", case.label());
    let (end_ns, failure) = match &outcome {
        Ok(report) => (report.virtual_time.as_nanos() as u64, None),
        Err(f) => {
            let at_ns = f.virtual_time.as_nanos() as u64;
            // The report without the backtrace (with RUST_BACKTRACE set): the page wants the check.
            let report = f.to_string();
            let text = report.split("\nbacktrace:").next().unwrap_or(&report).to_string();
            let info = model::FailureInfo { at_us: at_ns / 1_000, node: f.node.clone(), text };
            (at_ns, Some(info))
        }
    };
    let mut timeline = model::build(&title, &observations, end_ns, failure);
    window::bound(&mut timeline, window::MAX_ITEMS);
    (outcome, timeline)
}

/// Writes the page of `timeline` to `path`.
pub fn write(path: &Path, timeline: &Timeline) -> std::io::Result<()> {
    std::fs::write(path, page::render(timeline))
}

/// Where a sweep puts the timeline of a failing seed: next to its log.
pub fn artifact_path(dir: &Path, case: &Case, seed: u64) -> PathBuf {
    dir.join(format!("{}-{seed}.timeline.html", case.label().replace('/', ".")))
}

/// Replays `seed` of `case` recording and writes its timeline into `dir` (a failing kv check's
/// violation view goes there too). Returns the page's path.
pub fn write_artifact(dir: &Path, case: &Case, seed: u64) -> std::io::Result<PathBuf> {
    crate::set_quiet(true);
    let (_, timeline) = lincheck::with_view_dir(dir, || record(case, seed));
    let path = artifact_path(dir, case, seed);
    write(&path, &timeline)?;
    Ok(path)
}
// skeleton: omit begin (its tests replay a failing run of the reference)

#[cfg(test)]
mod tests;
// skeleton: omit end
