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

use std::sync::Arc;

use labrpc::net::{ClientEnd, Encoded, Service};
use labrpc::persister::Persister;
use serde::{Deserialize, Serialize};

use crate::clerk::{call_named, Replicas, RequestIds};
pub use crate::kvmachine::KvMachine;
use crate::kvsrv::OP_METHOD;
pub use crate::kvsrv::{CPutError, KeyValue, KvClient, Op, Outcome, Request, Txn};
use crate::raft::Raft;
/// How long a handler waits for its entry to be applied before answering `Timeout`.
pub use crate::rsm::WAIT_TIMEOUT;
use crate::rsm::{Rsm, SubmitError};

/// The clerk's pause after a round of failed calls, and its deadline for one call.
pub use crate::clerk::{CALL_TIMEOUT, RETRY_PAUSE};

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

    /// The RPC service: "KVServer.Op" takes a [`Request`] and returns a [`Reply`]. The handler
    /// gets the request's bytes (`method_encoded`) and the log takes them as they are: the
    /// leader does not decode a request only to encode the same bytes again.
    pub fn service(&self) -> Service {
        let rsm = self.rsm.clone();
        Service::new("KVServer").method_encoded("Op", move |request: Encoded<Request>| handle(&rsm, request))
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
fn handle(rsm: &Rsm<KvMachine>, request: Encoded<Request>) -> Reply {
    match rsm.submit_encoded(request) {
        Ok(outcome) => Reply::Ok(outcome),
        Err(SubmitError::WrongLeader) => Reply::WrongLeader,
        Err(SubmitError::Timeout) => Reply::Timeout,
    }
}

/// A client of a kvraft cluster: finds the leader, remembers it, fails over, and retries each
/// operation until some server answers it (the retry core is [`crate::clerk`]'s).
pub struct Clerk {
    replicas: Replicas,
    ids: RequestIds,
    /// The name of its call threads, made once: a `&str` name is copied for every thread.
    call_thread: Arc<str>,
}

impl Clerk {
    /// A clerk with a fresh random client id; `servers[i]` reaches server i.
    pub fn new(servers: Vec<ClientEnd>) -> Clerk {
        // The leader guess is drawn before the client id: swapping them would change every run.
        Clerk {
            replicas: Replicas::new(servers, "kvraft"),
            ids: RequestIds::new(),
            call_thread: Arc::from("clerk-call"),
        }
    }

    pub fn client_id(&self) -> u64 {
        self.ids.client()
    }

    /// The server this clerk believes is leader.
    pub fn leader_hint(&self) -> usize {
        self.replicas.leader()
    }
}

impl KvClient for Clerk {
    /// Runs `op` until a leader answers it; exactly once for mutations.
    fn execute(&mut self, op: Op) -> Outcome {
        let (client, seq) = self.ids.next_request();
        let request = Arc::new(Request { client, seq, op });
        let thread = &self.call_thread;
        self.replicas.until_answered(|end| match call_named(thread.clone(), end, OP_METHOD, &request, CALL_TIMEOUT)? {
            Reply::Ok(outcome) => Some(outcome),
            Reply::WrongLeader | Reply::Timeout => None,
        })
    }
}
