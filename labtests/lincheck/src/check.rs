//! Checking a whole history: partition it, search the partitions (in parallel, or one at a time
//! under a step budget), stop at the first illegal one, combine.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use super::history::{History, Operation};
use super::model::{Model, Partition};
use super::search::{search, Limits, PartitionStatus, SearchOutcome, DEFAULT_MAX_CACHE_BYTES};

/// The answer for a whole history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every partition has a linearization.
    Ok,
    /// Some partition has none: the history is not linearizable, whatever the others say (the
    /// search of the others stops as soon as one is found).
    Illegal,
    /// No partition is illegal but some search stopped at a limit: nothing is known.
    Unknown,
}

/// What the search found for one partition; operation indices are the history's.
#[derive(Clone, Debug)]
pub struct PartitionResult {
    pub label: String,
    /// The partition's operations, in history order.
    pub op_indices: Vec<usize>,
    pub status: PartitionStatus,
    /// A full linearization when linearizable, otherwise the longest linearizable prefix found.
    /// Operations that never returned appear only if the order needs them to take effect.
    pub linearized: Vec<usize>,
    /// The operation that could not be placed after `linearized` (its return came first).
    pub blocked_op: Option<usize>,
    /// Configurations the search cache held at the end.
    pub cache_entries: usize,
    /// Search steps taken, both passes together (what [`CheckOptions::max_steps`] bounds).
    pub steps: u64,
}

#[derive(Clone, Debug)]
pub struct CheckResult {
    pub verdict: Verdict,
    /// In the model's partition order.
    pub partitions: Vec<PartitionResult>,
    pub elapsed: Duration,
}

impl CheckResult {
    pub fn is_ok(&self) -> bool {
        self.verdict == Verdict::Ok
    }

    /// The first illegal partition, if any.
    pub fn violation(&self) -> Option<&PartitionResult> {
        self.partitions.iter().find(|partition| partition.status == PartitionStatus::Illegal)
    }

    /// The first partition whose search stopped at a limit, if any.
    pub fn incomplete(&self) -> Option<&PartitionResult> {
        self.partitions.iter().find(|partition| {
            matches!(
                partition.status,
                PartitionStatus::TimedOut | PartitionStatus::CacheFull { .. } | PartitionStatus::BudgetSpent { .. }
            )
        })
    }

    /// Search steps of all partitions together: what [`CheckOptions::max_steps`] bounds.
    pub fn total_steps(&self) -> u64 {
        self.partitions.iter().map(|partition| partition.steps).sum()
    }
}

/// Search limits. The default has no timeout and no step budget.
#[derive(Clone, Copy, Debug)]
pub struct CheckOptions {
    /// Wall-clock budget for the whole check; past it the answer is `Unknown`. Depends on the
    /// machine and its load: tests use `max_steps` instead.
    pub timeout: Option<Duration>,
    /// Search steps the whole check may take, all partitions together; past it the partition
    /// being searched, and those not yet searched, are `Unknown`. With a budget, partitions are
    /// searched one at a time in a fixed order (whatever `threads` says), so the same history and
    /// budget give the same answer on every machine, and the time a check can take is bounded
    /// by the budget times the cost of a step.
    pub max_steps: Option<u64>,
    /// Bound on the search cache of each partition (approximate bytes: linearized-set bitsets
    /// plus state values); past it that partition is `Unknown`.
    pub max_cache_bytes: usize,
    /// Threads searching partitions; `None`: as many as the machine has cores.
    pub threads: Option<usize>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self { timeout: None, max_steps: None, max_cache_bytes: DEFAULT_MAX_CACHE_BYTES, threads: None }
    }
}

impl CheckOptions {
    pub fn with_timeout(timeout: Duration) -> Self {
        Self { timeout: Some(timeout), ..Self::default() }
    }
}

/// Checks `history` against `model`.
#[allow(clippy::disallowed_types, clippy::disallowed_methods)] // the timeout and `elapsed` are real time
pub fn check<M: Model>(model: &M, history: &History<M::Input, M::Output>, options: &CheckOptions) -> CheckResult {
    let started = std::time::Instant::now();
    let stop = AtomicBool::new(false);
    let limits = Limits {
        deadline: options.timeout.map(|timeout| started + timeout),
        max_cache_bytes: options.max_cache_bytes,
        max_steps: options.max_steps,
        stop: &stop,
    };
    let ops = history.ops();
    let partitions = model.partition(ops);
    assert_is_partition(&partitions, ops.len());

    let outcomes = search_all(model, ops, &partitions, limits, options.threads);
    let results: Vec<PartitionResult> =
        partitions.into_iter().zip(outcomes).map(|(partition, outcome)| to_result(partition, outcome)).collect();
    let verdict = if results.iter().any(|result| result.status == PartitionStatus::Illegal) {
        Verdict::Illegal
    } else if results.iter().all(|result| result.status == PartitionStatus::Linearizable) {
        Verdict::Ok
    } else {
        Verdict::Unknown
    };
    CheckResult { verdict, partitions: results, elapsed: started.elapsed() }
}

