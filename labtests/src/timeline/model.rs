//! From a recorded run (`labrpc::observe` observations plus the failure) to what the page draws:
//! lanes, state changes, applies, messages with their fates, fault bands and marks, client
//! operations and the failure. Times are virtual microseconds since the run started.

use std::collections::BTreeMap;

use labrpc::observe::{Observation, Observed};
use serde::Serialize;

use super::event::HarnessEvent;

/// How a message ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fate {
    Replied,
    RequestDropped,
    ReplyLost,
    /// The run ended first (or the caller gave up because its server was gone for good).
    Open,
}

/// One call: from the caller's lane to the server's, arrival (`handled_us`), then the reply.
#[derive(Clone, Debug, Serialize)]
pub struct Message {
    pub from: usize,
    pub to: usize,
    /// Index into `Timeline::methods`.
    pub method: usize,
    pub sent_us: u64,
    pub handled_us: Option<u64>,
    pub end_us: Option<u64>,
    pub fate: Fate,
    /// Why the reply was lost.
    pub why: Option<&'static str>,
}

/// A peer's observed state from `at_us` until its next change.
#[derive(Clone, Debug, Serialize)]
pub struct State {
    pub lane: usize,
    pub at_us: u64,
    pub term: u64,
    pub leader: bool,
    /// False from a crash until the next poll: the last answer no longer holds.
    pub seen: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Applied {
    pub lane: usize,
    pub at_us: u64,
    pub index: u64,
    pub snapshot: bool,
}

/// A fault lasting a while on one lane: `down`, `paused`, `disconnected`, `cut` or `partition`.
#[derive(Clone, Debug, Serialize)]
pub struct Band {
    pub lane: usize,
    pub from_us: u64,
    pub to_us: u64,
    pub kind: &'static str,
    pub text: String,
}

/// An instant on one lane: `crash`, `restart`, `duplicate`, `late_duplicate` or `unreachable`.
#[derive(Clone, Debug, Serialize)]
pub struct Mark {
    pub lane: usize,
    pub at_us: u64,
    pub kind: &'static str,
    pub text: String,
}

/// A kv client operation from call to return (`None`: it never returned).
#[derive(Clone, Debug, Serialize)]
pub struct ClientOp {
    pub lane: usize,
    pub call_us: u64,
    pub return_us: Option<u64>,
    pub text: String,
    pub result: Option<String>,
}

/// The check that failed the run.
#[derive(Clone, Debug, Serialize)]
pub struct FailureMark {
    pub at_us: u64,
    /// The lane of the node whose thread reported it, if it has one.
    pub lane: Option<usize>,
    pub text: String,
}

/// What was left out of a long run (see `window.rs`).
#[derive(Clone, Debug, Serialize)]
pub struct Window {
    pub from_us: u64,
    pub to_us: u64,
    pub items_total: usize,
    pub items_left_out: usize,
}

/// Everything the page draws.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Timeline {
    pub title: String,
    pub end_us: u64,
    pub lanes: Vec<String>,
    pub methods: Vec<String>,
    pub states: Vec<State>,
    pub applied: Vec<Applied>,
    pub messages: Vec<Message>,
    pub bands: Vec<Band>,
    pub marks: Vec<Mark>,
    pub ops: Vec<ClientOp>,
    pub failure: Option<FailureMark>,
    pub window: Option<Window>,
    /// Observations recorded in the run (before any window).
    pub observations: usize,
}

impl Timeline {
    /// Drawn items: what bounds the page's size.
    pub fn items(&self) -> usize {
        self.states.len()
            + self.applied.len()
            + self.messages.len()
            + self.bands.len()
            + self.marks.len()
            + self.ops.len()
    }
}

/// The failing check, as the model needs it: when, on which node, the report's text.
pub struct FailureInfo {
    pub at_us: u64,
    pub node: Option<String>,
    pub text: String,
}

fn us(ns: u64) -> u64 {
    ns / 1_000
}

/// Lane order: peers/servers (whose state was polled) by name, other nodes in the order they
/// appeared, then clients by number, and the test's own node last.
fn lane_order(observations: &[Observation]) -> Vec<String> {
    let mut polled = Vec::<String>::new();
    let mut others = Vec::<String>::new();
    let mut clients = BTreeMap::<u64, String>::new();
    let add = |list: &mut Vec<String>, name: &str| {
        if !list.iter().any(|n| n == name) {
            list.push(name.to_string());
        }
    };
    for o in observations {
        match &o.event {
            Observed::Harness(e) => match e.downcast_ref::<HarnessEvent>() {
                Some(HarnessEvent::PeerState { node, .. }) => add(&mut polled, node),
                Some(HarnessEvent::ClientCall { client, .. }) => {
                    clients.insert(*client, client_lane(*client));
                }
                _ => {}
            },
            Observed::CallSent { from, to, .. } => {
                add(&mut others, from);
                add(&mut others, to);
            }
            Observed::NodeCrashed { node } | Observed::NodeRestarted { node } | Observed::NodePaused { node, .. } => {
                add(&mut others, node)
            }
            _ => {}
        }
    }
    polled.sort_by_key(|name| natural_key(name));
    let mut lanes = polled.clone();
    for name in others.iter().filter(|n| !polled.contains(n) && *n != "main") {
        lanes.push(name.clone());
    }
    lanes.extend(clients.into_values());
    lanes.push("main".to_string());
    lanes
}

