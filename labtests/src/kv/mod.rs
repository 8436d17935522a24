//! The key/value harness: kvsrv (lab 2, and the lock clients build on it) and kvraft (4A/4B) clusters, clerks whose every
//! operation is recorded with virtual call and return times, and the check of each run's
//! history with the linearizability checker's kv model. A violation fails the run with its seed
//! and writes the HTML view annotated with the run's partitions, crashes, cuts, pauses and
//! leader changes (`LAB_VIS=always` writes it for passing runs too).
//!
//! The clusters and scenarios are generic over the implementation (`L: labapi::Lab`: its kvsrv
//! and kvraft servers and clerks); the scenarios are listed in `crate::scenario`, and test files
//! call `labtests::scenario::run(name)`, which runs the reference.

pub mod check;
pub mod cluster;
pub mod generic;
pub mod history;
pub mod lock_check;
pub mod maybe;
pub mod scenarios_4a;
pub mod scenarios_4b;
pub mod scenarios_api;
pub mod scenarios_beyond;
pub mod scenarios_chaos;
pub mod scenarios_lab2;
pub mod scenarios_lock;

use std::time::Duration;

pub use check::Run;
pub use cluster::KvCluster;
pub use history::{Client, KvClerk, Recorder};

/// The tester's allowance for an election (Go's electionTimeout).
pub const ELECTION_TIMEOUT: Duration = Duration::from_secs(1);
