//! Every failure the simulator reports: deadlock (holder and waiter named), panic (message and
//! location), spin, livelock, time limit, self-deadlock; each names seed, virtual time, node and
//! thread, and ends with the command that replays it.

use std::sync::Arc;
use std::time::Duration;

use labrpc::sim::{self, Config, Failure, FailureKind, Knobs};
use labrpc::sync::Mutex;
use labrpc::{node, thread, time};

fn fail_with(name: &str, config: Config, body: impl FnOnce() + Clone + 'static) -> Failure {
    let target = labrpc::sim::Target::from_crate("labrpc", "diagnostics", name);
    let knobs = Knobs { seed: Some(42), ..Knobs::default() };
    sim::check_with(&target, config, &knobs, body).expect_err("the run should fail").without_backtrace()
}

#[test]
fn deadlock_names_holders_and_waiters() {
    let failure = fail_with("deadlock_names_holders_and_waiters", Config::default(), || {
        let a = Arc::new(Mutex::new(()));
        let b = Arc::new(Mutex::new(()));
        let n = node::create("server");
        let (a2, b2) = (a.clone(), b.clone());
        let other = thread::Builder::new().name("worker").node(n).spawn(move || {
            let _gb = b2.lock();
            time::sleep(Duration::from_millis(5));
            let _ga = a2.lock();
        });
        let _ga = a.lock();
        time::sleep(Duration::from_millis(5));
        let _gb = b.lock();
        other.join().unwrap();
    });
    assert!(matches!(*failure.kind, FailureKind::Deadlock { .. }));
    insta::assert_snapshot!(failure.to_string());
}

#[test]
fn panic_names_message_location_node_and_thread() {
    let failure = fail_with("panic_names_message_location_node_and_thread", Config::default(), || {
        let n = node::create("server-1");
        thread::Builder::new().name("ticker").node(n).spawn(|| {
            time::sleep(Duration::from_millis(1500));
            let v: Vec<u32> = Vec::new();
            let i = v.len() + 2;
            panic!("index {i} out of range for a log of {} entries", v.len());
        });
        time::sleep(Duration::from_secs(10));
    });
    match &*failure.kind {
        FailureKind::Panic(p) => assert!(p.location.as_deref().unwrap().starts_with("labrpc/tests/diagnostics.rs:")),
        other => panic!("expected a panic, got {other:?}"),
    }
    insta::assert_snapshot!(failure.to_string());
}

#[test]
fn blocking_real_call_is_reported_as_spin() {
    let config = Config { spin_limit: Duration::from_millis(100), ..Config::default() };
    let failure = fail_with("blocking_real_call_is_reported_as_spin", config, || {
        let n = node::create("server");
        thread::Builder::new().name("sleeper").node(n).spawn(|| {
            // A real blocking call: the simulation cannot run anything else meanwhile.
            #[allow(clippy::disallowed_methods)]
            std::thread::sleep(Duration::from_millis(400));
            time::sleep(Duration::from_millis(1));
        });
        time::sleep(Duration::from_secs(1));
    });
    assert!(matches!(*failure.kind, FailureKind::Spin { .. }));
    insta::assert_snapshot!(failure.to_string());
}

#[test]
fn livelock_without_time_advancing_is_reported() {
    let config = Config { max_steps_per_instant: 10_000, ..Config::default() };
    let failure = fail_with("livelock_without_time_advancing_is_reported", config, || {
        let n = node::create("server");
        thread::Builder::new().name("spinner").node(n).spawn(|| loop {
            thread::yield_now();
        });
        time::sleep(Duration::from_secs(1));
    });
    assert!(matches!(*failure.kind, FailureKind::Livelock { .. }));
    insta::assert_snapshot!(failure.to_string());
}

