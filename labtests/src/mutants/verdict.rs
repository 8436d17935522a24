//! From a mutant's dstest summaries to its row: caught or not, by which scenario and which check.
//!
//! A failure counts as the harness catching the bug unless it is a panic located in the servers'
//! own code (`src/`, e.g. an `expect` on a log index that the bug made wrong): a student's code
//! panics in other places, or not at all, so such a failure says nothing about the harness.

use serde::Deserialize;

/// What the mutants runner reads of dstest's `--json` summary.
#[derive(Deserialize, Debug, Clone)]
pub struct Summary {
    pub tests: Vec<Test>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct Test {
    pub name: String,
    pub runs: u64,
    pub failed_seeds: Vec<u64>,
    /// One line per failing seed (dstest's `headline`).
    pub failures: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Status {
    /// The harness reported it.
    Caught,
    /// Only the servers' own panics failed runs.
    ServerPanicOnly,
    /// Every run passed.
    Escaped,
    /// The patch did not apply, or the mutant did not build or sweep.
    Error(String),
}

/// The scenario that caught a mutant best.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CaughtBy {
    pub scenario: String,
    /// The check: the first harness failure's headline.
    pub check: String,
    /// Runs of that scenario the harness failed, and its runs.
    pub failed: u64,
    pub runs: u64,
    pub first_seed: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Verdict {
    pub status: Status,
    pub caught_by: Option<CaughtBy>,
    /// Scenarios with at least one harness failure, of those swept.
    pub scenarios_failing: usize,
    pub scenarios: usize,
    /// All failing runs (server panics included) of all runs.
    pub failed_runs: u64,
    pub runs: u64,
}

/// Whether a failure headline is a panic in the servers' code rather than a harness check.
pub fn is_server_panic(headline: &str) -> bool {
    headline.contains(" panicked at src/")
}

/// The verdict over every scenario swept: the catching scenario is the one whose runs the
/// harness failed most often (the first in table order on a tie).
pub fn judge(tests: &[Test]) -> Verdict {
    let mut best: Option<CaughtBy> = None;
    let mut scenarios_failing = 0;
    for t in tests {
        assert_eq!(t.failed_seeds.len(), t.failures.len(), "dstest summary of {}: seeds and failures differ", t.name);
        let harness: Vec<(u64, &String)> =
            t.failed_seeds.iter().copied().zip(&t.failures).filter(|(_, h)| !is_server_panic(h)).collect();
        let Some(&(first_seed, check)) = harness.first() else { continue };
        scenarios_failing += 1;
        let failed = harness.len() as u64;
        if best.as_ref().is_none_or(|b| failed * b.runs > b.failed * t.runs) {
            best = Some(CaughtBy { scenario: t.name.clone(), check: check.clone(), failed, runs: t.runs, first_seed });
        }
    }
    let failed_runs: u64 = tests.iter().map(|t| t.failed_seeds.len() as u64).sum();
    let status = match (&best, failed_runs) {
        (Some(_), _) => Status::Caught,
        (None, 0) => Status::Escaped,
        (None, _) => Status::ServerPanicOnly,
    };
    Verdict {
        status,
        caught_by: best,
        scenarios_failing,
        scenarios: tests.len(),
        failed_runs,
        runs: tests.iter().map(|t| t.runs).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(name: &str, runs: u64, failed: &[(u64, &str)]) -> Test {
        Test {
            name: name.into(),
            runs,
            failed_seeds: failed.iter().map(|f| f.0).collect(),
            failures: failed.iter().map(|f| f.1.to_string()).collect(),
        }
    }

    const SERVER: &str = "thread 'applier' (#9) on node 'peer-1' panicked at src/raft/mod.rs:1:1: missing";
    const HARNESS: &str = "thread 'main' (#0) on node 'main' panicked at labtests/src/raft/x.rs:1:1: apply error";

    #[test]
    fn the_scenario_failing_most_often_catches_and_server_panics_do_not_count() {
        let tests = [
            test("a", 10, &[(3, SERVER), (4, SERVER), (5, SERVER)]),
            test("b", 10, &[(7, SERVER), (8, HARNESS)]),
            test("c", 5, &[(1, HARNESS), (2, "deadlock: no thread can run")]),
        ];
        let v = judge(&tests);
        assert_eq!(v.status, Status::Caught);
        let by = v.caught_by.unwrap();
        assert_eq!((by.scenario.as_str(), by.failed, by.runs, by.first_seed), ("c", 2, 5, 1));
        assert_eq!(by.check, HARNESS);
        assert_eq!((v.scenarios_failing, v.scenarios, v.failed_runs, v.runs), (2, 3, 7, 25));

        assert_eq!(judge(&tests[..1]).status, Status::ServerPanicOnly);
        assert_eq!(judge(&[test("a", 10, &[])]).status, Status::Escaped);
    }
}
