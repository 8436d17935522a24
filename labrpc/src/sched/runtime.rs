//! One simulation's state and its scheduler loop.
//!
//! Invariants (asserted where cheap):
//! - exactly one coroutine runs at a time, and only between `resume` and its next suspension;
//! - a live task is in exactly one place: running, the runnable list (or its paused node's held
//!   list), parked, or the kill queue's pending kill of a parked/runnable task;
//! - virtual time never goes backwards, and only moves when nothing is runnable;
//! - every choice the scheduler makes is drawn from the seeded scheduling stream and folded into the
//!   determinism hash.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::panic::resume_unwind;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use corosensei::{CoroutineResult, Yielder};
use rand::RngExt;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::record::{Event, EventKind, Mode, Recorder};
use super::stack_pool;
use super::task::{Aborted, Coro, Exit, Killed, NodeId, PanicRecord, Resume, Status, TaskId, TaskSlot, NO_TRACE_NODE};
use super::timer::{TimerKind, Timers};
use super::wait::{Ticket, Wait, Wake};
use super::watchdog::Watch;
use crate::alloc::{self, LedgerOwner};
use crate::sim::failure::{BlockedThread, FailureKind};
use crate::sim::Config;

pub(crate) struct NodeState {
    pub(crate) name: Arc<str>,
    pub(crate) alive: bool,
    /// Bumped at every crash, so a restarted node's servers are told apart from the old ones.
    pub(crate) incarnation: u64,
    pub(crate) paused_until_ns: Option<u64>,
    pub(crate) pause_generation: u64,
    /// Runnable threads of a paused node, in the order they became runnable.
    pub(crate) held: Vec<TaskId>,
    /// Memory charged to the node (counted when the binary uses `alloc::CountingAlloc`).
    pub(crate) ledger: LedgerOwner,
    /// Threads of the node that have not finished (killed ones count until they have unwound).
    pub(crate) live_threads: usize,
}

impl NodeState {
    fn new(name: &str) -> NodeState {
        NodeState {
            name: Arc::from(name),
            alive: true,
            incarnation: 0,
            paused_until_ns: None,
            pause_generation: 0,
            held: Vec::new(),
            ledger: LedgerOwner::new(),
            live_threads: 0,
        }
    }
}

/// A task slot on a cache line of its own: the generation and `TaskSlot`'s hot fields share the
/// first 64 bytes (a `layout` test checks it), so looking a thread up for a switch, a park or a
/// wake-up touches one line (at 112 bytes unaligned they spanned two, three times in four).
#[repr(C, align(64))]
struct Slot {
    generation: u32,
    /// The low half of the stack pointer at which the slot's thread last switched out, for
    /// `prefetch_resume` (the high half is its yielder's: both lie on the thread's stack).
    switched_out_sp_lo: u32,
    task: Option<TaskSlot>,
}

/// A failure as first recorded, before it is turned into the public report.
pub(crate) struct FailureDraft {
    pub(crate) kind: FailureKind,
    pub(crate) time_ns: u64,
    pub(crate) node: Option<Arc<str>>,
    pub(crate) thread: Option<(u64, Arc<str>)>,
}

pub(crate) struct State {
    pub(crate) now_ns: u64,
    slots: Vec<Slot>,
    free_slots: Vec<u32>,
    live_tasks: usize,
    runnable: Vec<TaskId>,
    kill_queue: VecDeque<TaskId>,
    timers: Timers,
    /// Timers in the queue that can wake nothing any more (their park ended another way).
    stale_timers: usize,
    pub(crate) nodes: Vec<NodeState>,
    /// False only when no node is paused, so picking a thread need not look up its node. Set by
    /// every pause and recomputed when one ends; a crash ends a pause without clearing it, which
    /// only costs the lookups until the next pause ends.
    maybe_paused: bool,
    sched_rng: ChaCha8Rng,
    world_rng: ChaCha8Rng,
    pub(crate) rec: Recorder,
    pub(crate) failure: Option<FailureDraft>,
    next_serial: u64,
    next_object_id: u64,
    steps_at_instant: u64,
    pub(crate) steps: u64,
    shutting_down: bool,
    /// Panics of threads that may still be unwinding (noted by the panic hook, dropped when the
    /// thread ends): such a thread is never sent a kill (see `unwinding_from_panic`).
    panics: Vec<(TaskId, PanicRecord)>,
}

impl State {
    pub(crate) fn next_serial_count(&self) -> u64 {
        self.next_serial
    }

    fn slot(&self, id: TaskId) -> Option<&TaskSlot> {
        let slot = self.slots.get(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.task.as_ref()
    }

    fn slot_mut(&mut self, id: TaskId) -> Option<&mut TaskSlot> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.task.as_mut()
    }

    #[inline(always)]
    fn record(&mut self, kind: EventKind, serial: u64, node: NodeId, value: u64) {
        let event = Event { time_ns: self.now_ns, task_serial: serial, node: node.0, kind, value };
        let (nodes, slots) = (&self.nodes, &self.slots);
        self.rec.event(event, |e| describe_event(nodes, slots, e));
    }

    fn live_ids(&self) -> Vec<TaskId> {
        let mut ids = Vec::with_capacity(self.live_tasks);
        for (index, slot) in self.slots.iter().enumerate() {
            if slot.task.is_some() {
                ids.push(TaskId { index: index as u32, generation: slot.generation });
            }
        }
        ids
    }

    /// Whether thread `id` is unwinding from a panic. A kill would start a second unwind in it,
    /// and one started inside a destructor during unwinding (where such a thread waits) aborts
    /// the process. Rust's panic count is per OS thread, so `panicking()` is true while any
    /// thread is suspended mid-unwind; when it is false, every noted panic has been caught.
    /// A thread that caught its panic while another is mid-unwind counts as unwinding (rare).
    fn unwinding_from_panic(&mut self, id: TaskId) -> Option<&PanicRecord> {
        if self.panics.is_empty() {
            return None;
        }
        if !std::thread::panicking() {
            self.panics.clear();
            return None;
        }
        self.panics.iter().find(|(task, _)| *task == id).map(|(_, record)| record)
    }

