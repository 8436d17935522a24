//! The sharded store's test cluster: a controller cluster (`ctrler`) and up to three shard
//! groups (gids 1-3) of n servers each, every server on its own node, all on one network; clients
//! on nodes of their own whose every operation is recorded for the linearizability check. Groups
//! join and leave through a controller clerk of the harness's; a whole group can be shut down and
//! restarted from what its servers persisted.

use std::sync::Arc;
use std::time::Duration;

use labapi::shard::{Config, Gid};
use labapi::{Lab, MakeEnd, RaftPeer, ShardCtrlerClerk, ShardKvServer};
use labrpc::net::{Network, Server};
use labrpc::sync::Mutex;
use labrpc::{node, time};

use super::ctrler::CtrlerCluster;
use super::marks;
use super::scenarios_5a::group;
use crate::cluster::{Fabric, Journal, Members, Naming, Servers, Slot};
use crate::kv::history::{Client, Recorder};

/// Gids the harness can run (each needs its own names, made at compile time).
pub const GIDS: [Gid; 3] = [1, 2, 3];

fn server_name<const G: u64>(i: usize) -> String {
    format!("g{G}-{i}")
}

fn end_name<const G: u64>(from: usize, to: usize) -> String {
    format!("g{G}-raft-{from}-{to}")
}

const fn naming<const G: u64>() -> Naming {
    Naming { node: server_name::<G>, server: server_name::<G>, end: end_name::<G> }
}

const NAMINGS: [Naming; 3] = [naming::<1>(), naming::<2>(), naming::<3>()];

/// Annotates the history with what happens to a group.
struct GroupJournal {
    gid: Gid,
    recorder: Recorder,
}

impl Journal for GroupJournal {
    fn crashing(&self, i: usize) {
        self.recorder.event(format!("crash g{}-{i}", self.gid), format!("server {i} of group {} crashed", self.gid));
    }

    fn partitioned(&self, groups: &[Vec<usize>]) {
        let g = self.gid;
        self.recorder.begin(
            &format!("split {g}"),
            format!("g{g} split {groups:?}"),
            format!("group {g} split {groups:?}"),
        );
    }

    fn partition_healed(&self) {
        self.recorder.end(&format!("split {}", self.gid));
    }

    fn paused(&self, i: usize, duration: Duration) {
        let (g, ms) = (self.gid, duration.as_millis());
        self.recorder.event(format!("pause g{g}-{i}"), format!("server {i} of group {g} paused for {ms} ms"));
    }

    fn cut(&self, from: labrpc::NodeId, to: labrpc::NodeId, _servers: Option<(usize, usize)>) {
        let (from, to) = (node::name(from), node::name(to));
        self.recorder.event(format!("cut {from}->{to}"), format!("link {from} -> {to} cut one way"));
    }

    fn heal_cut(&self, from: labrpc::NodeId, to: labrpc::NodeId, _servers: Option<(usize, usize)>) {
        let (from, to) = (node::name(from), node::name(to));
        self.recorder.event(format!("heal {from}->{to}"), format!("link {from} -> {to} healed"));
    }
}

pub struct GroupState<L: Lab> {
    servers: Vec<Slot<L::ShardKvServer>>,
}

impl<L: Lab> Members for GroupState<L> {
    type Server = L::ShardKvServer;

    fn slots(&self) -> &[Slot<L::ShardKvServer>] {
        &self.servers
    }

    fn slots_mut(&mut self) -> &mut [Slot<L::ShardKvServer>] {
        &mut self.servers
    }
}

struct Group<L: Lab> {
    gid: Gid,
    fabric: Fabric,
    state: Mutex<GroupState<L>>,
}

struct Shared<L: Lab> {
    net: Network,
    ctrl: CtrlerCluster<L>,
    groups: Vec<Group<L>>,
    maxraftstate: Option<usize>,
    recorder: Recorder,
    /// The harness's own controller clerk (joins and leaves), and how many clients were made.
    admin: Mutex<(L::ShardCtrlerClerk, u64)>,
}

/// The sharded store under test. Cheap to clone.
pub struct ShardCluster<L: Lab> {
    shared: Arc<Shared<L>>,
}

impl<L: Lab> Clone for ShardCluster<L> {
    fn clone(&self) -> Self {
        ShardCluster { shared: self.shared.clone() }
    }
}

