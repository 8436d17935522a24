//! The grader: scoring on hand-made sweep results (all pass, one failing seed, an unknown
//! verdict), the phase arguments, the JSON shape, and one real run of phase 3A through the
//! library.

use std::sync::atomic::AtomicBool;

use labrpc::sim::Config;
use labtests::dstest::report::summarize;
use labtests::dstest::sweep::{Options, RunResult};
use labtests::dstest::Case;
use labtests::grade::{self, score, Grade};

// The lab 2 memory scenarios read the bytes the server's node holds; this binary may run them.
labrpc::count_allocations!();

fn case(name: &str, phase: &str) -> Case {
    Case {
        name: name.into(),
        phase: phase.into(),
        file: format!("raft_{phase}"),
        config: Config::default(),
        run: || {},
        replay_args: "",
        implementation: labtests::impls::DEFAULT.into(),
        show_implementation: false,
    }
}

fn cases() -> Vec<Case> {
    vec![case("a_3a", "3a"), case("b_3a", "3a"), case("c_3b", "3b")]
}

/// `seeds` results of every case, passing but for the (case, seed, report) in `failures`.
fn results(seeds: u64, failures: &[(usize, u64, &str)]) -> Vec<RunResult> {
    let mut out = Vec::new();
    for case in 0..cases().len() {
        for seed in 1..=seeds {
            let failure = failures.iter().find(|f| f.0 == case && f.1 == seed).map(|f| f.2.to_string());
            let unknown = failure.as_deref().is_some_and(|f| f.contains(labtests::kv::check::UNKNOWN_VERDICT));
            let hash = failure.is_none().then_some(seed);
            out.push(RunResult { case, seed, virtual_s: 1.0, wall_ms: 1.0, failure, unknown, hash });
        }
    }
    out
}

fn grade_of(seeds: u64, failures: &[(usize, u64, &str)]) -> Grade {
    let cases = cases();
    score::score(&cases, &summarize(&cases, &results(seeds, failures), 0.0), seeds, 1)
}

#[test]
fn all_seeds_passing_earns_every_point() {
    let g = grade_of(4, &[]);
    assert!(g.all_passed());
    assert_eq!(g.phases.len(), 2);
    assert_eq!((g.points, g.max_points), (2.0 * score::PART_POINTS, 2.0 * score::PART_POINTS));
    let a = &g.phases[0];
    assert_eq!((a.phase.as_str(), a.tests.len()), ("3a", 2));
    assert_eq!(a.tests[0].max_points, score::PART_POINTS / 2.0);
    assert!(g.phases.iter().flat_map(|p| &p.tests).all(|t| t.passed == 4 && t.failures.is_empty()));
    let table = grade::report::render(&g);
    assert!(table.contains("total") && table.contains("100.00/100.00"), "{table}");
    assert!(!table.contains("FAIL"), "{table}");
}

#[test]
fn one_failing_seed_loses_the_test_and_names_its_replay() {
    let report = "simulation failed (seed 3, virtual time 1.5s): apply error: server 2 committed 5 at index 3";
    let g = grade_of(4, &[(1, 3, report)]);
    assert!(!g.all_passed());
    let b = &g.phases[0].tests[1];
    assert_eq!((b.name.as_str(), b.passed, b.points), ("b_3a", 3, 0.0));
    assert_eq!(b.failures.len(), 1);
    let f = &b.failures[0];
    assert_eq!((f.seed, f.verdict), (3, "failed"));
    assert_eq!(f.headline, "apply error: server 2 committed 5 at index 3");
    assert_eq!(f.replay, cases()[1].replay_command(3, false));
    assert_eq!(g.phases[0].points, score::PART_POINTS / 2.0);
    assert_eq!(g.phases[1].points, score::PART_POINTS);
    assert_eq!(g.points, 1.5 * score::PART_POINTS);
    let table = grade::report::render(&g);
    assert!(table.contains("3/4") && table.contains("FAILED b_3a seed 3: apply error"), "{table}");
    assert!(table.contains(&format!("  replay: {}", f.replay)), "{table}");
}

#[test]
fn a_test_failing_many_seeds_lists_the_first_in_full_and_names_the_rest() {
    let report = "simulation failed (seed 1, virtual time 1s): boom";
    let failing: Vec<(usize, u64, &str)> = (1..=5).map(|seed| (0, seed, report)).collect();
    let g = grade_of(5, &failing);
    assert_eq!(g.phases[0].tests[0].failures.len(), 5, "the grade keeps every failure");
    let table = grade::report::render(&g);
    assert_eq!(table.matches("  replay: ").count(), grade::report::LISTED_PER_TEST, "{table}");
    assert!(table.contains("2 more failing seeds of a_3a (each with its replay in --json): 4, 5"), "{table}");
}

#[test]
fn an_unknown_verdict_counts_as_a_failure() {
    let report = format!("simulation failed (seed 2, virtual time 9s): {}", labtests::kv::check::UNKNOWN_VERDICT);
    let g = grade_of(2, &[(2, 2, &report)]);
    assert!(!g.all_passed());
    let c = &g.phases[1].tests[0];
    assert_eq!((c.passed, c.points), (1, 0.0));
    assert_eq!((c.failures[0].seed, c.failures[0].verdict), (2, "unknown"));
    assert!(grade::report::render(&g).contains("UNKNOWN (no linearizability verdict) c_3b seed 2"));
}

