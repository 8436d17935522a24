//! A cluster's fixed wiring: its network, one node per server, and the server-to-server ends,
//! made once and reused by every incarnation (crash-stop leaves no old instance that could still
//! use them).

use std::cell::RefCell;
use std::time::Duration;

use labrpc::net::{ClientEnd, Network, Server, ServerId};
use labrpc::{node, thread, NodeId};

/// How a cluster names its nodes, its servers' RPC servers and the ends between them (names show
/// in traces and the kv views, so each harness keeps its own).
#[derive(Clone, Copy, Debug)]
pub struct Naming {
    pub node: fn(usize) -> String,
    pub server: fn(usize) -> String,
    /// The end from server `from` to server `to`.
    pub end: fn(usize, usize) -> String,
}

/// What an action leaves in the run's record: the Raft harness writes trace lines (pinned by the
/// fixed-seed trace snapshots, so they keep the Raft harness's own module as their target), the
/// kv harness annotates its history with spans and events for the linearizability view. Each
/// method is called where the action happens; every one defaults to nothing.
pub trait Journal: Send + Sync {
    fn connect(&self, _i: usize) {}
    fn disconnect(&self, _i: usize) {}
    fn connect_all(&self) {}
    /// Called before the groups take effect.
    fn partition(&self, _groups: &[Vec<usize>]) {}
    /// After the groups took effect.
    fn partitioned(&self, _groups: &[Vec<usize>]) {}
    fn heal_partition(&self) {}
    /// After a partition ended (by `heal_partition` or `connect_all`).
    fn partition_healed(&self) {}
    /// `servers`: the two servers' indices when both nodes are servers of the cluster.
    fn cut(&self, _from: NodeId, _to: NodeId, _servers: Option<(usize, usize)>) {}
    fn heal_cut(&self, _from: NodeId, _to: NodeId, _servers: Option<(usize, usize)>) {}
    fn heal_all_cuts(&self) {}
    /// Before the node is paused for `duration`.
    fn pause(&self, _i: usize, _duration: Duration) {}
    /// After it was.
    fn paused(&self, _i: usize, _duration: Duration) {}
    /// The harness is crashing server `i`'s (live) node.
    fn crashing(&self, _i: usize) {}
    /// Server `i` went down at a crash point (found by `Servers::reap_self_crashed`).
    fn went_down(&self, _i: usize) {}
    /// The swarm faults are about to crash server `i`.
    fn fault_crash(&self, _i: usize) {}
    /// The swarm faults are about to restart server `i`.
    fn fault_restart(&self, _i: usize) {}
}

thread_local! {
    /// The networks of the clusters built by runs on this OS thread, with their servers' names:
    /// `release_networks` takes the servers off them once the runs have ended.
    static BUILT: RefCell<Vec<(Network, Vec<String>)>> = const { RefCell::new(Vec::new()) };
}

/// Takes every server off the networks of the clusters that runs on this OS thread built, and
/// drops those servers, once the runs have ended (call it after `sim::run` returns).
///
/// Why: a network holds its servers, a server holds its ends to its peers, and an end holds the
/// network, so a cluster whose servers are still up when its run ends is a cycle that nothing
/// frees: the servers' logs, state machines and persisters stayed allocated, run after run
/// (about 3 MB per `suite_bench raft` suite and 9 MB per kvraft suite), so every run took fresh
/// pages (page faults were about 2.5% of the Raft suite's process). Taking the servers off after
/// the run changes nothing a run does: the simulation has ended, and its last threads were killed.
pub fn release_networks() {
    let built = BUILT.with(|built| std::mem::take(&mut *built.borrow_mut()));
    for (net, names) in built {
        for name in &names {
            net.delete_server(name);
        }
    }
}

pub struct Fabric {
    pub n: usize,
    pub net: Network,
    pub nodes: Vec<NodeId>,
    /// `ends[from][to]`, owned by node `from`, connected to server `to`; a server's end to itself
    /// stays unconnected (a server never calls itself).
    pub ends: Vec<Vec<ClientEnd>>,
    pub journal: Box<dyn Journal>,
    /// The servers' names the cluster's `Naming` gives, made once (formatting them at every use
    /// showed in profiles); ends are set through `ends`, not by name.
    server_names: Vec<String>,
    /// The servers' ids on `net`: the Raft monitor reads every server's counters at every poll.
    server_ids: Vec<ServerId>,
}

impl Fabric {
    /// Creates `n` nodes on `net` (configured by the caller) and the disabled ends between them.
    pub fn new(net: Network, n: usize, naming: Naming, journal: Box<dyn Journal>) -> Fabric {
        assert!((1..=16).contains(&n), "a cluster has 1 to 16 servers, not {n}");
        let nodes: Vec<NodeId> = (0..n).map(|i| node::create(&(naming.node)(i))).collect();
        let server_names: Vec<String> = (0..n).map(naming.server).collect();
        let end_names: Vec<Vec<String>> =
            (0..n).map(|from| (0..n).map(|to| (naming.end)(from, to)).collect()).collect();
        let ends = (0..n)
            .map(|from| {
                (0..n)
                    .map(|to| {
                        let name = &end_names[from][to];
                        let end = net.make_end(name, nodes[from]);
                        if from != to {
                            net.connect(name, &server_names[to]);
                        }
                        net.enable(name, false);
                        end
                    })
                    .collect()
            })
            .collect();
        let server_ids = server_names.iter().map(|name| net.server_id(name)).collect();
        BUILT.with(|built| built.borrow_mut().push((net.clone(), server_names.clone())));
        Fabric { n, net, nodes, ends, journal, server_names, server_ids }
    }

    pub fn server_name(&self, i: usize) -> &str {
        &self.server_names[i]
    }

    pub fn server_id(&self, i: usize) -> ServerId {
        self.server_ids[i]
    }

    /// Restarts server `i`'s node if it is down (crashed by the harness or at a crash point).
    pub fn revive_node(&self, i: usize) {
        let node = self.nodes[i];
        if !node::is_alive(node) {
            node::restart(node);
        }
    }

    /// Runs `make` on server `i`'s node, in a thread named `thread_name`, and returns what it
    /// built: every thread the server spawns then belongs to that node and dies with it.
    pub fn boot<S: Send + 'static>(
        &self,
        i: usize,
        thread_name: String,
        make: impl FnOnce() -> S + Send + 'static,
    ) -> S {
        thread::Builder::new()
            .name(thread_name.clone())
            .node(self.nodes[i])
            .spawn(make)
            .join()
            .unwrap_or_else(|_| panic!("{thread_name}: building server {i} did not return"))
    }

    /// Puts server `i`'s RPC server on the network under its name.
    pub fn add_server(&self, i: usize, server: Server) {
        self.net.add_server(self.server_name(i), self.nodes[i], server);
    }
}
