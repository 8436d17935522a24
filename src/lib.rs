//! Servers of the lab, written against the labrpc API: [`raft`], then [`kvsrv`], the replicated
//! state machine layer [`rsm`] and [`kvraft`] on it; [`kvmachine`] is the key/value state
//! machine kvsrv and kvraft share, [`clerk`] the retry core the replicated services' clerks share.

pub mod clerk;
pub mod cli;
pub mod kvmachine;
pub mod kvraft;
pub mod kvsrv;
pub mod raft;
pub mod rsm;
pub mod shardctrler;
pub mod shardkv;
// skeleton: omit begin (the reference's unit tests' random numbers)
#[cfg(test)]
mod test_rng;
// skeleton: omit end
