//! The sweep runner on a deliberately broken scenario: a toy register whose duplicate filter
//! counts requests instead of remembering them, so a duplicated message makes it drop the next
//! write. The runner must catch it, write its artifacts, and its replay command must reproduce
//! the same failure.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use labrpc::net::{Network, RpcError, Server, Service};
use labrpc::sim::Config;
use labrpc::sync::Mutex;
use labrpc::{node, time, NodeId};
use labtests::dstest::sweep::{self, Observer, RunResult};
use labtests::dstest::{artifacts, report, Case};

/// The broken register: it trusts that request `seq` arrives exactly when its own count of
/// requests says so. A duplicate bumps the count, and the next real write is taken for a
/// retransmission and dropped.
fn toy_register() {
    let net = Network::new();
    net.set_duplicate_per_mille(15);
    let server = node::create("register");
    let state = Arc::new(Mutex::new((0u64, 0u64))); // (requests seen, value)
    let s = state.clone();
    let svc = Service::new("Reg")
        .method("Write", move |(seq, value): (u64, u64)| {
            let mut st = s.lock();
            st.0 += 1;
            if seq + 1 == st.0 {
                st.1 = value;
                tracing::debug!(seq, value, "applied");
            } else {
                tracing::debug!(seq, value, seen = st.0, "ignored as a retransmission");
            }
        })
        .method("Read", {
            let s = state.clone();
            move |(): ()| s.lock().1
        });
    net.add_server("reg", server, Server::new().with_service(svc));
    let end = net.make_end("client", NodeId::MAIN);
    net.connect("client", "reg");
    for seq in 0..40u64 {
        let value = 100 + seq;
        end.call::<(u64, u64), ()>("Reg.Write", &(seq, value)).expect("reliable network");
        time::sleep(Duration::from_millis(10));
        let read: Result<u64, RpcError> = end.call("Reg.Read", &());
        assert_eq!(read, Ok(value), "write {seq} was lost");
    }
}

fn toy_case() -> Case {
    Case {
        name: "toy_register".into(),
        phase: "toy".into(),
        file: "dstest_runner".into(),
        config: Config::default(),
        run: toy_register,
        replay_args: "--include-ignored",
        implementation: "reference".into(),
        show_implementation: false,
    }
}

/// The replay target of the toy's failures; ignored in normal runs because it is broken on purpose.
#[test]
#[ignore = "deliberately broken scenario: run by the dstest runner's replay commands"]
fn toy_register_replay() {
    labrpc::sim::check(&labrpc::target!("toy_register"), Config::default(), toy_register);
}

struct Quiet;
impl Observer for Quiet {
    fn on_result(&self, _: &RunResult) {}
}

#[test]
fn sweep_catches_the_broken_register_and_its_replay_reproduces_it() {
    let cases = vec![toy_case()];
    let options = sweep::Options { runs: 200, first_seed: 1, workers: 2, check_determinism: false, fail_fast: false };
    let results = sweep::sweep(&cases, &options, &Quiet, &AtomicBool::new(false));
    assert_eq!(results.len(), 200);
    let summary = report::summarize(&cases, &results, 1.0);
    let failed = &summary.tests[0].failed_seeds;
    // About 1 - 0.985^80 = 70% of seeds see a duplicate somewhere; some pass, most fail.
    assert!(failed.len() > 50 && failed.len() < 200, "{} of 200 failed", failed.len());
    let seed = failed[0];
    let failure = results.iter().find(|r| r.seed == seed).unwrap().failure.clone().unwrap();
    assert!(failure.contains("was lost"), "{failure}");
    let replay_line = format!(
        "replay: LAB_SEED={seed} cargo test -p labtests --test dstest_runner -- toy_register --exact --include-ignored"
    );
    assert!(failure.ends_with(&replay_line), "{failure}");

    // The artifact: the same failure, then the per-node trace showing the dropped write.
    let dir = std::env::temp_dir().join(format!("dstest-runner-test-{}", std::process::id()));
    let path = artifacts::write_log(&dir, &cases[0], seed, false).unwrap();
    let log = std::fs::read_to_string(&path).unwrap();
    for line in failure.lines() {
        assert!(log.contains(line), "the replayed failure lacks `{line}`:\n{log}");
    }
    assert!(log.contains(" register ") && log.contains("ignored as a retransmission"), "{log}");
    std::fs::remove_dir_all(&dir).unwrap();

    // The replay command, run as the test binary it names, fails the same way.
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "toy_register_replay", "--include-ignored", "--nocapture", "--test-threads=1"])
        .env("LAB_SEED", seed.to_string())
        .env_remove("LAB_RUNS")
        .env_remove("LAB_CHECK_DETERMINISM")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first_line = failure.lines().next().unwrap();
    assert!(stderr.contains(first_line), "replay did not reproduce `{first_line}`:\n{stderr}");
}

