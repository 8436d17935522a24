//! What the churn tests (`kill_stress`, `kill_stress_channels`) share: their seeds, the churn
//! itself, and whether a thread's node incarnation still lives.

use std::time::Duration;

use labrpc::sim::{self, Config, Knobs, Target};
use labrpc::{node, rand, time, NodeId};

/// Whether `node` is up in the incarnation a thread was started in.
pub fn alive(node: NodeId, incarnation: u64) -> bool {
    node::is_alive(node) && node::incarnation(node) == incarnation
}

/// Runs `body` for the seeds the knobs ask for, with preemption at lock and send points; without
/// `LAB_SEED`, at least 16 seeds, from `first_seed` if given (else from the test name's seed).
pub fn run_seeds<F: FnOnce() + Clone + 'static>(target: &Target, first_seed: Option<u64>, body: F) {
    let mut knobs = Knobs::from_env().unwrap_or_else(|e| panic!("error: {e}"));
    if knobs.seed.is_none() {
        knobs.seed = first_seed;
        knobs.runs = knobs.runs.max(16);
    }
    let config = Config { preempt_per_mille: 100, ..Config::default() };
    if let Err(failure) = sim::check_with(target, config, &knobs, body) {
        panic!("{failure}");
    }
}

/// For 300 ms of virtual time, every 0-4 ms, crashes a node of `nodes` picked at random if it is
/// up, or restarts it and calls `restarted` (to start its threads again) if it is down; calls
/// `after_each` after every step. Returns how many crashes there were.
pub fn churn(nodes: &[NodeId], mut restarted: impl FnMut(NodeId), mut after_each: impl FnMut()) -> u32 {
    let mut crashes = 0;
    let end_of_churn = time::now() + Duration::from_millis(300);
    while time::now() < end_of_churn {
        time::sleep(Duration::from_micros(rand::range(0..4000)));
        let n = nodes[rand::range(0..nodes.len() as u64) as usize];
        if node::is_alive(n) {
            node::crash(n);
            crashes += 1;
        } else {
            node::restart(n);
            restarted(n);
        }
        after_each();
    }
    crashes
}
