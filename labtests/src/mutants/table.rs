//! The zoo's table (Markdown, so it pastes into notes and issues) and its JSON form.

use std::fmt::Write as _;

use serde::Serialize;

use super::verdict::{Status, Verdict};

#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub mutant: String,
    pub class: String,
    pub phases: Vec<String>,
    /// Seeds per scenario: `-n`, for the Raft phases and lab 2's lock; `--kv-seeds`, for the others.
    pub raft_seeds: u64,
    pub kv_seeds: u64,
    pub verdict: Verdict,
    pub build_s: f64,
    pub sweep_s: f64,
}

impl Row {
    /// Whether this row should fail a gate: a mutant the harness did not catch, or the reference
    /// (the row named "reference") failing anything at all.
    pub fn is_bad(&self) -> bool {
        if self.mutant == super::REFERENCE {
            return self.verdict.failed_runs > 0 || matches!(self.verdict.status, Status::Error(_));
        }
        self.verdict.status != Status::Caught
    }
}

fn status_word(row: &Row) -> String {
    match (&row.verdict.status, row.mutant == super::REFERENCE) {
        (_, true) if row.is_bad() => "FAILS".into(),
        (_, true) => "passes".into(),
        (Status::Caught, _) => "caught".into(),
        (Status::ServerPanicOnly, _) => "ESCAPED (server panics only)".into(),
        (Status::Escaped, _) => "ESCAPED".into(),
        (Status::Error(_), _) => "ERROR".into(),
    }
}

/// The row in one line, for progress output while the zoo runs.
pub fn summary_line(row: &Row) -> String {
    match &row.verdict.caught_by {
        Some(by) => format!(
            "{} by {} ({}/{} seeds, first {}): {}",
            status_word(row),
            by.scenario,
            by.failed,
            by.runs,
            by.first_seed,
            by.check
        ),
        None => format!("{} ({}/{} runs failed)", status_word(row), row.verdict.failed_runs, row.verdict.runs),
    }
}

/// Pipes and newlines would break a Markdown cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

pub fn render(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str("| mutant | class | verdict | caught by: scenario | check (first line of the failure) | failing seeds | first seed | runs failed (all scenarios) | build s | sweep s |\n");
    out.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    for row in rows {
        let v = &row.verdict;
        let (scenario, check, seeds, first) = match (&v.caught_by, &v.status) {
            (Some(by), _) => {
                (by.scenario.clone(), by.check.clone(), format!("{}/{}", by.failed, by.runs), by.first_seed.to_string())
            }
            (None, Status::Error(e)) => (String::new(), e.clone(), String::new(), String::new()),
            (None, _) => Default::default(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {}/{} in {}/{} scenarios | {:.0} | {:.0} |",
            cell(&row.mutant),
            cell(&row.class),
            status_word(row),
            cell(&scenario),
            cell(&check),
            seeds,
            first,
            v.failed_runs,
            v.runs,
            v.scenarios_failing,
            v.scenarios,
            row.build_s,
            row.sweep_s
        );
    }
    let mutants: Vec<&Row> = rows.iter().filter(|r| r.mutant != super::REFERENCE).collect();
    let caught = mutants.iter().filter(|r| r.verdict.status == Status::Caught).count();
    let _ = writeln!(out, "\n{caught} of {} mutants caught by the harness.", mutants.len());
    out
}
