//! `scripts/dstest`: sweep thousands of seeds of the lab's scenarios in parallel, in-process, with
//! live progress, a results table, failure artifacts and one-line replays.

pub mod artifacts;
pub mod case;
pub mod columns;
pub mod filter;
pub mod knobs;
pub mod progress;
pub mod report;
pub mod shrink;
pub mod sweep;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Parser;

pub use case::Case;

#[derive(Parser, Debug)]
#[command(
    name = "dstest",
    about = "Run many seeds of the lab's scenarios in parallel; every failure replays from its seed",
    after_help = concat!(
        "FILTER: a phase (3a), a test file (raft_3a), a family (raft), FILE::NAME (kvraft_4b::speed), or part of a scenario name.\n\n",
        "ENVIRONMENT: LAB_TIME_LIMIT, LAB_SPIN_LIMIT, LAB_LINCHECK_BUDGET and LAB_VIS apply to every run, as under cargo test. ",
        "LAB_SEED, LAB_RUNS and LAB_CHECK_DETERMINISM are refused: use --seed, -n and --check-determinism."
    )
)]
pub struct Args {
    /// Scenarios to run (none: every scenario)
    pub filters: Vec<String>,
    /// Seeds per scenario
    #[arg(short = 'n', long = "runs", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub runs: u64,
    /// Worker threads (default: number of cores)
    #[arg(short = 'p', long = "workers", value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub workers: Option<u64>,
    /// First seed, decimal or 0x-hex as LAB_SEED; seeds FIRST .. FIRST+RUNS-1 run for every
    /// scenario (with --replay: the seed)
    #[arg(long = "seed", default_value_t = 1, value_parser = parse_seed)]
    pub seed: u64,
    /// Directory for failure logs
    #[arg(short = 'o', long = "output", default_value = "dstest-out")]
    pub output: PathBuf,
    /// Run each seed twice and count a hash mismatch as a failure naming the first divergent event
    #[arg(long)]
    pub check_determinism: bool,
    /// Also write the summary as JSON here
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// List the scenarios with their phases and exit
    #[arg(long)]
    pub list: bool,
    /// Stop at the first failure
    #[arg(long)]
    pub fail_fast: bool,
    /// Replay and log at most this many failing seeds per scenario (each replay runs traced)
    #[arg(long, value_name = "N", default_value_t = artifacts::MAX_LOGS_PER_SCENARIO)]
    pub max_logs: usize,
    /// Run one seed of SCENARIO (with --seed) with its trace on stdout
    #[arg(long, value_name = "SCENARIO")]
    pub replay: Option<String>,
    /// With --replay: also write the run's timeline (one self-contained HTML page) to FILE
    #[arg(long, value_name = "FILE", requires = "replay")]
    pub html: Option<PathBuf>,
    /// Implementations to run, side by side (registered in labtests/src/impls.rs)
    #[arg(long = "impl", value_name = "NAME,...", value_delimiter = ',', default_value = crate::impls::DEFAULT)]
    pub impls: Vec<String>,
    /// Shrink the failing seed of SCENARIO (with --seed) to the fewest faults that still fail the
    /// same check; writes its fault schedule into the -o directory
    #[arg(long, value_name = "SCENARIO", conflicts_with = "replay")]
    pub shrink: Option<String>,
    /// With --replay: only the faults this schedule lists happen (a file --shrink wrote)
    #[arg(long, value_name = "FILE", requires = "replay")]
    pub faults: Option<PathBuf>,
    /// With --shrink: at most this many runs
    #[arg(long, value_name = "N", default_value_t = crate::shrink::Options::default().max_attempts)]
    pub shrink_attempts: u32,
    /// With --shrink: at most this much virtual time over all runs, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = crate::shrink::Options::default().max_virtual.as_secs())]
    pub shrink_virtual_s: u64,
}