/// "peer-10" after "peer-9".
fn natural_key(name: &str) -> (String, u64) {
    let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (stem, number) = name.split_at(name.len() - digits);
    (stem.to_string(), number.parse().unwrap_or(0))
}

fn client_lane(client: u64) -> String {
    format!("client {client}")
}

/// The position of `name` in `names`, appended if new (`index` maps names to positions).
fn intern(names: &mut Vec<String>, index: &mut BTreeMap<String, usize>, name: &str) -> usize {
    *index.entry(name.to_string()).or_insert_with(|| {
        names.push(name.to_string());
        names.len() - 1
    })
}

struct Builder {
    t: Timeline,
    lane_index: BTreeMap<String, usize>,
    method_index: BTreeMap<String, usize>,
    /// Call number -> index in `messages`.
    calls: BTreeMap<u64, usize>,
    /// Open bands by (kind, lane, detail) -> (from, text).
    open: BTreeMap<(&'static str, usize, String), (u64, String)>,
    last_state: BTreeMap<usize, (u64, bool)>,
    ops: BTreeMap<u64, usize>,
}

impl Builder {
    fn lane(&mut self, name: &str) -> usize {
        intern(&mut self.t.lanes, &mut self.lane_index, name)
    }

    fn method(&mut self, name: &str) -> usize {
        intern(&mut self.t.methods, &mut self.method_index, name)
    }

    fn mark(&mut self, lane: usize, at_us: u64, kind: &'static str, text: String) {
        self.t.marks.push(Mark { lane, at_us, kind, text });
    }

    fn open_band(&mut self, kind: &'static str, lane: usize, detail: &str, at_us: u64, text: String) {
        self.open.entry((kind, lane, detail.to_string())).or_insert((at_us, text));
    }

    fn close_band(&mut self, kind: &'static str, lane: usize, detail: &str, at_us: u64) {
        if let Some((from_us, text)) = self.open.remove(&(kind, lane, detail.to_string())) {
            self.t.bands.push(Band { lane, from_us, to_us: at_us, kind, text });
        }
    }

    fn close_all(&mut self, kind: &'static str, at_us: u64) {
        let keys: Vec<_> = self.open.keys().filter(|k| k.0 == kind).cloned().collect();
        for (kind, lane, detail) in keys {
            self.close_band(kind, lane, &detail, at_us);
        }
    }

    fn take(&mut self, o: &Observation) {
        let at = us(o.at_ns);
        match &o.event {
            Observed::CallSent { call, from, to, method, .. } => {
                let (from, to, method) = (self.lane(from), self.lane(to), self.method(method));
                self.t.messages.push(Message {
                    from,
                    to,
                    method,
                    sent_us: at,
                    handled_us: None,
                    end_us: None,
                    fate: Fate::Open,
                    why: None,
                });
                self.calls.insert(*call, self.t.messages.len() - 1);
            }
            Observed::CallUnreachable { from, end, method } => {
                let lane = self.lane(from);
                self.mark(lane, at, "unreachable", format!("{method} via {end}: no route"));
            }
            Observed::RequestDropped { call } => self.end_call(*call, at, Fate::RequestDropped, None),
            Observed::RequestDuplicated { call } => {
                if let Some(&m) = self.calls.get(call) {
                    let (to, method) = (self.t.messages[m].to, self.t.methods[self.t.messages[m].method].clone());
                    self.mark(to, at, "duplicate", format!("{method} delivered twice"));
                }
            }
            Observed::LateDuplicate { call, delay_ms } => {
                if let Some(&m) = self.calls.get(call) {
                    let (to, method) = (self.t.messages[m].to, self.t.methods[self.t.messages[m].method].clone());
                    let text = format!(
                        "{method}: a late copy arrives here {delay_ms} ms after it was sent, if the end still reaches"
                    );
                    self.mark(to, at + delay_ms * 1_000, "late_duplicate", text);
                }
            }
            Observed::Handled { call } => {
                if let Some(&m) = self.calls.get(call) {
                    let msg = &mut self.t.messages[m];
                    if msg.handled_us.is_none() {
                        msg.handled_us = Some(at);
                    }
                }
            }
            Observed::ReplyDelivered { call } => self.end_call(*call, at, Fate::Replied, None),
            Observed::ReplyLost { call, why } => self.end_call(*call, at, Fate::ReplyLost, Some(why)),
            Observed::NodeCrashed { node } => {
                let lane = self.lane(node);
                self.mark(lane, at, "crash", format!("{node} crashed"));
                if let Some((term, _)) = self.last_state.remove(&lane) {
                    self.t.states.push(State { lane, at_us: at, term, leader: false, seen: false });
                }
                self.open_band("down", lane, "", at, format!("{node} down"));
            }
            Observed::NodeRestarted { node } => {
                let lane = self.lane(node);
                self.close_band("down", lane, "", at);
                self.mark(lane, at, "restart", format!("{node} restarted"));
            }
            Observed::NodePaused { node, duration_ms } => {
                let lane = self.lane(node);
                let text = format!("{node} paused for {duration_ms} ms");
                self.t.bands.push(Band { lane, from_us: at, to_us: at + duration_ms * 1_000, kind: "paused", text });
            }
            Observed::LinkCut { from, to } => {
                let lane = self.lane(from);
                self.open_band("cut", lane, to, at, format!("link {from} -> {to} cut: {from} cannot send to {to}"));
            }
            Observed::LinkHealed { link: Some((from, to)) } => {
                let lane = self.lane(from);
                self.close_band("cut", lane, to, at);
            }
            Observed::LinkHealed { link: None } => self.close_all("cut", at),
            Observed::Harness(e) => {
                if let Some(e) = e.downcast_ref::<HarnessEvent>() {
                    self.harness(at, e);
                }
            }
        }
    }