/// Ends to servers by name, each with a name of its own, owned by `owner` (None: the calling
/// thread's node, for servers, whose threads run on their node).
fn end_maker(net: &Network, owner: Option<labrpc::NodeId>) -> MakeEnd {
    let (net, made) = (net.clone(), Arc::new(Mutex::new(0u64)));
    Arc::new(move |server: &str| {
        let id = {
            let mut made = made.lock();
            *made += 1;
            *made
        };
        let owner = owner.unwrap_or_else(node::current_node);
        // A restarted server makes its ends again: the incarnation keeps the names apart.
        let name = format!("{}-i{}-to-{server}-{id}", node::name(owner), node::incarnation(owner));
        let end = net.make_end(&name, owner);
        net.connect(&name, server);
        net.enable(&name, true);
        end
    })
}

impl<L: Lab> ShardCluster<L> {
    /// A controller of 3 replicas and groups 1-3 of `n` servers each, started but not joined.
    pub fn new(n: usize, reliable: bool, maxraftstate: Option<usize>, recorder: &Recorder) -> ShardCluster<L> {
        let net = Network::new();
        net.set_reliable(reliable);
        let ctrl = CtrlerCluster::<L>::new(&net, 3);
        let groups = GIDS
            .iter()
            .zip(NAMINGS)
            .map(|(&gid, naming)| {
                let journal = Box::new(GroupJournal { gid, recorder: recorder.clone() });
                let fabric = Fabric::new(net.clone(), n, naming, journal);
                Group { gid, fabric, state: Mutex::new(GroupState { servers: (0..n).map(|_| Slot::new()).collect() }) }
            })
            .collect();
        let admin = Mutex::new((ctrl.make_clerk(), 0));
        let cluster = ShardCluster {
            shared: Arc::new(Shared { net, ctrl, groups, maxraftstate, recorder: recorder.clone(), admin }),
        };
        for gi in 0..GIDS.len() {
            for i in 0..n {
                cluster.start_server(gi, i);
            }
            cluster.servers(gi).connect_all();
        }
        cluster
    }

    fn index(gid: Gid) -> usize {
        GIDS.iter().position(|&g| g == gid).unwrap_or_else(|| panic!("the harness runs groups {GIDS:?}, not {gid}"))
    }