#[test]
fn time_limit_names_the_virtual_time_and_blocked_threads() {
    let config = Config { time_limit: Duration::from_secs(30), ..Config::default() };
    let failure = fail_with("time_limit_names_the_virtual_time_and_blocked_threads", config, || {
        let (_tx, rx) = labrpc::channel::unbounded::<()>();
        thread::Builder::new().name("heartbeat").spawn(|| loop {
            time::sleep(Duration::from_millis(100));
        });
        let _ = rx.recv();
    });
    assert!(matches!(*failure.kind, FailureKind::TimeLimit { .. }));
    assert_eq!(failure.virtual_time, Duration::from_secs(30));
    insta::assert_snapshot!(failure.to_string());
}

#[test]
fn relocking_a_held_mutex_is_named() {
    let failure = fail_with("relocking_a_held_mutex_is_named", Config::default(), || {
        let m = Mutex::new(1);
        let _g = m.lock();
        let _g2 = m.lock();
    });
    insta::assert_snapshot!(failure.to_string());
}

/// A server "kv-0" on its own node offering `KV.Get` through `get`, and a client end to it.
fn kv_server(get: impl Fn(String) -> String + Send + Sync + 'static) -> labrpc::net::ClientEnd {
    use labrpc::net::{Network, Server, Service};
    let net = Network::new();
    let n = node::create("kv-0");
    net.add_server("kv-0", n, Server::new().with_service(Service::new("KV").method("Get", get)));
    let end = net.make_end("c", labrpc::NodeId::MAIN);
    net.connect("c", "kv-0");
    end
}

#[test]
fn panicking_rpc_handler_fails_the_run() {
    let failure = fail_with("panicking_rpc_handler_fails_the_run", Config::default(), || {
        let end = kv_server(|key| panic!("no such key {key:?}"));
        let _ = end.call::<String, String>("KV.Get", &"x".to_string());
    });
    insta::assert_snapshot!(failure.to_string());
}

#[test]
fn wrong_rpc_types_and_unknown_methods_are_named() {
    let unknown = fail_with("wrong_rpc_types_and_unknown_methods_are_named", Config::default(), || {
        let _ = kv_server(|key| key).call::<u64, String>("KV.Put", &1);
    });
    insta::assert_snapshot!("unknown_method", unknown.to_string());
    let mismatch = fail_with("wrong_rpc_types_and_unknown_methods_are_named", Config::default(), || {
        let _ = kv_server(|key| key).call::<String, u64>("KV.Get", &"\u{1F980}".to_string());
    });
    insta::assert_snapshot!("type_mismatch", mismatch.to_string());
}

#[test]
fn check_panics_with_seed_and_replay_command() {
    // The knob-driven entry point, as tests use it: the panic message carries the replay line.
    let result = std::panic::catch_unwind(|| {
        sim::check(&labrpc::target!("check_panics_with_seed_and_replay_command"), Config::default(), || {
            thread::spawn(|| panic!("boom")).join().ok();
        })
    });
    let payload = result.expect_err("check should panic");
    let message = payload.downcast_ref::<String>().unwrap();
    assert!(message.contains("panicked at labrpc/tests/diagnostics.rs:"), "{message}");
    assert!(message.contains("    boom\n"), "{message}");
    let replay = message.lines().last().unwrap();
    assert!(replay.starts_with("replay: LAB_SEED="), "{replay}");
    assert!(
        replay
            .ends_with("cargo test -p labrpc --test diagnostics -- check_panics_with_seed_and_replay_command --exact"),
        "{replay}"
    );
}

