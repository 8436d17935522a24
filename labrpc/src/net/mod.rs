//! The simulated network, after the 6.824 labrpc: client ends connect to named servers, each
//! server hosts services, a call is a typed blocking request/reply. Faults are configured here
//! and applied by the rules in `faults.rs`. Beyond the labs: one-way link cuts between nodes,
//! message duplication, late duplicates, held replies (for a drawn time, or on one link until
//! released), crashes right after a reply, and (through `node::pause`) servers that stop for a
//! while.
//!
//! Arguments and replies are serde types encoded with postcard, so caller and handler never share
//! memory and every byte is counted.

mod client;
pub(crate) mod faults;
mod service;
pub mod tcp;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

pub use client::{ClientEnd, RpcError};
pub use service::{Server, Service};

use crate::node::{self, NodeId};
use crate::thread;
use crate::time::sleep;
use faults::{Faults, HeldLinks};

struct EndEntry {
    owner: NodeId,
    /// Shared, so routing a call copies no name.
    server: Option<Arc<str>>,
    enabled: bool,
}

struct ServerEntry {
    node: NodeId,
    /// The node's incarnation when the server was added: after a crash the server is dead.
    incarnation: u64,
    /// Bumped when a server is added under a name, so replies of a replaced server are dropped.
    generation: u64,
    server: Arc<Server>,
    rpc_count: u64,
    /// Requests whose handler returned a reply (sent or not: the server answered).
    answered: u64,
}

impl ServerEntry {
    /// Its node is up, in the incarnation it was added in (a crash ends the server).
    fn is_up(&self) -> bool {
        node::is_alive(self.node) && node::incarnation(self.node) == self.incarnation
    }
}

struct NetState {
    faults: Faults,
    ends: BTreeMap<String, EndEntry>,
    servers: BTreeMap<String, ServerEntry>,
    /// Directed cuts: messages from the first node to the second are lost.
    cuts: BTreeSet<(NodeId, NodeId)>,
    /// Rule 13: links whose replies wait for the scenario to release them.
    held: HeldLinks,
    total_rpcs: u64,
    total_bytes: u64,
    next_generation: u64,
}

/// The network. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Network {
    state: Arc<Mutex<NetState>>,
}

impl Default for Network {
    fn default() -> Network {
        Network::new()
    }
}

/// Where a call goes, decided when it is made.
pub(crate) enum Route {
    Deliver { server: Arc<Server>, server_name: Arc<str>, node: NodeId, generation: u64, owner: NodeId },
    Unreachable,
}

impl Network {
    /// A reliable network with no ends and no servers.
    pub fn new() -> Network {
        Network {
            state: Arc::new(Mutex::new(NetState {
                faults: Faults::default(),
                ends: BTreeMap::new(),
                servers: BTreeMap::new(),
                cuts: BTreeSet::new(),
                held: HeldLinks::default(),
                total_rpcs: 0,
                total_bytes: 0,
                next_generation: 0,
            })),
        }
    }

    /// A client end named `name`, sending from `owner` (the node whose threads use it; it decides
    /// which link cuts apply). It starts unconnected and enabled.
    pub fn make_end(&self, name: &str, owner: NodeId) -> ClientEnd {
        let mut st = self.state.lock();
        let previous = st.ends.insert(name.to_string(), EndEntry { owner, server: None, enabled: true });
        assert!(previous.is_none(), "labrpc: client end {name:?} made twice");
        ClientEnd::new(self.clone(), name.to_string())
    }

    /// Connects end `end` to the server named `server` (which may be added later).
    pub fn connect(&self, end: &str, server: &str) {
        self.with_end(end, |e| e.server = Some(Arc::from(server)));
    }

    /// Enables or disables an end: a disabled end's calls find no route.
    pub fn enable(&self, end: &str, enabled: bool) {
        self.with_end(end, |e| e.enabled = enabled);
    }

    fn with_end(&self, end: &str, f: impl FnOnce(&mut EndEntry)) {
        let mut st = self.state.lock();
        match st.ends.get_mut(end) {
            Some(e) => f(e),
            None => panic!("labrpc: no client end named {end:?}"),
        }
    }

    /// Adds (or replaces) the server `name`, running its handlers on `node`. Replies from a
    /// replaced server are never delivered.
    pub fn add_server(&self, name: &str, node: NodeId, server: Server) {
        let incarnation = node::incarnation(node);
        let mut st = self.state.lock();
        st.next_generation += 1;
        let generation = st.next_generation;
        st.servers.insert(
            name.to_string(),
            ServerEntry { node, incarnation, generation, server: Arc::new(server), rpc_count: 0, answered: 0 },
        );
    }

    /// Removes the server `name`: calls to it find no route, replies still in flight are lost.
    pub fn delete_server(&self, name: &str) {
        self.state.lock().servers.remove(name);
    }

    pub fn set_reliable(&self, reliable: bool) {
        self.state.lock().faults.reliable = reliable;
    }