    /// Links, partitions and crashes of group `gi`'s servers.
    fn servers(&self, gi: usize) -> Servers<'_, GroupState<L>> {
        let g = &self.shared.groups[gi];
        Servers { fabric: &g.fabric, state: &g.state }
    }

    /// Links, partitions, one-way cuts and pauses of group `gid`'s servers (the shared cluster
    /// helpers); `group(gid).node(i)` is server i's node, for cuts between groups.
    pub fn group(&self, gid: Gid) -> Servers<'_, GroupState<L>> {
        self.servers(Self::index(gid))
    }

    /// Some running server of group `gid` that believes it leads, if any.
    pub fn leader(&self, gid: Gid) -> Option<usize> {
        self.group(gid).running_awake(false).into_iter().find(|(_, s)| s.raft().state().1).map(|(i, _)| i)
    }

    /// What group `gid`'s servers persisted (Raft state and snapshots), summed, in bytes.
    pub fn persisted_bytes(&self, gid: Gid) -> usize {
        self.group(gid).persisted_bytes()
    }

    pub fn n(&self) -> usize {
        self.shared.groups[0].fabric.n
    }

    pub fn ctrl(&self) -> &CtrlerCluster<L> {
        &self.shared.ctrl
    }

    /// The network every server and client is on (latency rules, benchmarks).
    pub fn net(&self) -> &Network {
        &self.shared.net
    }

    pub fn total_rpcs(&self) -> u64 {
        self.shared.net.total_rpcs()
    }

    fn start_server(&self, gi: usize, i: usize) {
        let g = &self.shared.groups[gi];
        g.fabric.revive_node(i);
        let (persister, _) = {
            let mut st = g.state.lock();
            assert!(st.servers[i].server.is_none(), "server {i} of group {} is already running", g.gid);
            st.servers[i].reincarnate()
        };
        let (ends, gid, max) = (g.fabric.ends[i].clone(), g.gid, self.shared.maxraftstate);
        let ctrlers = self.ctrl_ends_on(g.fabric.nodes[i], &format!("g{gid}-{i}"));
        let make_end = end_maker(&self.shared.net, None);
        let server = g.fabric.boot(i, format!("g{gid}-start-{i}"), move || {
            L::ShardKvServer::start(ends, i, persister, max, gid, ctrlers, make_end)
        });
        let rpc = Server::new().with_service(server.raft().service()).with_service(server.service());
        g.state.lock().servers[i].server = Some(server);
        g.fabric.add_server(i, rpc);
    }

    /// Ends from `owner` to every controller replica.
    fn ctrl_ends_on(&self, owner: labrpc::NodeId, prefix: &str) -> Vec<labrpc::net::ClientEnd> {
        let incarnation = node::incarnation(owner);
        (0..self.shared.ctrl.n())
            .map(|j| {
                let name = format!("{prefix}-ctrler-{j}-inc{incarnation}");
                let end = self.shared.net.make_end(&name, owner);
                self.shared.net.connect(&name, &format!("ctrler-{j}"));
                self.shared.net.enable(&name, true);
                end
            })
            .collect()
    }

    /// Joins groups through the controller; the configuration it made.
    pub fn join(&self, gids: &[Gid]) -> Config {
        let groups = gids.iter().flat_map(|&g| group(g)).map(|(g, _)| (g, self.server_names(g))).collect();
        let change = format!("join {gids:?}");
        self.shared.recorder.event(&change, format!("groups {gids:?} join"));
        let config =
            self.shared.admin.lock().0.join(groups).unwrap_or_else(|e| panic!("join of {gids:?} refused: {e}"));
        marks::mark(&self.shared.recorder, &change, &config);
        config
    }

    pub fn leave(&self, gids: &[Gid]) -> Config {
        let change = format!("leave {gids:?}");
        self.shared.recorder.event(&change, format!("groups {gids:?} leave"));
        let config =
            self.shared.admin.lock().0.leave(gids).unwrap_or_else(|e| panic!("leave of {gids:?} refused: {e}"));
        marks::mark(&self.shared.recorder, &change, &config);
        config
    }

    pub fn query(&self) -> Config {
        self.shared.admin.lock().0.query(None)
    }

    fn server_names(&self, gid: Gid) -> Vec<String> {
        let g = &self.shared.groups[Self::index(gid)];
        (0..g.fabric.n).map(|i| g.fabric.server_name(i).to_string()).collect()
    }

    /// Crash-stops every server of group `gid` (their persisted state is kept).
    pub fn shutdown_group(&self, gid: Gid) {
        let gi = Self::index(gid);
        self.shared.recorder.begin(
            &format!("down {gid}"),
            format!("group {gid} down"),
            format!("every server of group {gid} crashed"),
        );
        for i in 0..self.n() {
            self.servers(gi).crash(i);
        }
    }

    /// Restarts every server of group `gid` from what it persisted.
    pub fn start_group(&self, gid: Gid) {
        let gi = Self::index(gid);
        for i in 0..self.n() {
            self.start_server(gi, i);
        }
        self.servers(gi).connect_all();
        self.shared.recorder.end(&format!("down {gid}"));
    }

    /// Crash-stops server `i` of group `gid` (its persisted state is kept).
    pub fn shutdown_server(&self, gid: Gid, i: usize) {
        self.servers(Self::index(gid)).crash(i);
    }

    /// Restarts server `i` of group `gid` from what it persisted and connects it.
    pub fn restart_server(&self, gid: Gid, i: usize) {
        let gi = Self::index(gid);
        self.start_server(gi, i);
        self.servers(gi).connect(i);
    }

    /// Crashes server `i` of group `gid`, waits `down`, restarts and reconnects it.
    pub fn crash_restart(&self, gid: Gid, i: usize, down: Duration) {
        self.shutdown_server(gid, i);
        time::sleep(down);
        self.restart_server(gid, i);
    }

    /// Splits group `gid`'s servers into two sides, each server a coin flip, until `heal`.
    pub fn random_split(&self, gid: Gid) {
        let gi = Self::index(gid);
        let side: Vec<usize> = (0..self.n()).filter(|_| labrpc::rand::range(0..2) == 0).collect();
        let other: Vec<usize> = (0..self.n()).filter(|i| !side.contains(i)).collect();
        self.servers(gi).partition(&[side, other]);
    }

    pub fn heal(&self, gid: Gid) {
        self.servers(Self::index(gid)).connect_all();
    }

    /// A recorded client on a node of its own.
    pub fn make_client(&self) -> Client<L::ShardKvClerk> {
        let id = {
            let mut admin = self.shared.admin.lock();
            admin.1 += 1;
            admin.1
        };
        let node = node::create(&format!("client-{id}"));
        let ctrlers = self.ctrl_ends_on(node, &format!("client-{id}"));
        let make_end = end_maker(&self.shared.net, Some(node));
        let clerk = labrpc::thread::Builder::new()
            .name(format!("client-{id}-make"))
            .node(node)
            .spawn(move || <L::ShardKvClerk as labapi::ShardKvClerk>::new(ctrlers, make_end))
            .join()
            .unwrap_or_else(|_| panic!("making client {id} did not return"));
        Client::new(clerk, id, self.shared.recorder.clone())
    }
}
