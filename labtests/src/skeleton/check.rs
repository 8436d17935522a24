//! `scripts/skeleton OUT` and `scripts/skeleton --check`. The check generates the skeleton into
//! a work folder, builds it (`cargo fmt --check`, `cargo test --no-run` with no warning, clippy
//! with `-D warnings`) and runs its `cargo test` within a bound: every test of a lab test file
//! must fail, and every failing test anywhere must fail on a missing body (`not yet
//! implemented: ...`), never on a compile error, a hang, a deadlock or a check pinned to the
//! reference. The work folder's target directory is seeded once with the repository's compiled
//! dependencies, so only the workspace's own crates compile.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use clap::Parser;

use super::policy;

/// What every failing test of the skeleton must say: the message of `todo!()`.
const TODO_MESSAGE: &str = "not yet implemented: ";

#[derive(Parser, Debug)]
#[command(
    name = "skeleton",
    about = "Write the student skeleton (the lab without its solution), or check that it builds and fails cleanly"
)]
struct Args {
    /// Folder to write the skeleton into: absent, empty, or an earlier skeleton.
    #[arg(required_unless_present_any = ["check", "policy"])]
    out: Option<PathBuf>,
    /// Generate into WORK/tree, build it in WORK/target, and run its tests.
    #[arg(long, conflicts_with = "out")]
    check: bool,
    /// The check's work folder [default: TARGET/skeleton, TARGET being the repository's target dir].
    #[arg(long, value_name = "WORK")]
    work: Option<PathBuf>,
    /// Bound on the skeleton's whole `cargo test` run, in seconds of wall time.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    test_bound_s: u64,
    /// Skip clippy in the check (it compiles every crate once more, without code generation).
    #[arg(long)]
    no_clippy: bool,
    /// Print the file rules (what the skeleton keeps, stubs and drops, and why).
    #[arg(long, conflicts_with_all = ["out", "check"])]
    policy: bool,
}

pub fn main() -> ExitCode {
    let args = match crate::cli_args::parse::<Args>() {
        Ok(args) => args,
        Err(code) => return code,
    };
    let repo = PathBuf::from(".");
    if !repo.join("labtests/src/skeleton").is_dir() {
        eprintln!("skeleton: run it from the repository root (scripts/skeleton does)");
        return ExitCode::from(2);
    }
    if args.policy {
        for rule in policy::RULES {
            println!("{:<40} {:<5} {}", rule.pattern, format!("{:?}", rule.policy).to_lowercase(), rule.why);
        }
        println!("{:<40} {:<5} no rule names it", "(anything else)", "keep");
        return ExitCode::SUCCESS;
    }
    let result = match &args.out {
        Some(out) => super::generate(&repo, out).map(|s| {
            println!("skeleton written to {}: {}", out.display(), describe(&s));
        }),
        None => {
            let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repo.join("target"), PathBuf::from);
            let work = args.work.clone().unwrap_or_else(|| target.join("skeleton"));
            check(&repo, &target, &work, Duration::from_secs(args.test_bound_s), !args.no_clippy)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("skeleton: {e}");
            ExitCode::FAILURE
        }
    }
}

fn describe(s: &super::Summary) -> String {
    format!(
        "{} files kept, {} stubbed ({} bodies, {} test items removed), {} left out; {} written, {} stale removed",
        s.kept, s.stubbed, s.bodies, s.tests_removed, s.dropped, s.written, s.removed
    )
}

