//! The shard controller (lab 5A): a sequence of numbered configurations saying which replica
//! group serves each shard, changed by join, leave, move and table creation, read by query.
//!
//! The vocabulary every party shares (configurations, tables, the key -> shard mapping) is in
//! `labapi::shard`; here are the controller's operations and state machine ([`machine`]) and the
//! rebalancing rule ([`rebalance`]).

pub mod machine;
pub mod rebalance;
#[cfg(test)]
mod tests;

pub use labapi::shard::{Config, Gid, Table, NO_GROUP};
pub use machine::{CtrlOp, CtrlOutcome, CtrlRequest, CtrlerMachine};
