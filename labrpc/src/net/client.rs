//! The calling side: a typed blocking call that walks the fault rules of `faults.rs` in order.

use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::faults::{crash_here, Faults, SERVER_CHECK_INTERVAL};
use super::reply::reply_slot;
use super::{Dispatch, Network, ReplyFate, Route};
use crate::channel::RecvTimeoutError;
use crate::node::{current_node, name as node_name};
use crate::observe::{self, Observed};
use crate::sched::{unwind_killed, Killed, NodeId};
use crate::thread;
use crate::time::sleep_or_killed;

/// Why a call got no reply. As in the Go labs, the caller cannot tell a lost request from a lost
/// reply: the handler may or may not have run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RpcError {
    /// Request or reply dropped, or the server went away while the call was in flight.
    Lost,
    /// No route: the end is disabled or unconnected, no such server, its node is down, or the
    /// link from the caller's node is cut.
    Unreachable,
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RpcError::Lost => f.write_str("rpc lost (request or reply dropped, or the server went away)"),
            RpcError::Unreachable => f.write_str("rpc unreachable (no route to the server)"),
        }
    }
}

impl std::error::Error for RpcError {}

/// Why `call_bytes` returned without a reply.
enum NoReply {
    Failed(RpcError),
    /// The calling thread was killed (its node crashed, the run ended) while `call_bytes` waited.
    /// It returns, dropping what it holds as it goes, and `call` unwinds from the caller's frame:
    /// most threads a crash or the end of a run kills are waiting here, and unwinding through
    /// `call_bytes` cost a stop and restart (its request, server and names to drop) and three
    /// more frames.
    Killed(Killed),
}

impl From<RpcError> for NoReply {
    fn from(e: RpcError) -> NoReply {
        NoReply::Failed(e)
    }
}

/// `sleep` inside `call_bytes`: a kill meanwhile is returned, not unwound (see `NoReply`). Out of
/// line, as `sleep` is.
#[inline(never)]
fn wait_for(d: Duration) -> Result<(), NoReply> {
    sleep_or_killed(d).map_err(NoReply::Killed)
}

/// One side of a connection; cheap to clone.
#[derive(Clone)]
pub struct ClientEnd {
    net: Network,
    name: String,
    /// Its index in the network's ends (calls look it up by this, not by name).
    id: usize,
    /// Set for an end made by `tcp::connect`: its calls go over a real socket instead.
    tcp: Option<std::sync::Arc<super::tcp::TcpEnd>>,
}

impl ClientEnd {
    pub(crate) fn new(net: Network, name: String, id: usize) -> ClientEnd {
        ClientEnd { net, name, id, tcp: None }
    }

