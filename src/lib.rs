//! Servers of the lab, written against the labrpc API: [`raft`], then [`kvsrv`] and [`kvraft`].

pub mod cli;
pub mod kvraft;
pub mod kvsrv;
pub mod raft;
pub mod shardctrler;
