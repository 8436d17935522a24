//! How fast the simulator runs whole lab suites, per family, in the units MadRaft's suites are
//! compared in: `cargo run --release -p labtests --example suite_bench [FAMILY...] [--rows]`.
//!
//! Runs every scenario of each family once, with its default seed (the one plain `cargo test`
//! uses), one after another on this one OS thread, and prints per family the virtual seconds
//! simulated, the wall seconds and the CPU seconds of this thread, and their ratios. Families:
//! `raft` (3A-3D, comparable with MadRaft's `raft::tests`), `kvraft` (4A+4B, comparable with its
//! `kvraft::tests`), `lab2` (the key/value server of lab 2), `beyond` (beyond the labs and
//! chaos), `shardctrler` (5A) and `shardkv` (5B). `scripts/madraft-compare` runs this and MadRaft's suites side by side.
//!
//! The last lines, one per family, are for scripts: `family NAME scenarios N virtual_s V wall_s W
//! cpu_s C`. On a shared machine compare CPU seconds: wall seconds include the time other
//! processes held the core.
// Wall and CPU time are what this benchmark measures; they never feed back into a run.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use labrpc::sim;
use labtests::scenario::{self, Scenario};

// As dstest does, so the lab 2 memory scenarios can measure the server's bytes.
labrpc::count_allocations!();

/// Family name and the phases it runs.
const FAMILIES: [(&str, &[&str]); 6] = [
    ("raft", &["3a", "3b", "3c", "3d"]),
    ("kvraft", &["4a", "4b"]),
    ("lab2", &["2"]),
    ("beyond", &["beyond", "chaos"]),
    ("shardctrler", &["5a"]),
    ("shardkv", &["5b"]),
];

/// What one family cost.
#[derive(Default)]
struct Totals {
    scenarios: usize,
    virtual_time: Duration,
    wall: Duration,
    cpu: Duration,
}

/// CPU time this OS thread has run, from Linux's per-thread scheduler statistics (nanoseconds
/// on CPU is the first field); `None` where that file does not exist.
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn usage(problem: &str) -> ExitCode {
    let names: Vec<&str> = FAMILIES.iter().map(|(name, _)| *name).collect();
    eprintln!("suite_bench: {problem}\nusage: suite_bench [FAMILY...] [--rows]   (families: {})", names.join(", "));
    ExitCode::from(2)
}

/// Runs `s` once with its default seed; prints the failure and returns `None` if it fails. Its
/// own CPU time is read (two reads of a /proc file, about 1% of the Raft family's process) only
/// for `--rows`; families read theirs once.
fn run_one(s: &Scenario, rows: bool) -> Option<(Duration, Duration)> {
    let seed = sim::seed_from_name(s.name);
    let (wall, cpu) = (Instant::now(), if rows { thread_cpu() } else { None });
    let report = sim::run(seed, &s.config(), s.run);
    labtests::cluster::release_networks();
    let report = match report {
        Ok(report) => report,
        Err(failure) => {
            eprintln!("{} failed:\n{failure}", s.name);
            return None;
        }
    };
    let wall = wall.elapsed();
    if rows {
        let cpu = cpu_since(cpu, wall);
        println!(
            "  {:<66} {:>8.1} virtual s {:>8.3} wall s {:>8.3} cpu s",
            s.name,
            report.virtual_time.as_secs_f64(),
            wall.as_secs_f64(),
            cpu.as_secs_f64()
        );
    }
    Some((report.virtual_time, wall))
}

/// CPU time since `before` (a `thread_cpu` reading), or `wall` where there is none.
fn cpu_since(before: Option<Duration>, wall: Duration) -> Duration {
    match (before, thread_cpu()) {
        (Some(before), Some(after)) => after.saturating_sub(before),
        _ => wall,
    }
}

fn main() -> ExitCode {
    let mut rows = false;
    let mut chosen: Vec<(&str, &[&str])> = Vec::new();
    for arg in std::env::args().skip(1) {
        if arg == "--rows" {
            rows = true;
        } else if let Some(family) = FAMILIES.iter().find(|(name, _)| *name == arg) {
            chosen.push(*family);
        } else {
            return usage(&format!("unknown family or flag {arg:?}"));
        }
    }
    if chosen.is_empty() {
        chosen = FAMILIES.to_vec();
    }
    if thread_cpu().is_none() {
        eprintln!("suite_bench: no /proc/thread-self/schedstat here, so CPU seconds show wall seconds");
    }
    let all = scenario::all();
    let mut results = Vec::new();
    for (family, phases) in chosen {
        let mut totals = Totals::default();
        let cpu = thread_cpu();
        for s in all.iter().filter(|s| phases.contains(&s.phase)) {
            let Some((virtual_time, wall)) = run_one(s, rows) else { return ExitCode::FAILURE };
            totals.scenarios += 1;
            totals.virtual_time += virtual_time;
            totals.wall += wall;
        }
        totals.cpu = cpu_since(cpu, totals.wall);
        assert!(totals.scenarios > 0, "family {family} selects no scenario: the phase names in FAMILIES are stale");
        let (v, w, c) = (totals.virtual_time.as_secs_f64(), totals.wall.as_secs_f64(), totals.cpu.as_secs_f64());
        println!(
            "{family:<11} {:>3} scenarios: {v:>8.1} virtual s, {w:>7.3} wall s, {c:>7.3} cpu s: \
             {:>6.0} virtual s per wall s, {:>6.0} per cpu s",
            totals.scenarios,
            v / w.max(1e-9),
            v / c.max(1e-9)
        );
        results.push((family, totals));
    }
    for (family, t) in results {
        println!(
            "family {family} scenarios {} virtual_s {:.3} wall_s {:.4} cpu_s {:.4}",
            t.scenarios,
            t.virtual_time.as_secs_f64(),
            t.wall.as_secs_f64(),
            t.cpu.as_secs_f64()
        );
    }
    ExitCode::SUCCESS
}