fn to_result(partition: Partition, outcome: SearchOutcome) -> PartitionResult {
    let global = |local: usize| partition.op_indices[local];
    PartitionResult {
        linearized: outcome.order.iter().map(|&local| global(local)).collect(),
        blocked_op: outcome.blocked.map(global),
        status: outcome.status,
        cache_entries: outcome.cache_entries,
        steps: outcome.steps,
        label: partition.label,
        op_indices: partition.op_indices,
    }
}

/// Every operation in exactly one partition: anything else is a bug in the model.
fn assert_is_partition(partitions: &[Partition], op_count: usize) {
    let mut seen = vec![false; op_count];
    for partition in partitions {
        for &index in &partition.op_indices {
            assert!(index < op_count, "partition {:?} names operation {index} of {op_count}", partition.label);
            assert!(!seen[index], "operation {index} is in two partitions (second: {:?})", partition.label);
            seen[index] = true;
        }
    }
    if let Some(missing) = seen.iter().position(|&seen| !seen) {
        panic!("operation {missing} is in no partition");
    }
}

/// Histories with fewer operations are checked on the calling thread alone (unless `threads`
/// asks otherwise): their whole check costs less than starting a thread.
const PARALLEL_MIN_OPS: usize = 1_000;

/// Searches every partition on up to `threads` threads. The first illegal partition raises
/// `limits.stop`: the others stop and report `Cancelled`. One thread (or a step budget) goes
/// smallest first, in a fixed order, so which partitions get searched is the same on every run;
/// a small partition is usually decided quickly, so an illegal one among expensive ones stops
/// them early.
fn search_all<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    partitions: &[Partition],
    limits: Limits,
    threads: Option<usize>,
) -> Vec<SearchOutcome> {
    let run = |index: usize, limits: Limits| {
        let partition_ops: Vec<&Operation<M::Input, M::Output>> =
            partitions[index].op_indices.iter().map(|&op| &ops[op]).collect();
        let outcome = search(model, &partition_ops, limits);
        if outcome.status == PartitionStatus::Illegal {
            limits.stop.store(true, Ordering::Relaxed);
        }
        outcome
    };
    let mut by_size: Vec<usize> = (0..partitions.len()).collect();
    by_size.sort_by_key(|&index| (partitions[index].op_indices.len(), index));
    // A small history is checked before a thread would even be scheduled (porcupine's 58-op
    // c01-ok took 10 ms with two threads on a loaded machine, 0.1 ms on one).
    let small = ops.len() < PARALLEL_MIN_OPS && threads.is_none();
    // Asked only when threads may be used: on Linux it reads the cgroup's CPU quota from files,
    // and the simulated kv scenarios check every run under a step budget, on one thread.
    let workers = || {
        let cores = || std::thread::available_parallelism().map_or(1, |cores| cores.get());
        threads.unwrap_or_else(cores).clamp(1, partitions.len().max(1))
    };
    let workers = if small || limits.max_steps.is_some() { 1 } else { workers() };
    if workers == 1 {
        let mut outcomes: Vec<Option<SearchOutcome>> = (0..partitions.len()).map(|_| None).collect();
        let mut steps_left = limits.max_steps;
        for index in by_size {
            let outcome = run(index, Limits { max_steps: steps_left, ..limits });
            steps_left = steps_left.map(|left| left - outcome.steps);
            outcomes[index] = Some(outcome);
        }
        return outcomes.into_iter().map(|outcome| outcome.expect("every partition searched")).collect();
    }

    // Worker 0 (this thread) takes partitions smallest first, the others largest first, so the
    // big ones start early (load balance) and the small ones are decided early (an illegal one
    // stops the rest). A job is claimed before it is taken from either end: at most `len`
    // claims, so the two ends never meet on one partition.
    let (claimed, from_front, from_back) = (AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0));
    let len = by_size.len();
    let work = |worker: usize| {
        let mut done = Vec::new();
        // Each claim takes one of `len` jobs, so this loop runs at most `len` times.
        while claimed.fetch_add(1, Ordering::Relaxed) < len {
            let job = if worker == 0 {
                from_front.fetch_add(1, Ordering::Relaxed)
            } else {
                len - 1 - from_back.fetch_add(1, Ordering::Relaxed)
            };
            let index = by_size[job];
            done.push((index, run(index, limits)));
        }
        done
    };
    let mut outcomes: Vec<Option<SearchOutcome>> = (0..partitions.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let work = &work;
        let helpers: Vec<_> = (1..workers).map(|worker| scope.spawn(move || work(worker))).collect();
        let mine = work(0);
        let theirs =
            helpers.into_iter().map(|handle| handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        for (index, outcome) in std::iter::once(mine).chain(theirs).flatten() {
            outcomes[index] = Some(outcome);
        }
    });
    outcomes.into_iter().map(|outcome| outcome.expect("every partition searched")).collect()
}
