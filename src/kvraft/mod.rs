//! kvraft (lab 4A/4B): a key/value service replicated with Raft, and its clerk.
//!
//! Every operation, reads included, goes through the Raft log and is applied by each server's
//! applier thread to a [`KvMachine`] (store plus duplicate table), so reads are linearizable and
//! duplicate detection survives leader changes, crashes and snapshots. An RPC handler proposes
//! its request, then waits for the entry at the index Raft gave it; it answers "wrong leader"
//! as soon as a different command shows up at that index, the term changes or the server stops
//! being leader, and "timeout" after [`WAIT_TIMEOUT`]; the clerk then tries the next server.
//!
//! With `maxraftstate` set, the applier snapshots (machine and last applied index) whenever the
//! persisted Raft state reaches that many bytes, and Raft discards the log up to it.
//!
//! ```text
//! server: KvServer::start(peers, me, persister, maxraftstate) on the server's node;
//!         raft().service() and service() ("KVServer.Op") go on its labrpc server
//! clerk:  Clerk::new(ends) -> get / put / append / delete / cput / execute
//! ```

mod api;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use labrpc::channel::{self, Receiver};
use labrpc::net::{ClientEnd, Service};
use labrpc::persister::Persister;
use labrpc::sync::{Condvar, Mutex};
use labrpc::{thread, time};
use serde::{Deserialize, Serialize};

use crate::kvsrv::OP_METHOD;
pub use crate::kvsrv::{CPutError, KeyValue, KvClient, KvMachine, Op, Outcome, Request, Txn};
use crate::raft::{ApplyMsg, Raft};

/// How long a handler waits for its entry to be applied before answering `Timeout`.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(2);
/// How often a waiting handler re-checks that it is still leader in the same term.
pub const LEADER_CHECK_INTERVAL: Duration = Duration::from_millis(50);
/// A clerk pauses this long after every server in turn failed to answer.
pub const RETRY_PAUSE: Duration = Duration::from_millis(20);
/// A clerk gives up on a server that has not answered for this long (e.g. a leader stopped by a
/// long pause) and tries the next one; the request stays the same, so nothing applies twice.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(1);

/// A kvraft server's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    Ok(Outcome),
    /// Not the leader, or lost leadership before the request was applied: try another server.
    WrongLeader,
    /// Leader, but the request was not applied in time (e.g. a leader in a minority).
    Timeout,
}

/// A snapshot: the machine and the last log index it reflects.
#[derive(Serialize, Deserialize)]
struct Snapshot {
    last_applied: u64,
    machine: KvMachine,
}

struct Waiter {
    ticket: u64,
    client: u64,
    seq: u64,
}

struct State {
    machine: KvMachine,
    last_applied: u64,
    /// Handlers waiting, by the log index their request was proposed at.
    waiters: BTreeMap<u64, Waiter>,
    /// Answers for waiting handlers, by ticket: Some(outcome) when their request was applied at
    /// their index, None when something else was (or the index was overtaken by a snapshot).
    results: BTreeMap<u64, Option<Outcome>>,
    next_ticket: u64,
}

impl State {
    fn resolve(&mut self, index: u64, applied: Option<(u64, u64, &Outcome)>) {
        if let Some(waiter) = self.waiters.remove(&index) {
            let result = applied
                .filter(|(client, seq, _)| (*client, *seq) == (waiter.client, waiter.seq))
                .map(|(_, _, outcome)| outcome.clone());
            self.results.insert(waiter.ticket, result);
        }
    }

    /// Fails every waiter at or below `index` (their entries were applied or overtaken).
    fn fail_through(&mut self, index: u64) {
        let later = self.waiters.split_off(&(index + 1));
        let failed = std::mem::replace(&mut self.waiters, later);
        for waiter in failed.into_values() {
            self.results.insert(waiter.ticket, None);
        }
    }
}

struct Inner {
    me: usize,
    raft: Raft,
    maxraftstate: Option<usize>,
    state: Mutex<State>,
    applied_cv: Condvar,
}

/// One kvraft server. Cheap to clone; clones share the server.
#[derive(Clone)]
pub struct KvServer {
    inner: Arc<Inner>,
}

