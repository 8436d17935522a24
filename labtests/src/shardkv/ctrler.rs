//! The shard controller's test cluster: n replicas, each a Raft peer plus the controller service
//! on its own labrpc node (nodes `ctrler-i`); clerks on nodes of their own; partitions, crashes
//! with restart from a copy of the persisted state, through the shared cluster module.

use std::sync::Arc;
use std::time::Duration;

use labapi::{Lab, RaftPeer, ShardCtrlerClerk, ShardCtrlerServer};
use labrpc::net::{ClientEnd, Network, Server};
use labrpc::sync::Mutex;
use labrpc::{node, time};

use crate::cluster::{Fabric, Journal, Members, Naming, Servers, Slot};

const NAMING: Naming = Naming {
    node: |i| format!("ctrler-{i}"),
    server: |i| format!("ctrler-{i}"),
    end: |from, to| format!("ctrler-raft-{from}-{to}"),
};

/// The controller harness records nothing beyond the trace lines the network writes.
struct Quiet;

impl Journal for Quiet {}

pub struct State<L: Lab> {
    servers: Vec<Slot<L::ShardCtrler>>,
    clerks: u64,
}

impl<L: Lab> Members for State<L> {
    type Server = L::ShardCtrler;

    fn slots(&self) -> &[Slot<L::ShardCtrler>] {
        &self.servers
    }

    fn slots_mut(&mut self) -> &mut [Slot<L::ShardCtrler>] {
        &mut self.servers
    }
}

struct Shared<L: Lab> {
    fabric: Fabric,
    state: Mutex<State<L>>,
}

/// The controller cluster. Cheap to clone; every method runs inside the simulation.
pub struct CtrlerCluster<L: Lab> {
    shared: Arc<Shared<L>>,
}

impl<L: Lab> Clone for CtrlerCluster<L> {
    fn clone(&self) -> Self {
        CtrlerCluster { shared: self.shared.clone() }
    }
}

impl<L: Lab> CtrlerCluster<L> {
    /// Starts `n` connected replicas on `net` (shared with the shard groups in later phases).
    pub fn new(net: &Network, n: usize) -> CtrlerCluster<L> {
        let fabric = Fabric::new(net.clone(), n, NAMING, Box::new(Quiet));
        let state = State { servers: (0..n).map(|_| Slot::new()).collect(), clerks: 0 };
        let cluster = CtrlerCluster { shared: Arc::new(Shared { fabric, state: Mutex::new(state) }) };
        for i in 0..n {
            cluster.start_server(i);
        }
        cluster.servers().connect_all();
        cluster
    }

    pub fn n(&self) -> usize {
        self.shared.fabric.n
    }

    pub fn net(&self) -> &Network {
        &self.shared.fabric.net
    }

    /// Links, partitions, pauses and crashes over the replicas.
    pub fn servers(&self) -> Servers<'_, State<L>> {
        Servers { fabric: &self.shared.fabric, state: &self.shared.state }
    }

    /// Starts replica `i` from a copy of its persisted state; it stays disconnected until
    /// `servers().connect(i)`.
    pub fn start_server(&self, i: usize) {
        self.shared.fabric.revive_node(i);
        let (persister, _) = {
            let mut st = self.shared.state.lock();
            assert!(st.servers[i].server.is_none(), "controller {i} is already running");
            st.servers[i].reincarnate()
        };
        let ends = self.shared.fabric.ends[i].clone();
        let server = self
            .shared
            .fabric
            .boot(i, format!("ctrler-start-{i}"), move || L::ShardCtrler::start(ends, i, persister, None));
        let rpc = Server::new().with_service(server.raft().service()).with_service(server.service());
        self.shared.state.lock().servers[i].server = Some(server);
        self.shared.fabric.add_server(i, rpc);
    }

    /// Crash-stops replica `i`, waits `down`, restarts and reconnects it.
    pub fn crash_restart(&self, i: usize, down: Duration) {
        tracing::info!(replica = i, "harness: crashing controller replica");
        self.servers().crash(i);
        time::sleep(down);
        self.start_server(i);
        self.servers().connect(i);
    }

    /// Some replica that believes it leads, if any.
    pub fn leader(&self) -> Option<usize> {
        let st = self.shared.state.lock();
        st.servers.iter().position(|s| s.server.as_ref().is_some_and(|s| s.raft().state().1))
    }

    /// A clerk on a node of its own, reaching every replica.
    pub fn make_clerk(&self) -> L::ShardCtrlerClerk {
        let id = {
            let mut st = self.shared.state.lock();
            st.clerks += 1;
            st.clerks
        };
        let node = node::create(&format!("ctrler-clerk-{id}"));
        let ends: Vec<ClientEnd> = (0..self.n())
            .map(|j| {
                let name = format!("ctrler-clerk-{id}-{j}");
                let end = self.net().make_end(&name, node);
                self.net().connect(&name, self.shared.fabric.server_name(j));
                self.net().enable(&name, true);
                end
            })
            .collect();
        L::ShardCtrlerClerk::new(ends)
    }
}