#[test]
fn determinism_check_reruns_each_seed_and_keeps_its_verdict() {
    let cases = vec![toy_case()];
    for seed in 1..=20 {
        let once = sweep::run_one(&cases, 0, seed, false);
        let twice = sweep::run_one(&cases, 0, seed, true);
        // The toy is deterministic: checking changes no verdict and never reports a mismatch.
        assert_eq!(once.failure.is_some(), twice.failure.is_some(), "seed {seed}");
        if let Some(f) = &twice.failure {
            assert!(!f.contains("nondeterminism") && f.contains("LAB_CHECK_DETERMINISM=1"), "{f}");
        }
    }
}

/// Raised by `must_not_run`: a run started.
static RAN: AtomicBool = AtomicBool::new(false);

fn must_not_run() {
    RAN.store(true, std::sync::atomic::Ordering::Relaxed);
}

#[test]
fn bad_output_paths_fail_before_the_sweep_starts() {
    use clap::Parser;
    use std::process::ExitCode;
    let cases = || vec![Case { name: "must_not_run".into(), run: must_not_run, ..toy_case() }];
    let tmp = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dstest_bad_paths");
    std::fs::create_dir_all(&tmp).unwrap();
    let file = tmp.join("a_file");
    std::fs::write(&file, "").unwrap();
    let under_file = file.join("sub");
    let args = |extra: &[&str]| {
        let mut argv = vec!["dstest", "-n", "3", "-p", "1"];
        argv.extend_from_slice(extra);
        labtests::dstest::Args::parse_from(argv)
    };
    let logs = tmp.join("logs");
    let (under_file, logs) = (under_file.to_str().unwrap(), logs.to_str().unwrap());
    assert_eq!(labtests::dstest::run(args(&["-o", under_file]), cases()), ExitCode::from(2));
    assert_eq!(labtests::dstest::run(args(&["-o", logs, "--json", under_file]), cases()), ExitCode::from(2));
    assert!(!RAN.load(std::sync::atomic::Ordering::Relaxed), "a run started despite a bad path");
    // The binary says what was wrong in one line: the flag, the path and the OS error.
    let dstest = |argv: &[&str], env: &[(&str, &str)]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_dstest"));
        command.args(argv).env_remove("LAB_SEED").env_remove("LAB_RUNS").env_remove("LAB_CHECK_DETERMINISM");
        let out = command.envs(env.iter().copied()).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{argv:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    let err = dstest(&["figure8", "-n", "1", "-o", under_file], &[]);
    assert!(err.starts_with(&format!("error: -o {under_file}: cannot create the log directory: ")), "{err}");
    let err = dstest(&["figure8", "-n", "1", "-o", logs, "--json", under_file], &[]);
    assert!(err.starts_with(&format!("error: --json {under_file}: cannot open for writing: ")), "{err}");
    // The other bad inputs of the same issue, end to end.
    let err = dstest(&["figure8", "-n", "1"], &[("LAB_RUNS", "300")]);
    assert_eq!(err, "error: LAB_RUNS=\"300\" is not read by dstest: use -n/--runs instead (or unset LAB_RUNS)\n");
    let err = dstest(&["--replay", "initial"], &[]);
    assert!(err.contains("no scenario has exactly that name; did you mean initial_election_3a?"), "{err}");
    let err = dstest(&["raft_3x"], &[]);
    assert!(err.contains("did you mean raft_3a"), "{err}");
    // A good pair of paths is created before any run: the directory and an empty JSON file.
    let json = tmp.join("summary.json");
    let _ = std::fs::remove_file(&json);
    let ok = labtests::dstest::run(args(&["-o", logs, "--json", json.to_str().unwrap()]), vec![toy_case()]);
    assert!(ok == ExitCode::from(1) || ok == ExitCode::SUCCESS);
    let summary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(summary["total_runs"], 3);
}
