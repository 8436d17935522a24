//! The kvraft test cluster, after the Go labs' kvraft config.go: n servers, each a Raft peer plus
//! a KVServer on its own labrpc node; clerks on nodes of their own whose ends can be limited to
//! some servers; partitions, crashes with restart from a copy of the persisted state, one-way
//! cuts and pauses (the shared cluster module's, `crate::cluster`), each recorded as an
//! annotation of the run's history (`HistoryJournal`). A monitor thread records leader changes.

use std::sync::Arc;
use std::time::Duration;

use labapi::{KvraftClerk, KvraftServer, Lab, RaftPeer};
use labrpc::net::{ClientEnd, Network, Server};
use labrpc::persister::CrashPoints;
use labrpc::sync::Mutex;
use labrpc::{node, thread, time, NodeId};

use super::history::{Client, Recorder};
use crate::cluster::faults;
use crate::cluster::{Fabric, Journal, Members, Naming, Servers, Slot};

/// How often the monitor looks for leader changes.
const MONITOR_INTERVAL: Duration = Duration::from_millis(50);

/// Names in traces and views: nodes and servers `server-i`, Raft ends `raft-from-to`.
const NAMING: Naming = Naming {
    node: |i| format!("server-{i}"),
    server: |i| format!("server-{i}"),
    end: |from, to| format!("raft-{from}-{to}"),
};

fn client_end(client: u64, to: usize) -> String {
    format!("client-{client}-{to}")
}

struct ClientInfo {
    node: NodeId,
    /// Servers this client's ends may reach (Go's ConnectClient).
    allowed: Vec<bool>,
}

/// The harness state behind the cluster's one mutex.
pub struct State<L: Lab> {
    servers: Vec<Slot<L::KvraftServer>>,
    clients: Vec<ClientInfo>,
    /// (leader, term) last recorded by the monitor.
    last_leader: Option<(usize, u64)>,
}

impl<L: Lab> Members for State<L> {
    type Server = L::KvraftServer;

    fn slots(&self) -> &[Slot<L::KvraftServer>] {
        &self.servers
    }

    fn slots_mut(&mut self) -> &mut [Slot<L::KvraftServer>] {
        &mut self.servers
    }
}

struct Shared<L: Lab> {
    /// The network, one node per server and the Raft ends between them.
    fabric: Fabric,
    maxraftstate: Option<usize>,
    recorder: Recorder,
    state: Mutex<State<L>>,
}

fn pause_key(i: usize) -> String {
    format!("pause {i}")
}

/// Annotates the run's history with the cluster's partitions, cuts, pauses and crashes, and
/// traces each (INFO, as the Raft harness does).
struct HistoryJournal(Recorder);

impl Journal for HistoryJournal {
    fn connect(&self, i: usize) {
        tracing::info!(server = i, "harness: connect");
    }

    fn disconnect(&self, i: usize) {
        tracing::info!(server = i, "harness: disconnect");
    }

    fn connect_all(&self) {
        tracing::info!("harness: connect all");
    }

    fn partition(&self, groups: &[Vec<usize>]) {
        tracing::info!(?groups, "harness: partition");
    }

    fn heal_partition(&self) {
        tracing::info!("harness: heal partition");
    }

    fn heal_all_cuts(&self) {
        tracing::info!("harness: heal all cuts");
    }

    fn crashing(&self, i: usize) {
        tracing::info!(server = i, "harness: crash server");
    }

    fn partitioned(&self, groups: &[Vec<usize>]) {
        let sides: Vec<String> = groups.iter().map(|g| format!("{g:?}")).collect();
        let label = format!("partition {}", sides.join(" | "));
        self.0.begin("partition", label, format!("servers split into {}", sides.join(" and ")));
    }

    fn partition_healed(&self) {
        self.0.end("partition");
    }

    fn cut(&self, from: NodeId, to: NodeId, _servers: Option<(usize, usize)>) {
        let (a, b) = (node::name(from), node::name(to));
        tracing::info!(from = %a, to = %b, "harness: one-way cut");
        self.0.begin(&format!("cut {a}->{b}"), format!("cut {a}->{b}"), format!("{a} cannot send to {b}"));
    }