    pub(crate) fn over_tcp(end: super::tcp::TcpEnd) -> ClientEnd {
        let name = end.addr().to_string();
        // The id is never used: a TCP end's calls do not go through a simulated network.
        ClientEnd { net: Network::new(), name, id: usize::MAX, tcp: Some(std::sync::Arc::new(end)) }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Enables or disables this end, as [`Network::enable`] does by its name, without the lookup
    /// by name: a cluster harness sets every link between its servers at each link change.
    pub fn set_enabled(&self, enabled: bool) {
        assert!(self.tcp.is_none(), "labrpc: end {:?} runs over TCP: it has no simulated link", self.name);
        self.net.enable_end(self.id, enabled);
    }

    /// Calls `method` ("Service.Method") with `args` and blocks until the reply or an error.
    /// Type mismatches between caller and handler fail the run with both type names.
    #[track_caller]
    pub fn call<A: Serialize, R: DeserializeOwned>(&self, method: &str, args: &A) -> Result<R, RpcError> {
        let mut request = Vec::new();
        if let Err(e) = super::encode::encode_exact(args, &mut request) {
            panic!("rpc {method}: cannot encode the request {}: {e}", std::any::type_name::<A>());
        }
        // Both arms take the request, so no drop of it is pending across the call: a thread
        // killed while waiting for the reply unwinds through this frame without stopping in it.
        let reply = match &self.tcp {
            Some(tcp) => call_tcp(tcp, method, request)?,
            None => match self.call_bytes(method, request) {
                Ok(reply) => reply,
                Err(NoReply::Failed(e)) => return Err(e),
                Err(NoReply::Killed(killed)) => unwind_killed(killed),
            },
        };
        match super::service::decode_exact::<R>(&reply) {
            Ok(value) => Ok(value),
            Err(e) => panic!(
                "rpc {method}: cannot decode the reply as {}: {e} (caller and handler disagree on the reply type)",
                std::any::type_name::<R>()
            ),
        }
    }

    #[track_caller]
    fn call_bytes(&self, method: &str, request: Vec<u8>) -> Result<Vec<u8>, NoReply> {
        let (faults, route) = self.net.route(self.id, request.len());
        let to = match route {
            Route::Unreachable => {
                observe::record(|| Observed::CallUnreachable {
                    from: node_name(current_node()),
                    end: self.name.clone(),
                    method: method.to_string(),
                });
                wait_for(faults.unreachable_delay())?;
                return Err(RpcError::Unreachable.into());
            }
            Route::Deliver(to) => to,
        };
        // `hosted` is held until the call returns, as each handler copy holds its own reference
        // until it ends: the server (and the state its handlers own) is dropped when the last of
        // them lets go, as it always was.
        let Dispatch { hosted, slot, owner } = to;
        let (node, generation, server_name) = (hosted.node, hosted.generation, &*hosted.name);
        let call = observe::next_call();
        observe::record(|| Observed::CallSent {
            call,
            from: node_name(owner),
            to: node_name(node),
            server: server_name.to_string(),
            method: method.to_string(),
        });
        wait_for(faults.latency() + faults.request_delay())?;
        if faults.drop_request() {
            observe::record(|| Observed::RequestDropped { call });
            trace_fate("request dropped", method, server_name);
            return Err(RpcError::Lost.into());
        }
        let index = match hosted.server.method_index(method) {
            Ok(index) => index,
            Err(e) => panic!("rpc to server {server_name:?}: {e}"),
        };
        let copies = if faults.duplicate() { 2 } else { 1 };
        if copies > 1 {
            observe::record(|| Observed::RequestDuplicated { call });
            trace_fate("request duplicated", method, server_name);
        }
        // The last copy takes the request itself when no late duplicate can need it after the
        // copies are spawned (the late duplicate is drawn after the spawns, which the
        // determinism hash records in that order), so most calls copy no request.
        let keep_request = faults.late_duplicates_possible();
        let mut request = Some(request);
        // Each handler copy sends its reply and whether its node crashes right after (rule 9).
        // The last copy takes the sender itself (a clone and a drop are two locks).
        let (reply_tx, reply_rx) = reply_slot::<(Vec<u8>, bool)>(copies);
        let mut reply_tx = Some(reply_tx);
        for copy in 1..=copies {
            hosted.count_dispatch();
            let last = copy == copies;
            let request = if last && !keep_request { request.take() } else { request.clone() };
            let request = request.expect("only the last copy takes the request");
            let reply_tx = if last { reply_tx.take() } else { reply_tx.clone() };
            let reply_tx = reply_tx.expect("only the last copy takes the sender");
            let server = hosted.clone();
            thread::Builder::new().shared_name(hosted.thread_name(index).clone()).node(node).spawn_detached(
                move || {
                    // The thread's name is "rpc Service.Method".
                    observe::record(|| Observed::Handled { call });
                    let reply = server
                        .run(index, request)
                        .unwrap_or_else(|e| panic!("{} on server {:?}: {e}", server.thread_name(index), server.name));
                    server.count_answer();
                    let crash = faults.crash_after_reply();
                    // The caller may have given up; then the reply has nowhere to go.
                    reply_tx.send((reply, crash));
                    if crash {
                        crash_here(node, "after-reply");
                    }
                },
            );
        }
        if let Some(delay) = faults.late_duplicate() {
            let request = request.expect("the request is kept while late duplicates are possible");
            observe::record(|| Observed::LateDuplicate { call, delay_ms: delay.as_millis() as u64 });
            trace_fate("late duplicate sent", method, server_name);
            self.net.deliver_late(self.id, method, request, delay);
        }
        let (reply, sender_crashed) = loop {
            match reply_rx.recv_timeout_or_killed(SERVER_CHECK_INTERVAL).map_err(NoReply::Killed)? {
                Ok(reply) => {
                    let latency = faults.latency();
                    if !latency.is_zero() {
                        wait_for(latency)?; // not when off: every sleep is a scheduling point
                    }
                    break reply;
                }
                Err(RecvTimeoutError::Timeout) => {
                    if self.net.server_dead(self.id, slot, generation) {
                        observe::record(|| Observed::ReplyLost { call, why: "server gone" });
                        return Err(RpcError::Lost.into());
                    }
                }
                // Every handler copy died with its node.
                Err(RecvTimeoutError::Disconnected) => {
                    observe::record(|| Observed::ReplyLost { call, why: "server crashed" });
                    return Err(RpcError::Lost.into());
                }
            }
        };
        self.settle_reply(&faults, call, method, server_name, (slot, generation), (node, owner), sender_crashed, reply)
    }

    /// The reply's fate once it reached the caller (rules 4-7, 10, 13), decided by the network
    /// under one lock (it took two) unless a hold makes the reply wait. Kept apart from
    /// `call_bytes` so that the fault draws are inlined here: once `call_bytes` could return a
    /// kill from its waits, LTO stopped inlining them into it (+0.15% of kvraft's instructions,
    /// measured).
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn settle_reply(
        &self,
        faults: &Faults,
        call: u64,
        method: &str,
        server_name: &str,
        (slot, generation): (usize, u64),
        (node, owner): (NodeId, NodeId),
        sender_crashed: bool,
        reply: Vec<u8>,
    ) -> Result<Vec<u8>, NoReply> {
        match self.net.reply_fate(self.id, slot, generation, (node, owner), sender_crashed, faults, reply.len()) {
            ReplyFate::Delivered => {
                observe::record(|| Observed::ReplyDelivered { call });
                return Ok(reply);
            }
            ReplyFate::Lost(why) => {
                observe::record(|| Observed::ReplyLost { call, why });
                return Err(RpcError::Lost.into());
            }
            ReplyFate::Dropped => {
                observe::record(|| Observed::ReplyLost { call, why: "reply dropped" });
                trace_fate("reply dropped", method, server_name);
                return Err(RpcError::Lost.into());
            }
            ReplyFate::Reordered(hold) => {
                wait_for(hold)?;
                if let Some(hold) = faults.held_reply() {
                    wait_for(hold)?;
                }
            }
            ReplyFate::Held(hold) => wait_for(hold)?,
            ReplyFate::LinkHeld => {}
        }
        self.net.deliver_reply(node, owner, reply.len());
        observe::record(|| Observed::ReplyDelivered { call });
        Ok(reply)
    }
}

/// A call over a real socket (see `call`: it takes the request so that `call` keeps none).
fn call_tcp(tcp: &super::tcp::TcpEnd, method: &str, request: Vec<u8>) -> Result<Vec<u8>, RpcError> {
    tcp.call_bytes(method, &request)
}

/// A message's random fate, traced at TRACE. Out of line and cold: `call_bytes` is on the stack
/// of every thread waiting for a reply, and unwinding those threads (a crash, the end of a run)
/// costs more the longer the code before the waiting call (measured: 2% of a raft_3b sweep).
#[cold]
#[inline(never)]
fn trace_fate(fate: &'static str, method: &str, server: &str) {
    tracing::trace!(%method, %server, "labrpc: {fate}");
}
