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
#[ignore = "run as a child process by bad_knob_exits_with_one_line"]
fn child_uses_knobs() {
    labrpc::sim::check(&labrpc::target!("child_uses_knobs"), labrpc::sim::Config::default(), || {});
}

#[test]
fn bad_knob_exits_with_one_line() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "child_uses_knobs", "--nocapture", "--test-threads=1"])
        .env("LAB_RUNS", "lots")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines,
        vec![r#"error: LAB_RUNS="lots" is not valid: expected a whole number of runs from 1 to 100000000"#],
        "stderr: {stderr}"
    );
}