    fn heal_cut(&self, from: NodeId, to: NodeId, _servers: Option<(usize, usize)>) {
        tracing::info!(from = %node::name(from), to = %node::name(to), "harness: heal one-way cut");
        self.0.end(&format!("cut {}->{}", node::name(from), node::name(to)));
    }

    fn pause(&self, i: usize, duration: Duration) {
        tracing::info!(server = i, duration_ms = duration.as_millis() as u64, "harness: pause");
        self.0.begin(&pause_key(i), format!("server {i} paused"), format!("server {i} stopped for {duration:?}"));
    }

    fn paused(&self, i: usize, duration: Duration) {
        let key = pause_key(i);
        let recorder = self.0.clone();
        thread::Builder::new().name("pause-end").spawn(move || {
            time::sleep(duration);
            recorder.end(&key);
        });
    }

    fn went_down(&self, i: usize) {
        tracing::info!(server = i, "harness: server went down at a crash point");
        self.0.event(format!("crash {i}"), format!("server {i} went down at a crash point"));
    }

    fn fault_crash(&self, i: usize) {
        self.0.event(format!("crash {i}"), format!("server {i} crashed by the harness"));
    }

    fn fault_restart(&self, i: usize) {
        self.0.event(format!("restart {i}"), format!("server {i} restarted from its persisted state"));
    }
}

/// The cluster under test. Cheap to clone; every method runs inside the simulation.
pub struct KvCluster<L: Lab> {
    shared: Arc<Shared<L>>,
}

// By hand: a derive would ask `L: Clone` of the marker type.
impl<L: Lab> Clone for KvCluster<L> {
    fn clone(&self) -> KvCluster<L> {
        KvCluster { shared: self.shared.clone() }
    }
}

impl<L: Lab> KvCluster<L> {
    /// Starts `n` connected servers (Go's make_config). `maxraftstate`: snapshot threshold in
    /// bytes, None for no snapshots.
    pub fn new(n: usize, unreliable: bool, maxraftstate: Option<usize>, recorder: &Recorder) -> KvCluster<L> {
        let net = Network::new();
        net.set_reliable(!unreliable);
        let fabric = Fabric::new(net, n, NAMING, Box::new(HistoryJournal(recorder.clone())));
        let state = State { servers: (0..n).map(|_| Slot::new()).collect(), clients: Vec::new(), last_leader: None };
        let cluster = KvCluster {
            shared: Arc::new(Shared { fabric, maxraftstate, recorder: recorder.clone(), state: Mutex::new(state) }),
        };
        for i in 0..n {
            cluster.start_server(i);
        }
        cluster.connect_all();
        let monitor = cluster.clone();
        thread::Builder::new().name("leader-monitor").spawn(move || monitor.monitor());
        cluster
    }

    pub fn n(&self) -> usize {
        self.shared.fabric.n
    }

    pub fn all(&self) -> Vec<usize> {
        (0..self.n()).collect()
    }

    pub fn net(&self) -> &Network {
        &self.shared.fabric.net
    }