    /// Marks live thread `id` dying and sends it a kill: through the kill queue, or, if it is
    /// `running` (it crashes its own node), by the caller, which the result asks for. A thread
    /// unwinding from a panic only counts as killed, as a second unwind from one of its
    /// destructors would abort the process: its destructors run on, and one that waits forever
    /// is reported stuck at the end of the run.
    fn doom(&mut self, id: TaskId, running: Option<TaskId>) -> bool {
        let unwinding = self.unwinding_from_panic(id).is_some();
        let slot = self.slot_mut(id).expect("doom: thread is gone");
        slot.dying = true;
        if unwinding || Some(id) == running {
            slot.kill_sent = true;
            return !unwinding;
        }
        self.kill_queue.push_back(id);
        false
    }

    fn remove_from_queues(&mut self, id: TaskId) {
        if let Some(pos) = self.runnable.iter().position(|&t| t == id) {
            self.runnable.swap_remove(pos);
        }
        for node in &mut self.nodes {
            node.held.retain(|&t| t != id);
        }
    }

    /// Makes thread `id` runnable, woken by `wake`, if its park `token` is still on. False when
    /// that park is over (woken, timed out, killed) or the thread is gone. The slot is looked up
    /// once for the check and the wake-up: this runs for every notification, channel value and
    /// timer that fires.
    #[inline(always)]
    fn wake_if_parked(&mut self, id: TaskId, token: u64, wake: Wake) -> bool {
        let Some(outer) = self.slots.get_mut(id.index as usize).filter(|s| s.generation == id.generation) else {
            return false;
        };
        let sp_lo = outer.switched_out_sp_lo;
        let Some(slot) = outer.task.as_mut().filter(|slot| slot.parked_at(token)) else { return false };
        slot.status = Status::Runnable;
        slot.wake = wake;
        prefetch_resume(slot, sp_lo);
        let left_a_timer = std::mem::take(&mut slot.timed) && wake != Wake::TimedOut;
        self.runnable.push(id);
        if left_a_timer {
            self.timer_went_stale(id);
        }
        true
    }

    /// A park with a deadline ended before it: its timer stays in the queue until it surfaces or
    /// a sweep removes it. Sweeps run when stale timers are over half of the queue, so the heap
    /// stays within twice the timed parks in progress and each timer is swept at most once.
    /// Inlined up to the sweep (an answered RPC's timer goes stale at every reply).
    #[inline(always)]
    fn timer_went_stale(&mut self, task: TaskId) {
        const SWEEP_ABOVE: usize = 64;
        self.timers.cancel_wake(task);
        self.stale_timers += 1;
        if self.stale_timers > SWEEP_ABOVE && 2 * self.stale_timers > self.timers.len() {
            self.sweep_stale_timers();
        }
    }

    #[inline(never)]
    fn sweep_stale_timers(&mut self) {
        let (slots, nodes) = (&self.slots, &self.nodes);
        alloc::untracked(|| self.timers.retain(|kind| timer_is_live(slots, nodes, kind)));
        self.stale_timers = 0;
    }
}

/// The timer can still do something when it fires: its park or its pause is still on. A `Wake`
/// is cancelled when its park ends another way, so its thread's slot is not read (sweeps and the
/// queue's head would miss the cache on it); debug builds check the slot agrees.
fn timer_is_live(slots: &[Slot], nodes: &[NodeState], kind: &TimerKind) -> bool {
    match *kind {
        TimerKind::Wake { task, token } => {
            debug_assert!(wake_is_live(slots, task, token), "a timer outlived its park without being cancelled");
            true
        }
        TimerKind::Unpause { node, generation } => nodes[node.index()].pause_generation == generation,
        TimerKind::Cancelled => false,
    }
}

/// Starts loading what resuming a thread just woken will read: its coroutine's box (the saved
/// stack pointer), the words its switch out pushed (the return address an indirect call jumps
/// to) and its stack's link to the scheduler (written at the switch). Each was a cache miss in
/// a chain at every resume (perf: the first instruction after the switch and the slot's check);
/// the waker usually runs on for a while before the scheduler resumes this thread. A prefetch
/// never faults, so an address rebuilt wrongly (the halves from different 4 GiB regions) only
/// loads a useless line.
#[inline(always)]
fn prefetch_resume(slot: &TaskSlot, sp_lo: u32) {
    if let Some(coro) = slot.coro.as_deref() {
        prefetch(coro as *const Coro as usize);
    }
    let yielder = slot.yielder as usize;
    if yielder != 0 && sp_lo != 0 {
        prefetch(yielder);
        // The switch pushed three words below the recorded stack pointer.
        let sp = (yielder & !0xffff_ffff) | sp_lo as usize;
        prefetch(sp - 24);
        prefetch(sp - 8);
    }
}

#[inline(always)]
fn prefetch(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it reads nothing the program sees and never faults.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(addr as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}

/// The stack pointer where it is read (inlined into the switch, so it is the switch's).
#[inline(always)]
fn stack_pointer() -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        let sp: usize;
        // SAFETY: reads a register; touches no memory.
        unsafe { std::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
        sp
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let here = 0u8;
        std::hint::black_box(&here) as *const u8 as usize
    }
}

/// Whether thread `task` still waits in the park `token` was taken for.
fn wake_is_live(slots: &[Slot], task: TaskId, token: u64) -> bool {
    slots.get(task.index as usize).is_some_and(|slot| {
        slot.generation == task.generation && slot.task.as_ref().is_some_and(|t| t.parked_at(token))
    })
}

fn describe_event(nodes: &[NodeState], slots: &[Slot], e: &Event) -> String {
    let at = crate::sim::failure::format_time(e.time_ns);
    if e.task_serial == u64::MAX {
        return format!("at {at} the scheduler: {e}");
    }
    let node = nodes.get(e.node as usize).map(|n| n.name.as_ref()).unwrap_or("?");
    // Thread names are known for live threads only; the first divergence usually involves one.
    let name = slots.iter().filter_map(|s| s.task.as_ref()).find(|t| t.serial == e.task_serial).map(|t| t.name.clone());
    match name {
        Some(name) => format!("at {at} thread '{name}' (#{}) on node '{node}' {e}", e.task_serial),
        None => format!("at {at} thread #{} on node '{node}' {e}", e.task_serial),
    }
}

