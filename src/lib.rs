//! Servers of the lab, written against the labrpc API: [`raft`], then [`kvsrv`], the replicated
//! state machine layer [`rsm`] and [`kvraft`] on it.

pub mod cli;
pub mod kvraft;
pub mod kvsrv;
pub mod raft;
pub mod rsm;
pub mod shardctrler;
