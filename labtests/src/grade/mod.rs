//! `scripts/grade`: the lab's grade. Every graded phase's scenarios run over N seeds through
//! dstest's sweep; the score table and JSON say which seeds failed and how to replay each.

pub mod report;
pub mod score;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Parser;

use crate::dstest::sweep::{self, Observer, RunResult};
use crate::dstest::{progress, Case};
pub use score::{Grade, PhaseScore, SeedFailure, TestScore};

#[derive(Parser, Debug)]
#[command(
    name = "grade",
    about = "Grade the lab: run every scenario of each phase over N seeds and score it",
    after_help = "PHASE: 2, 3a, 3b, 3c, 3d, rsm, 4a, 4b, 5a, 5b, or a lab (3 is 3a-3d, 4 is 4a-4b, 5 is 5a-5b); none: every phase.\n\n\
POINTS: every part of a lab is worth 50 points (lab 2 is one part, lab 3 four, lab 4 three with \
rsm, lab 5 two: 500 in all); within a phase every test is worth the same share. A test earns its share only when ALL N \
seeds pass (the table shows how many did); a run whose linearizability check gave no verdict \
counts as failed. Every failing seed is listed with the command that replays it.\n\n\
ENVIRONMENT: LAB_TIME_LIMIT, LAB_SPIN_LIMIT, LAB_LINCHECK_BUDGET and LAB_VIS apply to every run, as \
under cargo test and dstest. LAB_SEED, LAB_RUNS and LAB_CHECK_DETERMINISM are refused: use --seed \
and -n (a grade runs each seed once).\n\n\
Exit status: 0 every test passed every seed, 1 something failed, 2 bad arguments."
)]
pub struct Args {
    /// Phases to grade (none: all)
    pub phases: Vec<String>,
    /// Seeds per test
    #[arg(short = 'n', long = "seeds", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub seeds: u64,
    /// First seed, decimal or 0x-hex as LAB_SEED; seeds FIRST .. FIRST+SEEDS-1 run for every test
    #[arg(long = "seed", default_value_t = 1, value_parser = crate::dstest::parse_seed)]
    pub first_seed: u64,
    /// Worker threads (default: number of cores)
    #[arg(short = 'p', long = "workers", value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub workers: Option<u64>,
    /// Also write the grade as JSON here
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// The implementation to grade (registered in labtests/src/impls.rs)
    #[arg(long = "impl", value_name = "NAME", default_value = crate::impls::DEFAULT)]
    pub implementation: String,
}

/// The command-line entry point over a scenario table (`crate::dstest::cases()`).
pub fn main(cases: Vec<Case>) -> ExitCode {
    let args = match crate::cli_args::parse::<Args>() {
        Ok(args) => args,
        Err(code) => return code,
    };
    let env = |var: &str| std::env::var_os(var).map(|v| v.to_string_lossy().into_owned());
    let prepared = refuse_run_choosing_knobs(&env)
        .and_then(|()| crate::dstest::knobs::apply(cases, env))
        .and_then(|cases| graded_cases(cases, &args.phases, &args.implementation))
        .and_then(|cases| {
            // Opened before the sweep, so a bad path fails at once rather than after the runs.
            let json = args.json.as_ref().map(|path| {
                std::fs::File::create(path)
                    .map_err(|e| format!("--json {}: cannot open for writing: {e}", path.display()))
            });
            Ok((cases, json.transpose()?))
        });
    let (cases, json_file) = match prepared {
        Ok(prepared) => prepared,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let workers = crate::dstest::workers_or_cores(args.workers);
    let options = sweep::Options {
        runs: args.seeds,
        first_seed: args.first_seed,
        workers,
        check_determinism: false,
        fail_fast: false,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let on_interrupt = stop.clone();
    let _ = ctrlc::set_handler(move || on_interrupt.store(true, Ordering::Relaxed));
    let grade = if std::io::stdout().is_terminal() {
        let bars = progress::Bars::new(&cases, args.seeds);
        let grade = run(&cases, &options, &bars, &stop);
        bars.finish();
        grade
    } else {
        run(&cases, &options, &progress::Lines::new(&cases, args.seeds), &stop)
    };
    if stop.load(Ordering::Relaxed) {
        println!("interrupted: the seeds that did not run count as not passed");
    }
    print!("{}", report::render(&grade));
    if let (Some(path), Some(mut file)) = (&args.json, json_file) {
        use std::io::Write as _;
        if let Err(e) = file.write_all(report::json(&grade).as_bytes()) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if grade.all_passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// LAB_SEED, LAB_RUNS and LAB_CHECK_DETERMINISM choose which runs happen, which --seed and -n
/// own: refused with the flag to use, rather than silently ignored. `get` reads the environment.
pub fn refuse_run_choosing_knobs(get: &impl Fn(&str) -> Option<String>) -> Result<(), String> {
    for (var, instead) in [
        ("LAB_SEED", "--seed"),
        ("LAB_RUNS", "-n/--seeds"),
        ("LAB_CHECK_DETERMINISM", "scripts/dstest --check-determinism (a grade runs each seed once)"),
    ] {
        if let Some(value) = get(var) {
            return Err(format!("{var}={value:?} is not read by grade: use {instead} instead (or unset {var})"));
        }
    }
    Ok(())
}

/// The cases of implementation `implementation` in the graded `phases` (see
/// [`score::phases`]), in lab order. A phase named but without a scenario of that
/// implementation is an error (a grade never skips what was asked for silently); with no phase
/// named, the implementation's graded phases.
pub fn graded_cases(cases: Vec<Case>, names: &[String], implementation: &str) -> Result<Vec<Case>, String> {
    let phases = score::phases(names)?;
    let cases = crate::dstest::for_implementations(cases, &[implementation.to_string()])?;
    if !names.is_empty() {
        if let Some(missing) = phases.iter().find(|p| !cases.iter().any(|c| c.phase == **p)) {
            return Err(format!("implementation {implementation:?} has no scenario of phase {missing}"));
        }
    }
    let graded: Vec<Case> = phases.iter().flat_map(|p| cases.iter().filter(move |c| c.phase == *p)).cloned().collect();
    if graded.is_empty() {
        return Err(format!("implementation {implementation:?} has no scenario of a graded phase"));
    }
    Ok(graded)
}

/// Sweeps `cases` (all of graded phases) with `options` and scores the results.
pub fn run(cases: &[Case], options: &sweep::Options, observer: &dyn Observer, stop: &AtomicBool) -> Grade {
    assert!(!options.check_determinism && !options.fail_fast, "a grade runs every seed once");
    let results = sweep::sweep(cases, options, observer, stop);
    let summary = crate::dstest::report::summarize(cases, &results, 0.0);
    score::score(cases, &summary, options.runs, options.first_seed)
}

/// An observer that shows nothing (tests, and callers with their own display).
pub struct Silent;

impl Observer for Silent {
    fn on_result(&self, _: &RunResult) {}
}
