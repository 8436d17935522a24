//! The implementations the harness can run, by name: **the file to edit to plug in a solution**.
//!
//! An implementation is a type implementing `labapi::Lab`, which names its Raft peer, kvsrv
//! server and clerk, and kvraft server and clerk (the traits in `labtests/api`). The reference
//! (`raftkv`, in `src/`) is registered as "reference". A student who writes the lab in `src/`
//! needs no change here: their `src/` is the reference's place. To run a solution from another
//! crate, add it to `labtests/Cargo.toml`, define `pub struct Mine;` with
//! `impl labapi::Lab for Mine { type Raft = mine::Raft; ... }`, and add one line to `IMPLS`:
//! `scripts/dstest --impl reference,mine` then sweeps both side by side.

use labapi::Lab;

/// The reference solution in `src/` (package `raftkv`).
pub struct Reference;

impl Lab for Reference {
    type Raft = raftkv::raft::Raft;
    type KvsrvServer = raftkv::kvsrv::KvServer;
    type KvsrvClerk = raftkv::kvsrv::Clerk;
    type KvraftServer = raftkv::kvraft::KvServer;
    type KvraftClerk = raftkv::kvraft::Clerk;
}