    fn end_call(&mut self, call: u64, at: u64, fate: Fate, why: Option<&'static str>) {
        if let Some(&m) = self.calls.get(&call) {
            let msg = &mut self.t.messages[m];
            msg.end_us = Some(at);
            msg.fate = fate;
            msg.why = why;
        }
    }

    fn harness(&mut self, at: u64, e: &HarnessEvent) {
        match e {
            HarnessEvent::PeerState { node, term, leader } => {
                let lane = self.lane(node);
                // Polled every 10 ms: keep the changes only.
                if self.last_state.get(&lane) != Some(&(*term, *leader)) {
                    self.last_state.insert(lane, (*term, *leader));
                    self.t.states.push(State { lane, at_us: at, term: *term, leader: *leader, seen: true });
                }
            }
            HarnessEvent::Applied { node, index, snapshot } => {
                let lane = self.lane(node);
                self.t.applied.push(Applied { lane, at_us: at, index: *index, snapshot: *snapshot });
            }
            HarnessEvent::Connected { node, connected } => {
                let lane = self.lane(node);
                if *connected {
                    self.close_band("disconnected", lane, "", at);
                } else {
                    self.open_band("disconnected", lane, "", at, format!("{node} disconnected by the harness"));
                }
            }
            HarnessEvent::Partition { groups } => {
                self.close_all("partition", at);
                if groups.len() > 1 {
                    let sides: Vec<String> = groups.iter().map(|g| g.join(",")).collect();
                    for (g, group) in groups.iter().enumerate() {
                        for node in group {
                            let lane = self.lane(node);
                            let text = format!("partition side {}: {}", g + 1, sides.join(" | "));
                            self.open_band("partition", lane, "", at, text);
                        }
                    }
                }
            }
            HarnessEvent::ClientCall { client, op, text } => {
                let lane = self.lane(&client_lane(*client));
                self.t.ops.push(ClientOp { lane, call_us: at, return_us: None, text: text.clone(), result: None });
                self.ops.insert(*op, self.t.ops.len() - 1);
            }
            HarnessEvent::ClientReturn { op, text } => {
                if let Some(&k) = self.ops.get(op) {
                    self.t.ops[k].return_us = Some(at);
                    self.t.ops[k].result = Some(text.clone());
                }
            }
        }
    }
}

/// Builds the timeline of a recorded run; `end_ns` is the run's virtual end (the failure's
/// time for a failing run).
pub fn build(title: &str, observations: &[Observation], end_ns: u64, failure: Option<FailureInfo>) -> Timeline {
    let mut b = Builder {
        t: Timeline { title: title.to_string(), observations: observations.len(), ..Timeline::default() },
        lane_index: BTreeMap::new(),
        method_index: BTreeMap::new(),
        calls: BTreeMap::new(),
        open: BTreeMap::new(),
        last_state: BTreeMap::new(),
        ops: BTreeMap::new(),
    };
    for name in lane_order(observations) {
        b.lane(&name);
    }
    for o in observations {
        b.take(o);
    }
    let last_seen = observations.iter().map(|o| us(o.at_ns)).max().unwrap_or(0);
    let end_us = us(end_ns).max(last_seen);
    let open: Vec<_> = b.open.keys().cloned().collect();
    for (kind, lane, detail) in open {
        b.close_band(kind, lane, &detail, end_us);
    }
    b.t.end_us = end_us;
    b.t.failure = failure.map(|f| FailureMark {
        at_us: f.at_us,
        lane: f.node.as_deref().and_then(|n| b.lane_index.get(n).copied()),
        text: f.text,
    });
    b.t
}
