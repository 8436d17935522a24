//! `scripts/mutants`: the mutant zoo. Each patch in `labtests/mutants/` plants one realistic bug
//! in the reference servers; the runner builds each mutant (servers' own asserts compiled out),
//! sweeps the phases that should catch its class with dstest, and prints which scenario and which
//! check caught it, or that it escaped. An unpatched "reference" row must pass.

pub mod asserts;
pub mod patch;
pub mod scratch;
pub mod table;
pub mod verdict;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::Parser;

use self::patch::Mutant;
use self::scratch::Scratch;
use self::table::Row;
use self::verdict::{Status, Summary, Test};

/// The name of the unpatched row.
pub const REFERENCE: &str = "reference";

#[derive(Parser, Debug)]
#[command(
    name = "mutants",
    about = "Build each mutant of the reference servers and sweep the phases that should catch it",
    after_help = "MUTANT: a patch name in labtests/mutants/ (none: every patch). Key/value phases are slow, so they \
                  get fewer seeds (--kv-seeds). Exit status: 0 every mutant caught and the reference passing, 1 \
                  otherwise (0 with --report-only), 2 bad arguments or a broken patch."
)]
pub struct Args {
    /// Mutants to run (none: all)
    pub names: Vec<String>,
    /// Seeds per scenario of the Raft phases (raft_*) and of lab 2's lock (lab2_lock), whose runs
    /// cost about what a Raft run does
    #[arg(short = 'n', long = "seeds", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub seeds: u64,
    /// Seeds per scenario of the other phases (lab2_kvsrv, kvraft_*, kv_*, rsm_4, shardkv_*)
    #[arg(long = "kv-seeds", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub kv_seeds: u64,
    /// First seed of every sweep
    #[arg(long = "seed", default_value_t = 1)]
    pub seed: u64,
    /// Also write the rows as JSON here
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Exit 0 even when a mutant escapes (report, do not gate)
    #[arg(long)]
    pub report_only: bool,
    /// Skip the unpatched reference row
    #[arg(long)]
    pub no_reference: bool,
    /// Also sweep this phase (test file) for every mutant with a phase of the same family (Raft
    /// or key/value): e.g. `--also raft_chaos --also kv_chaos`
    #[arg(long, value_name = "PHASE")]
    pub also: Vec<String>,
    /// Scratch tree, shared target directory and sweep outputs
    #[arg(long, value_name = "DIR", default_value = "target/mutants")]
    pub work: PathBuf,
    /// List the mutants with their class and phases and exit
    #[arg(long)]
    pub list: bool,
}

