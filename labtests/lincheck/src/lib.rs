//! Linearizability checker in the style of porcupine.
//!
//! Build a [`History`] of operations (client, call time, return time or none, input, output),
//! pick a [`Model`] (built in: [`KvModel`], [`RegisterModel`]) and [`check`] it with a step
//! budget (deterministic: what tests use, see [`budget_from_env`]) or a timeout.
//! The search is Wing and Gong's as improved by Lowe (a cache of (linearized set, state)
//! configurations), run separately on each independent partition the model defines
//! (P-compositionality, Horn and Kroening), partitions in parallel.
//!
//! Answers are honest: [`Verdict::Ok`] only when a linearization was found, [`Verdict::Illegal`]
//! only when the whole search space was exhausted, [`Verdict::Unknown`] when a limit (step
//! budget, timeout or cache memory) stopped the search first. The first illegal partition stops
//! the search of the others.
//!
//! An operation that never returned (the client gave up) may take effect at any point after its
//! call, or never. One that returned without a known output (a conditional put answered
//! "maybe") took effect or not before its return, whichever the state there allows. Real-time
//! order: an operation precedes another only when it returned strictly before the other's call,
//! comparing (time, sequence number); without sequence numbers equal times count as concurrent
//! (see [`Stamp`]).
//!
//! For humans, [`view`] writes one self-contained HTML page per history: one row per client,
//! the longest linearizable prefix of each partition, the operation that could not be placed,
//! and annotation rows for simulation events. [`VisPolicy::from_env`] reads `LAB_VIS` to decide
//! when tests write it.
//!
//! ```
//! use std::time::Duration;
//! use lincheck::{check, CheckOptions, History, KvInput, KvModel, KvOutput, Verdict};
//!
//! let mut history = History::new();
//! let put = KvInput::Put { key: "k".into(), value: "v".into() };
//! history.push(1, 0, 10, put, KvOutput::Done).unwrap();
//! let read = KvOutput::Get { value: Some("v".into()), version: Some(1) };
//! history.push(2, 20, 30, KvInput::Get { key: "k".into() }, read).unwrap();
//! let result = check(&KvModel, &history, &CheckOptions::with_timeout(Duration::from_secs(5)));
//! assert_eq!(result.verdict, Verdict::Ok);
//! ```

mod bitset;
mod budget;
mod cache;
mod check;
pub mod history;
pub mod jsonl;
pub mod model;
pub mod porcupine_data;
mod search;
mod sequential;
pub mod view;
mod view_window;
mod vis_policy;
pub mod models {
    //! Built-in sequential specifications.
    pub mod kv;
    pub mod kv_txn;
    pub mod register;
}

pub use budget::{budget_from_env, parse_budget, BadBudget, DEFAULT_BUDGET_STEPS, LAB_LINCHECK_BUDGET};
pub use check::{check, CheckOptions, CheckResult, PartitionResult, Verdict};
pub use history::{History, OpId, Operation, Return, ReturnBeforeCall, Stamp};
pub use model::{Model, Partition};
pub use models::kv::{KvCmp, KvCompare, KvInput, KvModel, KvOutput, KvState, KvTarget, KvTxn};
pub use models::register::{RegisterInput, RegisterModel, RegisterOutput};
pub use search::PartitionStatus;
pub use view::{
    render_html, render_html_with, with_view_dir, write_html, write_html_with, write_if_wanted, write_if_wanted_with,
    Annotation, TimeUnit, ViewError, ViewOptions, BLOCKED_FILL, DEFAULT_MAX_VIEW_OPS,
};
pub use vis_policy::{BadVisPolicy, VisPolicy, LAB_VIS};
