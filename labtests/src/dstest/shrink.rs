//! dstest's `--shrink SCENARIO --seed S` (shrink a failing seed to its fewest faults, see
//! `crate::shrink`) and `--replay SCENARIO --seed S --faults FILE` (replay a shrunk schedule).

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use labrpc::sim::fault_plan::FaultPlan;

use super::{filter, Case};
use crate::shrink::{self, Check, Schedule};

/// Shrinks `seed` of the scenario `name`, writes its schedule into `dir` and prints the replay
/// command, the faults and virtual time before and after, and the shrunk run's failure.
pub fn shrink_command(cases: &[Case], name: &str, seed: u64, dir: &Path, options: shrink::Options) -> ExitCode {
    let case = match filter::replay_target(cases, name) {
        Ok(case) => case,
        Err(message) => {
            eprintln!("error: {}", message.replace("--replay", "--shrink"));
            return ExitCode::from(2);
        }
    };
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("error: -o {}: cannot create the directory: {e}", dir.display());
        return ExitCode::from(2);
    }
    crate::set_quiet(true);
    #[allow(clippy::disallowed_types, clippy::disallowed_methods)] // wall time of the shrink, reported only
    let started = std::time::Instant::now();
    // Views of failing kv attempts go to a scratch folder, not next to the sweep's logs.
    let views = std::env::temp_dir().join("dstest-shrink-views");
    let outcome =
        lincheck::with_view_dir(&views, || shrink::shrink(case, seed, options, &mut |line| println!("{line}")));
    let shrunk = match outcome {
        Ok(shrunk) => shrunk,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let path = dir.join(format!("{}-seed{seed}.faults", case.label().replace('/', ".")));
    if let Err(e) = std::fs::write(&path, shrunk.schedule.render(&shrunk.shrunk.faults)) {
        eprintln!("error: cannot write {}: {e}", path.display());
        return ExitCode::from(2);
    }
    println!("replay: {}", replay_command(case, seed, &path));
    println!(
        "shrunk {} seed {seed}: {} ({} runs, {:.1} s virtual in all, {:.1} s wall){}",
        case.label(),
        shrunk.before_after(),
        shrunk.attempts,
        shrunk.virtual_spent.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        if shrunk.complete { "" } else { "; stopped by the attempt or virtual time bound, not 1-minimal" }
    );
    println!("still fails {}; the faults kept:", shrunk.check);
    for line in shrunk.schedule.render(&shrunk.shrunk.faults).lines().filter(|l| !l.starts_with('#')) {
        if !["scenario ", "impl ", "seed ", "check "].iter().any(|h| line.starts_with(h)) {
            println!("  {line}");
        }
    }
    println!("{}", shrunk.shrunk.failure);
    ExitCode::SUCCESS
}

/// The command that replays `seed` of `case` under the fault schedule in `faults` (only dstest
/// reads schedules, so never the `cargo test` line of an unshrunk failure).
pub fn replay_command(case: &Case, seed: u64, faults: &Path) -> String {
    let impl_flag = if case.show_implementation || case.implementation != crate::impls::DEFAULT {
        format!(" --impl {}", case.implementation)
    } else {
        String::new()
    };
    format!("scripts/dstest{impl_flag} --replay {} --seed {seed} --faults {}", case.name, faults.display())
}

/// The plan of `--faults FILE` for replaying `case` at `seed`, and the schedule it came from.
pub fn plan_of(path: &Path, case: &Case, seed: u64) -> Result<(FaultPlan, Schedule), String> {
    let schedule = Schedule::read(path)?;
    schedule.matches(&case.name, &case.implementation, seed, &path.display().to_string())?;
    Ok((FaultPlan::only(schedule.faults.iter().copied()), schedule))
}

/// After a `--faults` replay: how many of the listed faults happened, and whether the run failed
/// the check the schedule names.
pub fn describe_replay(schedule: &Schedule, plan: &FaultPlan, failure: Option<&labrpc::sim::Failure>) -> String {
    let injected = plan.injected();
    let mut out = format!(
        "fault schedule: {} of its {} faults happened ({})",
        injected.len(),
        schedule.faults.len(),
        shrink::count_by_kind(&injected)
    );
    if let (Some(expected), Some(failure)) = (&schedule.check, failure) {
        let check = Check::of(failure);
        if check.as_str() == expected {
            out.push_str(&format!("; it fails the schedule's check, {check}"));
        } else {
            out.push_str(&format!("; it fails {check}, but the schedule says {expected}"));
        }
    } else if schedule.check.is_some() {
        out.push_str("; the run passed, though the schedule names a failing check");
    }
    out
}

/// The bounds given on the command line.
pub fn options(max_attempts: u32, max_virtual_s: u64) -> shrink::Options {
    shrink::Options { max_attempts, max_virtual: Duration::from_secs(max_virtual_s) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_replays_with_dstest_and_its_file() {
        let case = super::super::case::for_tests("figure8_3c", "3c", "raft_3c");
        let command = replay_command(&case, 7, Path::new("out/figure8_3c-seed7.faults"));
        assert_eq!(command, "scripts/dstest --replay figure8_3c --seed 7 --faults out/figure8_3c-seed7.faults");
        let other = Case { implementation: "reference-b".into(), ..case };
        assert!(replay_command(&other, 7, Path::new("f")).starts_with("scripts/dstest --impl reference-b --replay"));
    }
}