pub(crate) struct Runtime {
    pub(crate) seed: u64,
    pub(crate) config: Config,
    pub(crate) st: RefCell<State>,
    current: Cell<Option<TaskId>>,
    yielder: Cell<*const Yielder<Resume, ()>>,
    /// The stack pointer at the running thread's last switch out (see `prefetch_resume`).
    switched_out_sp: Cell<usize>,
    pub(crate) watch: Arc<Watch>,
}

impl Runtime {
    pub(crate) fn new(seed: u64, config: Config, mode: Mode, replay: Option<String>) -> Runtime {
        // Two independent streams: scheduling choices, and everything the simulated world draws
        // (user randomness and network faults). Both are derived from the one seed.
        let sched_rng = ChaCha8Rng::seed_from_u64(seed);
        let world_rng = ChaCha8Rng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15);
        let watch = Watch::new(seed, config.spin_limit, replay);
        let main_node = NodeState::new("main");
        alloc::untracked(|| watch.note_node(NodeId::MAIN, main_node.name.clone()));
        Runtime {
            seed,
            config,
            st: RefCell::new(State {
                now_ns: 0,
                slots: Vec::new(),
                free_slots: Vec::new(),
                live_tasks: 0,
                runnable: Vec::new(),
                kill_queue: VecDeque::new(),
                timers: Timers::default(),
                stale_timers: 0,
                nodes: vec![main_node],
                maybe_paused: false,
                sched_rng,
                world_rng,
                rec: Recorder::new(mode),
                failure: None,
                next_serial: 0,
                next_object_id: 1,
                steps_at_instant: 0,
                steps: 0,
                shutting_down: false,
                panics: Vec::new(),
            }),
            current: Cell::new(None),
            yielder: Cell::new(std::ptr::null()),
            switched_out_sp: Cell::new(0),
            watch,
        }
    }

    // ----- queries -------------------------------------------------------------------------

    #[inline]
    pub(crate) fn now_ns(&self) -> u64 {
        self.check_stall();
        self.st.borrow().now_ns
    }

    pub(crate) fn current_task(&self) -> Option<TaskId> {
        self.current.get()
    }

    fn expect_current(&self, what: &str) -> TaskId {
        match self.current.get() {
            Some(id) => id,
            None => panic!("labrpc: {what} must be called from a simulated thread"),
        }
    }

    pub(crate) fn current_node(&self) -> NodeId {
        match self.current.get() {
            Some(id) => self.st.borrow().slot(id).map(|s| s.node).unwrap_or(NodeId::MAIN),
            None => NodeId::MAIN,
        }
    }

    /// (node name, thread name, serial) of the running thread, for traces and reports.
    pub(crate) fn current_names(&self) -> Option<(Arc<str>, Arc<str>, u64)> {
        let id = self.current.get()?;
        let st = self.st.borrow();
        let slot = st.slot(id)?;
        Some((st.nodes[slot.node.index()].name.clone(), slot.name.clone(), slot.serial))
    }

    /// Like `current_names`, but naming the node set by `trace::as_node` when there is one.
    pub(crate) fn trace_names(&self) -> Option<(Arc<str>, Arc<str>, u64)> {
        let id = self.current.get()?;
        let st = self.st.borrow();
        let slot = st.slot(id)?;
        let node = if slot.trace_node == NO_TRACE_NODE { slot.node } else { NodeId(slot.trace_node) };
        Some((st.nodes[node.index()].name.clone(), slot.name.clone(), slot.serial))
    }

    /// Sets the node the running thread's trace lines name (None: its own); returns the last.
    pub(crate) fn set_trace_node(&self, node: Option<NodeId>) -> Option<NodeId> {
        let id = self.current.get()?;
        let mut st = self.st.borrow_mut();
        let slot = st.slot_mut(id)?;
        let last = std::mem::replace(&mut slot.trace_node, node.map_or(NO_TRACE_NODE, |n| n.0));
        (last != NO_TRACE_NODE).then_some(NodeId(last))
    }

    pub(crate) fn next_object_id(&self) -> u64 {
        let mut st = self.st.borrow_mut();
        let id = st.next_object_id;
        st.next_object_id += 1;
        id
    }

    pub(crate) fn hash(&self) -> u64 {
        self.st.borrow().rec.hash
    }

    // ----- randomness ----------------------------------------------------------------------

    /// A draw from the world stream (user randomness, network faults), folded into the hash.
    pub(crate) fn draw_u64(&self) -> u64 {
        self.check_stall();
        let (serial, node) = self.current_serial_node();
        let mut st = self.st.borrow_mut();
        let value: u64 = st.world_rng.random();
        st.record(EventKind::Draw, serial, node, value);
        value
    }

    fn current_serial_node(&self) -> (u64, NodeId) {
        match self.current.get() {
            Some(id) => {
                let st = self.st.borrow();
                st.slot(id).map(|s| (s.serial, s.node)).unwrap_or((u64::MAX, NodeId::MAIN))
            }
            None => (u64::MAX, NodeId::MAIN),
        }
    }

    // ----- threads -------------------------------------------------------------------------

    /// Creates a thread on `node`. `body` receives the first resume value: `Kill` means the
    /// thread was killed before it ever ran, and must not run user code.
    pub(crate) fn spawn<B>(&self, node: NodeId, name: Arc<str>, body: B) -> (TaskId, u64)
    where
        B: FnOnce(Resume) -> Exit + 'static,
    {
        self.check_stall();
        let stack_size = self.config.stack_size_bytes;
        let stack = stack_pool::take(stack_size);
        let rt_ptr: *const Runtime = self;
        let coro = Coro::with_stack(stack, move |yielder: &Yielder<Resume, ()>, first: Resume| {
            // SAFETY: the runtime outlives every coroutine it owns (they are all finished or
            // leaked before `sim::run` drops it).
            let rt = unsafe { &*rt_ptr };
            rt.yielder.set(yielder);
            if let Some(id) = rt.current.get() {
                if let Some(slot) = rt.st.borrow_mut().slot_mut(id) {
                    slot.yielder = yielder;
                }
            }
            body(first)
        });
        let parent = self.current_serial_node().0;
        let mut st = self.st.borrow_mut();
        assert!((node.index()) < st.nodes.len(), "labrpc: spawn on unknown node {node:?}");
        let serial = st.next_serial;
        st.next_serial += 1;
        let born_dead = st.shutting_down || !st.nodes[node.index()].alive;
        let index = match st.free_slots.pop() {
            Some(i) => i,
            None => {
                st.slots.push(Slot { generation: 0, switched_out_sp_lo: 0, task: None });
                (st.slots.len() - 1) as u32
            }
        };
        if !self.config.spin_limit.is_zero() {
            self.watch.note_spawn(index, serial, node, &name);
        }
        let ledger = st.nodes[node.index()].ledger.as_ptr();
        st.nodes[node.index()].live_threads += 1;
        let slot = &mut st.slots[index as usize];
        debug_assert!(slot.task.is_none());
        let id = TaskId { index, generation: slot.generation };
        slot.task = Some(TaskSlot {
            serial,
            node,
            name,
            coro: Some(Box::new(coro)),
            status: Status::Runnable,
            wait: None,
            wake: Wake::Notified,
            park_token: 0,
            timed: false,
            dying: born_dead,
            kill_sent: false,
            yielder: std::ptr::null(),
            ledger,
            trace_node: NO_TRACE_NODE,
        });
        st.live_tasks += 1;
        if born_dead {
            st.kill_queue.push_back(id);
        } else {
            st.runnable.push(id);
        }
        st.record(EventKind::Spawn, parent, node, serial);
        (id, serial)
    }

    /// Suspends the running thread until `unpark` or the deadline.
    pub(crate) fn park(&self, wait: Wait, deadline_ns: Option<u64>) -> Wake {
        let id = self.park_begin(wait, deadline_ns);
        self.suspend();
        self.park_end(id)
    }

    /// Marks the running thread parked (and arms its deadline); returns its id.
    #[inline(always)]
    fn park_begin(&self, wait: Wait, deadline_ns: Option<u64>) -> TaskId {
        self.check_stall();
        let id = self.expect_current("a blocking call");
        let mut st = self.st.borrow_mut();
        let now = st.now_ns;
        let slot = st.slot_mut(id).expect("park: running task is gone");
        assert_eq!(slot.status, Status::Running, "park: task is not running");
        slot.park_token += 1;
        slot.status = Status::Parked;
        slot.wait = Some(wait);
        slot.wake = Wake::Pending;
        slot.timed = deadline_ns.is_some();
        let (token, serial, node) = (slot.park_token, slot.serial, slot.node);
        st.record(EventKind::Park, serial, node, deadline_ns.unwrap_or(u64::MAX));
        if let Some(deadline) = deadline_ns {
            st.timers.push(deadline.max(now), TimerKind::Wake { task: id, token });
        }
        id
    }

    /// Why the park of thread `id` ended.
    #[inline(always)]
    fn park_end(&self, id: TaskId) -> Wake {
        let st = self.st.borrow();
        let wake = st.slot(id).expect("park: task vanished while parked").wake;
        assert_ne!(wake, Wake::Pending, "park: resumed without a wake reason");
        wake
    }

    /// `park` for a wait whose wake-up hands this thread something others could use (a
    /// notification, a value in a channel, room in a full channel). If the thread is killed (its
    /// node crashes) after being woken but before it ran, `pass_on` runs before it unwinds, so
    /// another waiter gets the wake-up instead of it dying with this thread. A thread killed
    /// while still parked took nothing and passes nothing on. Unlike a guard dropped during the
    /// unwind, this leaves no cleanup in the caller's frame for every kill to stop at and
    /// restart from.
    pub(crate) fn park_passing_on(&self, wait: Wait, deadline_ns: Option<u64>, pass_on: &dyn Fn()) -> Wake {
        or_unwind(self.park_passing_on_or_killed(wait, deadline_ns, pass_on))
    }

    /// `park`, except that a kill returns `Err(Killed)` instead of unwinding from here: the caller
    /// lets go of what it holds by returning, and starts the unwind with `unwind_killed` further
    /// up, where nothing is held. The unwinder pays for every frame it passes and stops and
    /// restarts at every frame with something to drop; the frames a kill returns through cost
    /// neither.
    pub(crate) fn park_or_killed(&self, wait: Wait, deadline_ns: Option<u64>) -> Result<Wake, Killed> {
        self.park_passing_on_or_killed(wait, deadline_ns, &|| {})
    }

    /// `park_passing_on`, except that a kill is returned (after passing on), not unwound, as by
    /// `park_or_killed`.
    #[inline(always)]
    pub(crate) fn park_passing_on_or_killed(
        &self,
        wait: Wait,
        deadline_ns: Option<u64>,
        pass_on: &dyn Fn(),
    ) -> Result<Wake, Killed> {
        let id = self.park_begin(wait, deadline_ns);
        if self.switch_out() == Resume::Kill {
            if self.current_wake() == Wake::Notified {
                pass_on();
            }
            return Err(Killed);
        }
        Ok(self.park_end(id))
    }

    /// How the running thread's last park ended; `Pending` when it was killed while parked.
    pub(crate) fn current_wake(&self) -> Wake {
        let id = self.expect_current("current_wake");
        self.st.borrow().slot(id).map_or(Wake::Pending, |s| s.wake)
    }

    /// The ticket the running thread must leave in a wait queue before its next `park`.
    #[inline]
    pub(crate) fn park_ticket(&self) -> Ticket {
        let task = self.expect_current("a blocking call");
        let st = self.st.borrow();
        let slot = st.slot(task).expect("park_ticket: running task is gone");
        Ticket { task, token: slot.park_token + 1 }
    }

    /// Wakes the park a ticket was taken for. Returns false when that park is over (woken,
    /// timed out, killed) or the thread is gone, so wait queues can skip stale tickets.
    #[inline]
    pub(crate) fn unpark(&self, ticket: Ticket) -> bool {
        self.st.borrow_mut().wake_if_parked(ticket.task, ticket.token, Wake::Notified)
    }

    /// Whether the park a ticket was taken for is still going on (the thread waits there).
    pub(crate) fn is_parked(&self, ticket: Ticket) -> bool {
        let st = self.st.borrow();
        st.slot(ticket.task).is_some_and(|slot| slot.parked_at(ticket.token))
    }

    /// Lets the scheduler pick again; the running thread stays runnable.
    pub(crate) fn yield_now(&self) {
        let id = self.expect_current("yield_now");
        {
            let mut st = self.st.borrow_mut();
            let slot = st.slot_mut(id).expect("yield: running task is gone");
            slot.status = Status::Runnable;
            slot.wake = Wake::Notified;
            st.runnable.push(id);
        }
        self.suspend();
    }

    /// Whether preemption points draw (and may yield) in this run.
    #[inline(always)]
    pub(crate) fn preempts(&self) -> bool {
        self.config.preempt_per_mille != 0
    }

    /// A preemption point (lock, send): with the configured probability, yield. Inlined up to
    /// the draw: most scenarios never preempt, and every lock taken would pay a call (and the
    /// registers the draw needs) to learn it.
    #[inline(always)]
    pub(crate) fn maybe_preempt(&self) {
        if !self.preempts() || self.current.get().is_none() {
            return;
        }
        self.draw_preempt();
    }

    /// `maybe_preempt`'s draw and yield, out of line.
    #[inline(never)]
    fn draw_preempt(&self) {
        let preempt = {
            let mut st = self.st.borrow_mut();
            st.sched_rng.random_range(0..1000u32) < self.config.preempt_per_mille
        };
        if preempt && crate::sim::fault_plan::allow_in(self, crate::sim::fault_plan::FaultKind::Preempt, String::new) {
            self.yield_now();
        }
    }

    fn suspend(&self) {
        if self.switch_out() == Resume::Kill {
            resume_unwind(Box::new(Killed));
        }
    }

    /// Switches back to the scheduler; returns how the thread was resumed.
    #[inline(always)]
    fn switch_out(&self) -> Resume {
        let yielder = self.yielder.get();
        assert!(!yielder.is_null(), "labrpc: suspend outside a coroutine");
        self.switched_out_sp.set(stack_pointer());
        // SAFETY: the yielder belongs to the running coroutine, whose stack is alive while it runs.
        unsafe { (*yielder).suspend(()) }
    }

    // ----- failures ------------------------------------------------------------------------

    #[inline]
    pub(crate) fn check_stall(&self) {
        if self.watch.stalled.load(Ordering::Relaxed) {
            self.stalled();
        }
    }

    #[cold]
    fn stalled(&self) {
        if self.current.get().is_none() {
            return;
        }
        let wall = self.watch.spin_limit;
        self.fail(FailureKind::Spin { wall_limit: wall });
    }

    /// Records a failure (the first one wins) and, inside a simulated thread, stops that thread:
    /// by unwinding it, unless it already unwinds (killed, or from a panic), maybe inside a
    /// destructor, where a second unwind aborts the process; then it parks for good instead, and
    /// the run's end leaks it.
    pub(crate) fn fail(&self, kind: FailureKind) -> ! {
        self.record_failure(kind);
        if let Some(id) = self.current.get() {
            let unwinding = {
                let mut st = self.st.borrow_mut();
                st.slot(id).is_some_and(|s| s.kill_sent) || st.unwinding_from_panic(id).is_some()
            };
            if unwinding {
                self.park_for_good(id);
            }
            resume_unwind(Box::new(Aborted));
        }
        panic!("labrpc: simulation failed outside a simulated thread");
    }

    /// Parks the running thread with nothing to wake it (tickets taken before are stale).
    #[cold]
    fn park_for_good(&self, id: TaskId) -> ! {
        loop {
            {
                let mut st = self.st.borrow_mut();
                let slot = st.slot_mut(id).expect("park: running task is gone");
                slot.park_token += 1;
                slot.status = Status::Parked;
                slot.wait = None;
                slot.wake = Wake::Pending;
            }
            self.switch_out();
        }
    }

    pub(crate) fn record_failure(&self, kind: FailureKind) {
        let names = self.current_names();
        let mut st = self.st.borrow_mut();
        if st.failure.is_none() {
            st.failure = Some(FailureDraft {
                kind,
                time_ns: st.now_ns,
                node: names.as_ref().map(|n| n.0.clone()),
                thread: names.map(|n| (n.2, n.1)),
            });
        }
    }

    /// Notes the panic the running thread has just started (the panic hook calls it), so a kill
    /// spares the thread while it unwinds and reports name the panic if it never finishes.
    pub(crate) fn note_panic(&self, record: PanicRecord) {
        let Some(id) = self.current.get() else { return };
        // A panic inside the runtime, while the state is borrowed, is left to the report.
        let Ok(mut st) = self.st.try_borrow_mut() else { return };
        alloc::untracked(|| {
            st.panics.retain(|(task, _)| *task != id);
            st.panics.push((id, record));
        });
    }

    fn record_failure_of(&self, id: TaskId, kind: FailureKind) {
        let mut st = self.st.borrow_mut();
        if st.failure.is_some() {
            return;
        }
        let (node, thread) = match st.slot(id) {
            Some(s) => (Some(st.nodes[s.node.index()].name.clone()), Some((s.serial, s.name.clone()))),
            None => (None, None),
        };
        st.failure = Some(FailureDraft { kind, time_ns: st.now_ns, node, thread });
    }

    // ----- nodes ---------------------------------------------------------------------------

    pub(crate) fn create_node(&self, name: &str) -> NodeId {
        let mut st = self.st.borrow_mut();
        assert!(st.nodes.len() < u32::MAX as usize, "labrpc: too many nodes");
        let state = NodeState::new(name);
        let id = NodeId(st.nodes.len() as u32);
        alloc::untracked(|| self.watch.note_node(id, state.name.clone()));
        st.nodes.push(state);
        id
    }

    /// Crash-stop: every thread of the node unwinds at its suspension point before any other
    /// thread runs again. If the caller is on the node, it unwinds at once.
    pub(crate) fn crash_node(&self, node: NodeId) {
        let me = self.current.get();
        let mut self_killed = false;
        {
            let (serial, caller_node) = self.current_serial_node();
            let mut st = self.st.borrow_mut();
            let state = st.nodes.get_mut(node.index()).expect("labrpc: crash of an unknown node");
            state.alive = false;
            state.incarnation += 1;
            state.paused_until_ns = None;
            state.pause_generation += 1;
            let held = std::mem::take(&mut state.held);
            st.runnable.extend(held);
            st.record(EventKind::NodeChange, serial, caller_node, node.0 as u64);
            for id in st.live_ids() {
                let slot = st.slot(id).unwrap();
                if slot.node != node || slot.dying {
                    continue;
                }
                self_killed |= st.doom(id, me);
            }
        }
        if self_killed {
            resume_unwind(Box::new(Killed));
        }
        if me.is_some() {
            // The kill queue runs before any runnable thread, so when this returns the node's
            // threads have unwound (except destructors that block, which finish later).
            self.yield_now();
        }
    }

    pub(crate) fn restart_node(&self, node: NodeId) {
        let (serial, caller_node) = self.current_serial_node();
        let mut st = self.st.borrow_mut();
        let state = st.nodes.get_mut(node.index()).expect("labrpc: restart of an unknown node");
        assert!(!state.alive, "labrpc: restart of node '{}', which has not crashed", state.name);
        state.alive = true;
        st.record(EventKind::NodeChange, serial, caller_node, node.0 as u64);
    }

    pub(crate) fn pause_node(&self, node: NodeId, duration_ns: u64) {
        let on_node = self.current_node() == node && self.current.get().is_some();
        {
            let (serial, caller_node) = self.current_serial_node();
            let mut st = self.st.borrow_mut();
            let until = st.now_ns.saturating_add(duration_ns);
            let state = st.nodes.get_mut(node.index()).expect("labrpc: pause of an unknown node");
            if !state.alive {
                return;
            }
            state.paused_until_ns = Some(until);
            state.pause_generation += 1;
            let generation = state.pause_generation;
            st.maybe_paused = true;
            st.timers.push(until, TimerKind::Unpause { node, generation });
            st.record(EventKind::NodeChange, serial, caller_node, node.0 as u64);
        }
        if on_node {
            self.yield_now();
        }
    }

    pub(crate) fn node_alive(&self, node: NodeId) -> bool {
        self.st.borrow().nodes.get(node.index()).is_some_and(|n| n.alive)
    }

    pub(crate) fn node_incarnation(&self, node: NodeId) -> u64 {
        self.st.borrow().nodes.get(node.index()).map_or(0, |n| n.incarnation)
    }

    /// (live bytes, bytes ever allocated) charged to `node`; zeros for an unknown node.
    pub(crate) fn node_memory(&self, node: NodeId) -> (u64, u64) {
        self.st.borrow().nodes.get(node.index()).map_or((0, 0), |n| n.ledger.figures())
    }

    pub(crate) fn node_live_threads(&self, node: NodeId) -> usize {
        self.st.borrow().nodes.get(node.index()).map_or(0, |n| n.live_threads)
    }

    pub(crate) fn node_name(&self, node: NodeId) -> Arc<str> {
        self.st.borrow().nodes.get(node.index()).map_or_else(|| Arc::from("?"), |n| n.name.clone())
    }

    // ----- the scheduler loop --------------------------------------------------------------

    /// Runs until `done` is set (checked between steps), a failure is recorded, or (when
    /// `shutdown`) no task is left. Returns true when it stopped because `done` was set.
    pub(crate) fn schedule(&self, done: &Cell<bool>, shutdown: bool) -> bool {
        let mut shutdown_steps: u64 = 0;
        loop {
            if shutdown {
                if self.st.borrow().live_tasks == 0 {
                    return true;
                }
                shutdown_steps += 1;
                if shutdown_steps > self.config.max_steps_per_instant {
                    return false;
                }
            } else if done.get() {
                return self.st.borrow().failure.is_none();
            }
            let next = {
                let mut st = self.st.borrow_mut();
                if !shutdown && st.failure.is_some() {
                    return false;
                }
                match next_kill(&mut st) {
                    Some(id) => Some(id),
                    None => pick_runnable(&mut st),
                }
            };
            match next {
                Some(id) => self.resume(id, !shutdown),
                None => {
                    if !self.advance_time(shutdown) {
                        if !shutdown {
                            let blocked = self.blocked_threads();
                            self.record_failure(FailureKind::Deadlock { blocked });
                        }
                        return false;
                    }
                }
            }
        }
    }

    /// Counts a scheduling step; too many at one virtual instant is a livelock.
    #[inline(always)]
    fn count_step(&self, st: &mut State) {
        st.steps += 1;
        st.steps_at_instant += 1;
        self.watch.switches.store(st.steps, Ordering::Relaxed);
        if st.steps_at_instant > self.config.max_steps_per_instant && st.failure.is_none() {
            livelock(st);
        }
    }

    /// Jumps to the earliest timer and fires every timer due then. False when there is none.
    fn advance_time(&self, shutdown: bool) -> bool {
        let mut st = self.st.borrow_mut();
        // Stale timers at the head are dropped first, so time never jumps to a deadline where
        // nothing is due.
        while let Some(head) = st.timers.peek_kind() {
            if timer_is_live(&st.slots, &st.nodes, &head) {
                break;
            }
            st.timers.pop();
            st.stale_timers = st.stale_timers.saturating_sub(1);
        }
        let Some(deadline) = st.timers.peek_deadline() else {
            return false;
        };
        let limit_ns = self.config.time_limit.as_nanos().min(u64::MAX as u128) as u64;
        if deadline > limit_ns && !shutdown {
            st.now_ns = st.now_ns.max(limit_ns);
            drop(st);
            let blocked = self.blocked_threads();
            self.record_failure(FailureKind::TimeLimit { limit: self.config.time_limit, blocked });
            return true;
        }
        if deadline > st.now_ns {
            st.now_ns = deadline;
            st.steps_at_instant = 0;
            st.record(EventKind::Advance, u64::MAX, NodeId::MAIN, deadline);
            self.watch.virtual_ns.store(deadline, Ordering::Relaxed);
        }
        let mut fired = 0usize;
        while st.timers.peek_deadline() == Some(deadline) {
            let timer = st.timers.pop().unwrap();
            fired += 1;
            match timer {
                TimerKind::Wake { task, token } => {
                    let woke = st.wake_if_parked(task, token, Wake::TimedOut);
                    debug_assert!(woke, "a live timer found its park over");
                }
                TimerKind::Cancelled => st.stale_timers = st.stale_timers.saturating_sub(1),
                TimerKind::Unpause { node, generation } => {
                    let state = &mut st.nodes[node.index()];
                    if state.pause_generation == generation {
                        state.paused_until_ns = None;
                        let held = std::mem::take(&mut state.held);
                        st.runnable.extend(held);
                        st.maybe_paused = st.nodes.iter().any(|n| n.paused_until_ns.is_some());
                    }
                }
            }
        }
        debug_assert!(fired > 0);
        true
    }

    fn resume(&self, id: TaskId, count: bool) {
        let (coro, input, serial) = {
            let mut st = self.st.borrow_mut();
            let slot = st.slot_mut(id).expect("resume: task is gone");
            assert_eq!(slot.status, Status::Runnable, "resume: task is not runnable");
            slot.status = Status::Running;
            let input = if slot.dying && !slot.kill_sent {
                slot.kill_sent = true;
                Resume::Kill
            } else {
                Resume::Run
            };
            self.yielder.set(slot.yielder);
            // The coroutine stays boxed in its slot while it runs (nothing else touches it then),
            // so a switch moves no coroutine state around.
            let coro: *mut Coro = &mut **slot.coro.as_mut().expect("resume: coroutine missing");
            let (serial, node, token, ledger) = (slot.serial, slot.node, slot.park_token, slot.ledger);
            st.record(EventKind::Switch, serial, node, token);
            alloc::set_current(ledger);
            (coro, input, serial)
        };
        self.current.set(Some(id));
        self.watch.running.store(serial, Ordering::Relaxed);
        // SAFETY: the box lives in the slot until `finish`, which only runs after this returns;
        // the slot vector may grow meanwhile, but that moves the box pointer, not the coroutine.
        let result = unsafe { (*coro).resume(input) };
        alloc::set_current(std::ptr::null());
        self.watch.running.store(u64::MAX, Ordering::Relaxed);
        self.current.set(None);
        self.yielder.set(std::ptr::null());
        match result {
            CoroutineResult::Yield(()) => {
                let mut st = self.st.borrow_mut();
                st.slots[id.index as usize].switched_out_sp_lo = self.switched_out_sp.get() as u32;
                let slot = st.slot_mut(id).expect("resume: task vanished");
                assert_ne!(slot.status, Status::Running, "a coroutine suspended without parking");
                if count {
                    self.count_step(&mut st);
                }
            }
            CoroutineResult::Return(exit) => {
                self.finish(id, exit);
                if count {
                    self.count_step(&mut self.st.borrow_mut());
                }
            }
        }
    }

    fn finish(&self, id: TaskId, exit: Exit) {
        if let Exit::Panicked(mut record) = exit {
            let noted = {
                let mut st = self.st.borrow_mut();
                let at = st.panics.iter().position(|(task, _)| *task == id);
                at.map(|at| st.panics.swap_remove(at).1)
            };
            // The hook's record is this thread's own; the hook's last location may be another
            // thread's when this one waited in a destructor while unwinding.
            if let Some(noted) = noted {
                record.location = noted.location;
                record.backtrace = noted.backtrace;
            }
            self.record_failure_of(id, FailureKind::Panic(record));
        }
        let coro = {
            let mut st = self.st.borrow_mut();
            let slot = &mut st.slots[id.index as usize];
            let task = slot.task.take().expect("finish: task missing");
            slot.generation = slot.generation.wrapping_add(1);
            st.free_slots.push(id.index);
            st.live_tasks -= 1;
            let node = &mut st.nodes[task.node.index()];
            assert!(node.live_threads > 0, "labrpc: node '{}' finished more threads than it had", node.name);
            node.live_threads -= 1;
            task.coro.expect("finish: coroutine missing")
        };
        stack_pool::give_back(self.config.stack_size_bytes, coro.into_stack());
    }

    /// Kills every remaining thread and lets them unwind. Threads that block forever in a
    /// destructor are leaked (their stacks cannot be unwound twice) and reported.
    pub(crate) fn shutdown(&self) {
        {
            let mut st = self.st.borrow_mut();
            st.shutting_down = true;
            for id in st.live_ids() {
                if !st.slot(id).unwrap().dying {
                    // Outside every simulated thread: no thread here is the running one.
                    st.doom(id, None);
                }
            }
        }
        if self.schedule(&Cell::new(false), true) {
            return;
        }
        let stuck = self.blocked_threads();
        if !stuck.is_empty() {
            self.record_failure(FailureKind::StuckInDestructor { blocked: stuck });
        }
        let mut st = self.st.borrow_mut();
        for id in st.live_ids() {
            let slot = st.slot_mut(id).unwrap();
            if let Some(coro) = slot.coro.take() {
                std::mem::forget(coro);
            }
        }
    }

    // ----- reports -------------------------------------------------------------------------

    pub(crate) fn describe_task(&self, id: TaskId) -> String {
        describe_slot(&self.st.borrow(), id)
    }

    pub(crate) fn blocked_threads(&self) -> Vec<BlockedThread> {
        let ids = self.st.borrow().live_ids();
        let mut out = Vec::new();
        for id in ids {
            let (wait, serial, node, name, status) = {
                let st = self.st.borrow();
                let s = st.slot(id).unwrap();
                (s.wait, s.serial, st.nodes[s.node.index()].name.clone(), s.name.clone(), s.status)
            };
            if status != Status::Parked {
                continue;
            }
            let mut waits_for = match wait {
                Some(w) => self.describe_wait(w),
                None => "nothing recorded".to_string(),
            };
            if let Some(panic) = self.st.borrow_mut().unwinding_from_panic(id) {
                let location = panic.location.as_deref().unwrap_or("unknown location");
                waits_for = format!("{waits_for}, while unwinding from its panic at {location}: {}", panic.message);
            }
            out.push(BlockedThread { serial, node: node.to_string(), thread: name.to_string(), waits_for });
        }
        out
    }

    fn describe_wait(&self, wait: Wait) -> String {
        match wait {
            Wait::Sleep => "sleeps".to_string(),
            Wait::Mutex(lock) => {
                // SAFETY: the waiter is parked inside `lock()`, which borrows the mutex.
                let lock = unsafe { &*lock };
                let holder = match lock.holder() {
                    Some(h) => self.describe_task(h),
                    None => "nobody (being handed over)".to_string(),
                };
                format!("waits for mutex #{} held by {holder}", lock.lock_id())
            }
            Wait::Condvar { id } => format!("waits on condvar #{id}"),
            Wait::Recv { channel } => format!("waits to receive on channel #{channel}"),
            Wait::Send { channel } => format!("waits to send on full channel #{channel}"),
            Wait::Join { serial } => format!("waits to join thread #{serial}"),
        }
    }

    pub(crate) fn take_failure(&self) -> Option<FailureDraft> {
        self.st.borrow_mut().failure.take()
    }

    pub(crate) fn finish_record(&self) -> Option<crate::sim::Divergence> {
        let mut st = self.st.borrow_mut();
        let State { rec, nodes, slots, .. } = &mut *st;
        rec.finish(|e| describe_event(nodes, slots, e))
    }

    pub(crate) fn take_events(&self) -> Option<Vec<Event>> {
        self.st.borrow_mut().rec.take_events()
    }
}

