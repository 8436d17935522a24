//! The thread-local pointer to the simulation that the current OS thread is driving.
//!
//! A simulation runs on one OS thread; all of its coroutines run on that thread, so a plain
//! thread-local tells every simulator call which runtime it belongs to. Outside `sim::run` the
//! pointer is null and the public API falls back to real threads and time.

use std::cell::Cell;

use super::runtime::Runtime;

thread_local! {
    static CURRENT: Cell<*const Runtime> = const { Cell::new(std::ptr::null()) };
}

/// The runtime driving this OS thread, if any.
#[inline]
pub(crate) fn try_current<'a>() -> Option<&'a Runtime> {
    let ptr = CURRENT.with(Cell::get);
    // SAFETY: the pointer is set by `Entered` for exactly the lifetime of the boxed runtime in
    // `sim::run`, and cleared before the runtime is dropped. Callers never keep the reference
    // beyond the call that obtained it.
    unsafe { ptr.as_ref() }
}

/// The runtime driving this OS thread; panics with a clear message outside a simulation.
#[inline]
pub(crate) fn current<'a>(what: &str) -> &'a Runtime {
    match try_current() {
        Some(rt) => rt,
        None => panic!("labrpc: {what} is only available inside a simulation (sim::run)"),
    }
}

/// Marks this OS thread as driving `rt` until dropped.
pub(crate) struct Entered {
    previous: *const Runtime,
}

impl Entered {
    pub(crate) fn new(rt: &Runtime) -> Entered {
        let previous = CURRENT.with(|c| c.replace(rt as *const Runtime));
        assert!(
            previous.is_null(),
            "labrpc: nested simulations are not supported: sim::run was called from inside a simulation"
        );
        Entered { previous }
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.previous));
    }
}
