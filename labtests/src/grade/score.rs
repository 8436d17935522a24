//! The points table and the scoring: what each graded phase is worth, and how a sweep's summary
//! becomes points.
//!
//! Every part of a lab is worth [`PART_POINTS`], as the course hands each part out as its own
//! assignment (lab 2 is one part; lab 3 has four, 3A-3D; lab 4 has two, 4A and 4B, plus the rsm
//! layer; lab 5 has two, 5A and 5B). Within a phase every scenario is worth the same share of the phase's points, and a scenario earns its
//! share only when every one of the N seeds passed: a Raft bug that shows on one seed in a
//! hundred is a bug. A run whose linearizability check ended without a verdict (UNKNOWN) counts
//! as a failure: nothing was shown correct.

use serde::Serialize;

use crate::dstest::report::Summary;
use crate::dstest::Case;

/// What one part of a lab is worth.
pub const PART_POINTS: f64 = 50.0;

/// The graded phases in lab order: (phase, what the course calls it). The other phases of the
/// scenario table (beyond, chaos, api) go further than the course and are not graded.
pub const PHASES: &[(&str, &str)] = &[
    ("2", "Lab 2: key/value server and lock"),
    ("3a", "Lab 3A: leader election"),
    ("3b", "Lab 3B: log"),
    ("3c", "Lab 3C: persistence"),
    ("3d", "Lab 3D: log compaction"),
    ("rsm", "Lab 4 rsm (6.5840's 4A): replicated state machine layer"),
    ("4a", "Lab 4A: key/value service without snapshots"),
    ("4b", "Lab 4B: key/value service with snapshots"),
    ("5a", "Lab 5A: shard controller"),
    ("5b", "Lab 5B: sharded key/value service"),
];

/// The phases a command line names, in lab order: a phase (`3a`, any case) or a whole lab (`3`
/// is 3A-3D, `4` is 4A-4B, `5` is 5A-5B, `2` is lab 2); none names every graded phase.
pub fn phases(names: &[String]) -> Result<Vec<&'static str>, String> {
    let mut chosen = vec![false; PHASES.len()];
    for name in names {
        let name = name.to_ascii_lowercase();
        let name = name.strip_prefix("lab").unwrap_or(&name);
        let mut any = false;
        for (i, (phase, _)) in PHASES.iter().enumerate() {
            if *phase == name || phase.strip_suffix(|c: char| c.is_ascii_alphabetic()) == Some(name) {
                chosen[i] = true;
                any = true;
            }
        }
        if !any {
            let known: Vec<&str> = PHASES.iter().map(|(p, _)| *p).collect();
            return Err(format!("{name:?} is not a graded phase; graded: {} (or a lab: 2, 3, 4, 5)", known.join(", ")));
        }
    }
    let all = names.is_empty();
    Ok(PHASES.iter().zip(chosen).filter(|&(_, c)| all || c).map(|(&(p, _), _)| p).collect())
}

/// One failing seed of a scenario, replayable by its command.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct SeedFailure {
    pub seed: u64,
    /// "failed", or "unknown" when the linearizability check gave no verdict.
    pub verdict: &'static str,
    /// The failure in one line (empty for "unknown").
    pub headline: String,
    pub replay: String,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct TestScore {
    pub name: String,
    /// Seeds that passed, of `Grade::seeds`.
    pub passed: u64,
    pub points: f64,
    pub max_points: f64,
    pub failures: Vec<SeedFailure>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct PhaseScore {
    pub phase: String,
    pub title: String,
    pub points: f64,
    pub max_points: f64,
    pub tests: Vec<TestScore>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Grade {
    /// Seeds per scenario: FIRST_SEED .. FIRST_SEED+SEEDS-1.
    pub seeds: u64,
    pub first_seed: u64,
    pub points: f64,
    pub max_points: f64,
    pub phases: Vec<PhaseScore>,
}

impl Grade {
    /// Every scenario passed every seed.
    pub fn all_passed(&self) -> bool {
        self.phases.iter().flat_map(|p| &p.tests).all(|t| t.points == t.max_points && t.failures.is_empty())
    }
}

/// Scores `summary` (of a sweep of `cases`, in the same order, over `seeds` seeds from
/// `first_seed`). Phases without a scenario in `cases` are left out; a case whose phase is not
/// graded is a caller's bug.
pub fn score(cases: &[Case], summary: &Summary, seeds: u64, first_seed: u64) -> Grade {
    assert_eq!(cases.len(), summary.tests.len(), "one summary row per case");
    let mut phases = Vec::new();
    for &(phase, title) in PHASES {
        let rows: Vec<(&Case, &crate::dstest::report::TestSummary)> =
            cases.iter().zip(&summary.tests).filter(|(c, _)| c.phase == phase).collect();
        if rows.is_empty() {
            continue;
        }
        let share = PART_POINTS / rows.len() as f64;
        let tests: Vec<TestScore> = rows
            .iter()
            .map(|&(case, t)| {
                let failed =
                    t.failed_seeds.iter().zip(&t.failures).map(|(&seed, headline)| (seed, "failed", headline.as_str()));
                let unknown = t.unknown_seeds.iter().map(|&seed| (seed, "unknown", ""));
                let mut failures: Vec<SeedFailure> = failed
                    .chain(unknown)
                    .map(|(seed, verdict, headline)| SeedFailure {
                        seed,
                        verdict,
                        headline: headline.to_string(),
                        replay: case.replay_command(seed, false),
                    })
                    .collect();
                failures.sort_by_key(|f| f.seed);
                // Runs that never happened (an interrupted sweep) did not pass either.
                let passed = t.runs.saturating_sub(failures.len() as u64).min(seeds);
                let full = passed == seeds && failures.is_empty();
                TestScore {
                    name: t.name.clone(),
                    passed,
                    points: if full { share } else { 0.0 },
                    max_points: share,
                    failures,
                }
            })
            .collect();
        // Counted, not summed, so a phase that fully passed shows exactly its points.
        let full = tests.iter().filter(|t| t.points > 0.0).count();
        phases.push(PhaseScore {
            phase: phase.to_string(),
            title: title.to_string(),
            points: PART_POINTS * full as f64 / tests.len() as f64,
            max_points: PART_POINTS,
            tests,
        });
    }
    let for_cases = cases.iter().filter(|c| !PHASES.iter().any(|(p, _)| *p == c.phase)).count();
    assert_eq!(for_cases, 0, "every case scored is of a graded phase");
    Grade {
        seeds,
        first_seed,
        points: phases.iter().map(|p| p.points).sum(),
        max_points: phases.iter().map(|p| p.max_points).sum(),
        phases,
    }
}
