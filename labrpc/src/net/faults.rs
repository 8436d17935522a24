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

use std::time::Duration;

use crate::rand;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Faults {
    pub(crate) reliable: bool,
    pub(crate) long_delays: bool,
    pub(crate) long_reordering: bool,
    pub(crate) duplicate_per_mille: u32,
    /// One-way latency bounds in microseconds (rule 0); (0, 0) is off.
    pub(crate) latency_us: (u64, u64),
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            reliable: true,
            long_delays: false,
            long_reordering: false,
            duplicate_per_mille: 0,
            latency_us: (0, 0),
        }
    }
}

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
        Duration::from_millis(rand::range(0..27))
    }

    /// Rule 2: whether the request is lost.
    pub(crate) fn drop_request(&self) -> bool {
        !self.reliable && rand::per_mille(100)
    }

    /// Rule 3: whether the request is delivered twice.
    pub(crate) fn duplicate(&self) -> bool {
        self.duplicate_per_mille > 0 && rand::per_mille(self.duplicate_per_mille)
    }

    /// Rule 6: whether the reply is lost.
    pub(crate) fn drop_reply(&self) -> bool {
        !self.reliable && rand::per_mille(100)
    }

    /// Rule 7: how long the reply is held back, if at all.
    pub(crate) fn reorder_delay(&self) -> Option<Duration> {
        if !self.long_reordering || rand::range(0..900) >= 600 {
            return None;
        }
        // Skewed towards short holds, as in the Go labs: 200 + uniform(0 .. 1 + uniform(0..2000)).
        let spread = 1 + rand::range(0..2000);
        Some(Duration::from_millis(200 + rand::range(0..spread)))
    }
}