/// Run by `pure_spin_aborts_with_a_diagnostic` in a child process: a loop that never reaches a
/// simulator call cannot be stopped from inside, so the watchdog aborts the process.
#[test]
#[ignore = "run as a child process by pure_spin_aborts_with_a_diagnostic"]
fn child_pure_spin() {
    let config = Config { spin_limit: Duration::from_millis(200), ..Config::default() };
    sim::check(&labrpc::target!("child_pure_spin"), config, || {
        let n = node::create("server-2");
        // Threads that ended first: the spinner takes over one of their task slots, and the
        // watchdog's names for that slot must be the spinner's.
        for i in 0..3 {
            thread::Builder::new().name(format!("short-{i}")).node(n).spawn(|| {}).join().unwrap();
        }
        thread::Builder::new().name("busy-loop").node(n).spawn(|| {
            let mut x = 0u64;
            loop {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        });
        time::sleep(Duration::from_secs(1));
    });
}

#[test]
fn pure_spin_aborts_with_a_diagnostic() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "child_pure_spin", "--nocapture"])
        .env("LAB_SEED", "9")
        .env_remove("LAB_RUNS")
        .env_remove("LAB_CHECK_DETERMINISM")
        .env_remove("LAB_SPIN_LIMIT")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().find(|l| l.contains("spin detected")).unwrap_or_else(|| panic!("stderr: {stderr}"));
    assert!(line.contains("thread 'busy-loop'") && line.contains("on node 'server-2'"), "{line}");
    assert!(line.contains("(seed 9, virtual time 0.000s)"), "{line}");
    assert!(
        stderr.contains("replay: LAB_SEED=9 cargo test -p labrpc --test diagnostics -- child_pure_spin --exact"),
        "{stderr}"
    );
}

#[test]
#[ignore = "run as a child process by replay_line_comes_before_the_backtrace"]
fn child_panics_in_a_simulated_thread() {
    sim::check(&labrpc::target!("child_panics_in_a_simulated_thread"), Config::default(), || {
        thread::Builder::new().name("applier").spawn(|| panic!("applied out of order")).join().ok();
    });
}

/// With RUST_BACKTRACE=1 a report carries the simulated thread's backtrace (about 125 frames)
/// and the test thread's after it: the seed and the replay command must come before both.
#[test]
fn replay_line_comes_before_the_backtrace() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "child_panics_in_a_simulated_thread", "--test-threads=1"])
        .env("RUST_BACKTRACE", "1")
        .env("LAB_SEED", "7")
        .env_remove("LAB_RUNS")
        .env_remove("LAB_CHECK_DETERMINISM")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(101));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> =
        stdout.lines().skip_while(|l| !l.starts_with("---- child_panics_in_a_simulated_thread")).collect();
    let position = |wanted: &dyn Fn(&str) -> bool| lines.iter().position(|l| wanted(l));
    let header = position(&|l| l.starts_with("simulation failed (seed 7, ")).unwrap_or_else(|| panic!("{stdout}"));
    let replay_line =
        "replay: LAB_SEED=7 cargo test -p labrpc --test diagnostics -- child_panics_in_a_simulated_thread --exact";
    let replay = position(&|l| l == replay_line).unwrap_or_else(|| panic!("{stdout}"));
    let backtrace = position(&|l| l == "backtrace:" || l == "stack backtrace:").unwrap_or_else(|| panic!("{stdout}"));
    assert!(header < replay && replay < backtrace, "{stdout}");
    assert_eq!(lines[header + 1], "    applied out of order");
    assert_eq!(replay, header + 2, "the replay line follows the panic message: {stdout}");
    // And the report still ends with it, just before the test thread's own backtrace.
    let last_replay = lines.iter().rposition(|l| *l == replay_line).unwrap();
    assert!(last_replay > backtrace, "{stdout}");
}

/// A `todo!()` (the lab's skeleton is full of them) says first what is missing, then where.
#[test]
fn todo_names_what_is_missing_first() {
    let failure = fail_with("todo_names_what_is_missing_first", Config::default(), || {
        let n = node::create("server-0");
        thread::Builder::new().name("ticker").node(n).spawn(|| todo!("Raft::ticker"));
        time::sleep(Duration::from_secs(1));
    });
    let report = failure.to_string();
    let first = report.lines().next().unwrap();
    assert!(
        first.starts_with("simulation failed (seed 42, virtual time 0.000s): not yet implemented: Raft::ticker (reached by thread 'ticker' (#1) on node 'server-0' at labrpc/tests/diagnostics.rs:"),
        "{report}"
    );
}