impl KvServer {
    /// Starts a server and its Raft peer on the calling thread's node, recovering from
    /// `persister`: Raft delivers the persisted snapshot as its first message, then the log after
    /// it, so the state has one source. `maxraftstate`: snapshot when the persisted Raft state
    /// reaches that many bytes (None: never).
    pub fn start(peers: Vec<ClientEnd>, me: usize, persister: Persister, maxraftstate: Option<usize>) -> KvServer {
        let (apply_tx, apply_rx) = channel::unbounded();
        let raft = Raft::make(peers, me, persister, apply_tx);
        let state = State {
            machine: KvMachine::new(),
            last_applied: 0,
            waiters: BTreeMap::new(),
            results: BTreeMap::new(),
            next_ticket: 0,
        };
        let inner = Arc::new(Inner { me, raft, maxraftstate, state: Mutex::new(state), applied_cv: Condvar::new() });
        let applier = inner.clone();
        thread::Builder::new().name("kv-applier").spawn(move || applier.applier(apply_rx));
        KvServer { inner }
    }

    /// The Raft peer (its `service()` goes on the same labrpc server).
    pub fn raft(&self) -> &Raft {
        &self.inner.raft
    }

    /// The RPC service: "KVServer.Op" takes a [`Request`] and returns a [`Reply`].
    pub fn service(&self) -> Service {
        let inner = self.inner.clone();
        Service::new("KVServer").method("Op", move |request: Request| inner.handle(request))
    }

    /// The value and version of `key` in this server's applied state (for tests).
    pub fn peek(&self, key: &str) -> (Option<String>, u64) {
        let st = self.inner.state.lock();
        let (value, version) = st.machine.get(key);
        (value.map(str::to_string), version)
    }

    /// The last log index this server applied.
    pub fn last_applied(&self) -> u64 {
        self.inner.state.lock().last_applied
    }
}

fn decode_snapshot(bytes: &[u8]) -> Snapshot {
    postcard::from_bytes(bytes).unwrap_or_else(|e| panic!("kvraft: corrupt snapshot ({} bytes): {e}", bytes.len()))
}

impl Inner {
    fn handle(&self, request: Request) -> Reply {
        let (client, seq) = (request.client, request.seq);
        let command = postcard::to_stdvec(&request).expect("a request always encodes");
        drop(request);
        let mut st = self.state.lock();
        // Proposed under our lock, so the applier cannot apply the entry before we wait for it.
        let Some((index, term)) = self.raft.start(command) else {
            return Reply::WrongLeader;
        };
        let ticket = st.next_ticket;
        st.next_ticket += 1;
        if let Some(old) = st.waiters.insert(index, Waiter { ticket, client, seq }) {
            // An earlier proposal at this index (older term) cannot be committed there any more.
            st.results.insert(old.ticket, None);
        }
        tracing::debug!(index, term, client, seq, "kv: proposed");
        let deadline = time::now() + WAIT_TIMEOUT;
        loop {
            if let Some(result) = st.results.remove(&ticket) {
                return match result {
                    Some(outcome) => Reply::Ok(outcome),
                    None => Reply::WrongLeader,
                };
            }
            let (now_term, leader) = self.raft.state();
            let now = time::now();
            if now_term != term || !leader || now >= deadline {
                if st.waiters.get(&index).is_some_and(|w| w.ticket == ticket) {
                    st.waiters.remove(&index);
                }
                return if now >= deadline { Reply::Timeout } else { Reply::WrongLeader };
            }
            let wait = LEADER_CHECK_INTERVAL.min(deadline.saturating_duration_since(now));
            self.applied_cv.wait_timeout(&mut st, wait);
        }
    }

    fn applier(&self, apply_rx: Receiver<ApplyMsg>) {
        while let Ok(msg) = apply_rx.recv() {
            let mut st = self.state.lock();
            match msg {
                ApplyMsg::Command { index, command, .. } => {
                    if index <= st.last_applied {
                        continue;
                    }
                    assert_eq!(index, st.last_applied + 1, "kvraft server {}: applied out of order", self.me);
                    let request: Request = postcard::from_bytes(&command)
                        .unwrap_or_else(|e| panic!("kvraft: undecodable log entry at index {index}: {e}"));
                    let (client, seq) = (request.client, request.seq);
                    let outcome = st.machine.apply(request);
                    st.last_applied = index;
                    st.resolve(index, Some((client, seq, &outcome)));
                    st.fail_through(index);
                    self.applied_cv.notify_all();
                    if self.maxraftstate.is_some_and(|max| self.raft.persisted_size() >= max) {
                        let snapshot = Snapshot { last_applied: index, machine: st.machine.clone() };
                        let bytes = postcard::to_stdvec(&snapshot).expect("a snapshot always encodes");
                        tracing::debug!(index, bytes = bytes.len(), "kv: snapshot");
                        self.raft.snapshot(index, bytes);
                    }
                }
                ApplyMsg::Snapshot { index, snapshot, .. } => {
                    let restored = decode_snapshot(&snapshot);
                    // Raft hands over a snapshot only past everything applied, and its data is
                    // exactly the state through its index.
                    assert_eq!(
                        restored.last_applied, index,
                        "kvraft server {}: snapshot data through index {} delivered for index {index}",
                        self.me, restored.last_applied
                    );
                    assert!(
                        index > st.last_applied,
                        "kvraft server {}: snapshot at {index} does not advance past applied index {}",
                        self.me,
                        st.last_applied
                    );
                    st.machine = restored.machine;
                    st.last_applied = restored.last_applied;
                    st.fail_through(restored.last_applied);
                    self.applied_cv.notify_all();
                }
            }
        }
    }
}

