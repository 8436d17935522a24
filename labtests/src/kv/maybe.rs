//! The lock scenarios' fault rule for ErrMaybe. A conditional put in 6.5840's kvsrv answers
//! ErrMaybe when its first reply was lost and the retry found the version moved: the first try
//! may have applied (and moved the version itself), or may have been refused. Our kvsrv's
//! duplicate table answers every retry exactly, so a real clerk never sees ErrMaybe; this
//! wrapper around a clerk brings the answer back, so a lock is tested against it.
//!
//! The rule: every conditional put runs for real through the wrapped clerk (so the history
//! records what the server did), then, with probability `per_mille`/1000 drawn from the
//! simulation's seeded stream, its answer, `Done` or `ErrVersion` alike, is replaced by
//! `ErrMaybe`: exactly what 6.5840's clerk reports after a lost reply, and nothing it could not
//! report. Other operations pass through untouched. Each replacement is a fault decision
//! (`maybe-answer` in fault plans, so shrinking can drop it) and an event in the HTML view.

use labrpc::rand;
use labrpc::sim::fault_plan::{allow, FaultKind};
use raftkv::kvsrv::{KvClient, Op, Outcome};

use super::history::Recorder;

/// The label of the event each replaced answer adds to the run's record.
pub const MAYBE_EVENT: &str = "ErrMaybe";

/// A clerk whose conditional puts sometimes answer ErrMaybe (see the module's doc).
pub struct MaybeAnswers<C> {
    inner: C,
    per_mille: u32,
    /// The client the wrapped clerk records as in the history (its row in the HTML view).
    client: u64,
    recorder: Recorder,
}

impl<C: KvClient> MaybeAnswers<C> {
    /// Wraps `inner`, recorded as harness client `client`; `per_mille` 0 passes everything through
    /// and draws nothing.
    pub fn new(inner: C, per_mille: u32, client: u64, recorder: Recorder) -> MaybeAnswers<C> {
        assert!(per_mille <= 1000, "ErrMaybe rate of {per_mille} per mille: at most 1000");
        MaybeAnswers { inner, per_mille, client, recorder }
    }
}

impl<C: KvClient> KvClient for MaybeAnswers<C> {
    fn execute(&mut self, op: Op) -> Outcome {
        let is_cput = matches!(op, Op::CPut { .. });
        let described = if is_cput && self.per_mille > 0 { format!("{op:?}") } else { String::new() };
        let outcome = self.inner.execute(op);
        if !is_cput || self.per_mille == 0 || !rand::per_mille(self.per_mille) {
            return outcome;
        }
        let client = self.client;
        if !allow(FaultKind::MaybeAnswer, || format!("history client {client}: {described}")) {
            return outcome;
        }
        self.recorder.event(
            MAYBE_EVENT,
            format!("history client {client}: {described} answered {outcome:?}, reported ErrMaybe"),
        );
        Outcome::ErrMaybe
    }
}
