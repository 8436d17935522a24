//! How fast the simulator runs the Raft lab: `cargo run --release -p labtests --example raft_bench`.
//!
//! Runs every 3A-3D scenario once, with its default seed (the one plain `cargo test` uses), one
//! after another on this thread, and prints each scenario's virtual and wall time, the totals,
//! and their ratio: virtual seconds simulated per wall second.
// Wall time is what this benchmark measures; it never feeds back into a run.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use labrpc::sim;
use labtests::scenario;

fn main() -> ExitCode {
    let scenarios: Vec<_> =
        scenario::all().into_iter().filter(|s| ["3a", "3b", "3c", "3d"].contains(&s.phase)).collect();
    let (mut virtual_total, mut wall_total) = (Duration::ZERO, Duration::ZERO);
    let mut rows = Vec::new();
    for s in &scenarios {
        let seed = sim::seed_from_name(s.name);
        let wall = Instant::now();
        let report = match sim::run(seed, &s.config(), s.run) {
            Ok(report) => report,
            Err(failure) => {
                eprintln!("{} failed:\n{failure}", s.name);
                return ExitCode::FAILURE;
            }
        };
        let wall = wall.elapsed();
        virtual_total += report.virtual_time;
        wall_total += wall;
        rows.push((s.name, seed, report.virtual_time, wall));
    }
    println!();
    println!("{:<34} {:>20} {:>10} {:>10} {:>10}", "scenario", "seed", "virtual s", "wall s", "ratio");
    for (name, seed, virtual_time, wall) in rows {
        let ratio = virtual_time.as_secs_f64() / wall.as_secs_f64().max(1e-9);
        println!(
            "{name:<34} {seed:>20} {:>10.1} {:>10.3} {ratio:>10.0}",
            virtual_time.as_secs_f64(),
            wall.as_secs_f64()
        );
    }
    println!(
        "suite 3A-3D: {} scenarios, {:.1} virtual s in {:.2} wall s: {:.0} virtual s per wall s",
        scenarios.len(),
        virtual_total.as_secs_f64(),
        wall_total.as_secs_f64(),
        virtual_total.as_secs_f64() / wall_total.as_secs_f64().max(1e-9)
    );
    ExitCode::SUCCESS
}
