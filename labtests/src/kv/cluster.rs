//! The kvraft test cluster, after the Go labs' kvraft config.go: n servers, each a Raft peer plus
//! a KVServer on its own labrpc node; clerks on nodes of their own whose ends can be limited to
//! some servers; partitions, crashes with restart from a copy of the persisted state, one-way
//! cuts and pauses, each recorded as an annotation of the run's history. A monitor thread records
//! leader changes.

use std::sync::Arc;
use std::time::Duration;

use labrpc::net::{ClientEnd, Network, Server};
use labrpc::persister::{CrashPoints, Persister};
use labrpc::sync::Mutex;
use labrpc::{node, thread, time, NodeId};
use raftkv::kvraft::{Clerk, KvServer};

use super::history::{Client, Recorder};

/// How often the monitor looks for leader changes.
const MONITOR_INTERVAL: Duration = Duration::from_millis(50);

fn server_name(i: usize) -> String {
    format!("server-{i}")
}

fn raft_end(from: usize, to: usize) -> String {
    format!("raft-{from}-{to}")
}

fn client_end(client: u64, to: usize) -> String {
    format!("client-{client}-{to}")
}

struct ClientInfo {
    node: NodeId,
    /// Servers this client's ends may reach (Go's ConnectClient).
    allowed: Vec<bool>,
}

struct State {
    servers: Vec<Option<KvServer>>,
    persisters: Vec<Persister>,
    connected: Vec<bool>,
    group: Vec<usize>,
    clients: Vec<ClientInfo>,
    /// (leader, term) last recorded by the monitor.
    last_leader: Option<(usize, u64)>,
}

struct Shared {
    n: usize,
    net: Network,
    nodes: Vec<NodeId>,
    raft_ends: Vec<Vec<ClientEnd>>,
    maxraftstate: Option<usize>,
    recorder: Recorder,
    state: Mutex<State>,
}

/// The cluster under test. Cheap to clone; every method runs inside the simulation.
#[derive(Clone)]
pub struct KvCluster {
    shared: Arc<Shared>,
}

