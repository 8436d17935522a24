//! Raft (lab 3A-3D): the reference solution, written to be read next to Figure 2 of the paper.
//!
//! Read it in this order:
//!
//! | file | what it holds | in the paper |
//! | --- | --- | --- |
//! | `core.rs` | the protocol as plain methods on one state struct, stepped without threads | Figure 2: State, the RequestVote and AppendEntries receivers, Rules for Servers; Figure 13: InstallSnapshot |
//! | `progress.rs` | a leader's view of one follower | nextIndex[], matchIndex[] |
//! | `log.rs` | the log after a snapshot, 1-based | log[], §7's compaction |
//! | `messages.rs` | RPC arguments and replies | the arguments and results of each RPC |
//! | `driver.rs` | runs the core: election ticker, a replicator per follower, the applier, RPC handlers, the persister | the timing: election timeouts, heartbeats |
//! | `api.rs` | `labapi::RaftPeer` over `Raft`'s methods | |
//! | `trace.rs` | how trace lines read: one per decision, `key=value` fields | |
//!
//! What is not in Figure 2 but keeps long runs cheap is set apart, so the protocol reads
//! first: `persist.rs` (a persist writes only what changed), `encoded.rs` (the log keeps its
//! entries encoded; an AppendEntries carries one slice of them), the batching caps at the end of
//! `core.rs`, and the in-flight window (`progress::InFlight`, used by the driver).

mod api;
pub mod core;
mod driver;
pub mod encoded;
pub mod log;
pub mod messages;
mod persist;
pub mod progress;
pub mod trace;

/// What a peer delivers on its apply channel (defined with the interfaces, `labapi`).
pub use labapi::ApplyMsg;

pub use self::driver::{Raft, ELECTION_TIMEOUT_MS, HEARTBEAT_INTERVAL};
pub use self::progress::MAX_IN_FLIGHT;