/// The next thread to kill, if any: kills run before any runnable thread.
fn next_kill(st: &mut State) -> Option<TaskId> {
    while let Some(id) = st.kill_queue.pop_front() {
        let Some(slot) = st.slot(id) else { continue };
        match slot.status {
            Status::Running => unreachable!("kill queue holds the running task"),
            Status::Runnable => st.remove_from_queues(id),
            Status::Parked => {}
        }
        let slot = st.slot_mut(id).unwrap();
        // The park (if any) ends here: its deadline can wake nothing any more.
        if std::mem::take(&mut slot.timed) {
            st.timer_went_stale(id);
        }
        let slot = st.slot_mut(id).unwrap();
        if slot.kill_sent {
            // Already unwinding (killed while parked in a destructor): just let it run on.
            slot.status = Status::Runnable;
            st.runnable.push(id);
            continue;
        }
        slot.status = Status::Runnable;
        return Some(id);
    }
    None
}

fn pick_runnable(st: &mut State) -> Option<TaskId> {
    loop {
        let n = st.runnable.len();
        if n == 0 {
            return None;
        }
        let i = if n == 1 { 0 } else { st.sched_rng.random_range(0..n) };
        let id = st.runnable.swap_remove(i);
        if !st.maybe_paused {
            return Some(id);
        }
        let slot = st.slot(id).expect("runnable task is gone");
        let node = slot.node;
        if st.nodes[node.index()].paused_until_ns.is_some() && !slot.dying {
            st.nodes[node.index()].held.push(id);
            continue;
        }
        return Some(id);
    }
}

