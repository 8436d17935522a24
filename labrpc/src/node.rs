//! Nodes: groups of simulated threads that crash, restart and pause together, like machines.
//!
//! Crashing a node is crash-stop: every thread of the node unwinds at its suspension point
//! (destructors run, no other code of it runs again), so server code needs no `killed()` flag.
//! A restart makes the node accept new threads; the harness starts fresh server threads on it.

use std::time::Duration;

use crate::sched::{current, try_current};

pub use crate::sched::task::NodeId;

/// A new node named `name` (names appear in traces and reports). Simulation only.
pub fn create(name: &str) -> NodeId {
    current("node::create").create_node(name)
}

/// The node of the calling thread (`NodeId::MAIN` outside a simulation).
pub fn current_node() -> NodeId {
    try_current().map_or(NodeId::MAIN, |rt| rt.current_node())
}

/// Crash-stops `node`: when this returns, its threads have unwound (a destructor that blocks
/// finishes later). Crashing the caller's own node unwinds the caller too.
pub fn crash(node: NodeId) {
    assert!(node != NodeId::MAIN, "labrpc: the main node (the test's own thread) cannot be crashed");
    crate::observe::record(|| crate::observe::Observed::NodeCrashed { node: name(node) });
    current("node::crash").crash_node(node);
}

/// Lets a crashed node run threads again.
pub fn restart(node: NodeId) {
    crate::observe::record(|| crate::observe::Observed::NodeRestarted { node: name(node) });
    current("node::restart").restart_node(node);
}

/// Stops every thread of `node` for `duration` of virtual time, like a long GC pause: nothing of
/// it runs, timers that fall due meanwhile fire when the pause ends, messages queue up.
pub fn pause(node: NodeId, duration: Duration) {
    assert!(node != NodeId::MAIN, "labrpc: the main node (the test's own thread) cannot be paused");
    crate::observe::record(|| crate::observe::Observed::NodePaused {
        node: name(node),
        duration_ms: duration.as_millis().min(u64::MAX as u128) as u64,
    });
    current("node::pause").pause_node(node, duration.as_nanos().min(u64::MAX as u128) as u64);
}

pub fn is_alive(node: NodeId) -> bool {
    try_current().is_none_or(|rt| rt.node_alive(node))
}

/// How many times `node` has crashed.
pub fn incarnation(node: NodeId) -> u64 {
    try_current().map_or(0, |rt| rt.node_incarnation(node))
}

pub fn name(node: NodeId) -> String {
    try_current().map_or_else(|| "main".to_string(), |rt| rt.node_name(node).to_string())
}

/// Memory charged to `node` (see `labrpc::alloc`): bytes its threads allocated that are still
/// live, wherever they are freed, and bytes it ever allocated. `None` outside a simulation and
/// in a binary that does not declare `labrpc::count_allocations!()`.
pub fn memory(node: NodeId) -> Option<crate::alloc::Memory> {
    let rt = try_current()?;
    if !crate::alloc::is_counting() {
        return None;
    }
    let (live_bytes, allocated_bytes) = rt.node_memory(node);
    Some(crate::alloc::Memory { live_bytes, allocated_bytes })
}

/// Threads of `node` that have not finished (a crashed node's threads count until they have
/// unwound). 0 outside a simulation.
pub fn live_threads(node: NodeId) -> usize {
    try_current().map_or(0, |rt| rt.node_live_threads(node))
}
