//! The one cluster module both harnesses build on (the Raft cluster `crate::raft::Cluster` and
//! the kvraft cluster `crate::kv::KvCluster`): n servers, each on its own labrpc node and wired
//! to every other once (`Fabric`); who can talk to whom (connect, disconnect, partitions,
//! one-way cuts), pauses, crash-stop, and restart from a copy of the persisted state
//! (`Servers`, over each server's `Slot`). The swarm faults that drive any of them are in
//! `faults.rs`.
//!
//! A cluster keeps its servers' slots inside its own state mutex, next to whatever else it
//! tracks, so one lock covers both; `Servers` is a view of the wiring and that mutex. What
//! differs between the harnesses is only how a server is built (each cluster's `start`) and
//! what an action leaves in the run's record (`Journal`: the kv harness annotates its history).

mod fabric;
pub mod faults;
mod servers;
mod slot;

pub use fabric::{release_networks, Fabric, Journal, Naming};
pub use servers::{Members, Servers};
pub use slot::Slot;
