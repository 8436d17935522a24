//! Every fault rule of the network, in the order a call meets them. The rules follow the 6.824
//! labrpc, made deterministic: every draw comes from the simulation's seeded stream.
//!
//! 0. Latency (off by default, as in the Go labs): with `set_latency(min, max)` the request and
//!    the reply each spend a time drawn uniformly from [min, max] on the wire, reliable or not.
//! 1. No route (end disabled or unconnected, no server, server's node down, link cut from the
//!    caller's node): the call fails after up to 100 ms, or up to 7 s with long delays on.
//! 2. Unreliable: the request waits 0-26 ms, then is dropped with probability 1/10.
//! 3. Duplication: the request reaches the handler twice with the configured probability; the
//!    second reply is discarded.
//! 4. The server is deleted or replaced, its node crashes, or the caller's end is disabled while the
//!    handler runs or the reply travels: the reply is never delivered (the caller notices within
//!    100 ms).
//! 5. The reply path is cut (server's node -> caller's node): the reply is lost.
//! 6. Unreliable: the reply is dropped with probability 1/10.
//! 7. Long reordering: about 2/3 of replies are held 200-2200 ms.
//!
//! Beyond the labs, rules that reach where bugs live. Each is off by default and draws nothing
//! while off, so a seed that does not turn one on runs exactly as before the rule existed:
//!
//! 8. Late duplicates: with the configured probability a request is delivered once more,
//!    500-5000 ms after the original, to whatever server then answers to the name (a stale
//!    message arriving after elections or after the server restarted), if the caller's end still
//!    reaches it. Nobody waits for that copy's reply. (A reply cannot come twice: the caller has
//!    returned; a stale reply is rule 10.)
//! 9. Crash after reply: with the configured probability the server's node crashes right after
//!    its handler sent the reply. That reply is still delivered (it was on the wire), so the
//!    caller acts on a promise the crashed server must keep after restarting.
//! 10. Held replies: with the configured probability a reply is held for a time drawn from the
//!     configured range (set it above the election timeout: the caller hears the answer to a
//!     question asked terms ago).
//! 11. Crash mid-save (`Persister::set_crash_points`): the saving node crashes inside `save`; the
//!     persister keeps the previous state, so a torn save never half-applies.
//! 12. Crash after save: the saving node crashes right after `save` stored the new state.
//!
//! 13. Held links (met right after rule 10): while a scenario holds the replies of a link
//!     (`Network::hold_replies(from, to)`), every reply from a server on `from` to a caller on `to`
//!     that got this far waits until the scenario releases the link, and is then delivered (it
//!     was on the wire; the server may have crashed since). A construction picks the instant an
//!     old answer arrives, say just after the caller entered a later term. Draws nothing.
//!
//! Rules 11 and 12 apply only to saves made by a thread of a node other than the main one (the
//! test's own threads are never crashed), and once one fired the persister ignores later saves
//! (the node is down) until the harness `copy`s it for the next incarnation.
//!
//! Every rule that decides to inject a fault asks `fault_plan::allow` after its draws, so a run
//! can record its faults or let only some happen (`sim::fault_plan`); without a plan it is a
//! pointer test and changes nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::channel::Sender;
use crate::node::{self, NodeId};
use crate::rand;
use crate::sim::fault_plan::{allow, FaultKind};

#[derive(Clone, Copy, Debug)]
pub(crate) struct Faults {
    pub(crate) reliable: bool,
    pub(crate) long_delays: bool,
    pub(crate) long_reordering: bool,
    pub(crate) duplicate_per_mille: u32,
    /// One-way latency bounds in microseconds (rule 0); (0, 0) is off.
    pub(crate) latency_us: (u64, u64),
    /// Rule 8: per mille of requests delivered once more, late.
    pub(crate) late_duplicate_per_mille: u32,
    /// Rule 9: per mille of handled requests after whose reply the server's node crashes.
    pub(crate) crash_after_reply_per_mille: u32,
    /// Rule 10: per mille of replies held, and the hold's bounds in milliseconds (inclusive).
    pub(crate) held_reply_per_mille: u32,
    pub(crate) held_reply_ms: (u64, u64),
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            reliable: true,
            long_delays: false,
            long_reordering: false,
            duplicate_per_mille: 0,
            latency_us: (0, 0),
            late_duplicate_per_mille: 0,
            crash_after_reply_per_mille: 0,
            held_reply_per_mille: 0,
            held_reply_ms: (0, 0),
        }
    }
}

