//! A kv check that runs out of its search budget: the run fails with a message naming the
//! budget and the knob that raises it, and dstest counts it apart, in its "unknown" column, and
//! exits non-zero.

use std::process::ExitCode;

use clap::Parser;
use labrpc::sim::Config;
use labtests::dstest::{self, Case};
use labtests::kv::{Recorder, Run};
use raftkv::kvsrv::{Op, Outcome};

/// 12 concurrent puts that never return and a read of a value none wrote: illegal, but proving
/// it takes far more than the 1000 steps this check may use.
fn hopeless_kv() {
    let recorder = Recorder::new();
    let run = Run::start("hopeless_kv");
    for client in 0..12 {
        recorder.invoke(client, &Op::Put { key: "k".into(), value: format!("v{client}") });
    }
    let get = Op::Get { key: "k".into() };
    let id = recorder.invoke(99, &get);
    recorder.finish(id, &Outcome::Value { value: Some("never written".into()), version: 1 });
    run.finish_with_budget(&recorder, 1, 0, 1000);
}

/// The replay target of the runs below; ignored in normal runs because it fails on purpose.
#[test]
#[ignore = "runs out of its search budget on purpose: run by dstest's replay commands"]
fn hopeless_kv_replay() {
    labrpc::sim::check(&labrpc::target!("hopeless_kv"), Config::default(), hopeless_kv);
}

fn cases() -> Vec<Case> {
    vec![Case {
        name: "hopeless_kv".into(),
        phase: "toy".into(),
        file: "dstest_unknown".into(),
        config: Config::default(),
        run: hopeless_kv,
        replay_args: "--include-ignored",
        implementation: "reference".into(),
        show_implementation: false,
    }]
}

#[test]
fn an_unknown_verdict_fails_the_run_and_names_the_budget() {
    let result = dstest::sweep::run_one(&cases(), 0, 5, false);
    let failure = result.failure.expect("an unknown verdict fails the run");
    assert!(result.unknown, "{failure}");
    assert!(
        failure.contains(
            "hopeless_kv: linearizability unknown (seed 5): the check used its whole budget of 1000 steps before \
             key \"k\" (13 operations) was decided; raise the budget with LAB_LINCHECK_BUDGET=<steps> (now 1000, \
             default 1000000)"
        ),
        "{failure}"
    );
}

#[test]
fn dstest_counts_unknown_runs_in_their_own_column_and_exits_1() {
    let out = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dstest_unknown");
    let json = out.join("summary.json");
    let args = dstest::Args::parse_from([
        "dstest",
        "-n",
        "3",
        "-p",
        "1",
        "-o",
        out.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(dstest::run(args, cases()), ExitCode::from(1));
    let summary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(summary["total_failed"], 0);
    assert_eq!(summary["total_unknown"], 3);
    assert_eq!(summary["tests"][0]["unknown_seeds"], serde_json::json!([1, 2, 3]));
    // The table, from the same summary.
    let results: Vec<_> = (1..=3).map(|seed| dstest::sweep::run_one(&cases(), 0, seed, false)).collect();
    let summary = dstest::report::summarize(&cases(), &results, 1.0);
    let table = dstest::report::render(&summary, &cases(), &[], false);
    let header = table.lines().find(|l| l.starts_with("scenario")).unwrap();
    assert!(header.contains("failed  unknown"), "{table}");
    assert!(table.contains("3 runs, 0 failed, 3 unknown"), "{table}");
    assert!(
        table.contains(
            "UNKNOWN hopeless_kv seed 2: LAB_SEED=2 cargo test -p labtests --test dstest_unknown -- hopeless_kv"
        ),
        "{table}"
    );
}
