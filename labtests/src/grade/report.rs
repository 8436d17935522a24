//! The grade as a score table (phase, test, seeds passed of N, points, totals) followed by every
//! failing seed with its replay command; and as JSON for autograders.

use std::fmt::Write as _;

use super::score::Grade;

pub fn render(grade: &Grade) -> String {
    let tests = grade.phases.iter().flat_map(|p| &p.tests);
    let width = tests.clone().map(|t| t.name.len()).max().unwrap_or(4).max(4);
    let seeds_width = 2 * grade.seeds.to_string().len() + 1;
    let mut out = String::new();
    let _ = writeln!(out, "{:<5}  {:<width$}  {:>seeds_width$}  {:>15}", "phase", "test", "seeds", "points");
    for phase in &grade.phases {
        let upper = phase.phase.to_ascii_uppercase();
        for t in &phase.tests {
            let mark = if t.points == t.max_points { "" } else { "  FAIL" };
            let seeds = format!("{}/{}", t.passed, grade.seeds);
            let points = format!("{:.2}/{:.2}", t.points, t.max_points);
            let _ = writeln!(out, "{upper:<5}  {:<width$}  {seeds:>seeds_width$}  {points:>15}{mark}", t.name);
        }
        let points = format!("{:.2}/{:.2}", phase.points, phase.max_points);
        let _ = writeln!(out, "{upper:<5}  {:<width$}  {:>seeds_width$}  {points:>15}", phase.title, "");
    }
    let points = format!("{:.2}/{:.2}", grade.points, grade.max_points);
    let _ = writeln!(out, "{:<5}  {:<width$}  {:>seeds_width$}  {points:>15}", "total", "", "");
    let _ = writeln!(
        out,
        "seeds {}..{} per test; a test earns its points only when every seed passes",
        grade.first_seed,
        grade.first_seed + grade.seeds - 1
    );
    for t in grade.phases.iter().flat_map(|p| &p.tests) {
        for f in t.failures.iter().take(LISTED_PER_TEST) {
            let what = if f.verdict == "unknown" { "UNKNOWN (no linearizability verdict)" } else { "FAILED" };
            let _ = writeln!(out, "{what} {} seed {}: {}", t.name, f.seed, f.headline);
            let _ = writeln!(out, "  replay: {}", f.replay);
        }
        if t.failures.len() > LISTED_PER_TEST {
            let rest: Vec<String> = t.failures[LISTED_PER_TEST..].iter().map(|f| f.seed.to_string()).collect();
            let _ = writeln!(
                out,
                "  {} more failing seeds of {} (each with its replay in --json): {}",
                rest.len(),
                t.name,
                rest.join(", ")
            );
        }
    }
    out
}

/// Failing seeds listed in full per test; the rest are named by seed alone (a test that fails
/// every seed would otherwise bury the others).
pub const LISTED_PER_TEST: usize = 3;

pub fn json(grade: &Grade) -> String {
    serde_json::to_string_pretty(grade).expect("a grade serializes") + "\n"
}
