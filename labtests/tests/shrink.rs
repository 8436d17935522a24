//! Shrinking (`dstest --shrink`) on a planted bug: a Raft that forgets everything when its server
//! restarts (it is handed a fresh persister instead of its own). It fails `swarm_chaos` only
//! after a crash, so the shrunk schedule must keep a crash and little else, replay exactly
//! through `--faults`, and be harmless to the reference Raft.

use std::process::ExitCode;

use clap::Parser;
use labapi::{ApplyMsg, RaftPeer};
use labrpc::channel::Sender;
use labrpc::net::{ClientEnd, Service};
use labrpc::persister::Persister;
use labrpc::sim::fault_plan::{FaultKind, FaultPlan};
use labtests::dstest::{self, Case};
use labtests::shrink::{self, Check, Schedule};

/// The reference Raft, started from an empty persister every time: amnesia after a crash.
#[derive(Clone)]
struct Amnesiac(raftkv::raft::Raft);

impl RaftPeer for Amnesiac {
    fn make(peers: Vec<ClientEnd>, me: usize, _persister: Persister, apply_tx: Sender<ApplyMsg>) -> Amnesiac {
        Amnesiac(raftkv::raft::Raft::make(peers, me, Persister::new(), apply_tx))
    }
    fn start(&self, command: Vec<u8>) -> Option<(u64, u64)> {
        self.0.start(command)
    }
    fn state(&self) -> (u64, bool) {
        self.0.state()
    }
    fn snapshot(&self, index: u64, snapshot: Vec<u8>) {
        self.0.snapshot(index, snapshot)
    }
    fn service(&self) -> Service {
        self.0.service()
    }
}

/// The Raft scenario `name` run with Raft peer `R`, as dstest runs it.
fn case<R: RaftPeer>(name: &str, implementation: &'static str) -> Case {
    let s = labtests::scenario::raft::<R>().into_iter().find(|s| s.name == name).expect("a scenario of the table");
    let s = labtests::scenario::Scenario { implementation, ..s };
    Case { show_implementation: implementation != labtests::impls::DEFAULT, ..Case::of_scenario(&s) }
}

const CRASHES: [FaultKind; 4] =
    [FaultKind::Crash, FaultKind::CrashAfterReply, FaultKind::CrashMidSave, FaultKind::CrashAfterSave];

#[test]
fn a_forgetful_raft_shrinks_to_a_crash_and_its_schedule_replays_exactly() {
    labtests::set_quiet(true);
    let buggy = case::<Amnesiac>("swarm_chaos", "amnesiac");
    let seed = (1..=40).find(|&s| buggy.run_seed(s, false).is_err()).expect("the amnesiac fails some seed of 40");
    let mut lines = Vec::new();
    let shrunk = shrink::shrink(&buggy, seed, shrink::Options::default(), &mut |l| lines.push(l.to_string())).unwrap();
    let before = shrunk.original.faults.len();
    let after = shrunk.shrunk.faults.len();
    eprintln!("seed {seed}: {} in {} runs; {}", shrunk.before_after(), shrunk.attempts, shrunk.check);
    assert!(before >= 20, "the original run had only {before} faults");
    assert!((1..=6).contains(&after), "shrunk to {after} faults: {:?}", shrunk.shrunk.faults);
    assert!(
        shrunk.shrunk.faults.iter().any(|r| CRASHES.contains(&r.id.kind)),
        "amnesia shows only after a crash, yet the shrunk run has none: {:?}",
        shrunk.shrunk.faults
    );
    assert_eq!(Check::of(&shrunk.shrunk.failure), shrunk.check);
    assert!(shrunk.attempts <= shrink::Options::default().max_attempts);
    assert!(lines[0].contains(&format!("seed {seed} fails")), "{lines:?}");

    // The file replays the shrunk run exactly: same faults, same check, same virtual time.
    let text = shrunk.schedule.render(&shrunk.shrunk.faults);
    let schedule = Schedule::parse(&text, "shrunk.faults").unwrap();
    assert_eq!(schedule, shrunk.schedule);
    let (outcome, injected) = shrink::run_with_plan(&buggy, seed, FaultPlan::only(schedule.faults.iter().copied()));
    let failure = outcome.expect_err("the shrunk schedule passes");
    assert_eq!(Check::of(&failure), shrunk.check);
    assert_eq!(failure.virtual_time, shrunk.shrunk.virtual_time);
    assert_eq!(injected, shrunk.shrunk.faults);

    // The same faults do not fail a correct Raft: what fails is the planted bug.
    let reference = case::<raftkv::raft::Raft>("swarm_chaos", labtests::impls::DEFAULT);
    let (outcome, _) = shrink::run_with_plan(&reference, seed, FaultPlan::only(schedule.faults.iter().copied()));
    assert!(outcome.is_ok(), "the reference fails the shrunk schedule: {}", outcome.unwrap_err());
}

#[test]
fn a_passing_seed_has_nothing_to_shrink() {
    labtests::set_quiet(true);
    let c = case::<raftkv::raft::Raft>("initial_election_3a", labtests::impls::DEFAULT);
    let err = shrink::shrink(&c, 1, shrink::Options::default(), &mut |_| {}).unwrap_err();
    assert!(err.contains("initial_election_3a seed 1 passes"), "{err}");
}

fn dstest_main(args: &[&str]) -> ExitCode {
    let args = dstest::Args::try_parse_from(std::iter::once("dstest").chain(args.iter().copied())).unwrap();
    dstest::run(args, dstest::cases())
}

#[test]
fn replay_refuses_a_malformed_schedule_or_one_of_another_seed() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("shrink_schedules");
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.faults");
    std::fs::write(&bad, "scenario initial_election_3a\nseed 5\npreempt 1\nheld-replies 2\n").unwrap();
    let c = case::<raftkv::raft::Raft>("initial_election_3a", labtests::impls::DEFAULT);
    let err = dstest::shrink::plan_of(&bad, &c, 5).unwrap_err();
    assert!(err.starts_with(&format!("{}:4: unknown fault kind \"held-replies\"", bad.display())), "{err}");
    let other = dir.join("other.faults");
    std::fs::write(&other, "scenario initial_election_3a\nseed 5\npreempt 1\n").unwrap();
    let err = dstest::shrink::plan_of(&other, &c, 6).unwrap_err();
    assert!(err.contains("seed 5") && err.contains("seed 6"), "{err}");
    // Through the command line: bad arguments, exit 2, before anything runs.
    let path = bad.to_str().unwrap();
    assert_eq!(dstest_main(&["--replay", "initial_election_3a", "--seed", "5", "--faults", path]), ExitCode::from(2));
    assert!(dstest::Args::try_parse_from(["dstest", "--faults", path]).is_err(), "--faults without --replay");
    // A schedule for a passing run replays, and the command says so with exit 0.
    let good = dir.join("good.faults");
    std::fs::write(&good, "scenario initial_election_3a\nseed 5\n").unwrap();
    let good = good.to_str().unwrap();
    assert_eq!(dstest_main(&["--replay", "initial_election_3a", "--seed", "5", "--faults", good]), ExitCode::SUCCESS);
}
