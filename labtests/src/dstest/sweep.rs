//! The sweep: every (scenario, seed) job runs in-process, one simulation at a time per worker OS
//! thread. Jobs are interleaved across scenarios so every scenario's progress moves together.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use super::case::Case;

#[derive(Clone, Debug)]
pub struct Options {
    pub runs: u64,
    pub first_seed: u64,
    pub workers: usize,
    pub check_determinism: bool,
    pub fail_fast: bool,
}

#[derive(Clone, Debug)]
pub struct RunResult {
    pub case: usize,
    pub seed: u64,
    pub virtual_s: f64,
    pub wall_ms: f64,
    /// The failure report, when the run failed.
    pub failure: Option<String>,
    /// The run failed because its linearizability check ran out of budget: no verdict, counted
    /// apart from real failures.
    pub unknown: bool,
    /// The run's determinism hash (every scheduling choice, random draw and virtual timestamp),
    /// when it passed.
    pub hash: Option<u64>,
}

/// Receives results as they arrive (progress display).
pub trait Observer: Sync {
    fn on_result(&self, result: &RunResult);
}

/// Runs every job unless `stop` is raised (Ctrl-C, or the first failure with `fail_fast`).
/// Returns the results in completion order.
pub fn sweep(cases: &[Case], options: &Options, observer: &dyn Observer, stop: &AtomicBool) -> Vec<RunResult> {
    assert!(options.workers >= 1, "at least one worker");
    let jobs: Vec<(usize, u64)> =
        (0..options.runs).flat_map(|k| (0..cases.len()).map(move |c| (c, options.first_seed + k))).collect();
    let next = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = labrpc::channel::unbounded::<RunResult>();
    // Harness code, not simulated: real worker threads and wall time are the point here.
    #[allow(clippy::disallowed_methods)]
    std::thread::scope(|scope| {
        for _ in 0..options.workers.min(jobs.len().max(1)) {
            let (tx, next, jobs) = (tx.clone(), next.clone(), &jobs);
            scope.spawn(move || loop {
                crate::set_quiet(true);
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let Some(&(case, seed)) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) else { return };
                let result = run_one(cases, case, seed, options.check_determinism);
                if result.failure.is_some() && options.fail_fast {
                    stop.store(true, Ordering::Relaxed);
                }
                if tx.send(result).is_err() {
                    return;
                }
            });
        }
        drop(tx);
        let mut results = Vec::with_capacity(jobs.len());
        for result in rx.iter() {
            observer.on_result(&result);
            results.push(result);
        }
        results
    })
}

/// One run of one seed (twice, comparing hashes, when checking determinism).
#[allow(clippy::disallowed_types, clippy::disallowed_methods)] // wall time is reported, never fed into the run
pub fn run_one(cases: &[Case], case: usize, seed: u64, check_determinism: bool) -> RunResult {
    let wall = std::time::Instant::now();
    let outcome = cases[case].run_seed(seed, check_determinism);
    let wall_ms = wall.elapsed().as_secs_f64() * 1e3;
    match outcome {
        Ok(report) => RunResult {
            case,
            seed,
            virtual_s: report.virtual_time.as_secs_f64(),
            wall_ms,
            failure: None,
            unknown: false,
            hash: Some(report.hash),
        },
        Err(failure) => {
            // The backtrace (RUST_BACKTRACE) goes into the failure's log, not the summary.
            let failure = failure.without_backtrace();
            let virtual_s = failure.virtual_time.as_secs_f64();
            let failure = failure.to_string();
            let unknown = failure.contains(crate::kv::check::UNKNOWN_VERDICT);
            RunResult { case, seed, virtual_s, wall_ms, failure: Some(failure), unknown, hash: None }
        }
    }
}
