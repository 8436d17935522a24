//! Shrinking a failing run to the few faults that matter (`dstest --shrink SCENARIO --seed S`).
//!
//! **Recording.** The failing seed runs once more with a recording fault plan
//! (`labrpc::sim::fault_plan`): every fault decision the simulator's rules (drops, delays,
//! duplicates, held and reordered replies, crash points, preemption) and the chaos fault loop
//! (partitions, disconnects, cuts, pauses, crashes) take is listed with its kind, its ordinal
//! among that kind's decisions, its virtual time and its node and thread. Faults a scenario
//! scripts itself (the crash or disconnect a test is about) are part of the test, not decisions
//! of the seed, and always happen.
//!
//! **Replaying a subset.** A candidate is a set of fault ids; the run keeps exactly those and
//! takes the no-fault outcome at every other decision, after making the same draws (so refusing a
//! fault never shifts the random stream under the decision). Removing a fault changes what
//! happens after it, so an id names "the n-th decision of this kind", not one message across
//! runs; that costs some precision, never exactness: seed + kept set replays bit for bit.
//!
//! **The same check.** A candidate counts only if the run fails the same check as the original:
//! for a panic (every harness check panics), the same source location; for the simulator's own
//! reports, the same kind (deadlock, livelock, time limit, ...). Never the text, which names terms,
//! indices and times that move when faults go.
//!
//! **Search.** First with no faults at all (a bug that needs none), then one kind at a time
//! removed whole (most runs drown in preemptions and request delays that do not matter), then
//! delta debugging (`ddmin`) over what is left. A failing candidate is replaced by the faults its
//! run actually injected (ids it never reached change nothing). The search is bounded by
//! `Options::max_attempts` runs and `Options::max_virtual` virtual time over all of them; when a
//! bound stops it, the smallest failing set so far is the result, marked incomplete.
//!
//! **Result.** A fault schedule file (`schedule`), the faults and virtual time before and after,
//! and the command that replays the shrunk run.

pub mod ddmin;
pub mod schedule;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use labrpc::sim::fault_plan::{FaultId, FaultKind, FaultPlan, FaultRecord};
use labrpc::sim::{Failure, FailureKind, Report};

use crate::dstest::Case;
use ddmin::{ddmin, Trial};
pub use schedule::Schedule;

/// What a failure failed, for deciding whether a smaller run fails "the same way".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check(String);

impl Check {
    pub fn of(failure: &Failure) -> Check {
        Check(match &*failure.kind {
            FailureKind::Panic(p) => match &p.location {
                Some(location) => format!("panic at {location}"),
                // No location: the message's first words are all there is to go by.
                None => {
                    format!("panic: {}", p.message.lines().next().unwrap_or("").chars().take(60).collect::<String>())
                }
            },
            FailureKind::Deadlock { .. } => "deadlock".into(),
            FailureKind::TimeLimit { .. } => "virtual time limit".into(),
            FailureKind::Spin { .. } => "spin".into(),
            FailureKind::Livelock { .. } => "livelock".into(),
            FailureKind::StuckInDestructor { .. } => "stuck in destructor".into(),
            FailureKind::Nondeterminism { .. } => "nondeterminism".into(),
        })
    }

    /// As a schedule file writes it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Bounds of one shrink.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Runs of the scenario, the recording run included.
    pub max_attempts: u32,
    /// Virtual time over every run.
    pub max_virtual: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options { max_attempts: 400, max_virtual: Duration::from_secs(20_000) }
    }
}

/// One run of the seed under a plan.
#[derive(Clone, Debug)]
pub struct Run {
    /// The faults it injected, in the order it met them.
    pub faults: Vec<FaultRecord>,
    pub virtual_time: Duration,
    pub failure: Failure,
}

/// What a shrink found.
#[derive(Clone, Debug)]
pub struct Shrunk {
    pub check: Check,
    pub original: Run,
    pub shrunk: Run,
    /// Runs made, the recording one included, and their virtual time in total.
    pub attempts: u32,
    pub virtual_spent: Duration,
    /// False when a bound stopped the search before it was 1-minimal.
    pub complete: bool,
    pub schedule: Schedule,
}

impl Shrunk {
    /// "412 faults, 8.300 s virtual → 5 faults, 1.200 s virtual".
    pub fn before_after(&self) -> String {
        let side = |r: &Run| format!("{} faults, {:.3} s virtual", r.faults.len(), r.virtual_time.as_secs_f64());
        format!("{} → {}", side(&self.original), side(&self.shrunk))
    }
}

/// Faults per kind: "preempt 310, drop-request 61, crash 2".
pub fn count_by_kind(faults: &[FaultRecord]) -> String {
    let mut counts: BTreeMap<FaultKind, usize> = BTreeMap::new();
    for r in faults {
        *counts.entry(r.id.kind).or_default() += 1;
    }
    let mut counts: Vec<(FaultKind, usize)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

/// Runs `case` at `seed` under `plan`; returns the outcome and the faults injected.
pub fn run_with_plan(case: &Case, seed: u64, plan: FaultPlan) -> (Result<Report<()>, Failure>, Vec<FaultRecord>) {
    let mut case = case.clone();
    case.config.fault_plan = Some(plan.clone());
    let outcome = case.run_seed(seed, false);
    (outcome, plan.injected())
}

/// The runs of one shrink and their bounds.
struct Trials<'a> {
    case: &'a Case,
    seed: u64,
    check: Check,
    options: Options,
    attempts: u32,
    virtual_spent: Duration,
    /// The smallest run that failed the check so far.
    best: Run,
    progress: &'a mut dyn FnMut(&str),
}