/// Records the livelock `count_step` detected (out of line: it happens at most once a run).
#[cold]
#[inline(never)]
fn livelock(st: &mut State) {
    let runnable: Vec<TaskId> = st.runnable.clone();
    let runnable = runnable.into_iter().map(|id| describe_slot(st, id)).collect();
    st.failure = Some(FailureDraft {
        kind: FailureKind::Livelock { steps: st.steps_at_instant, runnable },
        time_ns: st.now_ns,
        node: None,
        thread: None,
    });
}

fn describe_slot(st: &State, id: TaskId) -> String {
    match st.slot(id) {
        Some(s) => format!("thread '{}' (#{}) on node '{}'", s.name, s.serial, st.nodes[s.node.index()].name),
        None => "a thread that has exited".to_string(),
    }
}

/// Unwinds the running thread after `Runtime::park_or_killed` reported its kill. Inlined into
/// the caller's frame: the unwinder evaluates every frame twice (search, then cleanup), so a
/// frame of its own cost each kill about two frame evaluations (the call is small).
#[inline(always)]
pub(crate) fn unwind_killed(_: Killed) -> ! {
    resume_unwind(Box::new(Killed))
}

/// What a wait that returns its kill (`Runtime::park_or_killed` and the waits built on it)
/// waited for, or, if the thread was killed meanwhile, its unwind from the caller's frame.
#[inline(always)]
pub(crate) fn or_unwind<T>(waited: Result<T, Killed>) -> T {
    match waited {
        Ok(value) => value,
        Err(killed) => unwind_killed(killed),
    }
}

