//! Fault plans: record every fault a run injects, or let only a chosen subset of them happen.
//! This is what shrinking a failing run (`dstest --shrink`) stands on.
//!
//! **What a fault decision is.** Every place where a seed's randomness decides to inject a fault
//! (the network's rules in `net/faults.rs`, the persister's crash points, preemption at lock and
//! send points, and a harness's own topology faults, which call [`allow`]) first draws exactly as
//! it always did, and only when the draw says "fault" asks the run's plan whether this one may
//! happen. Without a plan (`Config::fault_plan` is `None`, the default) the answer is yes at the
//! cost of one pointer test, and nothing is drawn, recorded or scheduled: a seed runs as it did
//! before plans existed, so pinned traces do not move.
//!
//! **How a decision is named.** By its kind and its ordinal among the decisions of that kind in
//! the run: `drop-request 17` is the 18th time the network drew a request drop. The ordinal
//! counts decisions whether or not the plan lets them happen, and a refused decision still made
//! every draw the injected one would have made, so refusing a fault never shifts the random
//! stream under the decision itself. Afterwards the run does diverge (a delivered message causes
//! different events than a dropped one), so "drop-request 17" of a reduced run may be a different
//! message than in the original; that costs shrinking some precision, never exactness: a plan
//! (seed + kept set) replays bit for bit, because each run counts its own decisions the same way.
//! Preemption draws come from the scheduling stream and the rest from the world stream, as
//! before; neither gains or loses a draw from a plan.
//!
//! **What a plan keeps.** `FaultPlan::record_all()` lets every fault happen and records each one
//! (kind, ordinal, virtual time, node, thread, a harness's detail). `FaultPlan::only(ids)` lets
//! exactly the named decisions happen and turns every other would-be fault into the no-fault
//! outcome (deliver, no delay, no crash, no yield, no partition change). A kept id the run never
//! reaches changes nothing. Records are per run: each `sim::run` with the plan starts a new log.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::sched::{try_current, Runtime};

macro_rules! fault_kinds {
    ($($variant:ident = $name:literal: $doc:literal,)*) => {
        /// Every kind of fault decision a run can make.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum FaultKind {
            $(#[doc = $doc] $variant,)*
        }

        impl FaultKind {
            /// Every kind, in the order files and summaries list them.
            pub const ALL: &'static [FaultKind] = &[$(FaultKind::$variant,)*];

            /// The name fault schedule files use.
            pub fn name(self) -> &'static str {
                match self {
                    $(FaultKind::$variant => $name,)*
                }
            }
        }
    };
}

fault_kinds! {
    RequestDelay = "request-delay": "Rule 2: an unreliable network's request delay (above 0 ms).",
    DropRequest = "drop-request": "Rule 2: a request lost.",
    Duplicate = "duplicate": "Rule 3: a request handled twice.",
    DropReply = "drop-reply": "Rule 6: a reply lost.",
    Reorder = "reorder": "Rule 7: a reply held by long reordering.",
    LateDuplicate = "late-duplicate": "Rule 8: a request delivered once more, late.",
    CrashAfterReply = "crash-after-reply": "Rule 9: a server's node crashed right after its reply.",
    HeldReply = "held-reply": "Rule 10: a reply held.",
    CrashMidSave = "crash-mid-save": "Rule 11: a node crashed inside a save.",
    CrashAfterSave = "crash-after-save": "Rule 12: a node crashed right after a save.",
    Preempt = "preempt": "A thread preempted at a lock or send point.",
    Partition = "partition": "Harness: the servers split into two groups.",
    HealPartition = "heal-partition": "Harness: a partition ended, every running server connected.",
    Disconnect = "disconnect": "Harness: one server disconnected.",
    Reconnect = "reconnect": "Harness: one disconnected server connected again.",
    Cut = "cut": "Harness: a one-way link cut.",
    HealCuts = "heal-cuts": "Harness: every one-way cut healed.",
    Pause = "pause": "Harness: a server paused.",
    Crash = "crash": "Harness: a server crashed (restarted later).",
    MaybeAnswer = "maybe-answer": "Harness: a conditional put's answer replaced by ErrMaybe (lab 2's lock scenarios).",
}