/// The whole check; prints each step with its wall time.
fn check(repo: &Path, main_target: &Path, work: &Path, test_bound: Duration, clippy: bool) -> Result<(), String> {
    std::fs::create_dir_all(work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let work = std::fs::canonicalize(work).map_err(|e| format!("{}: {e}", work.display()))?;
    let (tree, target) = (work.join("tree"), work.join("target"));
    let summary = super::generate(repo, &tree)?;
    println!("== generated {}: {}", tree.display(), describe(&summary));
    if seed_target(main_target, &target)? {
        println!("== seeded {} with the compiled dependencies of {}", target.display(), main_target.display());
    }
    step("cargo fmt --all --check", || cargo(&tree, &target, &["fmt", "--all", "--check"]).map(drop))?;
    step("cargo test --no-run (no warnings)", || {
        let log = cargo(&tree, &target, &["test", "--no-run", "--locked"])?;
        let warnings: Vec<&str> = log.lines().filter(|l| l.starts_with("warning")).collect();
        match warnings.is_empty() {
            true => Ok(()),
            false => Err(format!("the skeleton builds with warnings:\n{log}")),
        }
    })?;
    if clippy {
        step("cargo clippy --workspace --all-targets -- -D warnings", || {
            cargo(&tree, &target, &["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"])
                .map(drop)
        })?;
    }
    let log_path = work.join("test-output.txt");
    let lab_files: Vec<&str> = crate::scenario::all().iter().map(|s| s.file).collect();
    step(&format!("cargo test (bound {} s; output in {})", test_bound.as_secs(), log_path.display()), || {
        run_tests(&tree, &target, &log_path, test_bound)?;
        let log = std::fs::read_to_string(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let verdict = judge(&parse(&log), &lab_files);
        println!("{}", verdict.table);
        match verdict.problems.is_empty() {
            true => Ok(()),
            false => Err(format!("the skeleton's tests do not all fail cleanly:\n{}", verdict.problems.join("\n"))),
        }
    })
}

/// Runs `what`, printing its name before and its wall time after.
#[allow(clippy::disallowed_types, clippy::disallowed_methods)] // wall time of a build step, reported only
fn step(what: &str, f: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    println!("== {what}");
    let started = std::time::Instant::now();
    let result = f();
    println!("   {:.1} s, {}", started.elapsed().as_secs_f64(), if result.is_ok() { "ok" } else { "FAILED" });
    result
}

/// Runs cargo in `tree` with `target` as its target directory; its stderr on success, or an error
/// with the end of it.
fn cargo(tree: &Path, target: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new("cargo")
        .args(args)
        .current_dir(tree)
        .env("CARGO_TARGET_DIR", target)
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if output.status.success() {
        return Ok(stderr);
    }
    let tail: Vec<&str> = stderr.lines().rev().take(60).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    let stdout = String::from_utf8_lossy(&output.stdout);
    Err(format!("cargo {} failed in {}:\n{stdout}{}", args.join(" "), tree.display(), tail.join("\n")))
}

/// Copies the compiled dependencies (crates.io libraries, build script results, fingerprints) of
/// `main_target/debug` into `target/debug`, once: cargo finds them fresh, so only the
/// workspace's crates compile. The workspace's own crates are not copied (the skeleton's differ).
/// Returns whether it copied.
fn seed_target(main_target: &Path, target: &Path) -> Result<bool, String> {
    let (from, to) = (main_target.join("debug"), target.join("debug"));
    if to.exists() || !from.join("deps").is_dir() {
        return Ok(false);
    }
    let ours = ["libraftkv-", "liblabtests-", "liblabrpc-", "liblabapi-", "liblincheck-"];
    let deps = std::fs::read_dir(from.join("deps")).map_err(|e| format!("cannot read {}/deps: {e}", from.display()))?;
    let mut libs: Vec<PathBuf> = Vec::new();
    for entry in deps {
        let path = entry.map_err(|e| format!("cannot read {}/deps: {e}", from.display()))?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.starts_with("lib") && !ours.iter().any(|o| name.starts_with(o)) {
            libs.push(path);
        }
    }
    std::fs::create_dir_all(to.join("deps")).map_err(|e| format!("cannot create {}/deps: {e}", to.display()))?;
    let copy = |sources: &[PathBuf], into: &Path| -> Result<(), String> {
        let status = Command::new("cp")
            .args(["-a", "--reflink=auto", "-t"])
            .arg(into)
            .args(sources)
            .status()
            .map_err(|e| format!("cannot run cp: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("copying the compiled dependencies into {} failed", into.display()))
        }
    };
    copy(&[from.join(".fingerprint"), from.join("build")], &to)?;
    copy(&libs, &to.join("deps"))?;
    Ok(true)
}

/// Runs the skeleton's whole `cargo test`, output (both streams) to `log`, killed past `bound`.
#[allow(clippy::disallowed_types, clippy::disallowed_methods)] // a wall-clock bound on a child process
fn run_tests(tree: &Path, target: &Path, log: &Path, bound: Duration) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    let file = File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let err = file.try_clone().map_err(|e| format!("{}: {e}", log.display()))?;
    let mut child = Command::new("cargo")
        .args(["test", "--no-fail-fast", "--locked"])
        .current_dir(tree)
        .env("CARGO_TARGET_DIR", target)
        .env("CARGO_TERM_COLOR", "never")
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(err))
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot run cargo test: {e}"))?;
    let started = std::time::Instant::now();
    loop {
        if child.try_wait().map_err(|e| format!("waiting for cargo test: {e}"))?.is_some() {
            return Ok(());
        }
        if started.elapsed() > bound {
            // The whole group: cargo and the test binary it runs.
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
            let _ = child.wait();
            return Err(format!(
                "the skeleton's cargo test ran past {} s (a test hangs instead of failing); see {}",
                bound.as_secs(),
                log.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// One test's result, with its captured output when it failed.
#[derive(Debug, Default)]
struct TestResult {
    passed: bool,
    output: String,
}

/// Results per test binary (`raft_3a`, `labtests` for a crate's unit tests, `doc raftkv`), per
/// test name, from libtest's output.
fn parse(log: &str) -> BTreeMap<String, BTreeMap<String, TestResult>> {
    let mut binaries: BTreeMap<String, BTreeMap<String, TestResult>> = BTreeMap::new();
    let mut binary = String::new();
    let mut capturing: Option<String> = None;
    for line in log.lines() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("Running ") {
            // "Running tests/raft_3a.rs (target/debug/deps/raft_3a-0123abcd)"
            let exe = rest.rsplit('/').next().unwrap_or(rest).trim_end_matches(')');
            binary = exe.rsplit_once('-').map_or(exe, |(name, _)| name).to_string();
            capturing = None;
        } else if let Some(krate) = trimmed.strip_prefix("Doc-tests ") {
            binary = format!("doc {krate}");
            capturing = None;
        } else if let Some(rest) = line.strip_prefix("test ") {
            if let Some((name, outcome)) = rest.rsplit_once(" ... ") {
                let result = binaries.entry(binary.clone()).or_default().entry(name.to_string()).or_default();
                result.passed = outcome.starts_with("ok") || outcome.starts_with("ignored");
            }
        } else if let Some(name) = line.strip_prefix("---- ").and_then(|r| r.strip_suffix(" stdout ----")) {
            capturing = Some(name.to_string());
        } else if line == "failures:" || line.starts_with("test result:") {
            capturing = None;
        } else if let Some(name) = &capturing {
            let result = binaries.entry(binary.clone()).or_default().entry(name.clone()).or_default();
            result.output.push_str(line);
            result.output.push('\n');
        }
    }
    binaries
}

struct Verdict {
    table: String,
    problems: Vec<String>,
}

/// Every test of a lab test file fails, and every failure is a missing body.
fn judge(results: &BTreeMap<String, BTreeMap<String, TestResult>>, lab_files: &[&str]) -> Verdict {
    let mut problems = Vec::new();
    let mut table = format!("{:<32} {:>6} {:>6}", "test binary", "passed", "failed");
    let mut example: Option<String> = None;
    for file in lab_files {
        if !results.contains_key(*file) {
            problems.push(format!("{file}: the lab test file did not run"));
        }
    }
    for (binary, tests) in results {
        let failed: Vec<(&String, &TestResult)> = tests.iter().filter(|(_, r)| !r.passed).collect();
        table.push_str(&format!("\n{binary:<32} {:>6} {:>6}", tests.len() - failed.len(), failed.len()));
        let lab = lab_files.contains(&binary.as_str());
        for (name, result) in tests {
            if lab && result.passed {
                problems.push(format!("{binary}::{name} passes on a skeleton whose bodies are all todo!()"));
            }
        }
        for (name, result) in failed {
            if !result.output.contains(TODO_MESSAGE) {
                let head: Vec<&str> = result.output.lines().take(8).collect();
                problems
                    .push(format!("{binary}::{name} fails, but not on a missing body:\n    {}", head.join("\n    ")));
            } else if result.output.contains("deadlock") {
                problems.push(format!("{binary}::{name} reports a deadlock beside its missing body"));
            } else if lab && example.is_none() {
                example = Some(format!("{binary}::{name}:\n{}", result.output.trim_end()));
            }
        }
    }
    if let Some(example) = example {
        table.push_str(&format!("\nhow a lab test fails, {example}"));
    }
    Verdict { table, problems }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
     Running tests/raft_3a.rs (target/skeleton/target/debug/deps/raft_3a-0123abcd)

running 2 tests
test initial_election_3a ... FAILED
test re_election_3a ... FAILED

failures:

---- initial_election_3a stdout ----
simulation failed (seed 1, virtual time 0.000s): not yet implemented: Raft::make

---- re_election_3a stdout ----
deadlock: no thread can run

failures:
    initial_election_3a
    re_election_3a

test result: FAILED. 0 passed; 2 failed
     Running unittests src/lib.rs (target/skeleton/target/debug/deps/labrpc-89ab)

running 1 test
test sched::tests::order ... ok
";

    #[test]
    fn failures_are_judged_by_their_output() {
        let results = parse(LOG);
        assert_eq!(results.keys().collect::<Vec<_>>(), ["labrpc", "raft_3a"]);
        assert!(results["raft_3a"]["initial_election_3a"].output.contains("not yet implemented: Raft::make"));
        let verdict = judge(&results, &["raft_3a", "raft_3b"]);
        assert_eq!(verdict.problems.len(), 2, "{:?}", verdict.problems);
        assert!(verdict.problems[0].starts_with("raft_3b: the lab test file did not run"));
        assert!(verdict.problems[1].starts_with("raft_3a::re_election_3a fails, but not on a missing body"));
        assert!(verdict.table.contains("how a lab test fails, raft_3a::initial_election_3a"), "{}", verdict.table);
    }

    #[test]
    fn a_lab_test_that_passes_on_the_skeleton_is_reported() {
        let results = parse("     Running tests/lab2_kvsrv.rs (x/lab2_kvsrv-1)\ntest basic_2 ... ok\n");
        let verdict = judge(&results, &["lab2_kvsrv"]);
        assert_eq!(verdict.problems, ["lab2_kvsrv::basic_2 passes on a skeleton whose bodies are all todo!()"]);
    }
}
