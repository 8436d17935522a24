//! The end of a sweep: a table per scenario, the failing seeds with their replay commands, the
//! throughput, and the JSON summary.

use std::fmt::Write as _;

use serde::Serialize;

use super::case::Case;
use super::sweep::RunResult;

#[derive(Serialize, Debug, Clone)]
pub struct TestSummary {
    pub name: String,
    pub runs: u64,
    /// Runs that failed, not counting `unknown` ones.
    pub failed: u64,
    pub failed_seeds: Vec<u64>,
    /// For each of `failed_seeds`, in the same order, its failure in one line (`headline`).
    pub failures: Vec<String>,
    /// Runs whose linearizability check ran out of budget (no verdict).
    pub unknown: u64,
    pub unknown_seeds: Vec<u64>,
    pub mean_virtual_s: f64,
    pub std_virtual_s: f64,
    pub mean_wall_ms: f64,
}

#[derive(Serialize, Debug, Clone)]
pub struct Summary {
    pub total_runs: u64,
    pub total_failed: u64,
    pub total_unknown: u64,
    pub wall_s: f64,
    pub tests: Vec<TestSummary>,
}

pub fn summarize(cases: &[Case], results: &[RunResult], wall_s: f64) -> Summary {
    let tests: Vec<TestSummary> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mine: Vec<&RunResult> = results.iter().filter(|r| r.case == i).collect();
            let n = mine.len() as f64;
            let mean = |f: &dyn Fn(&RunResult) -> f64| {
                if mine.is_empty() {
                    0.0
                } else {
                    mine.iter().map(|r| f(r)).sum::<f64>() / n
                }
            };
            let mean_virtual_s = mean(&|r| r.virtual_s);
            let var = mean(&|r| (r.virtual_s - mean_virtual_s).powi(2));
            let failed_with = |unknown: bool| {
                let mut failed: Vec<(u64, &str)> = mine
                    .iter()
                    .filter(|r| r.unknown == unknown)
                    .filter_map(|r| Some((r.seed, r.failure.as_deref()?)))
                    .collect();
                failed.sort_unstable_by_key(|&(seed, _)| seed);
                failed
            };
            let failed = failed_with(false);
            let failed_seeds: Vec<u64> = failed.iter().map(|&(seed, _)| seed).collect();
            let failures: Vec<String> = failed.iter().map(|&(_, report)| headline(report)).collect();
            let unknown_seeds: Vec<u64> = failed_with(true).iter().map(|&(seed, _)| seed).collect();
            TestSummary {
                name: c.label(),
                runs: mine.len() as u64,
                failed: failed_seeds.len() as u64,
                failed_seeds,
                failures,
                unknown: unknown_seeds.len() as u64,
                unknown_seeds,
                mean_virtual_s,
                std_virtual_s: var.sqrt(),
                mean_wall_ms: mean(&|r| r.wall_ms),
            }
        })
        .collect();
    Summary {
        total_runs: tests.iter().map(|t| t.runs).sum(),
        total_failed: tests.iter().map(|t| t.failed).sum(),
        total_unknown: tests.iter().map(|t| t.unknown).sum(),
        wall_s,
        tests,
    }
}

/// A failure report in one line: what failed, without the "simulation failed (seed, time): "
/// prefix the seed already tells, and with the panic message when the first line only says
/// where a thread panicked.
pub fn headline(report: &str) -> String {
    let mut lines = report.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("");
    let first = match first.split_once("): ") {
        Some((prefix, rest)) if prefix.starts_with("simulation failed (") => rest,
        _ => first,
    };
    match (first.strip_suffix(':'), lines.next()) {
        (Some(head), Some(message)) if first.contains(" panicked at ") => format!("{head}: {message}"),
        _ => first.to_string(),
    }
}

/// The table, the failing seeds (with replay commands and artifact paths), and throughput.
pub fn render(
    summary: &Summary,
    cases: &[Case],
    artifacts: &[(String, u64, String)],
    check_determinism: bool,
) -> String {
    let width = summary.tests.iter().map(|t| t.name.len()).max().unwrap_or(8).max(8);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$}  {:>6}  {:>6}  {:>7}  {:>18}  {:>12}",
        "scenario", "runs", "failed", "unknown", "virtual s", "wall ms"
    );
    for t in &summary.tests {
        let virt = format!("{:.2} ± {:.2}", t.mean_virtual_s, t.std_virtual_s);
        let _ = writeln!(
            out,
            "{:<width$}  {:>6}  {:>6}  {:>7}  {:>18}  {:>12.2}",
            t.name, t.runs, t.failed, t.unknown, virt, t.mean_wall_ms
        );
    }
    let rate = if summary.wall_s > 0.0 { summary.total_runs as f64 / summary.wall_s } else { 0.0 };
    let _ = writeln!(
        out,
        "{} runs, {} failed, {} unknown, {:.1} s wall, {:.0} runs per second",
        summary.total_runs, summary.total_failed, summary.total_unknown, summary.wall_s, rate
    );
    for (t, case) in summary.tests.iter().zip(cases) {
        let failed = t.failed_seeds.iter().map(|&seed| ("FAILED", seed));
        for (what, seed) in failed.chain(t.unknown_seeds.iter().map(|&seed| ("UNKNOWN", seed))) {
            let _ = writeln!(out, "{what} {} seed {seed}: {}", t.name, case.replay_command(seed, check_determinism));
            for (name, s, path) in artifacts {
                if *name == t.name && *s == seed {
                    let _ = writeln!(out, "  log: {path}");
                }
            }
        }
    }
    if summary.total_unknown > 0 {
        let _ = writeln!(
            out,
            "UNKNOWN: the linearizability check ran out of its search budget (no verdict); raise it with \
             {}=<steps>",
            lincheck::LAB_LINCHECK_BUDGET
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::headline;

    #[test]
    fn headlines_drop_the_seed_prefix_and_keep_the_panic_message() {
        let panic = "simulation failed (seed 7, virtual time 1.5s): thread 'main' (#0) on node 'main' panicked at labtests/src/raft/config.rs:10:5:\n    apply error: server 2 committed 5 at index 3\n  more\n";
        assert_eq!(
            headline(panic),
            "thread 'main' (#0) on node 'main' panicked at labtests/src/raft/config.rs:10:5: apply error: server 2 committed 5 at index 3"
        );
        let deadlock = "simulation failed (seed 1, virtual time 0.005s): deadlock: no thread can run and no timer is pending\n  thread 'a' ...";
        assert_eq!(headline(deadlock), "deadlock: no thread can run and no timer is pending");
        assert_eq!(headline("something else"), "something else");
    }
}
