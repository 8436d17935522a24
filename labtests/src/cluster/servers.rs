//! Who can talk to whom, pauses, and crash-stop, for any cluster: a view (`Servers`) of the
//! cluster's wiring and of the state mutex that holds its slots.
//!
//! The end from server `a` to server `b` is enabled exactly when both are connected and in the
//! same partition group, so connect, disconnect and partitions compose in any order. One-way cuts
//! are the network's (between nodes, clients' included) and compose with all of these.

use std::time::Duration;

use labrpc::persister::CrashPoints;
use labrpc::sync::Mutex;
use labrpc::{node, time, NodeId};

use super::{Fabric, Slot};

/// The state a cluster keeps behind its mutex holds one slot per server.
pub trait Members {
    /// The harness's handle on a running server.
    type Server: Clone;
    fn slots(&self) -> &[Slot<Self::Server>];
    fn slots_mut(&mut self) -> &mut [Slot<Self::Server>];
}

/// A cluster's wiring and its state mutex, seen together.
pub struct Servers<'a, M> {
    pub fabric: &'a Fabric,
    pub state: &'a Mutex<M>,
}

impl<M: Members> Servers<'_, M> {
    pub fn n(&self) -> usize {
        self.fabric.n
    }

    pub fn node(&self, i: usize) -> NodeId {
        self.fabric.nodes[i]
    }

    /// Sets every server-to-server end from the slots: through the ends the fabric holds, not
    /// their names (a lookup by name per end was most of a link change).
    fn apply_links(&self, st: &M) {
        let slots = st.slots();
        for from in 0..self.fabric.n {
            for to in (0..self.fabric.n).filter(|&to| to != from) {
                let (a, b) = (&slots[from], &slots[to]);
                let on = a.connected && b.connected && a.group == b.group;
                self.fabric.ends[from][to].set_enabled(on);
            }
        }
    }

    /// Attaches server `i` to the network: its ends to and from every connected server in its group.
    pub fn connect(&self, i: usize) {
        self.fabric.journal.connect(i);
        crate::timeline::event::connected(self.node(i), true);
        let mut st = self.state.lock();
        st.slots_mut()[i].connected = true;
        self.apply_links(&st);
    }

    /// Detaches server `i`: every end from it and to it is disabled.
    pub fn disconnect(&self, i: usize) {
        self.fabric.journal.disconnect(i);
        crate::timeline::event::connected(self.node(i), false);
        let mut st = self.state.lock();
        st.slots_mut()[i].connected = false;
        self.apply_links(&st);
    }

    pub fn is_connected(&self, i: usize) -> bool {
        self.state.lock().slots()[i].connected
    }

    /// Every server connected, in one group (Go's kvraft `ConnectAll`); ends a partition.
    pub fn connect_all(&self) {
        self.fabric.journal.connect_all();
        (0..self.fabric.n).for_each(|i| crate::timeline::event::connected(self.node(i), true));
        crate::timeline::event::partition(Vec::new);
        let mut st = self.state.lock();
        for slot in st.slots_mut() {
            slot.connected = true;
            slot.group = 0;
        }
        self.apply_links(&st);
        drop(st);
        self.fabric.journal.partition_healed();
    }

    /// Splits the servers into `groups` (each server in exactly one): ends work only within a group.
    pub fn partition(&self, groups: &[Vec<usize>]) {
        let n = self.fabric.n;
        let mut seen = vec![false; n];
        for &i in groups.iter().flatten() {
            assert!(i < n, "partition names server {i} of a {n}-server cluster");
            assert!(!seen[i], "partition names server {i} twice: {groups:?}");
            seen[i] = true;
        }
        assert!(seen.iter().all(|&s| s), "partition {groups:?} leaves a server out");
        self.fabric.journal.partition(groups);
        crate::timeline::event::partition(|| {
            groups.iter().map(|g| g.iter().map(|&i| self.node(i)).collect()).collect()
        });
        let mut st = self.state.lock();
        for (g, group) in groups.iter().enumerate() {
            for &i in group {
                st.slots_mut()[i].group = g;
            }
        }
        self.apply_links(&st);
        drop(st);
        self.fabric.journal.partitioned(groups);
    }

    /// Ends any partition: every connected server reaches every other.
    pub fn heal_partition(&self) {
        self.fabric.journal.heal_partition();
        crate::timeline::event::partition(Vec::new);
        let mut st = self.state.lock();
        st.slots_mut().iter_mut().for_each(|p| p.group = 0);
        self.apply_links(&st);
        drop(st);
        self.fabric.journal.partition_healed();
    }

    /// Cuts server `from`'s link to server `to` one way: `from`'s requests to `to` and `from`'s
    /// replies to `to`'s calls are lost, while `to` still reaches `from`.
    pub fn cut(&self, from: usize, to: usize) {
        assert_ne!(from, to, "a server has no link to itself");
        let (a, b) = (self.node(from), self.node(to));
        self.fabric.journal.cut(a, b, Some((from, to)));
        self.fabric.net.cut(a, b);
    }

    pub fn heal_cut(&self, from: usize, to: usize) {
        let (a, b) = (self.node(from), self.node(to));
        self.fabric.journal.heal_cut(a, b, Some((from, to)));
        self.fabric.net.heal(a, b);
    }

    /// Cuts node `from`'s link to node `to` one way (any nodes: servers or clients).
    pub fn cut_nodes(&self, from: NodeId, to: NodeId) {
        self.fabric.journal.cut(from, to, self.server_pair(from, to));
        self.fabric.net.cut(from, to);
    }

    pub fn heal_cut_nodes(&self, from: NodeId, to: NodeId) {
        self.fabric.journal.heal_cut(from, to, self.server_pair(from, to));
        self.fabric.net.heal(from, to);
    }

    pub fn heal_all_cuts(&self) {
        self.fabric.journal.heal_all_cuts();
        self.fabric.net.heal_all();
    }

    /// Stops every thread of server `i` for `duration` (like a long GC pause); returns at once.
    /// Until it resumes the checks skip it, like a disconnected server.
    pub fn pause(&self, i: usize, duration: Duration) {
        assert!(self.is_running(i), "server {i} is crashed: nothing to pause");
        self.fabric.journal.pause(i, duration);
        let until = time::now() + duration;
        node::pause(self.node(i), duration);
        self.fabric.journal.paused(i, duration);
        let mut st = self.state.lock();
        let slot = &mut st.slots_mut()[i];
        slot.paused_until = Some(slot.paused_until.map_or(until, |t| t.max(until)));
    }

    pub fn is_paused(&self, i: usize) -> bool {
        self.state.lock().slots()[i].is_paused(time::now())
    }

    /// Server `i` has been started and not crashed by the harness since.
    pub fn is_running(&self, i: usize) -> bool {
        self.state.lock().slots()[i].server.is_some()
    }

    /// The running incarnation of server `i`, if any.
    pub fn server(&self, i: usize) -> Option<M::Server> {
        self.state.lock().slots()[i].server.clone()
    }

    /// Crash-stops server `i` (Go's `crash1`, `ShutdownServer`): disconnects it, removes its RPC
    /// server, unwinds every thread of its node, and keeps a copy of what it persisted for the
    /// next incarnation.
    pub fn crash(&self, i: usize) {
        self.disconnect(i);
        self.fabric.net.delete_server(self.fabric.server_name(i));
        let node = self.node(i);
        if node::is_alive(node) {
            self.fabric.journal.crashing(i);
            node::crash(node);
        }
        let old = self.state.lock().slots_mut()[i].take_down();
        // Dropped outside the lock: the server's destructors may block.
        drop(old);
    }

    /// Servers whose node went down by itself (a crash point) while running: crashed through
    /// `crash`, which keeps a copy of what they persisted.
    pub fn reap_self_crashed(&self) -> Vec<usize> {
        let down: Vec<usize> =
            (0..self.fabric.n).filter(|&i| self.is_running(i) && !node::is_alive(self.node(i))).collect();
        for &i in &down {
            self.fabric.journal.went_down(i);
            self.crash(i);
        }
        down
    }

    /// Sets the crash points of every server's persister; restarts keep them (`Persister::copy`).
    pub fn set_crash_points(&self, points: CrashPoints) {
        for slot in self.state.lock().slots() {
            slot.persister.set_crash_points(points);
        }
    }

    /// Largest persisted Raft state over the servers, in bytes (Go's `LogSize`).
    pub fn log_size(&self) -> usize {
        self.state.lock().slots().iter().map(|s| s.persister.raft_state_size()).max().unwrap_or(0)
    }

    /// Largest persisted snapshot over the servers, in bytes (Go's `SnapshotSize`).
    pub fn snapshot_size(&self) -> usize {
        self.state.lock().slots().iter().map(|s| s.persister.snapshot_size()).max().unwrap_or(0)
    }

    /// Persisted bytes (Raft state plus snapshot) summed over the servers: what a whole cluster
    /// keeps on disk (6.5840's shardkv challenge 1 bounds it to show moved shards were deleted).
    pub fn persisted_bytes(&self) -> usize {
        self.state.lock().slots().iter().map(|s| s.persister.raft_state_size() + s.persister.snapshot_size()).sum()
    }

    /// When the last pause ends, if any was ever set.
    pub fn last_resume(&self) -> Option<time::Instant> {
        self.state.lock().slots().iter().filter_map(|s| s.paused_until).max()
    }

    /// Running (node up) and not paused servers, connected to the network or (with
    /// `connected_only` false) not, with their handles.
    pub fn running_awake(&self, connected_only: bool) -> Vec<(usize, M::Server)> {
        // Sized for every server at once: growing from empty reallocated for clusters of more
        // than four.
        let mut running = Vec::with_capacity(self.fabric.n);
        self.running_awake_into(connected_only, &mut running);
        running
    }

    /// [`Servers::running_awake`] into `into`, emptied first: the monitors call this at every
    /// poll and keep one list.
    pub fn running_awake_into(&self, connected_only: bool, into: &mut Vec<(usize, M::Server)>) {
        into.clear();
        let now = time::now();
        let st = self.state.lock();
        // The cheap tests first: the monitor calls this every 10 ms of virtual time.
        for (i, (p, &node)) in st.slots().iter().zip(&self.fabric.nodes).enumerate() {
            let Some(server) = &p.server else { continue };
            // A node labrpc crashed (a crash point) keeps its handle until the harness
            // restarts it, but its threads are gone: calling into it would read stale state.
            if (p.connected || !connected_only) && !p.is_paused(now) && node::is_alive(node) {
                into.push((i, server.clone()));
            }
        }
    }

    /// Both nodes' server indices, if both are servers of this cluster (not clients).
    fn server_pair(&self, from: NodeId, to: NodeId) -> Option<(usize, usize)> {
        let index = |node| self.fabric.nodes.iter().position(|&n| n == node);
        index(from).zip(index(to))
    }

    /// Servers `p` and `q` are both connected, in one partition group, and no one-way cut lies
    /// between them in either direction.
    pub fn linked_both_ways(&self, st: &M, p: usize, q: usize) -> bool {
        let (a, b) = (&st.slots()[p], &st.slots()[q]);
        let (np, nq) = (self.node(p), self.node(q));
        let net = &self.fabric.net;
        a.connected && b.connected && a.group == b.group && !net.is_cut(np, nq) && !net.is_cut(nq, np)
    }
}