impl KvCluster {
    /// Starts `n` connected servers (Go's make_config). `maxraftstate`: snapshot threshold in
    /// bytes, None for no snapshots.
    pub fn new(n: usize, unreliable: bool, maxraftstate: Option<usize>, recorder: &Recorder) -> KvCluster {
        let net = Network::new();
        net.set_reliable(!unreliable);
        let nodes: Vec<NodeId> = (0..n).map(|i| node::create(&server_name(i))).collect();
        let raft_ends = (0..n)
            .map(|from| {
                (0..n)
                    .map(|to| {
                        let end = net.make_end(&raft_end(from, to), nodes[from]);
                        if from != to {
                            net.connect(&raft_end(from, to), &server_name(to));
                        }
                        net.enable(&raft_end(from, to), false);
                        end
                    })
                    .collect()
            })
            .collect();
        let state = State {
            servers: (0..n).map(|_| None).collect(),
            persisters: (0..n).map(|_| Persister::new()).collect(),
            connected: vec![false; n],
            group: vec![0; n],
            clients: Vec::new(),
            last_leader: None,
        };
        let cluster = KvCluster {
            shared: Arc::new(Shared {
                n,
                net,
                nodes,
                raft_ends,
                maxraftstate,
                recorder: recorder.clone(),
                state: Mutex::new(state),
            }),
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
        self.shared.n
    }

    pub fn all(&self) -> Vec<usize> {
        (0..self.shared.n).collect()
    }

    pub fn net(&self) -> &Network {
        &self.shared.net
    }

    pub fn recorder(&self) -> &Recorder {
        &self.shared.recorder
    }

    pub fn node(&self, i: usize) -> NodeId {
        self.shared.nodes[i]
    }

    pub fn maxraftstate(&self) -> Option<usize> {
        self.shared.maxraftstate
    }

    fn apply_links(&self, st: &State) {
        let n = self.shared.n;
        for from in 0..n {
            for to in (0..n).filter(|&to| to != from) {
                let on = st.connected[from] && st.connected[to] && st.group[from] == st.group[to];
                self.shared.net.enable(&raft_end(from, to), on);
            }
        }
    }

    /// Starts server `i` from a copy of its persisted state (Go's StartServer). It stays
    /// disconnected from the other servers until `connect`.
    pub fn start_server(&self, i: usize) {
        let node = self.shared.nodes[i];
        if !node::is_alive(node) {
            node::restart(node);
        }
        let persister = {
            let mut st = self.shared.state.lock();
            assert!(st.servers[i].is_none(), "server {i} is already running");
            st.persisters[i] = st.persisters[i].copy();
            st.persisters[i].clone()
        };
        let ends = self.shared.raft_ends[i].clone();
        let max = self.shared.maxraftstate;
        let server = thread::Builder::new()
            .name(format!("start-{i}"))
            .node(node)
            .spawn(move || KvServer::start(ends, i, persister, max))
            .join()
            .unwrap_or_else(|_| panic!("KvServer::start of server {i} did not return"));
        let rpc = Server::new().with_service(server.raft().service()).with_service(server.service());
        self.shared.state.lock().servers[i] = Some(server);
        self.shared.net.add_server(&server_name(i), node, rpc);
    }

    /// Crash-stops server `i` (Go's ShutdownServer): disconnects it, removes its RPC server,
    /// unwinds its node, and keeps a copy of what it persisted.
    pub fn crash_server(&self, i: usize) {
        self.disconnect(i);
        self.shared.net.delete_server(&server_name(i));
        let node = self.shared.nodes[i];
        if node::is_alive(node) {
            node::crash(node);
        }
        let old = {
            let mut st = self.shared.state.lock();
            st.persisters[i] = st.persisters[i].copy();
            st.servers[i].take()
        };
        drop(old);
    }

    /// Crashes every server, waits `down`, restarts and reconnects them all.
    pub fn crash_and_restart_all(&self, down: Duration) {
        self.shared.recorder.begin("crash-all", "all crashed", "every server crashed; restarted from persisted state");
        for i in 0..self.shared.n {
            self.crash_server(i);
        }
        time::sleep(down);
        for i in 0..self.shared.n {
            self.start_server(i);
        }
        self.connect_all();
        self.shared.recorder.end("crash-all");
    }

    pub fn connect(&self, i: usize) {
        let mut st = self.shared.state.lock();
        st.connected[i] = true;
        self.apply_links(&st);
    }

    pub fn disconnect(&self, i: usize) {
        let mut st = self.shared.state.lock();
        st.connected[i] = false;
        self.apply_links(&st);
    }

    /// Every server connected, in one group (Go's ConnectAll); ends a partition.
    pub fn connect_all(&self) {
        let mut st = self.shared.state.lock();
        st.connected.iter_mut().for_each(|c| *c = true);
        st.group.iter_mut().for_each(|g| *g = 0);
        self.apply_links(&st);
        drop(st);
        self.shared.recorder.end("partition");
    }

    /// Servers in `p1` talk among themselves, as do those in `p2` (Go's partition).
    pub fn partition(&self, p1: &[usize], p2: &[usize]) {
        let mut st = self.shared.state.lock();
        for &i in p1 {
            st.group[i] = 0;
        }
        for &i in p2 {
            st.group[i] = 1;
        }
        self.apply_links(&st);
        drop(st);
        let label = format!("partition {p1:?} | {p2:?}");
        self.shared.recorder.begin("partition", label.clone(), format!("servers split into {p1:?} and {p2:?}"));
    }

    /// Some server that believes it is leader, if any (Go's Leader()).
    pub fn leader(&self) -> Option<usize> {
        let servers: Vec<Option<KvServer>> = self.shared.state.lock().servers.clone();
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
        let n = self.shared.n;
        let l = self.wait_leader(Duration::from_secs(5)).unwrap_or(0);
        let others: Vec<usize> = (0..n).filter(|&i| i != l).collect();
        let p1 = others[..n / 2 + 1].to_vec();
        let mut p2 = others[n / 2 + 1..].to_vec();
        p2.push(l);
        (p1, p2)
    }

    /// A clerk on a node of its own whose ends reach the servers in `to` (Go's makeClient).
    pub fn make_client(&self, to: &[usize]) -> Client<Clerk> {
        let n = self.shared.n;
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
                let end = self.shared.net.make_end(&client_end(id, j), node);
                self.shared.net.connect(&client_end(id, j), &server_name(j));
                end
            })
            .collect();
        self.connect_client(id, to);
        Client::new(Clerk::new(ends), id, self.shared.recorder.clone())
    }

    pub fn client_node(&self, client: u64) -> NodeId {
        self.shared.state.lock().clients[client as usize].node
    }

    /// Lets client `client` reach exactly the servers in `to` (Go's ConnectClient).
    pub fn connect_client(&self, client: u64, to: &[usize]) {
        let mut st = self.shared.state.lock();
        let info = &mut st.clients[client as usize];
        for j in 0..self.shared.n {
            info.allowed[j] = to.contains(&j);
            self.shared.net.enable(&client_end(client, j), info.allowed[j]);
        }
    }

    /// Cuts the link from `from` to `to` in that direction, recorded as a span until healed.
    pub fn cut(&self, from: NodeId, to: NodeId) {
        self.shared.net.cut(from, to);
        let (a, b) = (node::name(from), node::name(to));
        self.shared.recorder.begin(
            &format!("cut {a}->{b}"),
            format!("cut {a}->{b}"),
            format!("{a} cannot send to {b}"),
        );
    }

    pub fn heal_cut(&self, from: NodeId, to: NodeId) {
        self.shared.net.heal(from, to);
        self.shared.recorder.end(&format!("cut {}->{}", node::name(from), node::name(to)));
    }

    /// Pauses server `i` for `duration` (a long GC pause), recorded as a span.
    pub fn pause(&self, i: usize, duration: Duration) {
        let key = format!("pause {i}");
        self.shared.recorder.begin(&key, format!("server {i} paused"), format!("server {i} stopped for {duration:?}"));
        node::pause(self.shared.nodes[i], duration);
        let recorder = self.shared.recorder.clone();
        thread::Builder::new().name("pause-end").spawn(move || {
            time::sleep(duration);
            recorder.end(&key);
        });
    }

    /// Largest persisted Raft state over the servers, in bytes (Go's LogSize).
    pub fn log_size(&self) -> usize {
        self.shared.state.lock().persisters.iter().map(Persister::raft_state_size).max().unwrap_or(0)
    }

    /// Largest persisted snapshot over the servers, in bytes (Go's SnapshotSize).
    pub fn snapshot_size(&self) -> usize {
        self.shared.state.lock().persisters.iter().map(Persister::snapshot_size).max().unwrap_or(0)
    }

    pub fn total_rpcs(&self) -> u64 {
        self.shared.net.total_rpcs()
    }

    /// Server `i` has been started and not crashed by the harness since.
    pub fn is_running(&self, i: usize) -> bool {
        self.shared.state.lock().servers[i].is_some()
    }

    /// Sets the crash points of every server's persister; restarts keep them (`Persister::copy`).
    pub fn set_crash_points(&self, points: CrashPoints) {
        for persister in &self.shared.state.lock().persisters {
            persister.set_crash_points(points);
        }
    }

    /// Servers whose node went down by itself (a crash point) while running: crashed through
    /// `crash_server`, which keeps a copy of what they persisted, and recorded in the history.
    pub fn reap_self_crashed(&self) -> Vec<usize> {
        let down: Vec<usize> =
            (0..self.shared.n).filter(|&i| self.is_running(i) && !node::is_alive(self.shared.nodes[i])).collect();
        for &i in &down {
            tracing::info!(server = i, "harness: server went down at a crash point");
            self.shared.recorder.event(format!("crash {i}"), format!("server {i} went down at a crash point"));
            self.crash_server(i);
        }
        down
    }

    /// Records a new (leader, term) whenever one appears.
    fn monitor(self) {
        loop {
            time::sleep(MONITOR_INTERVAL);
            let servers: Vec<Option<KvServer>> = self.shared.state.lock().servers.clone();
            let mut best: Option<(usize, u64)> = None;
            for (i, server) in servers.iter().enumerate() {
                let Some(server) = server else { continue };
                if !node::is_alive(self.shared.nodes[i]) {
                    continue;
                }
                let (term, leader) = server.raft().state();
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
