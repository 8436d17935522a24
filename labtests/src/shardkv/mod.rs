//! The sharded lab's harness (lab 5): the shard controller's cluster (`ctrler`), the checks of
//! configuration sequences (`check`), and the scenarios per phase (`scenarios_5a`: the
//! controller as a replicated service).

pub mod check;
pub mod ctrler;
pub mod scenarios_5a;
