//! The sharded lab's harness (lab 5): the shard controller's cluster (`ctrler`), the checks of
//! configuration sequences (`check`), the store's cluster of shard groups (`groups`), the
//! configuration marks in its history view (`marks`), and the
//! scenarios per phase (`scenarios_5a`: the controller as a replicated service; `scenarios_5b`:
//! shard groups and migrations, every history checked for linearizability; `scenarios_challenge`:
//! deleting moved shards, serving unaffected ones, every group leaving; `scenarios_faults`:
//! partitions, crashes, cuts and pauses in the middle of migrations).

pub mod check;
pub mod ctrler;
pub mod groups;
pub mod marks;
pub mod scenarios_5a;
pub mod scenarios_5b;
pub mod scenarios_challenge;
pub mod scenarios_faults;