#[test]
fn seeds_that_never_ran_do_not_pass() {
    let cases = cases();
    let mut partial = results(3, &[]);
    partial.retain(|r| !(r.case == 0 && r.seed == 3)); // an interrupted sweep
    let g = score::score(&cases, &summarize(&cases, &partial, 0.0), 3, 1);
    assert_eq!((g.phases[0].tests[0].passed, g.phases[0].tests[0].points), (2, 0.0));
    assert!(!g.all_passed());
}

#[test]
fn phases_and_labs_select_in_lab_order_and_bad_names_are_errors() {
    let names = |v: &[&str]| score::phases(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(names(&["4B", "3"]).unwrap(), vec!["3a", "3b", "3c", "3d", "4b"]);
    assert_eq!(names(&["lab2"]).unwrap(), vec!["2"]);
    assert_eq!(names(&["5", "4"]).unwrap(), vec!["4a", "4b", "5a", "5b"]);
    assert_eq!(names(&[]).unwrap().len(), score::PHASES.len());
    let err = names(&["beyond"]).unwrap_err();
    assert!(err.contains("\"beyond\" is not a graded phase") && err.contains("3a"), "{err}");
    let err = grade::graded_cases(labtests::dstest::cases(), &[], "nobody").unwrap_err();
    assert!(err.contains("nobody"), "{err}");
    // A table without lab 2 (an implementation of Raft alone, say): naming lab 2 is an error,
    // naming nothing grades the phases it has.
    let default = labtests::impls::DEFAULT;
    let err = grade::graded_cases(cases(), &["2".to_string(), "3a".to_string()], default).unwrap_err();
    assert!(err.contains("has no scenario of phase 2"), "{err}");
    let graded: Vec<String> = grade::graded_cases(cases(), &[], default).unwrap().into_iter().map(|c| c.name).collect();
    assert_eq!(graded, vec!["a_3a", "b_3a", "c_3b"]);
}

#[test]
fn lab_5_grades_every_scenario_of_phases_5a_and_5b() {
    let all = labtests::dstest::cases();
    let graded = grade::graded_cases(all.clone(), &["5".to_string()], labtests::impls::DEFAULT).unwrap();
    for phase in ["5a", "5b"] {
        let in_table = all.iter().filter(|c| c.phase == phase && c.implementation == labtests::impls::DEFAULT).count();
        let chosen = graded.iter().filter(|c| c.phase == phase).count();
        assert!(in_table > 0 && chosen == in_table, "phase {phase}: {chosen} graded of {in_table}");
    }
    assert_eq!(graded.len(), graded.iter().filter(|c| c.phase.starts_with('5')).count());
    // Naming nothing grades lab 5 too.
    let every = grade::graded_cases(all, &[], labtests::impls::DEFAULT).unwrap();
    assert!(every.iter().any(|c| c.phase == "5a") && every.iter().any(|c| c.phase == "5b"));
}

#[test]
fn run_choosing_knobs_are_refused_naming_the_flag() {
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |var: &str| vars.iter().find(|(k, _)| *k == var).map(|(_, v)| v.to_string())
    };
    let err = grade::refuse_run_choosing_knobs(&env(&[("LAB_RUNS", "300")])).unwrap_err();
    assert_eq!(err, "LAB_RUNS=\"300\" is not read by grade: use -n/--seeds instead (or unset LAB_RUNS)");
    assert!(grade::refuse_run_choosing_knobs(&env(&[("LAB_SEED", "7")])).unwrap_err().contains("use --seed"));
    assert!(grade::refuse_run_choosing_knobs(&env(&[("LAB_TIME_LIMIT", "7")])).is_ok());
}

#[test]
fn the_json_has_the_totals_and_every_failure_with_its_replay() {
    let g = grade_of(2, &[(0, 1, "simulation failed (seed 1, virtual time 1s): boom")]);
    let v: serde_json::Value = serde_json::from_str(&grade::report::json(&g)).unwrap();
    assert_eq!(v["seeds"], 2);
    assert_eq!(v["first_seed"], 1);
    assert_eq!(v["points"], 1.5 * score::PART_POINTS);
    assert_eq!(v["max_points"], 2.0 * score::PART_POINTS);
    let test = &v["phases"][0]["tests"][0];
    assert_eq!(v["phases"][0]["phase"], "3a");
    assert_eq!(test["name"], "a_3a");
    assert_eq!(test["passed"], 1);
    assert_eq!(test["points"], 0.0);
    let failure = &test["failures"][0];
    assert_eq!(failure["seed"], 1);
    assert_eq!(failure["verdict"], "failed");
    assert_eq!(failure["headline"], "boom");
    assert_eq!(failure["replay"], cases()[0].replay_command(1, false));
}

#[test]
fn phase_3a_of_the_reference_earns_full_points_on_two_seeds() {
    let cases = grade::graded_cases(labtests::dstest::cases(), &["3a".to_string()], labtests::impls::DEFAULT).unwrap();
    assert!(cases.len() >= 3 && cases.iter().all(|c| c.phase == "3a"));
    let options = Options { runs: 2, first_seed: 1, workers: 2, check_determinism: false, fail_fast: false };
    let g = grade::run(&cases, &options, &grade::Silent, &AtomicBool::new(false));
    let table = grade::report::render(&g);
    assert!(g.all_passed(), "{table}");
    assert_eq!(g.phases.len(), 1);
    assert_eq!(g.phases[0].tests.len(), cases.len());
    assert!(g.phases[0].tests.iter().all(|t| t.passed == 2), "{table}");
    assert!((g.points - score::PART_POINTS).abs() < 1e-9, "{table}");
}