/// The command-line entry point over a scenario table. Exit status: 0 nothing failed, 1 a run
/// failed or ended with an unknown linearizability verdict, 2 bad arguments.
pub fn main(cases: Vec<Case>) -> ExitCode {
    let args = match crate::cli_args::parse::<Args>() {
        Ok(args) => args,
        Err(code) => return code,
    };
    let env = |var: &str| std::env::var_os(var).map(|v| v.to_string_lossy().into_owned());
    let cases = match knobs::apply(cases, env) {
        Ok(cases) => cases,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    if let Some(note) = knobs::note(env) {
        eprintln!("{note}");
    }
    run(args, cases)
}

pub fn parse_seed(v: &str) -> Result<u64, String> {
    labrpc::sim::knobs::parse_seed(v).ok_or_else(|| "expected a 64-bit seed, decimal (17) or hex (0x11)".to_string())
}

/// Creates the log directory and the JSON file before the sweep, so a bad path fails at once
/// rather than after an hour of runs. Returns the opened JSON file.
fn prepare_outputs(args: &Args) -> Result<Option<std::fs::File>, String> {
    std::fs::create_dir_all(&args.output)
        .map_err(|e| format!("-o {}: cannot create the log directory: {e}", args.output.display()))?;
    args.json
        .as_ref()
        .map(|path| {
            std::fs::File::create(path).map_err(|e| format!("--json {}: cannot open for writing: {e}", path.display()))
        })
        .transpose()
}

pub fn run(args: Args, cases: Vec<Case>) -> ExitCode {
    let cases = match for_implementations(cases, &args.impls) {
        Ok(cases) => cases,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    if args.list {
        // A closed pipe (`dstest --list | head`) ends the listing quietly instead of panicking.
        let mut out = std::io::stdout().lock();
        for c in &cases {
            if writeln!(out, "{:<8} {:<12} {}", c.phase, c.file, c.label()).is_err() {
                break;
            }
        }
        return ExitCode::SUCCESS;
    }
    if let Some(name) = &args.shrink {
        let options = shrink::options(args.shrink_attempts, args.shrink_virtual_s);
        return shrink::shrink_command(&cases, name, args.seed, &args.output, options);
    }
    if let Some(name) = &args.replay {
        return replay(&cases, name, args.seed, args.faults.as_deref(), args.html.as_deref());
    }
    let selected = match filter::select(&cases, &args.filters) {
        Ok(selected) => selected,
        Err((bad, near)) => {
            eprintln!("error: no scenario matches {bad:?}; {}", filter::suggestion(&near));
            return ExitCode::from(2);
        }
    };
    let json_file = match prepare_outputs(&args) {
        Ok(file) => file,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let workers = workers_or_cores(args.workers);
    let options = sweep::Options {
        runs: args.runs,
        first_seed: args.seed,
        workers,
        check_determinism: args.check_determinism,
        fail_fast: args.fail_fast,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let on_interrupt = stop.clone();
    // A second Ctrl-C while the table is being written is not worth handling specially.
    let _ = ctrlc::set_handler(move || on_interrupt.store(true, Ordering::Relaxed));

    #[allow(clippy::disallowed_types, clippy::disallowed_methods)] // wall time of the sweep, reported only
    let started = std::time::Instant::now();
    let results = if std::io::stdout().is_terminal() {
        let bars = progress::Bars::new(&selected, args.runs);
        let results = sweep::sweep(&selected, &options, &bars, &stop);
        bars.finish();
        results
    } else {
        let lines = progress::Lines::new(&selected, args.runs);
        sweep::sweep(&selected, &options, &lines, &stop)
    };
    let wall_s = started.elapsed().as_secs_f64();
    if stop.load(Ordering::Relaxed) && !args.fail_fast {
        println!("interrupted: the table covers the runs that finished");
    }

    let summary = report::summarize(&selected, &results, wall_s);
    let artifacts = write_artifacts(&args, &selected, &summary);
    print!("{}", report::render(&summary, &selected, &artifacts, args.check_determinism));
    if let (Some(path), Some(mut file)) = (&args.json, json_file) {
        use std::io::Write as _;
        let json = serde_json::to_string_pretty(&summary).expect("summary serializes");
        if let Err(e) = file.write_all((json + "\n").as_bytes()) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if summary.total_failed > 0 || summary.total_unknown > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn write_artifacts(args: &Args, cases: &[Case], summary: &report::Summary) -> Vec<(String, u64, String)> {
    let mut written = Vec::new();
    for (t, case) in summary.tests.iter().zip(cases) {
        let seeds = t.failed_seeds.iter().chain(&t.unknown_seeds);
        for &seed in seeds.take(args.max_logs.min(artifacts::MAX_LOGS_PER_SCENARIO)) {
            match artifacts::write_log(&args.output, case, seed, args.check_determinism) {
                Ok(path) => written.push((t.name.clone(), seed, path.display().to_string())),
                Err(e) => {
                    eprintln!("error: cannot write the log of {} seed {seed} in {}: {e}", t.name, args.output.display())
                }
            }
            match crate::timeline::write_artifact(&args.output, case, seed) {
                Ok(path) => written.push((t.name.clone(), seed, path.display().to_string())),
                Err(e) => eprintln!(
                    "error: cannot write the timeline of {} seed {seed} in {}: {e}",
                    t.name,
                    args.output.display()
                ),
            }
        }
    }
    written
}

/// The cases of the implementations named in `--impl`, in that order, each labelled with its
/// implementation unless the sweep is of the default alone.
pub fn for_implementations(cases: Vec<Case>, impls: &[String]) -> Result<Vec<Case>, String> {
    let known: Vec<&str> = cases.iter().map(|c| c.implementation.as_str()).fold(Vec::new(), |mut v, i| {
        if !v.contains(&i) {
            v.push(i);
        }
        v
    });
    let mut seen: Vec<&str> = Vec::new();
    for name in impls {
        if !known.contains(&name.as_str()) {
            return Err(format!("--impl {name:?}: no such implementation; known: {}", known.join(", ")));
        }
        if seen.contains(&name.as_str()) {
            return Err(format!("--impl names {name:?} twice"));
        }
        seen.push(name);
    }
    let show = impls.len() > 1 || impls.iter().any(|i| i != crate::impls::DEFAULT);
    Ok(impls
        .iter()
        .flat_map(|name| cases.iter().filter(move |c| &c.implementation == name))
        .map(|c| Case { show_implementation: show, ..c.clone() })
        .collect())
}

fn replay(
    cases: &[Case],
    name: &str,
    seed: u64,
    faults: Option<&std::path::Path>,
    html: Option<&std::path::Path>,
) -> ExitCode {
    let mut case = match filter::replay_target(cases, name) {
        Ok(case) => case.clone(),
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let schedule = match faults.map(|path| shrink::plan_of(path, &case, seed)).transpose() {
        Ok(schedule) => schedule,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    case.config.fault_plan = schedule.as_ref().map(|(plan, _)| plan.clone());
    if let Some(path) = html {
        // A separate, untraced run of the same seed (under the same fault schedule): recording
        // does not move its schedule.
        let (_, timeline) = crate::timeline::record(&case, seed);
        if let Err(e) = crate::timeline::write(path, &timeline) {
            eprintln!("error: --html {}: cannot write the timeline: {e}", path.display());
            return ExitCode::from(2);
        }
        eprintln!("timeline: {} ({} items drawn)", path.display(), timeline.items());
    }
    let (outcome, trace) = labrpc::trace::capture(tracing::Level::DEBUG, || case.run_seed(seed, false));
    if std::io::stdout().is_terminal() {
        let width = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).unwrap_or(160);
        print!("{}", columns::columns(&trace, width));
    } else {
        print!("{trace}");
    }
    match outcome {
        Ok(report) => {
            println!(
                "{} seed {seed}: passed, virtual {:.3}s, hash {:#018x}",
                case.label(),
                report.virtual_time.as_secs_f64(),
                report.hash
            );
            if let Some((plan, schedule)) = &schedule {
                println!("{}", shrink::describe_replay(schedule, plan, None));
            }
            ExitCode::SUCCESS
        }
        Err(mut failure) => {
            if let Some(path) = faults {
                // The unshrunk seed's replay line would drop the schedule this run failed under.
                failure.replay = Some(shrink::replay_command(&case, seed, path));
            }
            println!("{failure}");
            if let Some((plan, schedule)) = &schedule {
                println!("{}", shrink::describe_replay(schedule, plan, Some(&failure)));
            }
            ExitCode::from(1)
        }
    }
}

/// The lab's scenario table for every registered implementation (`crate::impls`), as the runner
/// sees it; `--impl` picks among them.
pub fn cases() -> Vec<Case> {
    crate::impls::registry()
        .into_iter()
        .flat_map(|i| crate::impls::scenarios(i.name).expect("a registered implementation"))
        .map(|s| Case::of_scenario(&s))
        .collect()
}

/// `-p`/`--workers` as given, else one worker per core (2 if the count is unknown).
pub fn workers_or_cores(requested: Option<u64>) -> usize {
    requested.map(|w| w as usize).unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_takes_hex_and_decimal_as_lab_seed_does() {
        let seed = |v: &str| Args::try_parse_from(["dstest", "--seed", v]).map(|a| a.seed);
        assert_eq!(seed("0x10").unwrap(), 16);
        assert_eq!(seed("0X10").unwrap(), 16);
        assert_eq!(seed("16").unwrap(), 16);
        assert_eq!(Args::try_parse_from(["dstest"]).unwrap().seed, 1);
        let err = seed("0xzz").unwrap_err().to_string();
        assert!(err.contains("0xzz") && err.contains("hex (0x11)"), "{err}");
    }

    #[test]
    fn html_goes_with_replay() {
        let err = Args::try_parse_from(["dstest", "--html", "t.html"]).unwrap_err().to_string();
        assert!(err.contains("--replay"), "{err}");
        let args = Args::try_parse_from(["dstest", "--replay", "figure8_3c", "--html", "t.html"]).unwrap();
        assert_eq!(args.html.as_deref(), Some(std::path::Path::new("t.html")));
    }

    #[test]
    fn help_says_which_knobs_are_refused_and_the_flag_for_each() {
        use clap::CommandFactory;
        let help = Args::command().render_help().to_string();
        for (var, _) in knobs::REFUSED {
            assert!(help.contains(var), "{help}");
        }
        assert!(help.contains("use --seed, -n and --check-determinism"), "{help}");
    }
}