pub fn main() -> ExitCode {
    let args = match crate::cli_args::parse::<Args>() {
        Ok(args) => args,
        Err(code) => return code,
    };
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> Result<ExitCode, String> {
    let repo = std::env::current_dir().map_err(|e| format!("no current directory: {e}"))?;
    let all = patch::load_all(&repo.join(patch::DIR))?;
    if args.list {
        for m in &all {
            println!("{:<36} {:<44} {}", m.name, m.class, m.phases.join(" "));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut chosen = choose(&all, &args.names)?;
    for m in &mut chosen {
        add_phases(m, &args.also);
    }
    let scratch = Scratch::new(&repo, &args.work)?;
    scratch.seed_target()?;
    let mut rows = Vec::new();
    if !args.no_reference {
        let mut phases: Vec<String> = chosen.iter().flat_map(|m| m.phases.clone()).collect();
        phases.sort();
        phases.dedup();
        let reference = Mutant {
            name: REFERENCE.into(),
            class: "unpatched, asserts compiled out".into(),
            phases,
            why: String::new(),
            path: PathBuf::new(),
        };
        rows.push(run_one(&scratch, &reference, args, None));
    }
    for m in &chosen {
        rows.push(run_one(&scratch, m, args, Some(&m.path)));
    }
    let rendered = table::render(&rows);
    print!("{rendered}");
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&rows).expect("rows serialize");
        std::fs::write(path, json + "\n").map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let bad = rows.iter().any(Row::is_bad);
    Ok(if bad && !args.report_only { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// The mutants named (all when none is); an unknown name is an error listing the known ones.
fn choose(all: &[Mutant], names: &[String]) -> Result<Vec<Mutant>, String> {
    if names.is_empty() {
        return Ok(all.to_vec());
    }
    names
        .iter()
        .map(|n| {
            all.iter().find(|m| &m.name == n).cloned().ok_or_else(|| {
                let known: Vec<&str> = all.iter().map(|m| m.name.as_str()).collect();
                format!("no mutant named {n:?} in {}; known: {}", patch::DIR, known.join(", "))
            })
        })
        .collect()
}

/// Adds each of `extra` to `m`'s phases when `m` already sweeps a phase of its family.
fn add_phases(m: &mut Mutant, extra: &[String]) {
    for phase in extra {
        if !m.phases.contains(phase) && m.phases.iter().any(|p| is_raft(p) == is_raft(phase)) {
            m.phases.push(phase.clone());
        }
    }
}

/// Whether a phase (a test file) holds Raft scenarios (the family `--also` goes by).
fn is_raft(phase: &str) -> bool {
    phase.starts_with("raft_")
}

/// One dstest sweep of a mutant's phases, and so their seed count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    /// The Raft phases: `-n`.
    Raft,
    /// Lab 2's lock (lab2_lock): `-n` too, since its runs (one kvsrv server, about 2 virtual
    /// seconds) cost about what a Raft run does.
    Lock,
    /// Every other phase (kvsrv, kvraft, rsm, the sharded store): `--kv-seeds`, as a run takes
    /// 10-100 times a Raft run.
    Kv,
}

impl Part {
    const ALL: [Part; 3] = [Part::Raft, Part::Lock, Part::Kv];

    fn of(phase: &str) -> Part {
        if is_raft(phase) {
            Part::Raft
        } else if phase == "lab2_lock" {
            Part::Lock
        } else {
            Part::Kv
        }
    }

    fn seeds(self, args: &Args) -> u64 {
        match self {
            Part::Raft | Part::Lock => args.seeds,
            Part::Kv => args.kv_seeds,
        }
    }

    /// The stem of the sweep's table and JSON in the mutant's output folder.
    fn name(self) -> &'static str {
        match self {
            Part::Raft => "raft",
            Part::Lock => "lock",
            Part::Kv => "kv",
        }
    }
}

#[allow(clippy::disallowed_types, clippy::disallowed_methods)] // wall time of builds and sweeps, reported only
fn run_one(scratch: &Scratch, m: &Mutant, args: &Args, patch: Option<&Path>) -> Row {
    eprintln!("mutants: {} ({}): building", m.name, m.phases.join(" "));
    let mut row = Row {
        mutant: m.name.clone(),
        class: m.class.clone(),
        phases: m.phases.clone(),
        raft_seeds: args.seeds,
        kv_seeds: args.kv_seeds,
        verdict: verdict::judge(&[]),
        build_s: 0.0,
        sweep_s: 0.0,
    };
    let started = std::time::Instant::now();
    let built = scratch.sync().and_then(|()| {
        if let Some(patch) = patch {
            scratch.apply(patch)?;
        }
        scratch.debug_only_asserts()?;
        scratch.build()
    });
    row.build_s = started.elapsed().as_secs_f64();
    let dstest = match built {
        Ok(dstest) => dstest,
        Err(e) => {
            eprintln!("mutants: {}: {e}", m.name);
            row.verdict.status = Status::Error(e.lines().next().unwrap_or("").to_string());
            return row;
        }
    };
    let started = std::time::Instant::now();
    let out = scratch.tree.with_file_name("out").join(&m.name);
    let mut tests = Vec::new();
    for part in Part::ALL {
        let phases: Vec<String> = m.phases.iter().filter(|p| Part::of(p) == part).cloned().collect();
        if phases.is_empty() {
            continue;
        }
        let seeds = part.seeds(args);
        eprintln!("mutants: {}: sweeping {} with {seeds} seeds each", m.name, phases.join(" "));
        match sweep(scratch, &dstest, &phases, seeds, args.seed, &out, part.name()) {
            Ok(mut t) => tests.append(&mut t),
            Err(e) => {
                eprintln!("mutants: {}: {e}", m.name);
                row.verdict.status = Status::Error(e);
                row.sweep_s = started.elapsed().as_secs_f64();
                return row;
            }
        }
    }
    row.sweep_s = started.elapsed().as_secs_f64();
    row.verdict = verdict::judge(&tests);
    eprintln!("mutants: {}: {}", m.name, table::summary_line(&row));
    row
}

/// One dstest run over `phases` in the scratch tree; its table and failure logs go to `out`.
fn sweep(
    scratch: &Scratch,
    dstest: &Path,
    phases: &[String],
    seeds: u64,
    first_seed: u64,
    out: &Path,
    part: &str,
) -> Result<Vec<Test>, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let out = std::fs::canonicalize(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let json = out.join(format!("{part}.json"));
    let output = Command::new(dstest)
        .args(phases)
        .args(["-n", &seeds.to_string(), "--seed", &first_seed.to_string()])
        .arg("--json")
        .arg(&json)
        .arg("-o")
        .arg(&out)
        // One traced log per failing scenario is enough to read; replays run one at a time.
        .args(["--max-logs", "1"])
        .current_dir(&scratch.tree)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", dstest.display()))?;
    let table = out.join(format!("{part}.txt"));
    std::fs::write(&table, &output.stdout).map_err(|e| format!("cannot write {}: {e}", table.display()))?;
    match output.status.code() {
        Some(0 | 1) => {}
        _ => {
            return Err(format!(
                "dstest {} exited with {}: {}",
                phases.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    }
    let text = std::fs::read_to_string(&json).map_err(|e| format!("cannot read {}: {e}", json.display()))?;
    let summary: Summary = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", json.display()))?;
    Ok(summary.tests)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_phases_go_to_mutants_of_their_family_only() {
        let mutant = |phases: &[&str]| Mutant {
            name: "m".into(),
            class: "c".into(),
            phases: phases.iter().map(|p| p.to_string()).collect(),
            why: "w".into(),
            path: PathBuf::new(),
        };
        let also = ["raft_chaos".to_string(), "kv_chaos".to_string()];
        let (mut raft, mut kv, mut both) =
            (mutant(&["raft_3c"]), mutant(&["kvraft_4a"]), mutant(&["raft_3d", "kvraft_4b", "raft_chaos"]));
        for m in [&mut raft, &mut kv, &mut both] {
            add_phases(m, &also);
        }
        assert_eq!(raft.phases, ["raft_3c", "raft_chaos"]);
        assert_eq!(kv.phases, ["kvraft_4a", "kv_chaos"]);
        assert_eq!(both.phases, ["raft_3d", "kvraft_4b", "raft_chaos", "kv_chaos"]);
    }

    #[test]
    fn the_lock_phase_sweeps_with_the_raft_seed_count() {
        let args = Args::try_parse_from(["mutants", "-n", "7", "--kv-seeds", "3"]).unwrap();
        let seeds = |phase: &str| Part::of(phase).seeds(&args);
        assert_eq!(seeds("lab2_lock"), 7, "lab 2's lock runs cost about what a Raft run does");
        for file in ["raft_3a", "raft_chaos"] {
            assert_eq!(seeds(file), 7, "{file}");
        }
        for file in ["lab2_kvsrv", "kvraft_4a", "kv_beyond", "rsm_4", "shardkv_5b"] {
            assert_eq!(seeds(file), 3, "{file}");
        }
        let files: Vec<&str> = crate::scenario::all().iter().map(|s| s.file).collect();
        for part in Part::ALL {
            assert!(files.iter().any(|f| Part::of(f) == part), "no phase of the scenario table sweeps as {part:?}");
        }
    }
}
