//! Observation hooks for tools that draw a run (the timeline view of `labtests`): while
//! [`recording`] runs a simulation, the network reports each call's fate, the nodes their crashes,
//! restarts and pauses, and the harness may add its own typed events ([`record`]).
//!
//! Off by default and free of schedule effects: a hook is one thread-local flag check while off,
//! and while on it only reads the clock and appends to a list. It never sleeps, draws, yields or
//! takes a simulated lock, so a seed runs the same schedule (and hash) recorded or not. The list
//! is the harness's memory, never charged to the node whose thread happened to report.

use std::any::Any;
use std::cell::{Cell, RefCell};

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static LOG: RefCell<Log> = const { RefCell::new(Log { observations: Vec::new(), next_call: 0 }) };
}

struct Log {
    observations: Vec<Observation>,
    next_call: u64,
}

/// One observation: virtual nanoseconds since the run started, the reporting node's name, what.
pub struct Observation {
    pub at_ns: u64,
    pub node: String,
    pub event: Observed,
}

/// What was observed. Call numbers tie a call's later events to its `CallSent`.
pub enum Observed {
    /// A call left `from` for the server `server` on node `to`.
    CallSent {
        call: u64,
        from: String,
        to: String,
        server: String,
        method: String,
    },
    /// A call found no route (rule 1) and fails after a delay; `end` names the client end.
    CallUnreachable {
        from: String,
        end: String,
        method: String,
    },
    /// The request was dropped on the way (rule 2).
    RequestDropped {
        call: u64,
    },
    /// The request is delivered twice (rule 3).
    RequestDuplicated {
        call: u64,
    },
    /// The request is delivered once more after `delay_ms` (rule 8).
    LateDuplicate {
        call: u64,
        delay_ms: u64,
    },
    /// A handler started on the server's node (the request arrived).
    Handled {
        call: u64,
    },
    /// The reply reached the caller.
    ReplyDelivered {
        call: u64,
    },
    /// The reply was lost; `why` says which rule.
    ReplyLost {
        call: u64,
        why: &'static str,
    },
    NodeCrashed {
        node: String,
    },
    NodeRestarted {
        node: String,
    },
    NodePaused {
        node: String,
        duration_ms: u64,
    },
    /// One-way link cut between nodes, and its healing (`None`: every cut healed).
    LinkCut {
        from: String,
        to: String,
    },
    LinkHealed {
        link: Option<(String, String)>,
    },
    /// An event of the harness's own type (e.g. a peer's observed state), for it to downcast.
    Harness(Box<dyn Any>),
}

/// Whether this thread is recording (one thread-local read).
#[inline]
pub fn is_on() -> bool {
    ON.with(Cell::get)
}

/// Runs `f` (a whole simulation, whose threads all run on this OS thread) recording every
/// observation; returns them in the order they happened.
pub fn recording<R>(f: impl FnOnce() -> R) -> (R, Vec<Observation>) {
    struct Off;
    impl Drop for Off {
        fn drop(&mut self) {
            ON.with(|on| on.set(false));
        }
    }
    assert!(!is_on(), "labrpc: observe::recording is already running on this thread");
    LOG.with(|log| *log.borrow_mut() = Log { observations: Vec::new(), next_call: 0 });
    ON.with(|on| on.set(true));
    let off = Off;
    let result = f();
    drop(off);
    let observations = LOG.with(|log| std::mem::take(&mut log.borrow_mut().observations));
    (result, observations)
}

/// Records what `make` builds, if recording; `make` is not called otherwise.
#[inline]
pub fn record(make: impl FnOnce() -> Observed) {
    if is_on() {
        push(make);
    }
}

/// Records a harness event of any type (see [`Observed::Harness`]).
#[inline]
pub fn record_harness<E: Any>(make: impl FnOnce() -> E) {
    if is_on() {
        push(|| Observed::Harness(Box::new(make())));
    }
}

/// Out of line and cold: while off, a hook is its flag test alone in the caller's code.
#[cold]
#[inline(never)]
fn push(make: impl FnOnce() -> Observed) {
    crate::alloc::untracked(|| {
        let at_ns = crate::time::now().since_start().as_nanos() as u64;
        let node = crate::node::name(crate::node::current_node());
        let event = make();
        LOG.with(|log| log.borrow_mut().observations.push(Observation { at_ns, node, event }));
    });
}

/// A fresh call number if recording (0 otherwise: nothing will refer to it).
pub(crate) fn next_call() -> u64 {
    if !is_on() {
        return 0;
    }
    LOG.with(|log| {
        let mut log = log.borrow_mut();
        log.next_call += 1;
        log.next_call
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_only_inside_recording_and_in_order() {
        record(|| unreachable!("off: the event is never built"));
        let ((), seen) = recording(|| {
            record(|| Observed::NodeCrashed { node: "a".into() });
            record_harness(|| 7u32);
        });
        assert_eq!(seen.len(), 2);
        assert!(matches!(&seen[0].event, Observed::NodeCrashed { node } if node == "a"));
        match &seen[1].event {
            Observed::Harness(e) => assert_eq!(e.downcast_ref::<u32>(), Some(&7)),
            _ => panic!("expected the harness event"),
        }
        assert!(!is_on());
    }
}
