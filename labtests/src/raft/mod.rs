//! The Raft test harness (after the Go labs' config.go) and the scenarios of lab 3A-3D plus the
//! ones beyond the labs. The scenario table that names them is `crate::scenario`.

pub mod applier;
pub mod checks;
mod churn;
pub mod command;
pub mod config;
mod durable_terms;
mod ending;
pub mod links;
mod monitor;
pub mod scenarios_3a;
pub mod scenarios_3b;
pub mod scenarios_3c;
pub mod scenarios_3d;
pub mod scenarios_beyond;
pub mod scenarios_chaos;
pub mod scenarios_commit;
pub mod scenarios_constructed;
pub mod scenarios_install;
pub mod scenarios_leads_twice;
pub mod scenarios_stale;
pub mod scenarios_timers;
mod stats;

pub use applier::SNAPSHOT_INTERVAL;
pub use command::Command;
pub use config::{ApplierKind, Cluster, Reliability};

use std::time::Duration;

/// The tester's allowance for an election (Go's `RaftElectionTimeout`): generous next to the
/// implementation's 300-600 ms timeouts.
pub const ELECTION_TIMEOUT: Duration = Duration::from_millis(1000);
