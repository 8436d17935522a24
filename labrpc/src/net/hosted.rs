//! A server as added to a network under a name: what every call routed to it shares. A call
//! takes one reference to it and each handler copy one more, where they used to clone a handler,
//! its thread's name, the server's name and the network apiece (each an atomic add and later an
//! atomic subtract); and the copies count their requests here, taking no network lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::service::Server;
use crate::node::NodeId;
use crate::sched::try_current;

pub(crate) struct Hosted {
    pub(crate) server: Server,
    /// The name it was added under.
    pub(crate) name: Arc<str>,
    pub(crate) node: NodeId,
    /// Bumped when a server is added under a name, so replies of a replaced server are dropped.
    pub(crate) generation: u64,
    /// Requests handed to any server under its name (its slot's count, shared with the slot).
    dispatched: Arc<Counter>,
    /// Requests whose handler returned a reply (sent or not: the server answered).
    answered: Counter,
}

impl Hosted {
    pub(crate) fn new(
        server: Server,
        name: Arc<str>,
        node: NodeId,
        generation: u64,
        dispatched: Arc<Counter>,
    ) -> Hosted {
        Hosted { server, name, node, generation, dispatched, answered: Counter::default() }
    }

    /// A request was handed to whatever server now has this one's name (the slot's count, so a
    /// copy routed to a server since replaced counts for its successor, as it always has).
    pub(crate) fn count_dispatch(&self) {
        self.dispatched.bump();
    }

    /// A handler of this server returned its reply (a replaced server's answers count for it
    /// alone, and nobody reads them).
    pub(crate) fn count_answer(&self) {
        self.answered.bump();
    }

    pub(crate) fn answered(&self) -> u64 {
        self.answered.get()
    }

    /// Runs the handler of the method at `index` (`Server::method_index`) on `request`.
    pub(crate) fn run(&self, index: usize, request: Vec<u8>) -> Result<Vec<u8>, String> {
        (self.server.method_at(index).handler)(request)
    }

    /// The name of the threads that run the method at `index` ("rpc Service.Method").
    pub(crate) fn thread_name(&self, index: usize) -> &Arc<str> {
        &self.server.method_at(index).thread_name
    }
}

/// A count that only grows, read without the network's lock.
#[derive(Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    pub(crate) fn bump(&self) {
        if try_current().is_some() {
            // A simulation runs all its threads on this one OS thread and its network is theirs
            // alone, so nothing bumps between this load and store: no atomic read-modify-write
            // (a `lock`-prefixed instruction) is needed. Outside one, threads are real.
            self.0.store(self.0.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        } else {
            self.0.fetch_add(1, Ordering::Release);
        }
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}
