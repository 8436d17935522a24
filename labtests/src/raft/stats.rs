//! begin/end of a scenario: the "Test (3A): ..." line, then the "Passed" line with virtual and
//! wall time, peers, RPCs, bytes, agreements and the seed that replays the run.

use labrpc::time::{self, Instant};

use super::config::Cluster;
use labapi::RaftPeer;

/// Counters at `begin`, so `end` reports what the scenario itself did.
pub(crate) struct Baseline {
    virtual_start: Instant,
    // Wall time is only reported, never read by the run, so it cannot break determinism.
    #[allow(clippy::disallowed_types)]
    wall_start: std::time::Instant,
    rpcs: u64,
    bytes: u64,
    max_index: u64,
}

impl<R: RaftPeer> Cluster<R> {
    /// Prints `description` and records the counters (Go's `cfg.begin`).
    pub fn begin(&self, description: &str) {
        crate::say!("{description} ...");
        tracing::info!(description, "harness: begin");
        let (rpcs, bytes) = (self.rpc_total(), self.bytes_total());
        let mut st = self.shared.state.lock();
        let max_index = st.applied.max_index();
        st.baseline = Some(Baseline { virtual_start: time::now(), wall_start: wall_now(), rpcs, bytes, max_index });
    }

    /// Prints the Passed line (Go's `cfg.end`); reaching it means every check held.
    /// The figures are the scenario's own: taken before the common ending (`ending.rs`), which
    /// then heals every fault and checks liveness and durability.
    pub fn end(&self) {
        let (rpcs, bytes) = (self.rpc_total(), self.bytes_total());
        let st = self.shared.state.lock();
        let b = st.baseline.as_ref().expect("end() without begin()");
        let line = format!(
            "  ... Passed --  virtual {:.1}s, wall {} ms, peers {}, rpcs {}, bytes {}, cmds {}, seed {}",
            b.virtual_start.elapsed().as_secs_f64(),
            b.wall_start.elapsed().as_millis(),
            self.shared.n,
            rpcs - b.rpcs,
            bytes - b.bytes,
            st.applied.max_index() - b.max_index,
            labrpc::sim::current_seed(),
        );
        drop(st);
        self.heal_and_check();
        self.stop_monitor();
        crate::say!("{line}");
    }
}

// The wall clock feeds only the printed figure; nothing in the run reads it.
#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
fn wall_now() -> std::time::Instant {
    std::time::Instant::now()
}