/// Rule 8: the bounds of a late duplicate's delay, in milliseconds.
pub(crate) const LATE_DUPLICATE_MS: (u64, u64) = (500, 5000);

/// How often a caller checks whether the server it waits on is gone (rule 4).
pub(crate) const SERVER_CHECK_INTERVAL: Duration = Duration::from_millis(100);

impl Faults {
    /// Rule 0: one message's time on the wire. Draws nothing while latency is off, so turning
    /// the rule on is the only thing that changes other draws of a seed.
    pub(crate) fn latency(&self) -> Duration {
        let (min_us, max_us) = self.latency_us;
        if max_us == 0 {
            return Duration::ZERO;
        }
        Duration::from_micros(if min_us == max_us { min_us } else { rand::range(min_us..max_us + 1) })
    }

    /// Rule 1: how long a call without a route takes to fail.
    pub(crate) fn unreachable_delay(&self) -> Duration {
        let bound_ms = if self.long_delays { 7000 } else { 100 };
        Duration::from_millis(rand::range(0..bound_ms))
    }

    /// Rule 2: the request's extra delay.
    pub(crate) fn request_delay(&self) -> Duration {
        if self.reliable {
            return Duration::ZERO;
        }
        let delay = Duration::from_millis(rand::range(0..27));
        if delay.is_zero() || !allow(FaultKind::RequestDelay, String::new) {
            return Duration::ZERO;
        }
        delay
    }

    /// Rule 2: whether the request is lost.
    pub(crate) fn drop_request(&self) -> bool {
        !self.reliable && rand::per_mille(100) && allow(FaultKind::DropRequest, String::new)
    }

    /// Rule 3: whether the request is delivered twice.
    pub(crate) fn duplicate(&self) -> bool {
        self.duplicate_per_mille > 0
            && rand::per_mille(self.duplicate_per_mille)
            && allow(FaultKind::Duplicate, String::new)
    }

    /// Rule 6: whether the reply is lost.
    pub(crate) fn drop_reply(&self) -> bool {
        !self.reliable && rand::per_mille(100) && allow(FaultKind::DropReply, String::new)
    }

    /// Rule 7: how long the reply is held back, if at all.
    pub(crate) fn reorder_delay(&self) -> Option<Duration> {
        if !self.long_reordering || rand::range(0..900) >= 600 {
            return None;
        }
        // Skewed towards short holds, as in the Go labs: 200 + uniform(0 .. 1 + uniform(0..2000)).
        let spread = 1 + rand::range(0..2000);
        let hold = Duration::from_millis(200 + rand::range(0..spread));
        allow(FaultKind::Reorder, String::new).then_some(hold)
    }

    /// Whether rule 8 can deliver a request once more: when not, `late_duplicate` draws nothing
    /// and answers `None`.
    pub(crate) fn late_duplicates_possible(&self) -> bool {
        self.late_duplicate_per_mille > 0
    }

    /// Rule 8: whether the request is delivered once more, and after how long.
    pub(crate) fn late_duplicate(&self) -> Option<Duration> {
        if !draw(self.late_duplicate_per_mille) {
            return None;
        }
        let (min_ms, max_ms) = LATE_DUPLICATE_MS;
        let delay = Duration::from_millis(rand::range(min_ms..max_ms + 1));
        allow(FaultKind::LateDuplicate, String::new).then_some(delay)
    }

    /// Rule 9: whether the server's node crashes right after sending this reply. Drawn by the
    /// handler's thread when the reply is ready.
    pub(crate) fn crash_after_reply(&self) -> bool {
        draw(self.crash_after_reply_per_mille) && allow(FaultKind::CrashAfterReply, String::new)
    }

    /// Rule 10: how long the reply is held, if it is. The test for "off" is inline (it is asked
    /// for every reply, and as a call it cost more than the test, measured); the draws are not.
    #[inline(always)]
    pub(crate) fn held_reply(&self) -> Option<Duration> {
        if self.held_reply_per_mille == 0 {
            return None; // `draw` would draw nothing either
        }
        self.draw_held_reply()
    }

    fn draw_held_reply(&self) -> Option<Duration> {
        if !draw(self.held_reply_per_mille) {
            return None;
        }
        let (min_ms, max_ms) = self.held_reply_ms;
        let hold = Duration::from_millis(rand::range(min_ms..max_ms + 1));
        allow(FaultKind::HeldReply, String::new).then_some(hold)
    }
}