    /// Every request and every reply spends a time drawn uniformly from `min..=max` on the wire
    /// (default: none, as in the Go labs). Applies on reliable and unreliable networks alike.
    pub fn set_latency(&self, min: Duration, max: Duration) {
        assert!(min <= max, "labrpc: latency range {min:?}..={max:?} is empty (min above max)");
        let max_us = u64::try_from(max.as_micros()).expect("labrpc: latency above u64 microseconds");
        self.state.lock().faults.latency_us = (min.as_micros() as u64, max_us);
    }

    /// Long delays for calls without a route (up to 7 s instead of 100 ms).
    pub fn set_long_delays(&self, on: bool) {
        self.state.lock().faults.long_delays = on;
    }

    /// Hold about 2/3 of replies for 200-2200 ms.
    pub fn set_long_reordering(&self, on: bool) {
        self.state.lock().faults.long_reordering = on;
    }

    /// Deliver requests twice with probability `per_mille`/1000.
    pub fn set_duplicate_per_mille(&self, per_mille: u32) {
        assert!(per_mille <= 1000, "labrpc: duplicate probability {per_mille} per mille is above 1000");
        self.state.lock().faults.duplicate_per_mille = per_mille;
    }

    /// Deliver requests once more, 500-5000 ms after the original, with probability
    /// `per_mille`/1000 (rule 8 of `faults.rs`; default 0).
    pub fn set_late_duplicate_per_mille(&self, per_mille: u32) {
        assert!(per_mille <= 1000, "labrpc: late duplicate probability {per_mille} per mille is above 1000");
        self.state.lock().faults.late_duplicate_per_mille = per_mille;
    }

    /// Crash the server's node right after its handler sent a reply, with probability
    /// `per_mille`/1000 (rule 9; default 0). The reply is still delivered; the harness notices the
    /// node is down (`node::is_alive`) and restarts it.
    pub fn set_crash_after_reply_per_mille(&self, per_mille: u32) {
        assert!(per_mille <= 1000, "labrpc: crash-after-reply probability {per_mille} per mille is above 1000");
        self.state.lock().faults.crash_after_reply_per_mille = per_mille;
    }

    /// Hold replies for a time drawn uniformly from `min..=max`, with probability
    /// `per_mille`/1000 (rule 10; default 0). Pick `min` above the election timeout to deliver
    /// answers from terms ago.
    pub fn set_held_replies(&self, per_mille: u32, min: Duration, max: Duration) {
        assert!(per_mille <= 1000, "labrpc: held reply probability {per_mille} per mille is above 1000");
        assert!(min <= max, "labrpc: held reply range {min:?}..={max:?} is empty (min above max)");
        let ms = |d: Duration| u64::try_from(d.as_millis()).expect("labrpc: held reply above u64 milliseconds");
        let mut st = self.state.lock();
        st.faults.held_reply_per_mille = per_mille;
        st.faults.held_reply_ms = (ms(min), ms(max));
    }

    /// Cuts the link from `from` to `to` in that direction only: requests from `from`'s ends to
    /// servers on `to` find no route, and replies from `from`'s servers to callers on `to` are lost.
    pub fn cut(&self, from: NodeId, to: NodeId) {
        crate::observe::record(|| crate::observe::Observed::LinkCut { from: node::name(from), to: node::name(to) });
        self.state.lock().cuts.insert((from, to));
    }

    pub fn heal(&self, from: NodeId, to: NodeId) {
        crate::observe::record(|| crate::observe::Observed::LinkHealed {
            link: Some((node::name(from), node::name(to))),
        });
        self.state.lock().cuts.remove(&(from, to));
    }

    pub fn heal_all(&self) {
        crate::observe::record(|| crate::observe::Observed::LinkHealed { link: None });
        self.state.lock().cuts.clear();
    }

