//! The cluster for the state machine layer alone: n replicas of `L::Rsm<Probe>`, each on its own
//! labrpc node (the shared `crate::cluster` wiring: partitions, crashes, restart from a copy of
//! the persisted state), and submitters that record every answer for the probe's checks.

use std::sync::Arc;
use std::time::Duration;

use labapi::{Lab, RaftPeer, Rsm, SubmitError};
use labrpc::net::{Network, Server};
use labrpc::sync::Mutex;
use labrpc::{channel, thread, time};

use super::probe::{Answer, Order, Probe};
use crate::cluster::{Fabric, Journal, Members, Naming, Servers, Slot};

const NAMING: Naming = Naming {
    node: |i| format!("replica-{i}"),
    server: |i| format!("replica-{i}"),
    end: |from, to| format!("raft-{from}-{to}"),
};

/// Longest a submitter waits for one submit; the reference answers within its 2 s timeout, so
/// a submit still out after this is recorded as unanswered (its op may still be applied).
pub const SUBMIT_BOUND: Duration = Duration::from_secs(10);

struct NoJournal;
impl Journal for NoJournal {}

pub struct State<L: Lab> {
    replicas: Vec<Slot<L::Rsm<Probe>>>,
    answers: Vec<Answer>,
    next_tag: u64,
}

impl<L: Lab> Members for State<L> {
    type Server = L::Rsm<Probe>;

    fn slots(&self) -> &[Slot<L::Rsm<Probe>>] {
        &self.replicas
    }

    fn slots_mut(&mut self) -> &mut [Slot<L::Rsm<Probe>>] {
        &mut self.replicas
    }
}

struct Shared<L: Lab> {
    fabric: Fabric,
    maxraftstate: Option<usize>,
    order: Order,
    state: Mutex<State<L>>,
}

/// The cluster under test. Cheap to clone.
pub struct RsmCluster<L: Lab> {
    shared: Arc<Shared<L>>,
}

impl<L: Lab> Clone for RsmCluster<L> {
    fn clone(&self) -> RsmCluster<L> {
        RsmCluster { shared: self.shared.clone() }
    }
}

impl<L: Lab> RsmCluster<L> {
    /// Starts `n` connected replicas; `maxraftstate` as in `labapi::Rsm::make`.
    pub fn new(n: usize, unreliable: bool, maxraftstate: Option<usize>) -> RsmCluster<L> {
        let net = Network::new();
        net.set_reliable(!unreliable);
        let fabric = Fabric::new(net, n, NAMING, Box::new(NoJournal));
        let state = State { replicas: (0..n).map(|_| Slot::new()).collect(), answers: Vec::new(), next_tag: 1 };
        let cluster = RsmCluster {
            shared: Arc::new(Shared { fabric, maxraftstate, order: Order::default(), state: Mutex::new(state) }),
        };
        for i in 0..n {
            cluster.start(i);
        }
        cluster.servers().connect_all();
        cluster
    }

    pub fn n(&self) -> usize {
        self.shared.fabric.n
    }

    /// The shared cluster operations (links, partitions, crashes) over the replicas.
    pub fn servers(&self) -> Servers<'_, State<L>> {
        Servers { fabric: &self.shared.fabric, state: &self.shared.state }
    }

    /// Starts replica `i` from a copy of its persisted state, with a fresh probe.
    pub fn start(&self, i: usize) {
        self.shared.fabric.revive_node(i);
        let persister = self.shared.state.lock().replicas[i].reincarnate().0;
        let ends = self.shared.fabric.ends[i].clone();
        let (max, order) = (self.shared.maxraftstate, self.shared.order.clone());
        let rsm = self.shared.fabric.boot(i, format!("start-{i}"), move || {
            L::Rsm::<Probe>::make(ends, i, persister, max, Probe::new(i, order))
        });
        let rpc = Server::new().with_service(rsm.raft().service());
        self.shared.state.lock().replicas[i].server = Some(rsm);
        self.shared.fabric.add_server(i, rpc);
    }

    /// Crashes and restarts replica `i`, connected again.
    pub fn restart(&self, i: usize) {
        self.servers().crash(i);
        self.start(i);
        self.servers().connect(i);
    }

    /// A replica that believes it leads, among the running ones.
    pub fn leader(&self) -> Option<usize> {
        (0..self.n()).find(|&i| self.servers().server(i).is_some_and(|r| r.raft().state().1))
    }

    /// Submits a fresh op to replica `i` (from a thread on its node, so a crash ends the call),
    /// records the answer, and returns the position it was applied at (None: an error or no
    /// answer).
    pub fn submit_to(&self, i: usize) -> Option<u64> {
        let tag = {
            let mut st = self.shared.state.lock();
            st.next_tag += 1;
            st.next_tag - 1
        };
        let rsm = self.servers().server(i)?;
        let called = time::now();
        let (tx, rx) = channel::bounded(1);
        thread::Builder::new().name("submit").node(self.shared.fabric.nodes[i]).spawn(move || {
            let _ = tx.send(rsm.submit(tag));
        });
        let answer: Option<Result<u64, SubmitError>> = rx.recv_timeout(SUBMIT_BOUND).ok();
        let position = match answer {
            Some(Ok(p)) => Some(p),
            Some(Err(_)) | None => None,
        };
        let returned = time::now();
        self.shared.state.lock().answers.push(Answer { tag, server: i, called, returned, position });
        position
    }

    /// Submits fresh ops, trying replicas in turn, until one is applied or `limit` passes.
    pub fn submit(&self, limit: Duration) -> Option<u64> {
        let deadline = time::now() + limit;
        let mut i = self.leader().unwrap_or(0);
        while time::now() < deadline {
            if let Some(p) = self.submit_to(i) {
                return Some(p);
            }
            i = (i + 1) % self.n();
            time::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Like `submit` but fails the run if no op is applied within `limit`.
    pub fn must_submit(&self, limit: Duration) -> u64 {
        self.submit(limit).unwrap_or_else(|| panic!("rsm: no submit was applied within {limit:?}"))
    }

    /// Checks every answer so far against the replicas' total order.
    pub fn check(&self) {
        let answers = self.shared.state.lock().answers.clone();
        self.shared.order.check_answers(&answers);
    }

    /// Ops applied by some replica.
    pub fn applied(&self) -> usize {
        self.shared.order.len()
    }

    /// The largest persisted Raft state of any replica, in bytes.
    pub fn raft_state_bytes(&self) -> usize {
        self.servers().log_size()
    }
}
