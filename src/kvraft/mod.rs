//! kvraft (lab 4A/4B): a key/value service replicated with Raft, and its clerk.
//!
//! The server is a [`KvMachine`] (store plus duplicate table) replicated by the state machine
//! layer ([`crate::rsm`]): every operation, reads included, goes through the Raft log and is
//! applied on each server, so reads are linearizable, and the duplicate table, being part of the
//! machine, survives leader changes, crashes and snapshots. An RPC handler submits its request
//! and answers the outcome, "wrong leader" (not leader, lost the term, or another entry took the
//! index) or "timeout" (after [`WAIT_TIMEOUT`]); the clerk then tries the next server.
//!
//! With `maxraftstate` set, the layer snapshots the machine whenever the persisted Raft state
//! reaches that many bytes, and Raft discards the log up to it.
//!
//! ```text
//! server: KvServer::start(peers, me, persister, maxraftstate) on the server's node;
//!         raft().service() and service() ("KVServer.Op") go on its labrpc server
//! clerk:  Clerk::new(ends) -> get / put / append / delete / cput / execute
//! ```

mod api;

use std::time::Duration;

use labrpc::channel;
use labrpc::net::{ClientEnd, Service};
use labrpc::persister::Persister;
use labrpc::{thread, time};
use serde::{Deserialize, Serialize};

pub use crate::kvmachine::KvMachine;
use crate::kvsrv::OP_METHOD;
pub use crate::kvsrv::{CPutError, KeyValue, KvClient, Op, Outcome, Request, Txn};
use crate::raft::Raft;
/// How long a handler waits for its entry to be applied before answering `Timeout`.
pub use crate::rsm::WAIT_TIMEOUT;
use crate::rsm::{Rsm, SubmitError};

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

/// One kvraft server: a [`KvMachine`] replicated by the state machine layer. Cheap to clone;
/// clones share the server.
#[derive(Clone)]
pub struct KvServer {
    rsm: Rsm<KvMachine>,
}

impl KvServer {
    /// Starts a server and its Raft peer on the calling thread's node, recovering from
    /// `persister` (see [`Rsm::make`]). `maxraftstate`: snapshot when the persisted Raft state
    /// reaches that many bytes (None: never).
    pub fn start(peers: Vec<ClientEnd>, me: usize, persister: Persister, maxraftstate: Option<usize>) -> KvServer {
        KvServer { rsm: Rsm::make(peers, me, persister, maxraftstate, KvMachine::new()) }
    }

    /// The Raft peer (its `service()` goes on the same labrpc server).
    pub fn raft(&self) -> &Raft {
        self.rsm.raft()
    }

    /// The RPC service: "KVServer.Op" takes a [`Request`] and returns a [`Reply`].
    pub fn service(&self) -> Service {
        let rsm = self.rsm.clone();
        Service::new("KVServer").method("Op", move |request: Request| handle(&rsm, request))
    }

    /// The value and version of `key` in this server's applied state (for tests).
    pub fn peek(&self, key: &str) -> (Option<String>, u64) {
        self.rsm.with_machine(|machine| {
            let (value, version) = machine.get(key);
            (value.map(str::to_string), version)
        })
    }

    /// The last log index this server applied.
    pub fn last_applied(&self) -> u64 {
        self.rsm.last_applied()
    }
}

/// Runs one request through the log; the machine's duplicate table makes a retried request
/// answer its first outcome.
fn handle(rsm: &Rsm<KvMachine>, request: Request) -> Reply {
    match rsm.submit(request) {
        Ok(outcome) => Reply::Ok(outcome),
        Err(SubmitError::WrongLeader) => Reply::WrongLeader,
        Err(SubmitError::Timeout) => Reply::Timeout,
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
