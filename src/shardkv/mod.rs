//! Shard groups (lab 5B): each a Raft group (on the rsm layer) serving the shards the shard
//! controller's current configuration gives it, moving shards with their data and duplicate
//! tables when configurations change ([`machine`]: the states a shard goes through; [`server`]:
//! the RPCs, the migration loops and the fencing argument), and the store's clerk ([`clerk`]).
//!
//! ```text
//! server: ShardKv::start(peers, me, persister, maxraftstate, gid, ctrlers, make_end);
//!         raft().service() and service() ("ShardKV.Op", ".Pull", ".Delete") on its server
//! clerk:  Clerk::new(ctrlers, make_end) -> get / put / append / delete / cput / swap / execute
//! ```

pub mod clerk;
pub mod machine;
pub mod server;

pub use clerk::Clerk;
pub use machine::{GroupMachine, GroupOp, GroupOutput, ShardState};
pub use server::ShardKv;
