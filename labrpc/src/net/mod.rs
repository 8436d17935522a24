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
mod decode;
mod encode;
mod encoded;
pub(crate) mod faults;
mod hosted;
mod owned;
mod reply;
mod service;
pub mod tcp;
mod writer;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

pub use client::{ClientEnd, RpcError};
/// Postcard encoding into a `Vec`, runs of bytes copied at once: what messages are encoded with,
/// for servers that encode their own state or log entries.
pub use decode::{decode, take};
pub use encode::{encode, encode_into};
pub use encoded::Encoded;
pub use service::{Server, Service};

use crate::node::{self, NodeId};
use crate::thread;
use crate::time::sleep;
use faults::{Faults, HeldLinks};
use hosted::{Counter, Hosted};
use owned::Owned;

struct EndEntry {
    owner: NodeId,
    /// The slot of the server name it is connected to.
    server: Option<usize>,
    enabled: bool,
}

/// A server name and the server now added under it, if any. A name keeps its slot for the
/// network's life, so a call resolves its end and server once, by name, and every later check
/// (dispatch, answer, the server still there, the end still reaching it) is an index.
struct ServerSlot {
    /// Shared with the servers added under it, so routing a call copies no name.
    name: Arc<str>,
    /// Requests handed to the servers under this name, all of them (each server counts from
    /// `dispatched_base`).
    dispatched: Arc<Counter>,
    entry: Option<ServerEntry>,
}

struct ServerEntry {
    hosted: Arc<Hosted>,
    /// `hosted`'s node and generation, kept here too: a waiting caller checks its server every
    /// 100 ms, and reading them through `hosted` cost a cache miss each time (measured).
    node: NodeId,
    generation: u64,
    /// The node's incarnation when the server was added: after a crash the server is dead.
    incarnation: u64,
    /// The slot's `dispatched` when the server was added.
    dispatched_base: u64,
}

impl ServerEntry {
    /// Its node is up, in the incarnation it was added in (a crash ends the server).
    fn is_up(&self) -> bool {
        node::is_alive(self.node) && node::incarnation(self.node) == self.incarnation
    }

    /// `(rpc_count, answered_count)`: requests handed to the name since this server was added,
    /// and those this server answered.
    fn counts(&self, dispatched: &Counter) -> (u64, u64) {
        (dispatched.get() - self.dispatched_base, self.hosted.answered())
    }
}

struct NetState {
    faults: Faults,
    /// Client ends by name (an index into `ends`); an end is never removed.
    end_ids: BTreeMap<String, usize>,
    ends: Vec<EndEntry>,
    /// Server names ever added or connected to (an index into `slots`).
    slot_ids: BTreeMap<String, usize>,
    slots: Vec<ServerSlot>,
    /// Directed cuts: messages from the first node to the second are lost.
    cuts: BTreeSet<(NodeId, NodeId)>,
    /// Rule 13: links whose replies wait for the scenario to release them.
    held: HeldLinks,
    total_rpcs: u64,
    total_bytes: u64,
    next_generation: u64,
}

/// The network. Cheap to clone; clones share state. Made inside a simulation, it takes no lock
/// while the run lives, and no other OS thread may use it until the run has ended.
#[derive(Clone)]
pub struct Network {
    state: Arc<Owned<NetState>>,
}

impl Default for Network {
    fn default() -> Network {
        Network::new()
    }
}

/// A server name's place in one network's table (`Network::server_id`). A name keeps its place
/// for the network's life, so a server's counters read by id skip the lookup by name (the Raft
/// harness's monitor reads every peer's counters every 10 ms of virtual time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerId {
    slot: usize,
    /// The network's identity (its state's address), so an id is never read on another network.
    net: usize,
}

/// Where a call goes, decided when it is made.
pub(crate) enum Route {
    Deliver(Dispatch),
    Unreachable,
}

