//! The implementations the harness can run, by name: **the file to edit to plug in a solution**.
//!
//! An implementation is a type implementing `labapi::Lab`, which names its Raft peer, kvsrv
//! server and clerk, and kvraft server and clerk (the traits in `labtests/api`). The solution in
//! `src/` (package `raftkv`) is registered as "reference", the default everywhere: a student who
//! writes the lab in `src/` changes nothing here, and `cargo test` and `scripts/dstest` run their
//! code. To run a solution from another crate beside it: add the crate to `labtests/Cargo.toml`,
//! write `pub struct Mine; impl labapi::Lab for Mine { type Raft = mine::Raft; ... }`, and add one
//! `Impl` line to `registry()` below; then `scripts/dstest --impl reference,mine 3a` sweeps both
//! side by side, each row and failure naming its implementation.
// skeleton: omit begin (reference-b wraps the reference's Raft)
//!
//! "reference-b" (`reference_b.rs`) is the reference's Raft behind a wrapper of another type, so
//! the generic harness is exercised with a second implementation.
// skeleton: omit end

// skeleton: omit begin (reference-b wraps the reference's Raft)
mod reference_b;
// skeleton: omit end

use labapi::Lab;

use crate::scenario::{self, Scenario};

// skeleton: omit begin (reference-b wraps the reference's Raft)
pub use reference_b::ReferenceB;
// skeleton: omit end

/// The implementation the test files and a plain `scripts/dstest` run.
pub const DEFAULT: &str = "reference";

/// A registered implementation.
#[derive(Clone, Copy, Debug)]
pub struct Impl {
    /// What `--impl` calls it.
    pub name: &'static str,
    /// Its scenario table.
    pub scenarios: fn() -> Vec<Scenario>,
}

/// Every implementation the harness can run; the first is the default.
pub fn registry() -> Vec<Impl> {
    vec![
        Impl { name: DEFAULT, scenarios: scenario::table::<Reference> },
        // skeleton: omit begin (reference-b wraps the reference's Raft)
        Impl { name: "reference-b", scenarios: scenario::table::<ReferenceB> },
        // skeleton: omit end
        // Another implementation: Impl { name: "mine", scenarios: scenario::table::<Mine> },
    ]
}

/// The scenarios of implementation `name` (each naming it), or None if no such implementation.
pub fn scenarios(name: &str) -> Option<Vec<Scenario>> {
    let found = registry().into_iter().find(|i| i.name == name)?;
    Some((found.scenarios)().into_iter().map(|s| Scenario { implementation: found.name, ..s }).collect())
}

/// The reference solution in `src/` (package `raftkv`).
pub struct Reference;

impl Lab for Reference {
    type Raft = raftkv::raft::Raft;
    type Rsm<M: labapi::StateMachine> = raftkv::rsm::Rsm<M>;
    type KvsrvServer = raftkv::kvsrv::KvServer;
    type KvsrvClerk = raftkv::kvsrv::Clerk;
    type Lock<C: labapi::KvClient + Send + 'static> = raftkv::kvsrv::Lock<C>;
    type KvraftServer = raftkv::kvraft::KvServer;
    type KvraftClerk = raftkv::kvraft::Clerk;
    type ShardCtrler = raftkv::shardctrler::ShardCtrler;
    type ShardCtrlerClerk = raftkv::shardctrler::Clerk;
    type ShardKvServer = raftkv::shardkv::ShardKv;
    type ShardKvClerk = raftkv::shardkv::Clerk;
}