/// A client of a kvraft cluster: finds the leader, remembers it, fails over, and retries each
/// operation until some server answers it.
pub struct Clerk {
    servers: Vec<ClientEnd>,
    leader: usize,
    client: u64,
    seq: u64,
}

impl Clerk {
    /// A clerk with a fresh random client id; `servers[i]` reaches server i.
    pub fn new(servers: Vec<ClientEnd>) -> Clerk {
        assert!(!servers.is_empty(), "kvraft: a clerk needs at least one server");
        let leader = labrpc::rand::range(0..servers.len() as u64) as usize;
        Clerk { servers, leader, client: labrpc::rand::next_u64(), seq: 0 }
    }

    pub fn client_id(&self) -> u64 {
        self.client
    }

    /// The server this clerk believes is leader.
    pub fn leader_hint(&self) -> usize {
        self.leader
    }

    /// One call to server `server`, abandoned after [`CALL_TIMEOUT`] (None: no answer). The
    /// call runs in a thread of its own, which finishes on its own if abandoned.
    fn call(&self, server: usize, request: &Request) -> Option<Reply> {
        let (tx, rx) = channel::bounded(1);
        let (end, request) = (self.servers[server].clone(), request.clone());
        thread::Builder::new().name("clerk-call").spawn(move || {
            let _ = tx.send(end.call::<_, Reply>(OP_METHOD, &request));
        });
        match rx.recv_timeout(CALL_TIMEOUT) {
            Ok(Ok(reply)) => Some(reply),
            _ => None,
        }
    }
}

impl KvClient for Clerk {
    /// Runs `op` until a leader answers it; exactly once for mutations.
    fn execute(&mut self, op: Op) -> Outcome {
        self.seq += 1;
        let request = Request { client: self.client, seq: self.seq, op };
        let mut failures = 0;
        loop {
            match self.call(self.leader, &request) {
                Some(Reply::Ok(outcome)) => return outcome,
                Some(Reply::WrongLeader) | Some(Reply::Timeout) | None => {
                    self.leader = (self.leader + 1) % self.servers.len();
                    failures += 1;
                    if failures % self.servers.len() == 0 {
                        time::sleep(RETRY_PAUSE);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        State {
            machine: KvMachine::new(),
            last_applied: 0,
            waiters: BTreeMap::new(),
            results: BTreeMap::new(),
            next_ticket: 0,
        }
    }

    #[test]
    fn waiters_get_their_outcome_or_fail_when_something_else_is_applied() {
        let mut st = state();
        st.waiters.insert(3, Waiter { ticket: 0, client: 7, seq: 1 });
        st.waiters.insert(4, Waiter { ticket: 1, client: 8, seq: 1 });
        st.waiters.insert(6, Waiter { ticket: 2, client: 9, seq: 1 });
        // Index 3 holds client 7's request: its waiter gets the outcome.
        st.resolve(3, Some((7, 1, &Outcome::Done)));
        assert_eq!(st.results.remove(&0), Some(Some(Outcome::Done)));
        // Index 4 holds another client's request: that waiter fails (wrong leader).
        st.resolve(4, Some((5, 2, &Outcome::Done)));
        assert_eq!(st.results.remove(&1), Some(None));
        // A snapshot through index 6 overtakes the last waiter.
        st.fail_through(6);
        assert_eq!(st.results.remove(&2), Some(None));
        assert!(st.waiters.is_empty());
    }
}
