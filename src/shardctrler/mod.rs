//! The shard controller (lab 5A): a sequence of numbered configurations saying which replica
//! group serves each shard, changed by join, leave, move and table creation, read by query.
//!
//! The vocabulary every party shares (configurations, tables, the key -> shard mapping) is in
//! `labapi::shard`; here are the controller's operations and state machine ([`machine`]), the
//! rebalancing rule ([`rebalance`]), the replicated service on the rsm layer ([`server`]) and
//! its clerk ([`clerk`]).
//!
//! ```text
//! server: ShardCtrler::start(peers, me, persister, maxraftstate); raft().service() and
//!         service() ("ShardCtrler.Op") go on its labrpc server
//! clerk:  Clerk::new(ends) -> join / leave / move_shard / create_table / query
//! ```

pub mod clerk;
pub mod machine;
pub mod rebalance;
pub mod server;
#[cfg(test)]
mod tests;

pub use clerk::Clerk;
pub use labapi::shard::{Config, Gid, Table, NO_GROUP};
pub use machine::{CtrlOp, CtrlOutcome, CtrlRequest, CtrlerMachine};
pub use server::{CtrlReply, ShardCtrler, CTRL_METHOD};