#[cfg(test)]
mod layout {
    use std::mem::{offset_of, size_of};

    use super::{Slot, TaskSlot};

    /// What a switch, a park and a wake-up touch lies in a slot's first cache line.
    #[test]
    fn a_slots_hot_fields_share_its_first_cache_line() {
        assert_eq!(size_of::<Option<TaskSlot>>(), size_of::<TaskSlot>(), "the Option takes a niche, no tag");
        let task = offset_of!(Slot, task);
        let hot_end = [
            offset_of!(TaskSlot, serial) + 8,
            offset_of!(TaskSlot, park_token) + 8,
            offset_of!(TaskSlot, coro) + 8,
            offset_of!(TaskSlot, yielder) + 8,
            offset_of!(TaskSlot, ledger) + 8,
            offset_of!(TaskSlot, node) + 4,
            offset_of!(TaskSlot, status) + 1,
            offset_of!(TaskSlot, wake) + 1,
            offset_of!(TaskSlot, timed) + 1,
            offset_of!(TaskSlot, dying) + 1,
            offset_of!(TaskSlot, kill_sent) + 1,
        ]
        .into_iter()
        .max()
        .unwrap();
        assert!(offset_of!(Slot, generation) + 4 <= 64 && task + hot_end <= 64, "hot fields end at {}", task + hot_end);
        assert_eq!(size_of::<Slot>() % 64, 0);
        // A tag and a word: passed to a park in registers (see `Wait`).
        assert_eq!(size_of::<super::Wait>(), 16);
    }
}