    /// The shared cluster operations (links, pauses, crashes) over this cluster's servers.
    pub(crate) fn servers(&self) -> Servers<'_, State<L>> {
        Servers { fabric: &self.shared.fabric, state: &self.shared.state }
    }

    pub fn recorder(&self) -> &Recorder {
        &self.shared.recorder
    }

    pub fn node(&self, i: usize) -> NodeId {
        self.shared.fabric.nodes[i]
    }

    pub fn maxraftstate(&self) -> Option<usize> {
        self.shared.maxraftstate
    }

    /// Starts server `i` from a copy of its persisted state (Go's StartServer). It stays
    /// disconnected from the other servers until `connect`.
    pub fn start_server(&self, i: usize) {
        self.shared.fabric.revive_node(i);
        tracing::info!(server = i, "harness: start server");
        let (persister, _) = {
            let mut st = self.shared.state.lock();
            assert!(st.servers[i].server.is_none(), "server {i} is already running");
            st.servers[i].reincarnate()
        };
        let ends = self.shared.fabric.ends[i].clone();
        let max = self.shared.maxraftstate;
        let server =
            self.shared.fabric.boot(i, format!("start-{i}"), move || L::KvraftServer::start(ends, i, persister, max));
        let rpc = Server::new().with_service(server.raft().service()).with_service(server.service());
        self.shared.state.lock().servers[i].server = Some(server);
        self.shared.fabric.add_server(i, rpc);
    }

    /// Crash-stops server `i` (Go's ShutdownServer): disconnects it, removes its RPC server,
    /// unwinds its node, and keeps a copy of what it persisted.
    pub fn crash_server(&self, i: usize) {
        self.servers().crash(i);
    }

    /// Crashes every server, waits `down`, restarts and reconnects them all.
    pub fn crash_and_restart_all(&self, down: Duration) {
        self.shared.recorder.begin("crash-all", "all crashed", "every server crashed; restarted from persisted state");
        for i in 0..self.n() {
            self.crash_server(i);
        }
        time::sleep(down);
        for i in 0..self.n() {
            self.start_server(i);
        }
        self.connect_all();
        self.shared.recorder.end("crash-all");
    }

    pub fn connect(&self, i: usize) {
        self.servers().connect(i);
    }

    pub fn disconnect(&self, i: usize) {
        self.servers().disconnect(i);
    }

    /// Every server connected, in one group (Go's ConnectAll); ends a partition.
    pub fn connect_all(&self) {
        self.servers().connect_all();
    }

    /// Servers in `p1` talk among themselves, as do those in `p2` (Go's partition).
    pub fn partition(&self, p1: &[usize], p2: &[usize]) {
        self.servers().partition(&[p1.to_vec(), p2.to_vec()]);
    }

    /// Splits the servers at random into two sides, each server a coin flip (Go's partitioner;
    /// a side may be empty).
    pub fn random_split(&self) {
        let n = self.n();
        let side: Vec<u64> = (0..n).map(|_| labrpc::rand::range(0..2)).collect();
        let p1: Vec<usize> = (0..n).filter(|&i| side[i] == 0).collect();
        let p2: Vec<usize> = (0..n).filter(|&i| side[i] == 1).collect();
        self.partition(&p1, &p2);
    }

    /// Some server that believes it is leader, if any (Go's Leader()).
    pub fn leader(&self) -> Option<usize> {
        let servers: Vec<Option<L::KvraftServer>> = self.running();
        servers.iter().enumerate().find(|(_, s)| s.as_ref().is_some_and(|s| s.raft().state().1)).map(|(i, _)| i)
    }

    /// Waits up to `limit` for a leader.
    pub fn wait_leader(&self, limit: Duration) -> Option<usize> {
        let deadline = time::now() + limit;
        loop {
            if let Some(l) = self.leader() {
                return Some(l);
            }
            if time::now() >= deadline {
                return None;
            }
            time::sleep(Duration::from_millis(50));
        }
    }

    /// A majority without the leader and a minority with it (Go's make_partition).
    pub fn make_partition(&self) -> (Vec<usize>, Vec<usize>) {
        let n = self.n();
        let l = self.wait_leader(Duration::from_secs(5)).unwrap_or(0);
        let others: Vec<usize> = (0..n).filter(|&i| i != l).collect();
        let p1 = others[..n / 2 + 1].to_vec();
        let mut p2 = others[n / 2 + 1..].to_vec();
        p2.push(l);
        (p1, p2)
    }

    /// A clerk on a node of its own whose ends reach the servers in `to` (Go's makeClient).
    pub fn make_client(&self, to: &[usize]) -> Client<L::KvraftClerk> {
        let n = self.n();
        let id = {
            let mut st = self.shared.state.lock();
            let id = st.clients.len() as u64;
            let node = node::create(&format!("client-{id}"));
            st.clients.push(ClientInfo { node, allowed: vec![false; n] });
            id
        };
        let node = self.client_node(id);
        let ends: Vec<ClientEnd> = (0..n)
            .map(|j| {
                let end = self.net().make_end(&client_end(id, j), node);
                self.net().connect(&client_end(id, j), self.shared.fabric.server_name(j));
                end
            })
            .collect();
        self.connect_client(id, to);
        Client::new(L::KvraftClerk::new(ends), id, self.shared.recorder.clone())
    }

    pub fn client_node(&self, client: u64) -> NodeId {
        self.shared.state.lock().clients[client as usize].node
    }

    /// Lets client `client` reach exactly the servers in `to` (Go's ConnectClient).
    pub fn connect_client(&self, client: u64, to: &[usize]) {
        let mut st = self.shared.state.lock();
        let info = &mut st.clients[client as usize];
        for j in 0..self.shared.fabric.n {
            info.allowed[j] = to.contains(&j);
            self.shared.fabric.net.enable(&client_end(client, j), info.allowed[j]);
        }
    }

    /// Cuts the link from `from` to `to` in that direction (servers or clients), recorded as a
    /// span until healed.
    pub fn cut(&self, from: NodeId, to: NodeId) {
        self.servers().cut_nodes(from, to);
    }

    pub fn heal_cut(&self, from: NodeId, to: NodeId) {
        self.servers().heal_cut_nodes(from, to);
    }

    /// Pauses server `i` for `duration` (a long GC pause), recorded as a span.
    pub fn pause(&self, i: usize, duration: Duration) {
        self.servers().pause(i, duration);
    }

    /// Largest persisted Raft state over the servers, in bytes (Go's LogSize).
    pub fn log_size(&self) -> usize {
        self.servers().log_size()
    }

    /// Largest persisted snapshot over the servers, in bytes (Go's SnapshotSize).
    pub fn snapshot_size(&self) -> usize {
        self.servers().snapshot_size()
    }

    pub fn total_rpcs(&self) -> u64 {
        self.net().total_rpcs()
    }

    /// Server `i` has been started and not crashed by the harness since.
    pub fn is_running(&self, i: usize) -> bool {
        self.servers().is_running(i)
    }

    /// Sets the crash points of every server's persister; restarts keep them (`Persister::copy`).
    pub fn set_crash_points(&self, points: CrashPoints) {
        self.servers().set_crash_points(points);
    }

    /// Every server's running incarnation (None while crashed), read under one lock.
    fn running(&self) -> Vec<Option<L::KvraftServer>> {
        self.shared.state.lock().servers.iter().map(|s| s.server.clone()).collect()
    }

    /// Records a new (leader, term) whenever one appears.
    fn monitor(self) {
        loop {
            time::sleep(MONITOR_INTERVAL);
            let servers: Vec<Option<L::KvraftServer>> = self.running();
            let mut best: Option<(usize, u64)> = None;
            for (i, server) in servers.iter().enumerate() {
                let Some(server) = server else { continue };
                if !node::is_alive(self.node(i)) {
                    continue;
                }
                let (term, leader) = server.raft().state();
                crate::timeline::event::peer_state(self.node(i), term, leader);
                if leader && best.is_none_or(|(_, t)| term > t) {
                    best = Some((i, term));
                }
            }
            let Some((leader, term)) = best else { continue };
            let mut st = self.shared.state.lock();
            if st.last_leader.is_none_or(|(_, t)| term > t) {
                st.last_leader = Some((leader, term));
                drop(st);
                self.shared
                    .recorder
                    .event(format!("leader {leader}"), format!("server {leader} is leader in term {term}"));
            }
        }
    }
}

impl<L: Lab> faults::Target for KvCluster<L> {
    type Members = State<L>;

    fn servers(&self) -> Servers<'_, State<L>> {
        KvCluster::servers(self)
    }

    fn restart(&self, i: usize) {
        self.start_server(i);
        self.connect(i);
    }
}
