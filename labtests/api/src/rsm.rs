//! Lab 4's replicated state machine layer (6.5840's `rsm`): a service hands it a
//! [`StateMachine`]; the layer owns a Raft peer and its apply loop, runs every operation through
//! the log, applies committed operations to the machine in log order on every replica, and
//! answers [`Rsm::submit`] with the machine's output once the operation is applied at the index
//! Raft gave it. It snapshots the machine when the persisted Raft state grows past
//! `maxraftstate` and restores it from Raft's snapshots.
//!
//! The layer does no duplicate detection: an operation submitted twice is applied twice. A
//! service that retries (a kv clerk) detects duplicates inside its own machine.

use labrpc::net::ClientEnd;
use labrpc::persister::Persister;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::raft::RaftPeer;

/// What a service replicates: a deterministic machine. Every replica applies the same operations
/// in the same order, so every replica must compute the same state and outputs from them.
pub trait StateMachine: Send + 'static {
    /// An operation as it travels through the Raft log.
    type Op: Serialize + DeserializeOwned + Send + 'static;
    /// What applying an operation answers to the submitter.
    type Output: Send + 'static;

    /// Applies one committed operation.
    fn apply(&mut self, op: Self::Op) -> Self::Output;

    /// Applies one committed operation whose output nobody takes (no submit waits for it on this
    /// replica: a follower's usual case). A layer may call this instead of `apply` there; the
    /// default is `apply`, its output dropped. A machine may override it to skip what only builds
    /// the output (an optimisation), but must leave the same state as `apply` would.
    fn apply_unobserved(&mut self, op: Self::Op) {
        let _ = self.apply(op);
    }

    /// [`StateMachine::apply_unobserved`] for an operation still in its encoding (the bytes it
    /// travelled through the log in). A layer may call this instead; the default decodes the
    /// operation and calls `apply_unobserved`. A machine may override it to decode only what
    /// changes its state (an optimisation), but must leave the same state. Panics on bytes that
    /// are not an encoded `Op`.
    fn apply_unobserved_encoded(&mut self, op: &[u8]) {
        let decoded = labrpc::net::decode::<Self::Op>(op)
            .unwrap_or_else(|e| panic!("a committed operation does not decode ({} bytes): {e}", op.len()));
        self.apply_unobserved(decoded);
    }

    /// The whole state, as bytes [`StateMachine::restore`] takes back.
    fn snapshot(&self) -> Vec<u8>;

    /// Replaces the whole state with a snapshot's.
    fn restore(&mut self, snapshot: &[u8]);
}

/// Why [`Rsm::submit`] returned without an output. Either way the operation may still be applied
/// (for example by a new leader that kept the entry), so a caller that retries must tolerate
/// duplicates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubmitError {
    /// This replica is not the leader, lost leadership or its term before the operation was
    /// applied, or another operation was applied at the operation's index.
    WrongLeader,
    /// Still leader, but the operation was not applied in time (for example a leader cut off in
    /// a minority).
    Timeout,
}

/// One replica of the layer over machine `M`. A handle: clones share the replica.
pub trait Rsm<M: StateMachine>: Clone + Send + Sync + 'static {
    type Raft: RaftPeer;

    /// Starts the replica and its Raft peer on the calling thread's node (`peers` as in
    /// [`RaftPeer::make`]), recovering `machine` from the snapshot in `persister` and the log
    /// after it. `maxraftstate`: snapshot the machine when the persisted Raft state reaches that
    /// many bytes (None: never).
    fn make(peers: Vec<ClientEnd>, me: usize, persister: Persister, maxraftstate: Option<usize>, machine: M) -> Self;

    /// Its Raft peer: the service puts the peer's RPC service on its labrpc server.
    fn raft(&self) -> &Self::Raft;

    /// Proposes `op` and waits until it is applied: the machine's output when `op` was applied at
    /// the index Raft gave it, or why not.
    fn submit(&self, op: M::Op) -> Result<M::Output, SubmitError>;
}
