//! kvsrv (lab 2): a single key/value server and its clerk.
//!
//! The server applies each request under one lock through [`KvMachine`], whose duplicate table
//! (per client: last sequence number and its one-word reply) makes every operation take effect
//! exactly once although the clerk retries until it gets an answer.
//!
//! ```text
//! server: KvServer::new() -> service() ("KVServer.Op") added to a labrpc server
//! clerk:  Clerk::new(end) -> get / put / append / delete / cput / swap / scan / txn / execute
//! lock:   Lock::new(clerk, key) -> acquire / release (module `lock`, over any clerk)
//! ```

mod api;
pub mod lock;
/// The operations, outcomes and the clerks' `KvClient` live in the interfaces crate (`labapi`).
pub use labapi::kv as common;
/// One-shot transactions (part of the kv vocabulary, in `labapi`).
pub use labapi::kv as txn;

use std::sync::Arc;

use labrpc::net::{ClientEnd, Service};
use labrpc::sync::Mutex;

pub use crate::kvmachine::KvMachine;
pub use common::{CPutError, KeyValue, KvClient, Op, Outcome, Request};
pub use lock::Lock;
pub use txn::{Cmp, Compare, Target, Txn};

/// The RPC method both services answer.
pub const OP_METHOD: &str = "KVServer.Op";

/// The server. Cheap to clone; clones share the store.
#[derive(Clone, Default)]
pub struct KvServer {
    machine: Arc<Mutex<KvMachine>>,
}

impl KvServer {
    pub fn new() -> KvServer {
        KvServer::default()
    }

    /// The RPC service: "KVServer.Op" takes a [`Request`] and returns its [`Outcome`].
    pub fn service(&self) -> Service {
        let server = self.clone();
        Service::new("KVServer").method("Op", move |request: Request| server.handle(request))
    }

    /// Applies one request (what the RPC handler runs).
    pub fn handle(&self, request: Request) -> Outcome {
        self.machine.lock().apply(request)
    }

    /// Bytes of server state (store plus duplicate table), computed from the tables.
    pub fn state_bytes(&self) -> usize {
        self.machine.lock().state_bytes()
    }

    /// Bytes of the duplicate table alone.
    pub fn session_bytes(&self) -> usize {
        self.machine.lock().session_bytes()
    }

    /// The value and version of `key`, read directly (for tests).
    pub fn peek(&self, key: &str) -> (Option<String>, u64) {
        let m = self.machine.lock();
        let (value, version) = m.get(key);
        (value.map(str::to_string), version)
    }
}

/// A client of one kvsrv. Retries each operation until it gets an answer.
pub struct Clerk {
    server: ClientEnd,
    client: u64,
    seq: u64,
}

impl Clerk {
    /// A clerk with a fresh random client id, talking through `server`.
    pub fn new(server: ClientEnd) -> Clerk {
        Clerk { server, client: labrpc::rand::next_u64(), seq: 0 }
    }

    pub fn client_id(&self) -> u64 {
        self.client
    }
}

impl KvClient for Clerk {
    /// Runs `op` until the server answers; exactly once for mutations.
    fn execute(&mut self, op: Op) -> Outcome {
        self.seq += 1;
        let request = Request { client: self.client, seq: self.seq, op };
        loop {
            if let Ok(outcome) = self.server.call::<_, Outcome>(OP_METHOD, &request) {
                return outcome;
            }
            // Lost or unreachable: the same request again (the server drops duplicates).
        }
    }
}