/// Rule 13: the links (server's node, caller's node) whose replies are held, each with the
/// callers waiting on it; a caller is woken by a value on its channel.
#[derive(Default)]
pub(crate) struct HeldLinks {
    waiting: BTreeMap<(NodeId, NodeId), Vec<Sender<()>>>,
}

/// Bound on the callers waiting on held links at once: far above any construction's needs, so
/// reaching it means a scenario forgot to release a link a busy caller keeps using.
const MAX_HELD_WAITERS: usize = 100_000;

impl HeldLinks {
    pub(crate) fn hold(&mut self, from: NodeId, to: NodeId) {
        self.waiting.entry((from, to)).or_default();
    }

    pub(crate) fn is_held(&self, from: NodeId, to: NodeId) -> bool {
        self.waiting.contains_key(&(from, to))
    }

    /// Queues a caller on the link if it is held; false when it is not (deliver at once).
    pub(crate) fn enqueue(&mut self, from: NodeId, to: NodeId, wake: Sender<()>) -> bool {
        let total: usize = self.waiting.values().map(Vec::len).sum();
        let Some(waiters) = self.waiting.get_mut(&(from, to)) else { return false };
        assert!(total < MAX_HELD_WAITERS, "labrpc: {total} replies held on links that were never released");
        waiters.push(wake);
        true
    }

    /// Ends the hold on one link: the callers to wake, in the order they arrived.
    pub(crate) fn release(&mut self, from: NodeId, to: NodeId) -> Vec<Sender<()>> {
        self.waiting.remove(&(from, to)).unwrap_or_default()
    }

    /// Ends every hold: the callers to wake, link by link.
    pub(crate) fn release_all(&mut self) -> Vec<Sender<()>> {
        std::mem::take(&mut self.waiting).into_values().flatten().collect()
    }
}

/// True with probability `per_mille`/1000; draws nothing when it is 0.
fn draw(per_mille: u32) -> bool {
    per_mille > 0 && rand::per_mille(per_mille)
}

/// Rules 11 and 12: how often a persister's saves crash the saving node (default: never).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CrashPoints {
    /// Per mille of saves during which the node crashes; the previous state stays.
    pub mid_save_per_mille: u32,
    /// Per mille of saves right after which the node crashes; the new state stays.
    pub after_save_per_mille: u32,
}

/// What happens to one save.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SaveFate {
    Completes,
    /// Rule 11: the node crashes before the new state is stored.
    CrashMid(NodeId),
    /// Rule 12: the node crashes after the new state is stored.
    CrashAfter(NodeId),
}

impl CrashPoints {
    pub(crate) fn check(&self) {
        for (what, per_mille) in [("mid-save", self.mid_save_per_mille), ("after-save", self.after_save_per_mille)] {
            assert!(per_mille <= 1000, "labrpc: {what} crash probability {per_mille} per mille is above 1000");
        }
    }

    /// Rules 11 and 12 for one save by the calling thread. Draws nothing while both are off or
    /// the caller is on the main node (or outside a simulation).
    pub(crate) fn fate(&self) -> SaveFate {
        if *self == CrashPoints::default() || !crate::sim::in_simulation() {
            return SaveFate::Completes;
        }
        let saver = node::current_node();
        if saver == NodeId::MAIN {
            return SaveFate::Completes;
        }
        // A refused mid-save crash completes the save without drawing for an after-save one,
        // so it draws exactly what the crash would have.
        if draw(self.mid_save_per_mille) {
            if allow(FaultKind::CrashMidSave, String::new) {
                SaveFate::CrashMid(saver)
            } else {
                SaveFate::Completes
            }
        } else if draw(self.after_save_per_mille) && allow(FaultKind::CrashAfterSave, String::new) {
            SaveFate::CrashAfter(saver)
        } else {
            SaveFate::Completes
        }
    }
}

/// Crash-stops the calling thread's own node at a crash point; never returns.
pub(crate) fn crash_here(node: NodeId, point: &str) -> ! {
    tracing::info!(node = %node::name(node), point, "labrpc: crash point: the node crashes");
    node::crash(node);
    unreachable!("labrpc: a thread of crashed node {} ran on after its crash point {point}", node::name(node))
}
