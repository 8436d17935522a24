//! What every simulated thread runs: the user's closure under `catch_unwind`, its end turned into
//! an `Exit`, plus the panic hook that captures a panic's location for the failure report.

use std::any::Any;
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

use super::context::try_current;
use super::task::{Aborted, Exit, Killed, PanicRecord, Resume};

pub(crate) type Payload = Box<dyn Any + Send + 'static>;

thread_local! {
    /// Location (and backtrace, when RUST_BACKTRACE asks) of the last panic in a simulated thread.
    static LAST_PANIC: RefCell<Option<(String, Option<String>)>> = const { RefCell::new(None) };
}

/// Installs, once per process, a hook that keeps panics of simulated threads quiet (the failure
/// report prints them, with seed and replay command) and remembers where they happened, also on
/// the runtime, which spares a thread unwinding from a panic any kill. Panics anywhere else go to
/// the previous hook unchanged.
pub(crate) fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let Some(rt) = try_current().filter(|rt| rt.current_task().is_some()) else {
                previous(info);
                return;
            };
            let location = info.location().map(|l| l.to_string()).unwrap_or_else(|| "unknown location".into());
            let backtrace = std::backtrace::Backtrace::capture();
            let backtrace =
                (backtrace.status() == std::backtrace::BacktraceStatus::Captured).then(|| backtrace.to_string());
            let message = info.payload_as_str().unwrap_or("(a panic payload that is not a string)").to_string();
            rt.note_panic(PanicRecord { message, location: Some(location.clone()), backtrace: backtrace.clone() });
            LAST_PANIC.with(|p| *p.borrow_mut() = Some((location, backtrace)));
        }));
    });
}

pub(crate) fn payload_message(payload: &Payload) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic payload that is not a string)".to_string()
    }
}

/// Runs `f` as a simulated thread's body and reports how it ended. `deliver` hands the result to
/// whoever joins the thread; it runs inside the thread, so it may wake joiners.
pub(crate) fn run_body<T>(first: Resume, f: impl FnOnce() -> T, deliver: impl FnOnce(Result<T, Payload>)) -> Exit {
    if first == Resume::Kill {
        // Killed before it ever ran: none of its code runs, only the closure's captures drop.
        drop(f);
        deliver(Err(Box::new(Killed)));
        return Exit::Killed;
    }
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => {
            deliver(Ok(value));
            Exit::Completed
        }
        Err(payload) if payload.is::<Killed>() => {
            deliver(Err(payload));
            Exit::Killed
        }
        Err(payload) if payload.is::<Aborted>() => {
            deliver(Err(payload));
            Exit::Aborted
        }
        Err(payload) => {
            let (location, backtrace) = LAST_PANIC.with(|p| p.borrow_mut().take()).unzip();
            let record = PanicRecord { message: payload_message(&payload), location, backtrace: backtrace.flatten() };
            deliver(Err(payload));
            Exit::Panicked(record)
        }
    }
}

/// True when a join result's error means the thread was killed (its node crashed), not a panic.
pub fn is_killed(payload: &(dyn Any + Send)) -> bool {
    payload.is::<Killed>()
}
