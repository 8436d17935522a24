//! Simulated threads: each is a stackful coroutine owned by the runtime, belonging to one node.

use std::sync::Arc;

use corosensei::Coroutine;

use super::stack_chunk::CarvedStack;
use super::wait::{Wait, Wake};

/// A node of the simulation: a group of threads that crash, restart and pause together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub(crate) u32);

impl NodeId {
    /// The node of the simulation's first thread (and of every thread outside a simulation).
    pub const MAIN: NodeId = NodeId(0);

    /// The node's index: 0 for the main node, then in creation order.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A slot index plus a generation, so a stale id left in a wait queue never wakes a new thread
/// that reuses the slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct TaskId {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

/// What the scheduler passes into a coroutine when it resumes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resume {
    Run,
    /// The node crashed or the simulation is shutting down: unwind from the suspension point.
    Kill,
}

/// How a coroutine ended.
pub(crate) enum Exit {
    Completed,
    Killed,
    Panicked(PanicRecord),
    /// Stopped by the runtime after it recorded a failure (spin detected, bad call).
    Aborted,
}

/// A panic in a simulated thread, as the failure report shows it.
#[derive(Clone, Debug)]
pub struct PanicRecord {
    pub message: String,
    pub location: Option<String>,
    /// Captured when RUST_BACKTRACE asks for it.
    pub backtrace: Option<String>,
}

/// The unwind payload used to kill a thread (node crash, shutdown). Never reaches user code
/// unless it catches unwinds across simulator calls.
pub(crate) struct Killed;

/// The unwind payload used to stop a thread after the runtime recorded a failure.
pub(crate) struct Aborted;

pub(crate) type Coro = Coroutine<Resume, (), Exit, CarvedStack>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Runnable,
    Running,
    Parked,
}

/// `repr(C)`, hot fields first: with the runtime's 64-byte-aligned slots, what a switch, a park
/// and a wake-up read and write shares one cache line, and the report-only fields sit in the
/// next. (`Option<TaskSlot>` takes its tag from a `bool`'s spare values, in the first line;
/// `trace_node` is a plain index so that its `Option` tag, a larger niche, does not win.)
#[repr(C)]
pub(crate) struct TaskSlot {
    /// Spawn order within the simulation; the stable number shown in reports.
    pub(crate) serial: u64,
    /// Bumped at every park; a timer carrying an older token is stale.
    pub(crate) park_token: u64,
    /// Boxed so it never moves while it runs; `None` only once leaked at shutdown.
    pub(crate) coro: Option<Box<Coro>>,
    pub(crate) yielder: *const corosensei::Yielder<Resume, ()>,
    /// The node's memory ledger, made current while the thread runs.
    pub(crate) ledger: *const crate::alloc::NodeLedger,
    pub(crate) node: NodeId,
    pub(crate) status: Status,
    pub(crate) wake: Wake,
    /// The park in progress has a deadline timer in the queue (which goes stale if the park ends
    /// another way).
    pub(crate) timed: bool,
    pub(crate) dying: bool,
    pub(crate) kill_sent: bool,
    /// The node its trace lines name while it runs another node's code (`trace::as_node`), or
    /// `NO_TRACE_NODE`.
    pub(crate) trace_node: u32,
    pub(crate) name: Arc<str>,
    /// What the park in progress waits for (read only for reports, and only while parked).
    pub(crate) wait: Option<Wait>,
}

/// `TaskSlot::trace_node` when the thread's trace lines name its own node.
pub(crate) const NO_TRACE_NODE: u32 = u32::MAX;

impl TaskSlot {
    /// Whether the thread still waits in the park `token` was taken for (not woken, timed out
    /// or killed since): what a ticket or a deadline timer must find to wake it.
    #[inline(always)]
    pub(crate) fn parked_at(&self, token: u64) -> bool {
        self.status == Status::Parked && self.park_token == token
    }
}
