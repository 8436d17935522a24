//! Failure artifacts: each failing seed is replayed with tracing on (the sweep itself ran without
//! it) and written to `DIR/<scenario>-<seed>.log`: the failure report, then the per-node trace;
//! a failing linearizability check also writes its view there, `DIR/<scenario>-seed<seed>.html`.

use std::path::{Path, PathBuf};

use super::case::Case;

/// At most this many logs per scenario, so a scenario failing every seed cannot fill the disk.
pub const MAX_LOGS_PER_SCENARIO: usize = 20;

/// Replays `seed` of `case` with a DEBUG trace and writes the log. Returns its path.
pub fn write_log(dir: &Path, case: &Case, seed: u64, check_determinism: bool) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    crate::set_quiet(true);
    // The replay's linearizability view (if its check fails) goes next to the log, not to the
    // temp dir: the failure text names where.
    let (outcome, trace) = lincheck::with_view_dir(dir, || {
        labrpc::trace::capture(tracing::Level::DEBUG, || case.run_seed(seed, check_determinism).map(|_| ()))
    });
    let header = match outcome {
        Err(failure) => failure.to_string(),
        // A failure that does not come back on replay is itself worth knowing about.
        Ok(()) => format!(
            "seed {seed} of {} did NOT fail when replayed in this process; replay it alone with:\n  {}",
            case.label(),
            case.replay_command(seed, check_determinism)
        ),
    };
    let path = dir.join(format!("{}-{seed}.log", case.label().replace('/', ".")));
    std::fs::write(
        &path,
        format!("{header}\n\n--- trace (virtual ms, node, thread, level, target: message) ---\n{trace}"),
    )?;
    Ok(path)
}
