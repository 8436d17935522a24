//! Threads: simulated coroutines inside a simulation, real OS threads outside one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::sched::entry::{run_body, Payload};
use crate::sched::{current, try_current, NodeId, Ticket, Wait};
use crate::sim_cell::SimCell;

pub use crate::sched::entry::is_killed;

/// Starts a thread running `f`: on the caller's node inside a simulation, a real thread outside.
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Builder::new().spawn(f)
}

/// Lets other simulated threads run; the caller stays runnable. Outside a simulation,
/// `std::thread::yield_now`.
pub fn yield_now() {
    match try_current() {
        Some(rt) => rt.yield_now(),
        None => std::thread::yield_now(),
    }
}

/// The running thread's name ("main" for a simulation's first thread).
pub fn current_name() -> String {
    match try_current().and_then(|rt| rt.current_names()) {
        Some((_, name, _)) => name.to_string(),
        None => std::thread::current().name().unwrap_or("unnamed").to_string(),
    }
}

/// Thread options: a name (shown in traces and reports) and, in a simulation, the node it runs on.
#[derive(Default)]
pub struct Builder {
    name: Option<Arc<str>>,
    node: Option<NodeId>,
}

impl Builder {
    pub fn new() -> Builder {
        Builder::default()
    }

    /// The thread's name. A `&str` or `String` is copied once; an `Arc<str>` a caller keeps
    /// (a name it gives many threads) is shared, not copied.
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// A name many threads share (an RPC handler's), given without copying it.
    pub(crate) fn shared_name(mut self, name: Arc<str>) -> Builder {
        self.name = Some(name);
        self
    }

    /// Run on `node` instead of the caller's node. Ignored outside a simulation.
    pub fn node(mut self, node: NodeId) -> Builder {
        self.node = Some(node);
        self
    }

    pub fn spawn<F, T>(self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let Some(rt) = try_current() else {
            return JoinHandle { inner: JoinInner::Real(spawn_os_thread(self.name, f)) };
        };
        let node = self.node.unwrap_or_else(|| rt.current_node());
        let name: Arc<str> = self.name.unwrap_or_else(|| Arc::from("thread"));
        let cell = Arc::new(JoinCell {
            state: SimCell::new(JoinState { result: None, waiters: Vec::new() }),
            serial: AtomicU64::new(0),
        });
        let deliver_to = cell.clone();
        let (_, serial) =
            rt.spawn(node, name, move |first| run_body(first, f, move |result| deliver_to.complete(result)));
        cell.serial.store(serial, Ordering::Relaxed);
        JoinHandle { inner: JoinInner::Sim { cell } }
    }
}

impl Builder {
    /// `spawn` for a thread nobody joins (an RPC handler, a server's loop, a call given up on
    /// after a timeout): the thread runs, is scheduled and dies exactly as a spawned one whose
    /// handle was dropped. An optimisation: no join cell is allocated and completed (with
    /// atomics) for a result nobody takes.
    pub fn spawn_detached<F>(self, f: F)
    where
        F: FnOnce() + Send + 'static,
    {
        let Some(rt) = try_current() else {
            // Not through `spawn`: its simulated branch would be a second caller of this body's
            // catch_unwind, which then is not inlined, and a killed thread unwinds one more frame.
            drop(spawn_os_thread(self.name, f));
            return;
        };
        let node = self.node.unwrap_or_else(|| rt.current_node());
        let name: Arc<str> = self.name.unwrap_or_else(|| Arc::from("thread"));
        rt.spawn(node, name, move |first| run_body(first, f, drop));
    }
}

/// A real OS thread named `name`, outside a simulation.
fn spawn_os_thread<F, T>(name: Option<Arc<str>>, f: F) -> std::thread::JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let mut builder = std::thread::Builder::new();
    if let Some(name) = name {
        builder = builder.name(name.to_string());
    }
    builder.spawn(f).expect("labrpc: cannot start an OS thread")
}

struct JoinState<T> {
    result: Option<Result<T, Payload>>,
    waiters: Vec<Ticket>,
}

struct JoinCell<T> {
    state: SimCell<JoinState<T>>,
    /// The thread's serial, for the "waits to join" line of a deadlock report.
    serial: AtomicU64,
}

impl<T> JoinCell<T> {
    fn complete(&self, result: Result<T, Payload>) {
        let waiters = {
            let mut st = self.state.borrow();
            st.result = Some(result);
            std::mem::take(&mut st.waiters)
        };
        if let Some(rt) = try_current() {
            for ticket in waiters {
                rt.unpark(ticket);
            }
        }
    }
}

enum JoinInner<T> {
    Real(std::thread::JoinHandle<T>),
    Sim { cell: Arc<JoinCell<T>> },
}

/// Waits for a thread's end. In a simulation, `join` of a thread whose node crashed returns an
/// error for which `thread::is_killed` is true.
pub struct JoinHandle<T> {
    inner: JoinInner<T>,
}

impl<T> JoinHandle<T> {
    pub fn join(self) -> std::thread::Result<T> {
        match self.inner {
            JoinInner::Real(handle) => handle.join(),
            JoinInner::Sim { cell } => loop {
                let rt = current("JoinHandle::join");
                {
                    let mut st = cell.state.borrow();
                    if let Some(result) = st.result.take() {
                        return result;
                    }
                    st.waiters.push(rt.park_ticket());
                }
                rt.park(Wait::Join { serial: cell.serial.load(Ordering::Relaxed) }, None);
            },
        }
    }

    pub fn is_finished(&self) -> bool {
        match &self.inner {
            JoinInner::Real(handle) => handle.is_finished(),
            JoinInner::Sim { cell } => cell.state.borrow().result.is_some(),
        }
    }
}
