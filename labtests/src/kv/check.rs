//! The end of every kv scenario: check the recorded history with the checker's kv model, write
//! the HTML view when asked (`LAB_VIS`, by default only for a failing check), fail the run on a
//! violation or on an unknown verdict, and print the "Passed" line.
//!
//! The search is bounded by a step budget (`LAB_LINCHECK_BUDGET`), never by wall time:
//! the verdict of a seed is the same on every machine under any load.

use lincheck::{
    budget_from_env, check, view, Annotation, CheckOptions, CheckResult, History, KvInput, KvModel, KvOutput, Model,
    PartitionResult, PartitionStatus, Verdict, DEFAULT_BUDGET_STEPS, LAB_LINCHECK_BUDGET,
};

use super::history::Recorder;

/// Starts the failure text of a run whose check stopped at its budget; dstest counts such runs
/// in their own column.
pub const UNKNOWN_VERDICT: &str = "linearizability unknown";

/// A running scenario: its name and when it started in wall time (for the Passed line only).
pub struct Run {
    name: String,
    #[allow(clippy::disallowed_types)] // wall time is reported, never read by the run
    wall: std::time::Instant,
}

impl Run {
    #[allow(clippy::disallowed_methods, clippy::disallowed_types)] // wall time is reported, never read by the run
    pub fn start(name: &str) -> Run {
        Run { name: name.to_string(), wall: std::time::Instant::now() }
    }

    /// Checks the history of `recorder` and prints the Passed line; panics, naming the seed, the
    /// failing key and the operation that could not be placed, on a violation, and naming the
    /// budget and how to raise it when the search ran out of steps (`LAB_LINCHECK_BUDGET`).
    pub fn finish(self, recorder: &Recorder, peers: usize, rpcs: u64) {
        let budget = budget_from_env().unwrap_or_else(|error| panic!("{error}"));
        self.finish_with_budget(recorder, peers, rpcs, budget);
    }

    /// [`Run::finish`] with a search budget of `budget` steps instead of the environment's.
    pub fn finish_with_budget(self, recorder: &Recorder, peers: usize, rpcs: u64, budget: u64) {
        let ops = recorder.with_snapshot(|history, annotations| self.judge(history, &annotations, budget));
        self.passed(peers, rpcs, ops);
    }

    /// Checks `history` (see [`Run::finish`]) and writes its view as `LAB_VIS` asks; returns how
    /// many operations it holds.
    fn judge(&self, history: &History<KvInput, KvOutput>, annotations: &[Annotation], budget: u64) -> usize {
        let seed = labrpc::sim::current_seed();
        // With a step budget the partitions are searched one at a time in a fixed order: the
        // same verdict on every machine.
        let options = CheckOptions { max_steps: Some(budget), ..CheckOptions::default() };
        let result = check(&KvModel, history, &options);
        let view_name = format!("{}-seed{seed}", self.name);
        let view = write_view(&view_name, history, &result, annotations);
        match result.verdict {
            Verdict::Ok => {
                if std::env::var_os(lincheck::LAB_VIS).is_some_and(|v| v == "always") {
                    crate::say!("  {view}");
                }
            }
            Verdict::Illegal => {
                let partition = result.violation().expect("an illegal verdict names its partition");
                let op = blocked_op(history, partition);
                panic!(
                    "{}: history of {} operations is not linearizable (seed {seed}): {}, first operation that \
                     cannot be placed: {op}; {view}",
                    self.name,
                    history.len(),
                    partition.label
                );
            }
            Verdict::Unknown => {
                let partition = result.incomplete().expect("an unknown verdict names its partition");
                let why = match &partition.status {
                    PartitionStatus::BudgetSpent { .. } => format!("the check used its whole budget of {budget} steps"),
                    PartitionStatus::CacheFull { entries, .. } => {
                        format!("the search cache filled ({entries} configurations)")
                    }
                    other => format!("the search stopped ({other:?})"),
                };
                panic!(
                    "{}: {UNKNOWN_VERDICT} (seed {seed}): {why} before {} ({} operations) was decided; raise the \
                     budget with {LAB_LINCHECK_BUDGET}=<steps> (now {budget}, default {DEFAULT_BUDGET_STEPS}); {view}",
                    self.name,
                    partition.label,
                    partition.op_indices.len()
                );
            }
        }
        tracing::info!(
            elapsed_ms = result.elapsed.as_millis() as u64,
            ops = history.len(),
            steps = result.total_steps(),
            budget,
            "linearizability check"
        );
        history.len()
    }

    /// Prints the Passed line without a history check.
    pub fn passed(self, peers: usize, rpcs: u64, ops: usize) {
        let seed = labrpc::sim::current_seed();
        let virtual_s = labrpc::time::now().since_start().as_secs_f64();
        let wall_ms = self.wall.elapsed().as_millis();
        crate::say!(
            "  ... Passed {:<44} virtual {virtual_s:6.1}s  wall {wall_ms:6} ms  peers {peers}  rpcs {rpcs:7}  ops {ops:6}  seed {seed}",
            self.name
        );
    }
}

/// Writes the view of a kv history as `LAB_VIS` asks; the line that says where it went.
pub fn write_view(
    name: &str,
    history: &History<KvInput, KvOutput>,
    result: &CheckResult,
    annotations: &[Annotation],
) -> String {
    let options = view::ViewOptions { time_unit: view::TimeUnit::Microseconds, ..Default::default() };
    match view::write_if_wanted_with(name, &KvModel, history, result, annotations, &options) {
        Ok(Some(path)) => format!("view: {}", path.display()),
        Ok(None) => "view: not written (LAB_VIS=never)".to_string(),
        Err(e) => format!("view: {e}"),
    }
}

/// "client C called at T us: OP" for the operation a violating partition could not place.
pub fn blocked_op(history: &History<KvInput, KvOutput>, partition: &PartitionResult) -> String {
    partition
        .blocked_op
        .map(|i| {
            let op = &history.ops()[i];
            format!(
                "client {} called at {} us: {}",
                op.client_id,
                op.call_time,
                KvModel.describe_op(&op.input, op.output())
            )
        })
        .unwrap_or_else(|| "none found".to_string())
}
