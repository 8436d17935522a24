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
