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
    /// One hash over the (seed, determinism hash) of every passing run, in seed order: two trees
    /// whose sweeps of the same seeds print the same fingerprint ran the same schedules, random
    /// draws and virtual timestamps, so a sweep of one stands for the other.
    pub fingerprint: String,
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
                fingerprint: fingerprint(&mine),
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

/// FNV-1a over the (seed, hash) pairs of the passing runs, sorted by seed (workers finish in
/// any order).
fn fingerprint(runs: &[&RunResult]) -> String {
    let mut passed: Vec<(u64, u64)> = runs.iter().filter_map(|r| Some((r.seed, r.hash?))).collect();
    passed.sort_unstable();
    let bytes: Vec<u8> =
        passed.iter().flat_map(|&(seed, h)| seed.to_le_bytes().into_iter().chain(h.to_le_bytes())).collect();
    format!("{:#018x}", labapi::shard::fnv1a_64(&bytes))
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

/// Failing seeds listed per scenario; the rest are counted (all are in the JSON summary), so a
/// scenario failing every seed cannot scroll the table away.
pub const MAX_LISTED_PER_SCENARIO: usize = 10;

/// The failing seeds (with replay commands and artifact paths, at most `MAX_LISTED_PER_SCENARIO`
/// a scenario), then the table and the throughput last, where a terminal leaves them in view.
pub fn render(
    summary: &Summary,
    cases: &[Case],
    artifacts: &[(String, u64, String)],
    check_determinism: bool,
) -> String {
    let mut out = String::new();
    for (t, case) in summary.tests.iter().zip(cases) {
        let failed = t.failed_seeds.iter().map(|&seed| ("FAILED", seed));
        let listed = failed.chain(t.unknown_seeds.iter().map(|&seed| ("UNKNOWN", seed)));
        for (what, seed) in listed.take(MAX_LISTED_PER_SCENARIO) {
            let _ = writeln!(out, "{what} {} seed {seed}: {}", t.name, case.replay_command(seed, check_determinism));
            for (name, s, path) in artifacts {
                if *name == t.name && *s == seed {
                    let what = if path.ends_with(".html") { "timeline" } else { "log" };
                    let _ = writeln!(out, "  {what}: {path}");
                }
            }
        }
        let unlisted = (t.failed_seeds.len() + t.unknown_seeds.len()).saturating_sub(MAX_LISTED_PER_SCENARIO);
        if unlisted > 0 {
            let logs = artifacts.iter().filter(|(name, _, path)| *name == t.name && path.ends_with(".log")).count();
            let dir = artifacts
                .iter()
                .find_map(|(_, _, path)| std::path::Path::new(path).parent())
                .map_or_else(|| "none written".to_string(), |d| d.display().to_string());
            let _ = writeln!(
                out,
                "  ... and {unlisted} more failing or unknown seeds of {}: every seed is in the JSON summary (--json); {logs} \
                 logs of this scenario in {dir}",
                t.name
            );
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
    let width = summary.tests.iter().map(|t| t.name.len()).max().unwrap_or(8).max(8);
    let _ = writeln!(
        out,
        "{:<width$}  {:>6}  {:>6}  {:>7}  {:>18}  {:>12}",
        "scenario", "runs", "failed", "unknown", "virtual s", "wall ms"
    );
    for t in &summary.tests {
        if t.runs == 0 {
            // A sweep stopped early (--fail-fast, Ctrl-C) never reached it: no verdict, not a pass.
            let _ =
                writeln!(out, "{:<width$}  {:>6}  {:>6}  {:>7}  {:>18}  {:>12}", t.name, "not run", "-", "-", "-", "-");
            continue;
        }
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
    let not_run = summary.tests.iter().filter(|t| t.runs == 0).count();
    if not_run > 0 {
        let _ = writeln!(out, "{not_run} scenarios not run: the sweep stopped before reaching them");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(name: &str) -> Case {
        crate::dstest::case::for_tests(name, "3c", "raft_3c")
    }

    fn result(case: usize, seed: u64, failed: bool) -> RunResult {
        let failure = failed.then(|| "simulation failed (seed 1, virtual time 1s): lost".to_string());
        let hash = (!failed).then_some(seed * 7);
        RunResult { case, seed, virtual_s: 1.0, wall_ms: 1.0, failure, unknown: false, hash }
    }

    #[test]
    fn the_fingerprint_ignores_arrival_order_and_sees_any_changed_run() {
        let cases = vec![case("figure8_3c")];
        let results: Vec<RunResult> = (1..=20).map(|seed| result(0, seed, seed == 5)).collect();
        let print = |results: &[RunResult]| summarize(&cases, results, 1.0).tests[0].fingerprint.clone();
        let first = print(&results);
        let mut reversed = results.clone();
        reversed.reverse();
        assert_eq!(print(&reversed), first, "workers finish in any order");
        let mut changed = results.clone();
        changed[11].hash = Some(1);
        assert_ne!(print(&changed), first, "one run with another schedule changes the fingerprint");
    }

    #[test]
    fn failures_are_capped_per_scenario_and_the_table_comes_last() {
        let cases = vec![case("figure8_3c")];
        let results: Vec<RunResult> = (1..=300).map(|seed| result(0, seed, seed % 3 != 0)).collect();
        let summary = summarize(&cases, &results, 1.0);
        assert_eq!(summary.total_failed, 200);
        let artifacts: Vec<(String, u64, String)> =
            (1..=2).map(|seed| ("figure8_3c".into(), seed, format!("out/figure8_3c-{seed}.log"))).collect();
        let text = render(&summary, &cases, &artifacts, false);
        assert_eq!(text.matches("FAILED figure8_3c seed").count(), MAX_LISTED_PER_SCENARIO, "{text}");
        assert!(
            text.contains(&format!(
                "  ... and {} more failing or unknown seeds of figure8_3c: every seed is in the JSON summary \
                 (--json); 2 logs of this scenario in out",
                200 - MAX_LISTED_PER_SCENARIO
            )),
            "{text}"
        );
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[lines.len() - 1].starts_with("300 runs, 200 failed"), "{text}");
        assert!(lines[lines.len() - 3].starts_with("scenario "), "{text}");
    }

    #[test]
    fn scenarios_a_stopped_sweep_never_reached_show_as_not_run() {
        let cases = vec![case("figure8_3c"), case("backup_3b")];
        let summary = summarize(&cases, &[result(0, 1, true)], 1.0);
        let text = render(&summary, &cases, &[], false);
        let row = text.lines().find(|l| l.starts_with("backup_3b")).unwrap();
        assert!(row.contains("not run") && !row.contains(" 0 "), "{text}");
        assert!(text.ends_with("1 scenarios not run: the sweep stopped before reaching them\n"), "{text}");
    }

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
