//! What the clerks of the replicated services (kvraft, the shard controller, the sharded store)
//! share: the ids that let servers drop a retried request ([`RequestIds`]), one round over a
//! group's servers starting with the one that answered last ([`round`]), and the retry loop over
//! a fixed set of replicas built on it ([`Replicas`]). Each RPC goes through [`call_within`], so
//! a paused or far server costs a clerk at most its call timeout.
//!
//! A retried request keeps its client id and number, so every mutation applies exactly once
//! however often it is resent.

mod call;

use std::sync::Arc;
use std::time::Duration;

use labrpc::net::ClientEnd;
use labrpc::time;

pub use call::{call_named, call_within};

/// A clerk pauses this long after every replica in turn failed to answer.
pub const RETRY_PAUSE: Duration = Duration::from_millis(20);
/// A clerk gives up on a server that has not answered for this long (e.g. a leader stopped by a
/// long pause) and tries the next one; the request stays the same, so nothing applies twice.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(1);

/// A clerk's client id (random) and the number of its latest request.
pub struct RequestIds {
    client: u64,
    seq: u64,
}

impl RequestIds {
    /// A fresh random client id; its first request is number 1.
    pub fn new() -> RequestIds {
        RequestIds { client: labrpc::rand::next_u64(), seq: 0 }
    }

    pub fn client(&self) -> u64 {
        self.client
    }

    /// The (client id, number) of the next request.
    pub fn next_request(&mut self) -> (u64, u64) {
        self.seq += 1;
        (self.client, self.seq)
    }
}

impl Default for RequestIds {
    fn default() -> RequestIds {
        RequestIds::new()
    }
}

/// What one server's answer means to a [`round`].
pub enum Try<T> {
    /// It answered: the round ends with this.
    Answered(T),
    /// No answer, or not the leader: ask the next server.
    Next,
    /// No server of this group can answer (e.g. it no longer serves the key): end the round.
    Stop,
}

/// Asks servers `first`, `first + 1`, ... (modulo `servers`) once each until one answers: the
/// answering server's index and its answer, or None when none did or one said [`Try::Stop`].
pub fn round<T>(servers: usize, first: usize, mut ask: impl FnMut(usize) -> Try<T>) -> Option<(usize, T)> {
    for k in 0..servers {
        let i = (first + k) % servers;
        match ask(i) {
            Try::Answered(answer) => return Some((i, answer)),
            Try::Next => {}
            Try::Stop => return None,
        }
    }
    None
}

/// A fixed set of replicas and the one believed to lead: [`Replicas::until_answered`] finds the
/// leader, remembers it and fails over.
pub struct Replicas {
    /// Shared with each call's thread (see `call.rs`).
    servers: Vec<Arc<ClientEnd>>,
    leader: usize,
}

impl Replicas {
    /// `servers[i]` reaches replica i; the first guess at the leader is random. `service` names
    /// the service in the error for an empty list.
    pub fn new(servers: Vec<ClientEnd>, service: &str) -> Replicas {
        assert!(!servers.is_empty(), "{service}: a clerk needs at least one server");
        let leader = labrpc::rand::range(0..servers.len() as u64) as usize;
        Replicas { servers: servers.into_iter().map(Arc::new).collect(), leader }
    }

    /// The replica believed to lead.
    pub fn leader(&self) -> usize {
        self.leader
    }

    /// Asks the replicas in turn, from the believed leader on, until one answers (`ask` gives
    /// Some), pausing [`RETRY_PAUSE`] after each round in which none did; the one that answered
    /// is the leader from then on.
    pub fn until_answered<T>(&mut self, mut ask: impl FnMut(&Arc<ClientEnd>) -> Option<T>) -> T {
        let servers = &self.servers;
        loop {
            let answered = round(servers.len(), self.leader, |i| ask(&servers[i]).map_or(Try::Next, Try::Answered));
            if let Some((leader, answer)) = answered {
                self.leader = leader;
                return answer;
            }
            time::sleep(RETRY_PAUSE);
        }
    }
}