impl FaultKind {
    /// The kind named `name` in a schedule file.
    pub fn from_name(name: &str) -> Option<FaultKind> {
        FaultKind::ALL.iter().copied().find(|k| k.name() == name)
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One fault decision: its kind and its ordinal among that kind's decisions in the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FaultId {
    pub kind: FaultKind,
    pub ordinal: u64,
}

impl fmt::Display for FaultId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.ordinal)
    }
}

/// A fault decision as a run met it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultRecord {
    pub id: FaultId,
    /// Whether the plan let it happen.
    pub injected: bool,
    pub time_ns: u64,
    /// The node and thread that made the decision.
    pub node: Arc<str>,
    pub thread: Arc<str>,
    /// What a harness said about it (which servers, how long); empty for the simulator's rules.
    pub detail: String,
}

#[derive(Default)]
struct Log {
    /// Decisions met so far, per kind (indexed like `FaultKind::ALL`).
    counts: Vec<u64>,
    records: Vec<FaultRecord>,
}

/// Which fault decisions of a run may happen, and the log of those the run met. Set it as
/// `Config::fault_plan`; clones share the log, so keep one to read it after the run.
#[derive(Clone)]
pub struct FaultPlan {
    /// None: every fault happens.
    keep: Option<Arc<BTreeSet<FaultId>>>,
    log: Arc<Mutex<Log>>,
}

impl fmt::Debug for FaultPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.keep {
            None => write!(f, "FaultPlan::record_all()"),
            Some(keep) => write!(f, "FaultPlan::only({} faults)", keep.len()),
        }
    }
}

impl FaultPlan {
    /// Every fault happens, and each is recorded.
    pub fn record_all() -> FaultPlan {
        FaultPlan { keep: None, log: Arc::default() }
    }

    /// Only the decisions in `keep` inject their fault; every other one takes the no-fault outcome.
    pub fn only(keep: impl IntoIterator<Item = FaultId>) -> FaultPlan {
        FaultPlan { keep: Some(Arc::new(keep.into_iter().collect())), log: Arc::default() }
    }

    /// Every decision the last run with this plan met, in the order it met them.
    pub fn records(&self) -> Vec<FaultRecord> {
        self.log.lock().records.clone()
    }

    /// The faults the last run injected.
    pub fn injected(&self) -> Vec<FaultRecord> {
        self.log.lock().records.iter().filter(|r| r.injected).cloned().collect()
    }

    /// Called by `sim::run` as a run starts: a fresh log.
    pub(crate) fn start_run(&self) {
        let mut log = self.log.lock();
        log.counts = vec![0; FaultKind::ALL.len()];
        log.records.clear();
    }

    fn decide(&self, rt: &Runtime, kind: FaultKind, detail: impl FnOnce() -> String) -> bool {
        let index = FaultKind::ALL.iter().position(|&k| k == kind).expect("every kind is in ALL");
        let (time_ns, node, thread) = {
            let st = rt.st.borrow();
            let (node, thread) = match rt.current_names() {
                Some((node, thread, serial)) => (node, Arc::from(format!("{thread} (#{serial})"))),
                None => (Arc::from("main"), Arc::from("scheduler")),
            };
            (st.now_ns, node, thread)
        };
        let mut log = self.log.lock();
        assert_eq!(log.counts.len(), FaultKind::ALL.len(), "labrpc: a fault plan's log was not started by sim::run");
        let ordinal = log.counts[index];
        log.counts[index] += 1;
        let id = FaultId { kind, ordinal };
        let injected = self.keep.as_ref().is_none_or(|keep| keep.contains(&id));
        log.records.push(FaultRecord { id, injected, time_ns, node, thread, detail: detail() });
        injected
    }
}

/// A fault decision whose draw said "inject": whether the run's plan lets it happen (always, with
/// no plan or outside a simulation). `detail` describes it for the record and is only called when
/// a plan records. Call it after every draw the fault makes, so a refused fault draws the same.
pub fn allow(kind: FaultKind, detail: impl FnOnce() -> String) -> bool {
    match try_current() {
        Some(rt) => allow_in(rt, kind, detail),
        None => true,
    }
}

/// `allow` for code that holds the runtime already.
#[inline]
pub(crate) fn allow_in(rt: &Runtime, kind: FaultKind, detail: impl FnOnce() -> String) -> bool {
    match &rt.config.fault_plan {
        None => true,
        Some(plan) => plan.decide(rt, kind, detail),
    }
}