    pub fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        self.state.lock().cuts.contains(&(from, to))
    }

    /// Holds every reply from a server on `from` to a caller on `to` until `release_replies`
    /// (rule 13): the construction decides when an old answer arrives. Replies already past this
    /// point of their trip are not held.
    pub fn hold_replies(&self, from: NodeId, to: NodeId) {
        self.state.lock().held.hold(from, to);
    }

    /// Ends the hold on `from` -> `to`: the replies it kept are delivered now.
    pub fn release_replies(&self, from: NodeId, to: NodeId) {
        let woken = self.state.lock().held.release(from, to);
        wake(woken);
    }

    /// Ends every hold (rule 13), delivering what they kept.
    pub fn release_all_replies(&self) {
        let woken = self.state.lock().held.release_all();
        wake(woken);
    }

    pub fn replies_held(&self, from: NodeId, to: NodeId) -> bool {
        self.state.lock().held.is_held(from, to)
    }

    /// Rule 13 for one reply from `server` to `caller`: returns at once unless the link is held,
    /// else when it is released. Makes no simulator call while no link is held.
    pub(crate) fn wait_while_held(&self, server: NodeId, caller: NodeId) {
        if !self.replies_held(server, caller) {
            return;
        }
        let (wake, woken) = crate::channel::bounded(1);
        if self.state.lock().held.enqueue(server, caller, wake) {
            // Err: the network is gone with the hold; deliver.
            let _ = woken.recv();
        }
    }

    /// Requests dispatched to the server `name` since it was added.
    pub fn rpc_count(&self, name: &str) -> u64 {
        self.state.lock().servers.get(name).map_or(0, |s| s.rpc_count)
    }

    /// Requests the server `name` has answered (its handler returned) since it was added. With
    /// `rpc_count` read earlier, more answers than that count prove that a request dispatched
    /// after that read was answered.
    pub fn answered_count(&self, name: &str) -> u64 {
        self.state.lock().servers.get(name).map_or(0, |s| s.answered)
    }

    /// Calls made on every end, routed or not.
    pub fn total_rpcs(&self) -> u64 {
        self.state.lock().total_rpcs
    }

    /// Request and delivered reply bytes, in total.
    pub fn total_bytes(&self) -> u64 {
        self.state.lock().total_bytes
    }

    pub(crate) fn faults(&self) -> Faults {
        self.state.lock().faults
    }

    /// Counts a call and decides its route.
    pub(crate) fn route(&self, end: &str, request_bytes: usize) -> Route {
        let mut st = self.state.lock();
        st.total_rpcs += 1;
        st.total_bytes += request_bytes as u64;
        st.route(end)
    }

    /// Rule 8: delivers a copy of a request after `delay`, by a thread of the main node (the
    /// network itself), to the server the end reaches then; the copy's reply is discarded.
    pub(crate) fn deliver_late(&self, end: &str, method: &str, request: Vec<u8>, delay: Duration) {
        let (net, end, method) = (self.clone(), end.to_string(), method.to_string());
        thread::Builder::new().name(format!("late {method}")).node(NodeId::MAIN).spawn(move || {
            sleep(delay);
            let Route::Deliver { server, server_name, node, generation, .. } = net.state.lock().route(&end) else {
                return;
            };
            let Ok((handler, _)) = server.handler(&method) else { return };
            net.count_dispatch(&server_name);
            tracing::debug!(%method, server = %server_name, "labrpc: late duplicate delivered");
            thread::Builder::new().name(format!("rpc {method} (late)")).node(node).spawn(move || {
                if handler(&request).is_ok() {
                    net.count_answer(&server_name, generation);
                }
            });
        });
    }

    pub(crate) fn count_dispatch(&self, server_name: &str) {
        if let Some(s) = self.state.lock().servers.get_mut(server_name) {
            s.rpc_count += 1;
        }
    }

    /// A handler of server `server_name` (added as `generation`) returned its reply.
    pub(crate) fn count_answer(&self, server_name: &str, generation: u64) {
        if let Some(s) = self.state.lock().servers.get_mut(server_name).filter(|s| s.generation == generation) {
            s.answered += 1;
        }
    }

    pub(crate) fn count_reply(&self, bytes: usize) {
        self.state.lock().total_bytes += bytes as u64;
    }

    /// Rule 4: the server a call was dispatched to is gone, or the caller's end was disabled.
    pub(crate) fn server_dead(&self, end: &str, server_name: &str, generation: u64) -> bool {
        let server_ok = {
            let st = self.state.lock();
            st.servers.get(server_name).is_some_and(|s| s.generation == generation && s.is_up())
        };
        !(server_ok && self.end_reaches(end, server_name))
    }

    /// The caller's end is still enabled and connected to `server_name`.
    pub(crate) fn end_reaches(&self, end: &str, server_name: &str) -> bool {
        let st = self.state.lock();
        st.ends.get(end).is_some_and(|e| e.enabled && e.server.as_deref() == Some(server_name))
    }
}

/// Wakes callers released from held links, outside the network's lock (a send may switch
/// threads).
fn wake(woken: Vec<crate::channel::Sender<()>>) {
    for caller in woken {
        // Err: the caller's node crashed while it waited; nobody to deliver to.
        let _ = caller.send(());
    }
}

impl NetState {
    /// Where a call on `end` goes now.
    fn route(&self, end: &str) -> Route {
        let Some(e) = self.ends.get(end) else { panic!("labrpc: client end {end:?} is not on this network") };
        let owner = e.owner;
        let Some(server_name) = e.server.clone().filter(|_| e.enabled) else {
            return Route::Unreachable;
        };
        let Some(s) = self.servers.get(&*server_name) else {
            return Route::Unreachable;
        };
        if !s.is_up() || self.cuts.contains(&(owner, s.node)) {
            return Route::Unreachable;
        }
        Route::Deliver { server: s.server.clone(), server_name, node: s.node, generation: s.generation, owner }
    }
}
