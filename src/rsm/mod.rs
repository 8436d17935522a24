//! The replicated state machine layer (lab 4A, 6.5840's `rsm`): a generic replica that owns a
//! Raft peer and its apply loop, so a service (kvraft, the sharded lab's groups) only writes a
//! deterministic machine and its RPC handlers.
//!
//! How to use it:
//!
//! 1. Implement [`StateMachine`] (`labapi::StateMachine`) for your service's state: `Op` is what
//!    travels through the log (serde), `apply` runs one committed op and returns its `Output`,
//!    `snapshot`/`restore` turn the whole state into bytes and back. Keep it deterministic: every
//!    replica applies the same ops in the same order and must reach the same state.
//! 2. Start a replica on the server's node with
//!    `Rsm::make(peers, me, persister, maxraftstate, machine)` and put `rsm.raft().service()`
//!    on the server's labrpc server beside the service's own.
//! 3. In an RPC handler, call `rsm.submit(op)`: `Ok(output)` once `op` was applied at the index
//!    Raft gave it (the output is the one the local machine returned for that entry);
//!    `Err(SubmitError::WrongLeader)` if this replica is not leader, lost leadership or its term
//!    first, or another entry took that index; `Err(SubmitError::Timeout)` after [`WAIT_TIMEOUT`]
//!    while still leader (e.g. in a minority). On an error the op may still be applied later, so
//!    a client that retries needs the duplicate detection the layer does not do: put it in your
//!    machine (as kvraft's `KvMachine` does with its per-client table).
//! 4. Read the machine outside submit with [`Rsm::with_machine`] (tests, status pages).
//!
//! With `maxraftstate` set, the applier snapshots the machine (with the last applied index)
//! whenever the persisted Raft state reaches that many bytes, and Raft discards the log through
//! it. After a restart Raft delivers the persisted snapshot first, then the log after it, so the
//! machine has one source.
//!
//! ```text
//! let rsm = Rsm::make(peers, me, persister, Some(1000), MyMachine::default());
//! server.add(rsm.raft().service()); server.add(my_service(rsm.clone()));
//! match rsm.submit(MyOp::Incr) { Ok(n) => ..., Err(_) => /* tell the client to retry */ }
//! ```

mod api;
mod waiters;

use std::sync::Arc;
use std::time::Duration;

pub use labapi::{StateMachine, SubmitError};
use labrpc::channel::{self, Receiver};
use labrpc::net::{encode, ClientEnd, Encoded};
use labrpc::persister::Persister;
use labrpc::sync::{Condvar, Mutex};
use labrpc::{thread, time};
use serde::{Deserialize, Serialize};

use crate::raft::{ApplyMsg, Raft};
use labapi::RaftPeer;
use waiters::Waiters;

/// How long [`Rsm::submit`] waits for its entry to be applied before answering `Timeout`.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(2);
/// How often a waiting submit re-checks that its replica still leads in the same term.
pub const LEADER_CHECK_INTERVAL: Duration = Duration::from_millis(50);

/// A snapshot: the machine's bytes and the last log index they reflect.
#[derive(Serialize, Deserialize)]
struct Snapshot {
    last_applied: u64,
    /// One length and one copy, not byte by byte (postcard writes the same bytes either way).
    #[serde(with = "serde_bytes")]
    machine: Vec<u8>,
}

struct State<M: StateMachine> {
    machine: M,
    last_applied: u64,
    waiters: Waiters<M::Output>,
}

struct Inner<M: StateMachine, R> {
    me: usize,
    raft: R,
    /// A clone of the peer's persister (clones share it), to read the Raft state's size.
    persister: Persister,
    maxraftstate: Option<usize>,
    state: Mutex<State<M>>,
    applied_cv: Condvar,
}

/// One replica over machine `M` and Raft peer `R` (the reference Raft unless told otherwise).
/// Cheap to clone; clones share the replica.
pub struct Rsm<M: StateMachine, R: RaftPeer = Raft> {
    inner: Arc<Inner<M, R>>,
}

impl<M: StateMachine, R: RaftPeer> Clone for Rsm<M, R> {
    fn clone(&self) -> Self {
        Rsm { inner: self.inner.clone() }
    }
}

impl<M: StateMachine, R: RaftPeer> Rsm<M, R> {
    /// Starts a replica and its Raft peer on the calling thread's node; see the module doc.
    pub fn make(
        peers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        maxraftstate: Option<usize>,
        machine: M,
    ) -> Self {
        let (apply_tx, apply_rx) = channel::unbounded();
        let raft = R::make(peers, me, persister.clone(), apply_tx);
        let state = State { machine, last_applied: 0, waiters: Waiters::default() };
        let inner =
            Arc::new(Inner { me, raft, persister, maxraftstate, state: Mutex::new(state), applied_cv: Condvar::new() });
        let applier = inner.clone();
        thread::Builder::new().name("rsm-applier").spawn_detached(move || applier.applier(apply_rx));
        Rsm { inner }
    }

    /// The Raft peer (its `service()` goes on the replica's labrpc server).
    pub fn raft(&self) -> &R {
        &self.inner.raft
    }

    /// Runs `op` through the log; see the module doc for the answers.
    pub fn submit(&self, op: M::Op) -> Result<M::Output, SubmitError> {
        // One allocation of the exact size (labrpc measures first).
        let command = Encoded::new(&op);
        drop(op);
        self.submit_encoded(command)
    }

