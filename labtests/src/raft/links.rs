//! Who can talk to whom: connect/disconnect (Go's config), partitions into groups, one-way link
//! cuts between nodes, and pausing a peer.
//!
//! The end from peer `a` to peer `b` is enabled exactly when both are connected and in the same
//! partition group, so connect, disconnect and partitions compose in any order.

use std::time::Duration;

use labrpc::{node, time};

use super::config::{end_name, Cluster, State};

impl Cluster {
    fn apply_links(&self, st: &State) {
        let n = self.shared.n;
        for from in 0..n {
            for to in (0..n).filter(|&to| to != from) {
                let (a, b) = (&st.peers[from], &st.peers[to]);
                let on = a.connected && b.connected && a.group == b.group;
                self.shared.net.enable(&end_name(from, to), on);
            }
        }
    }

    /// Attaches peer `i` to the network: its ends to and from every connected peer in its group.
    pub fn connect(&self, i: usize) {
        tracing::info!(peer = i, "harness: connect");
        let mut st = self.shared.state.lock();
        st.peers[i].connected = true;
        self.apply_links(&st);
    }

    /// Detaches peer `i`: every end from it and to it is disabled.
    pub fn disconnect(&self, i: usize) {
        tracing::info!(peer = i, "harness: disconnect");
        let mut st = self.shared.state.lock();
        st.peers[i].connected = false;
        self.apply_links(&st);
    }

    pub fn is_connected(&self, i: usize) -> bool {
        self.shared.state.lock().peers[i].connected
    }

    /// Splits the peers into `groups` (each peer in exactly one): ends work only within a group.
    pub fn partition(&self, groups: &[Vec<usize>]) {
        let n = self.shared.n;
        let mut seen = vec![false; n];
        for &i in groups.iter().flatten() {
            assert!(i < n, "partition names peer {i} of a {n}-peer cluster");
            assert!(!seen[i], "partition names peer {i} twice: {groups:?}");
            seen[i] = true;
        }
        assert!(seen.iter().all(|&s| s), "partition {groups:?} leaves a peer out");
        tracing::info!(?groups, "harness: partition");
        let mut st = self.shared.state.lock();
        for (g, group) in groups.iter().enumerate() {
            for &i in group {
                st.peers[i].group = g;
            }
        }
        self.apply_links(&st);
    }

    /// Ends any partition: every connected peer reaches every other.
    pub fn heal_partition(&self) {
        tracing::info!("harness: heal partition");
        let mut st = self.shared.state.lock();
        st.peers.iter_mut().for_each(|p| p.group = 0);
        self.apply_links(&st);
    }

    /// Cuts the link from peer `from` to peer `to` one way: `from`'s requests to `to` and `from`'s
    /// replies to `to`'s calls are lost, while `to` still reaches `from`.
    pub fn cut(&self, from: usize, to: usize) {
        assert_ne!(from, to, "a peer has no link to itself");
        tracing::info!(from, to, "harness: one-way cut");
        self.shared.net.cut(self.shared.nodes[from], self.shared.nodes[to]);
    }

    pub fn heal_cut(&self, from: usize, to: usize) {
        tracing::info!(from, to, "harness: heal one-way cut");
        self.shared.net.heal(self.shared.nodes[from], self.shared.nodes[to]);
    }

    pub fn heal_all_cuts(&self) {
        tracing::info!("harness: heal all cuts");
        self.shared.net.heal_all();
    }

    /// Stops every thread of peer `i` for `duration` (like a long GC pause); returns at once.
    /// Until it resumes the checks skip it, like a disconnected peer.
    pub fn pause(&self, i: usize, duration: Duration) {
        assert!(self.is_running(i), "peer {i} is crashed: nothing to pause");
        tracing::info!(peer = i, duration_ms = duration.as_millis() as u64, "harness: pause");
        let until = time::now() + duration;
        node::pause(self.shared.nodes[i], duration);
        let mut st = self.shared.state.lock();
        let peer = &mut st.peers[i];
        peer.paused_until = Some(peer.paused_until.map_or(until, |t| t.max(until)));
    }

    pub fn is_paused(&self, i: usize) -> bool {
        self.shared.state.lock().peers[i].is_paused(time::now())
    }

    /// Peers the checks may call: running, connected and not paused (Go's `connected[i]`, where
    /// a crashed peer is always disconnected).
    pub(crate) fn live(&self) -> Vec<(usize, raftkv::raft::Raft)> {
        self.running_awake(true)
    }

    /// Running (node up) and not paused, connected or not (whose state `wait` may read).
    pub(crate) fn awake(&self) -> Vec<(usize, raftkv::raft::Raft)> {
        self.running_awake(false)
    }

    fn running_awake(&self, connected_only: bool) -> Vec<(usize, raftkv::raft::Raft)> {
        let now = time::now();
        let st = self.shared.state.lock();
        (0..self.shared.n)
            .filter_map(|i| {
                let p = &st.peers[i];
                // A node labrpc crashed (a crash point) keeps its Raft handle until the harness
                // restarts it, but its threads are gone: its state() would be stale.
                let alive = node::is_alive(self.shared.nodes[i]);
                let usable = alive && !p.is_paused(now) && (p.connected || !connected_only);
                p.raft.clone().filter(|_| usable).map(|raft| (i, raft))
            })
            .collect()
    }
}