impl Trials<'_> {
    fn try_faults(&mut self, keep: &[FaultId]) -> Trial<FaultId> {
        if self.attempts >= self.options.max_attempts || self.virtual_spent >= self.options.max_virtual {
            return Trial::OutOfBudget;
        }
        self.attempts += 1;
        let (outcome, injected) = run_with_plan(self.case, self.seed, FaultPlan::only(keep.iter().copied()));
        let failure = match outcome {
            Ok(report) => {
                self.virtual_spent += report.virtual_time;
                return Trial::Differs;
            }
            Err(failure) => failure,
        };
        self.virtual_spent += failure.virtual_time;
        if Check::of(&failure) != self.check {
            return Trial::Differs;
        }
        let used: Vec<FaultId> = injected.iter().map(|r| r.id).collect();
        if used.len() < self.best.faults.len()
            || (used.len() == self.best.faults.len() && failure.virtual_time < self.best.virtual_time)
        {
            let line = format!(
                "  attempt {}: {} faults ({}), {:.3} s virtual, still fail {}",
                self.attempts,
                used.len(),
                count_by_kind(&injected),
                failure.virtual_time.as_secs_f64(),
                self.check
            );
            (self.progress)(&line);
            self.best = Run { faults: injected, virtual_time: failure.virtual_time, failure };
        }
        Trial::StillFails(used)
    }
}

/// Shrinks the failing `seed` of `case`. Errors: the seed passes, or its recording run does not
/// fail as the plain run did (which would be a fault plan bug). `progress` gets a line per
/// improvement.
pub fn shrink(case: &Case, seed: u64, options: Options, progress: &mut dyn FnMut(&str)) -> Result<Shrunk, String> {
    let plain = case.run_seed(seed, false);
    let (recorded, faults) = run_with_plan(case, seed, FaultPlan::record_all());
    let failure = match (plain, recorded) {
        (Ok(_), Ok(_)) => return Err(format!("{} seed {seed} passes: there is no failure to shrink", case.label())),
        (Err(a), Err(b)) if Check::of(&a) == Check::of(&b) && a.virtual_time == b.virtual_time => b,
        _ => return Err(format!("{} seed {seed} runs differently when its faults are recorded", case.label())),
    };
    let check = Check::of(&failure);
    let original = Run { faults, virtual_time: failure.virtual_time, failure };
    progress(&format!(
        "{} seed {seed} fails {check}: {} faults ({}), {:.3} s virtual",
        case.label(),
        original.faults.len(),
        count_by_kind(&original.faults),
        original.virtual_time.as_secs_f64()
    ));
    let mut trials = Trials {
        case,
        seed,
        check: check.clone(),
        options,
        attempts: 2,
        virtual_spent: original.virtual_time * 2,
        best: original.clone(),
        progress,
    };
    let mut items: Vec<FaultId> = original.faults.iter().map(|r| r.id).collect();
    let mut complete = true;
    // No faults at all, then each kind removed whole, the most frequent first.
    match trials.try_faults(&[]) {
        Trial::StillFails(used) => items = used,
        Trial::OutOfBudget => complete = false,
        Trial::Differs => {
            let mut kinds: Vec<(usize, FaultKind)> = FaultKind::ALL
                .iter()
                .map(|&k| (items.iter().filter(|id| id.kind == k).count(), k))
                .filter(|&(n, _)| n > 0)
                .collect();
            kinds.sort_by(|a, b| b.cmp(a));
            for (_, kind) in kinds {
                if items.iter().all(|id| id.kind != kind) || items.len() < 2 {
                    continue;
                }
                let without: Vec<FaultId> = items.iter().copied().filter(|id| id.kind != kind).collect();
                match trials.try_faults(&without) {
                    Trial::StillFails(used) => items = used,
                    Trial::Differs => {}
                    Trial::OutOfBudget => {
                        complete = false;
                        break;
                    }
                }
            }
        }
    }
    if complete && !items.is_empty() {
        let out = ddmin(items, &mut |keep: &[FaultId]| trials.try_faults(keep));
        complete = out.complete;
    }
    let shrunk = trials.best.clone();
    let schedule = Schedule {
        scenario: case.name.clone(),
        implementation: case.implementation.clone(),
        seed,
        check: Some(check.as_str().to_string()),
        faults: shrunk.faults.iter().map(|r| r.id).collect(),
    };
    Ok(Shrunk {
        check,
        original,
        shrunk,
        attempts: trials.attempts,
        virtual_spent: trials.virtual_spent,
        complete,
        schedule,
    })
}
