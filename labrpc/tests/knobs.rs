//! Environment knobs: parsing, and one clear line for a bad value.

use std::time::Duration;

use labrpc::sim::{seeds, Knobs};

fn parse(pairs: &[(&str, &str)]) -> Result<Knobs, String> {
    let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Knobs::from_lookup(|var| pairs.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone())).map_err(|e| e.to_string())
}

#[test]
fn good_values_parse() {
    let k = parse(&[
        ("LAB_SEED", "0x10"),
        ("LAB_RUNS", "500"),
        ("LAB_CHECK_DETERMINISM", "1"),
        ("LAB_TIME_LIMIT", "2.5"),
        ("LAB_SPIN_LIMIT", "0"),
    ])
    .unwrap();
    assert_eq!(k.seed, Some(16));
    assert_eq!(k.runs, 500);
    assert!(k.check_determinism);
    assert_eq!(k.time_limit, Some(Duration::from_millis(2500)));
    assert_eq!(k.spin_limit, Some(Duration::ZERO));
    assert_eq!(seeds(&k, "x"), 16..516);
    let defaults = parse(&[]).unwrap();
    assert_eq!(defaults, Knobs::default());
    // Without LAB_SEED the seed comes from the test name: stable, and different per test.
    assert_eq!(seeds(&defaults, "a"), seeds(&defaults, "a"));
    assert_ne!(seeds(&defaults, "a"), seeds(&defaults, "b"));
}

#[test]
fn bad_values_name_the_variable_and_what_it_accepts() {
    let errors: Vec<String> = [
        ("LAB_SEED", "seventeen"),
        ("LAB_RUNS", "0"),
        ("LAB_RUNS", "-3"),
        ("LAB_CHECK_DETERMINISM", "maybe"),
        ("LAB_TIME_LIMIT", "0"),
        ("LAB_TIME_LIMIT", "10s"),
        ("LAB_SPIN_LIMIT", "-1"),
    ]
    .iter()
    .map(|&(k, v)| parse(&[(k, v)]).unwrap_err())
    .collect();
    insta::assert_snapshot!(errors.join("\n"));
}

#[test]
#[ignore = "run as a child process by bad_knob_fails_the_test_with_one_line_under_plain_cargo_test"]
fn child_uses_knobs() {
    labrpc::sim::check(&labrpc::target!("child_uses_knobs"), labrpc::sim::Config::default(), || {});
}

/// What a user sees after `LAB_RUNS=lots cargo test`: libtest captures a test's output and shows
/// it only for a failed test, so the error must reach it as the test's panic, not as an exit.
#[test]
fn bad_knob_fails_the_test_with_one_line_under_plain_cargo_test() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "child_uses_knobs", "--test-threads=1"])
        .env("LAB_RUNS", "lots")
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(101), "a failed test, not an exit");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let shown: Vec<&str> = stdout
        .lines()
        .skip_while(|l| *l != "---- child_uses_knobs stdout ----")
        .skip(1)
        .take_while(|l| *l != "failures:")
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(shown.len(), 3, "stdout: {stdout}");
    // The location is the test's own call of `sim::check`, not the simulator's internals.
    // (Recent toolchains print the thread's id after its name.)
    assert!(shown[0].starts_with("thread 'child_uses_knobs' "), "{stdout}");
    assert!(shown[0].contains(" panicked at labrpc/tests/knobs.rs:"), "{stdout}");
    assert_eq!(shown[1], r#"error: LAB_RUNS="lots" is not valid: expected a whole number of runs from 1 to 100000000"#);
    assert!(shown[2].starts_with("note: run with `RUST_BACKTRACE=1`"), "{stdout}");
}