    /// [`Rsm::submit`] for an op already encoded, such as a handler's request as it arrived
    /// (`Service::method_encoded`): its bytes go into the log as they are.
    pub fn submit_encoded(&self, op: Encoded<M::Op>) -> Result<M::Output, SubmitError> {
        self.inner.submit(op.into_bytes())
    }

    /// Reads the local machine (as applied so far) under the replica's lock.
    pub fn with_machine<T>(&self, read: impl FnOnce(&M) -> T) -> T {
        read(&self.inner.state.lock().machine)
    }

    /// The last log index this replica applied.
    pub fn last_applied(&self) -> u64 {
        self.inner.state.lock().last_applied
    }
}

fn decode_snapshot(bytes: &[u8]) -> Snapshot {
    labrpc::net::decode(bytes).unwrap_or_else(|e| panic!("rsm: corrupt snapshot ({} bytes): {e}", bytes.len()))
}

impl<M: StateMachine, R: RaftPeer> Inner<M, R> {
    /// Proposes `command` (an encoded `M::Op`) and waits for its outcome.
    fn submit(&self, command: Vec<u8>) -> Result<M::Output, SubmitError> {
        let mut st = self.state.lock();
        // Proposed under our lock, so the applier cannot apply the entry before we wait for it.
        let (index, term) = self.raft.start(command).ok_or(SubmitError::WrongLeader)?;
        let ticket = st.waiters.add(index, term);
        tracing::debug!(index, term, "rsm: proposed");
        let deadline = time::now() + WAIT_TIMEOUT;
        loop {
            if let Some(result) = st.waiters.take_result(ticket) {
                return result.ok_or(SubmitError::WrongLeader);
            }
            let (now_term, leader) = self.raft.state();
            let now = time::now();
            if now_term != term || !leader || now >= deadline {
                st.waiters.abandon(index, ticket);
                return Err(if now >= deadline { SubmitError::Timeout } else { SubmitError::WrongLeader });
            }
            let wait = LEADER_CHECK_INTERVAL.min(deadline.saturating_duration_since(now));
            self.applied_cv.wait_timeout(&mut st, wait);
        }
    }

    fn applier(&self, apply_rx: Receiver<ApplyMsg>) {
        while let Ok(msg) = apply_rx.recv() {
            let mut st = self.state.lock();
            match msg {
                ApplyMsg::Command { index, term, command } => {
                    if index <= st.last_applied {
                        continue;
                    }
                    assert_eq!(index, st.last_applied + 1, "rsm replica {}: applied out of order", self.me);
                    // Only a submit with an entry not yet applied or an answer not yet taken
                    // waits on `applied_cv`: with none (a follower's usual case) there is nobody
                    // to wake, and the notify is skipped.
                    let anyone_waits = !st.waiters.is_empty();
                    if st.waiters.waits_at(index) {
                        let op = labrpc::net::decode(&command)
                            .unwrap_or_else(|e| panic!("rsm: undecodable log entry at index {index}: {e}"));
                        let output = st.machine.apply(op);
                        st.waiters.applied(index, term, output);
                    } else {
                        // An optimisation: nobody takes this output, and the machine may skip
                        // building it, or decoding what does not change its state (a kv read
                        // on a follower is skipped whole, its strings never decoded).
                        st.machine.apply_unobserved_encoded(&command);
                        st.waiters.overtaken_through(index);
                    }
                    st.last_applied = index;
                    if anyone_waits {
                        self.applied_cv.notify_all();
                    }
                    if self.maxraftstate.is_some_and(|max| self.persister.raft_state_size() >= max) {
                        let snapshot = Snapshot { last_applied: index, machine: st.machine.snapshot() };
                        // At its exact size: one allocation and one copy of the machine's bytes.
                        let bytes = encode(&snapshot).expect("a snapshot always encodes");
                        tracing::debug!(index, bytes = bytes.len(), "rsm: snapshot");
                        self.raft.snapshot(index, bytes);
                    }
                }
                ApplyMsg::Snapshot { index, snapshot, .. } => {
                    let restored = decode_snapshot(&snapshot);
                    // Raft hands over a snapshot only past everything applied, and its data is
                    // exactly the state through its index.
                    assert_eq!(
                        restored.last_applied, index,
                        "rsm replica {}: snapshot data through index {} delivered for index {index}",
                        self.me, restored.last_applied
                    );
                    assert!(
                        index > st.last_applied,
                        "rsm replica {}: snapshot at {index} does not advance past applied index {}",
                        self.me,
                        st.last_applied
                    );
                    st.machine.restore(&restored.machine);
                    st.last_applied = index;
                    st.waiters.overtaken_through(index);
                    self.applied_cv.notify_all();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The encoding the snapshot had before its machine bytes went through `serde_bytes`.
    #[derive(Serialize)]
    struct ByteBySnapshot {
        last_applied: u64,
        machine: Vec<u8>,
    }

    #[test]
    fn snapshot_bytes_are_postcards_sequence_encoding_and_decode_back() {
        for len in [0usize, 1, 127, 128, 300, 20_000] {
            let machine: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
            let ours = postcard::to_stdvec(&Snapshot { last_applied: 1 << 40, machine: machine.clone() }).unwrap();
            let seq = postcard::to_stdvec(&ByteBySnapshot { last_applied: 1 << 40, machine: machine.clone() }).unwrap();
            assert_eq!(ours, seq, "{len} machine bytes");
            let back = decode_snapshot(&ours);
            assert_eq!((back.last_applied, back.machine), (1 << 40, machine));
        }
    }
}