/// A routed call's server (its handlers, name, node and generation) and slot; and the caller's
/// node.
pub(crate) struct Dispatch {
    pub(crate) hosted: Arc<Hosted>,
    pub(crate) slot: usize,
    pub(crate) owner: NodeId,
}

impl Network {
    /// A reliable network with no ends and no servers.
    pub fn new() -> Network {
        Network {
            state: Arc::new(Owned::new(NetState {
                faults: Faults::default(),
                end_ids: BTreeMap::new(),
                ends: Vec::new(),
                slot_ids: BTreeMap::new(),
                slots: Vec::new(),
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
        let id = st.ends.len();
        let previous = st.end_ids.insert(name.to_string(), id);
        assert!(previous.is_none(), "labrpc: client end {name:?} made twice");
        st.ends.push(EndEntry { owner, server: None, enabled: true });
        ClientEnd::new(self.clone(), name.to_string(), id)
    }

    /// Connects end `end` to the server named `server` (which may be added later).
    pub fn connect(&self, end: &str, server: &str) {
        let mut st = self.state.lock();
        let slot = st.slot_of(server);
        st.end_mut(end).server = Some(slot);
    }

    /// Enables or disables an end: a disabled end's calls find no route.
    pub fn enable(&self, end: &str, enabled: bool) {
        self.state.lock().end_mut(end).enabled = enabled;
    }

    /// [`Network::enable`] for end `end` (its id), without the lookup by name.
    pub(crate) fn enable_end(&self, end: usize, enabled: bool) {
        self.state.lock().ends[end].enabled = enabled;
    }

    /// Adds (or replaces) the server `name`, running its handlers on `node`. Replies from a
    /// replaced server are never delivered.
    pub fn add_server(&self, name: &str, node: NodeId, server: Server) {
        let incarnation = node::incarnation(node);
        let mut st = self.state.lock();
        st.next_generation += 1;
        let generation = st.next_generation;
        let slot = st.slot_of(name);
        let ServerSlot { name, dispatched, entry } = &mut st.slots[slot];
        let hosted = Arc::new(Hosted::new(server, name.clone(), node, generation, dispatched.clone()));
        *entry = Some(ServerEntry { hosted, node, generation, incarnation, dispatched_base: dispatched.get() });
    }

    /// Removes the server `name`: calls to it find no route, replies still in flight are lost.
    pub fn delete_server(&self, name: &str) {
        let mut st = self.state.lock();
        if let Some(&slot) = st.slot_ids.get(name) {
            st.slots[slot].entry = None;
        }
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

    /// Rule 13 for one reply of `bytes` from `server` to `caller`, then counts its bytes: returns
    /// at once unless the link is held, else when it is released. Makes no simulator call while
    /// no link is held.
    pub(crate) fn deliver_reply(&self, server: NodeId, caller: NodeId, bytes: usize) {
        {
            let mut st = self.state.lock();
            if !st.held.is_held(server, caller) {
                st.total_bytes += bytes as u64;
                return;
            }
        }
        self.deliver_held_reply(server, caller, bytes);
    }

    /// `deliver_reply` on a held link. Out of line and cold: inlined, the channel's state made
    /// the frame of every call's `settle_reply` larger (see `channel/real.rs`).
    #[cold]
    #[inline(never)]
    fn deliver_held_reply(&self, server: NodeId, caller: NodeId, bytes: usize) {
        let (wake, woken) = crate::channel::bounded(1);
        if self.state.lock().held.enqueue(server, caller, wake) {
            // Err: the network is gone with the hold; deliver.
            let _ = woken.recv();
        }
        self.state.lock().total_bytes += bytes as u64;
    }

    /// Requests dispatched to the server `name` since it was added.
    pub fn rpc_count(&self, name: &str) -> u64 {
        self.state.lock().counts(name).0
    }

    /// Requests the server `name` has answered (its handler returned) since it was added. With
    /// `rpc_count` read earlier, more answers than that count prove that a request dispatched
    /// after that read was answered.
    pub fn answered_count(&self, name: &str) -> u64 {
        self.state.lock().counts(name).1
    }

    /// The id of server name `name` on this network, its place made if the name is new (no
    /// server is added).
    pub fn server_id(&self, name: &str) -> ServerId {
        ServerId { slot: self.state.lock().slot_of(name), net: self.identity() }
    }

    /// `(rpc_count, answered_count)` of the server name `id` stands for, read together (one lock,
    /// no lookup by name). Inline: compiled where it is called (as a plain function, its name-keyed
    /// predecessor moved the compiler's inlining of labrpc's random-number path, measured +1% of
    /// kvraft's instructions).
    #[inline]
    pub fn server_counts_of(&self, id: ServerId) -> (u64, u64) {
        assert_eq!(id.net, self.identity(), "labrpc: server id {id:?} belongs to another network");
        self.state.lock().slots[id.slot].counts()
    }

    /// What tells this network (and its clones) from every other one alive.
    fn identity(&self) -> usize {
        Arc::as_ptr(&self.state) as usize
    }

    /// Calls made on every end, routed or not.
    pub fn total_rpcs(&self) -> u64 {
        self.state.lock().total_rpcs
    }

    /// Request and delivered reply bytes, in total.
    pub fn total_bytes(&self) -> u64 {
        self.state.lock().total_bytes
    }

    /// Counts a call on end `end` (its id) and decides its route, with the fault rules it meets.
    pub(crate) fn route(&self, end: usize, request_bytes: usize) -> (Faults, Route) {
        let mut st = self.state.lock();
        st.total_rpcs += 1;
        st.total_bytes += request_bytes as u64;
        (st.faults, st.route(end))
    }

    /// Rule 8: delivers a copy of a request after `delay`, by a thread of the main node (the
    /// network itself), to the server the end (its id) reaches then; the copy's reply is discarded.
    #[cold]
    #[inline(never)]
    pub(crate) fn deliver_late(&self, end: usize, method: &str, request: Vec<u8>, delay: Duration) {
        let (net, method) = (self.clone(), method.to_string());
        thread::Builder::new().name(format!("late {method}")).node(NodeId::MAIN).spawn(move || {
            sleep(delay);
            let Route::Deliver(Dispatch { hosted, .. }) = net.state.lock().route(end) else {
                return;
            };
            let Ok(index) = hosted.server.method_index(&method) else { return };
            hosted.count_dispatch();
            tracing::debug!(%method, server = %hosted.name, "labrpc: late duplicate delivered");
            let node = hosted.node;
            thread::Builder::new().name(format!("rpc {method} (late)")).node(node).spawn(move || {
                if hosted.run(index, request).is_ok() {
                    hosted.count_answer();
                }
            });
        });
    }

    /// Rule 4: the server a call on end `end` was dispatched to (in `slot`, as `generation`) is
    /// gone, or the caller's end was disabled.
    pub(crate) fn server_dead(&self, end: usize, slot: usize, generation: u64) -> bool {
        self.state.lock().server_dead(end, slot, generation)
    }

    /// The fate of a reply of `bytes` on its way from the server in `slot` (added as
    /// `generation`) over `link` (server's node, caller's node) to a caller on end `end`, as far
    /// as it can be decided at once, under one lock: rules 4 and 5 (a reply sent just before its
    /// server crashed at rule 9, `sender_crashed`, was already on the wire, so then only the
    /// caller's end matters), then the draws of rules 6, 7 and 10 (a draw is no scheduling point,
    /// so drawing under the lock changes nothing), then rule 13; a reply that meets no rule has
    /// its bytes counted here (`deliver_reply` does the rest otherwise).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn reply_fate(
        &self,
        end: usize,
        slot: usize,
        generation: u64,
        link: (NodeId, NodeId),
        sender_crashed: bool,
        faults: &Faults,
        bytes: usize,
    ) -> ReplyFate {
        let mut st = self.state.lock();
        let server_gone =
            if sender_crashed { !st.end_reaches(end, slot) } else { st.server_dead(end, slot, generation) };
        if server_gone {
            return ReplyFate::Lost("server gone");
        }
        if st.cuts.contains(&link) {
            return ReplyFate::Lost("reply path cut");
        }
        if faults.drop_reply() {
            return ReplyFate::Dropped;
        }
        if let Some(hold) = faults.reorder_delay() {
            return ReplyFate::Reordered(hold);
        }
        if let Some(hold) = faults.held_reply() {
            return ReplyFate::Held(hold);
        }
        if st.held.is_held(link.0, link.1) {
            return ReplyFate::LinkHeld;
        }
        st.total_bytes += bytes as u64;
        ReplyFate::Delivered
    }
}

/// What `Network::reply_fate` decided for a reply.
pub(crate) enum ReplyFate {
    /// Delivered now, its bytes counted.
    Delivered,
    /// Lost by rule 4 or 5, for the reason given.
    Lost(&'static str),
    /// Dropped by rule 6.
    Dropped,
    /// Held back this long by rule 7; rule 10 is drawn after the wait.
    Reordered(std::time::Duration),
    /// Held this long by rule 10.
    Held(std::time::Duration),
    /// Its link is held (rule 13).
    LinkHeld,
}

/// Wakes callers released from held links, outside the network's lock (a send may switch
/// threads).
fn wake(woken: Vec<crate::channel::Sender<()>>) {
    for caller in woken {
        // Err: the caller's node crashed while it waited; nobody to deliver to.
        let _ = caller.send(());
    }
}

impl ServerSlot {
    /// `(rpc_count, answered_count)` of the server now in this slot (0s if none).
    fn counts(&self) -> (u64, u64) {
        self.entry.as_ref().map_or((0, 0), |s| s.counts(&self.dispatched))
    }
}

impl NetState {
    /// Where a call on end `end` (its id) goes now.
    fn route(&self, end: usize) -> Route {
        let e = &self.ends[end];
        let owner = e.owner;
        let Some(slot) = e.server.filter(|_| e.enabled) else {
            return Route::Unreachable;
        };
        let Some(s) = &self.slots[slot].entry else {
            return Route::Unreachable;
        };
        if !s.is_up() || self.cuts.contains(&(owner, s.node)) {
            return Route::Unreachable;
        }
        Route::Deliver(Dispatch { hosted: s.hosted.clone(), slot, owner })
    }

    /// The slot of server name `name`, made if the name is new.
    fn slot_of(&mut self, name: &str) -> usize {
        if let Some(&slot) = self.slot_ids.get(name) {
            return slot;
        }
        let slot = self.slots.len();
        self.slots.push(ServerSlot { name: Arc::from(name), dispatched: Arc::default(), entry: None });
        self.slot_ids.insert(name.to_string(), slot);
        slot
    }

    /// `(rpc_count, answered_count)` of the server now added under `name` (0s if none).
    fn counts(&self, name: &str) -> (u64, u64) {
        self.slot_ids.get(name).map_or((0, 0), |&slot| self.slots[slot].counts())
    }

    fn end_mut(&mut self, end: &str) -> &mut EndEntry {
        match self.end_ids.get(end) {
            Some(&id) => &mut self.ends[id],
            None => panic!("labrpc: no client end named {end:?}"),
        }
    }

    /// Rule 4 (see `Network::server_dead`).
    fn server_dead(&self, end: usize, slot: usize, generation: u64) -> bool {
        let server_ok = self.slots[slot].entry.as_ref().is_some_and(|s| s.generation == generation && s.is_up());
        !(server_ok && self.end_reaches(end, slot))
    }

    /// End `end` is still enabled and connected to the server name of `slot`.
    fn end_reaches(&self, end: usize, slot: usize) -> bool {
        let e = &self.ends[end];
        e.enabled && e.server == Some(slot)
    }
}
