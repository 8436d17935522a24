//! The interfaces of the lab: what a solution implements and the harness (`labtests`) drives.
//!
//! | lab | a solution implements | module |
//! | --- | --- | --- |
//! | 3A-3D Raft | [`RaftPeer`] (delivering [`ApplyMsg`]s) | [`raft`] |
//! | 2 kvsrv | [`KvsrvServer`], [`KvsrvClerk`] | [`services`] |
//! | 2 lock | [`KvLock`] over any [`KvClient`] | [`lock`] |
//! | 4A replicated state machine | [`Rsm`] over a service's [`StateMachine`] | [`rsm`] |
//! | 4A-4B kvraft | [`KvraftServer`], [`KvraftClerk`] | [`services`] |
//! | 5A shard controller | [`ShardCtrlerServer`], [`ShardCtrlerClerk`] over [`shard::Config`] | [`shard`] |
//! | 5B shard groups | [`ShardKvServer`], [`ShardKvClerk`] | [`shard`] |
//!
//! Both clerks are [`KvClient`]s: they run one [`Op`] at a time to its [`Outcome`] (module
//! [`kv`], the vocabulary the services share and the harness records for its linearizability
//! check). [`Lab`] names one implementation of all of them; the harness is generic over it, and
//! `labtests/src/impls.rs` lists the implementations it can run (`scripts/dstest --impl NAME`).
//!
//! This crate depends on the simulator's API (`labrpc`) only, so a solution (`raftkv` in `src/`,
//! or a crate of its own) and the harness both depend on it without a cycle.

pub mod kv;
mod lab;
pub mod lock;
pub mod raft;
pub mod rsm;
pub mod services;
pub mod shard;
mod shard_services;
mod txn;

pub use kv::{CPutError, KvClient, Op, Outcome, Request};
pub use lab::Lab;
pub use lock::KvLock;
pub use raft::{ApplyMsg, RaftPeer};
pub use rsm::{Rsm, StateMachine, SubmitError};
pub use services::{KvraftClerk, KvraftServer, KvsrvClerk, KvsrvServer};
pub use shard_services::{MakeEnd, ShardCtrlerClerk, ShardCtrlerServer, ShardKvClerk, ShardKvServer};
