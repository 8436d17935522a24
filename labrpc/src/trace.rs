//! `tracing` output for simulations: every line starts with virtual time in ms, node and thread,
//! so a run reads per node (sort or grep by the node column, like the dslogs pretty-printer).
//!
//! Two sinks share one subscriber, installed on first use by `sim::run`:
//! - `RUST_LOG` (tracing's EnvFilter syntax, e.g. `debug` or `raftkv::raft=trace`) sends lines to
//!   the test harness's captured output (shown for failing tests, or with `--nocapture`);
//! - [`capture`] collects the lines of one call on the current thread into a string, whatever
//!   `RUST_LOG` says: the sweep runner replays a failing seed this way. While no thread
//!   captures (and `RUST_LOG` is unset), every callsite is disabled: a trace line costs a sweep
//!   one atomic load, so the reference's DEBUG trace is free to be detailed.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::sync::Once;

use std::sync::atomic::{AtomicUsize, Ordering};

use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::{Context, Filter, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::node::NodeId;
use crate::sched::try_current;

thread_local! {
    static CAPTURE: RefCell<Option<String>> = const { RefCell::new(None) };
    static CAPTURE_LEVEL: Cell<Option<Level>> = const { Cell::new(None) };
}

/// Installs the subscriber (once per process). A bad `RUST_LOG` is one line naming it, exit 2.
pub fn init_from_env() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let env_filter = match std::env::var_os("RUST_LOG") {
            None => EnvFilter::new("off"),
            Some(value) => match EnvFilter::builder().parse(value.to_string_lossy()) {
                Ok(filter) => filter,
                Err(e) => {
                    eprintln!(
                        "error: RUST_LOG={:?} is not valid: {e}; expected tracing filter directives such as `debug` or `raftkv=trace`",
                        value.to_string_lossy()
                    );
                    std::process::exit(2);
                }
            },
        };
        // Plain text: trace files are grepped and diffed, not only read in a terminal.
        let to_test_output = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .event_format(SimFormat)
            .with_test_writer()
            .with_filter(env_filter);
        let to_capture =
            tracing_subscriber::fmt::layer().with_ansi(false).event_format(SimFormat).with_writer(CaptureWriter);
        let to_capture = to_capture.with_filter(CaptureFilter);
        let _ = tracing_subscriber::registry().with(to_test_output).with(to_capture).try_init();
    });
}

/// Runs `f`, collecting every trace line this thread emits at `level` or more severe.
pub fn capture<R>(level: Level, f: impl FnOnce() -> R) -> (R, String) {
    init_from_env();
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            CAPTURE_LEVEL.with(|l| l.set(None));
            if CAPTURING_THREADS.fetch_sub(1, Ordering::SeqCst) == 1 {
                tracing::callsite::rebuild_interest_cache();
            }
        }
    }
    CAPTURE.with(|c| *c.borrow_mut() = Some(String::new()));
    CAPTURE_LEVEL.with(|l| l.set(Some(level)));
    if CAPTURING_THREADS.fetch_add(1, Ordering::SeqCst) == 0 {
        tracing::callsite::rebuild_interest_cache();
    }
    let reset = Reset;
    let result = f();
    drop(reset);
    let text = CAPTURE.with(|c| c.borrow_mut().take()).unwrap_or_default();
    (result, text)
}

/// Runs `f` (which may block) with the calling thread's trace lines naming `node`: for a call
/// into another node's code, such as the harness calling a peer's `start`, whose lines belong
/// to that peer. The thread column still names the caller. Changes nothing else (no draw, no
/// yield, no event in the determinism hash).
pub fn as_node<R>(node: NodeId, f: impl FnOnce() -> R) -> R {
    let Some(rt) = try_current() else { return f() };
    struct Restore(Option<NodeId>);
    impl Drop for Restore {
        fn drop(&mut self) {
            // The thread may have unwound (a crash) and the simulation ended: nothing to restore.
            if let Some(rt) = try_current() {
                rt.set_trace_node(self.0);
            }
        }
    }
    let _restore = Restore(rt.set_trace_node(Some(node)));
    f()
}

/// Threads inside `capture` now (sweeps run seeds on several threads).
static CAPTURING_THREADS: AtomicUsize = AtomicUsize::new(0);

/// The capture sink's filter: while no thread captures, it is interested in nothing, so (with
/// `RUST_LOG` off) tracing's global max level is OFF and every callsite is skipped at once;
/// while one does, each event asks the thread-local level of its own thread.
struct CaptureFilter;

impl<S> Filter<S> for CaptureFilter {
    fn enabled(&self, meta: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        CAPTURE_LEVEL.with(Cell::get).is_some_and(|level| *meta.level() <= level)
    }

    fn callsite_enabled(&self, _: &'static Metadata<'static>) -> Interest {
        if CAPTURING_THREADS.load(Ordering::SeqCst) > 0 {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        if CAPTURING_THREADS.load(Ordering::SeqCst) > 0 {
            Some(LevelFilter::TRACE)
        } else {
            Some(LevelFilter::OFF)
        }
    }
}

struct CaptureWriter;

struct CaptureSink;

impl io::Write for CaptureSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        CAPTURE.with(|c| {
            if let Some(text) = c.borrow_mut().as_mut() {
                // The captured trace is the harness's, not the logging node's memory.
                crate::alloc::untracked(|| text.push_str(&String::from_utf8_lossy(buf)));
            }
        });
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for CaptureWriter {
    type Writer = CaptureSink;
    fn make_writer(&'a self) -> CaptureSink {
        CaptureSink
    }
}

/// The line prefix: virtual ms, node, thread (or wall ms and the OS thread outside simulations).
pub struct SimFormat;

/// Time (ms), node and thread of the caller, as trace lines show them.
pub fn line_prefix() -> (f64, String, String) {
    match try_current() {
        Some(rt) => {
            let ms = rt.st.try_borrow().map(|st| st.now_ns as f64 / 1e6).unwrap_or(f64::NAN);
            match rt.trace_names() {
                Some((node, thread, serial)) => (ms, node.to_string(), format!("{thread}#{serial}")),
                None => (ms, "-".to_string(), "scheduler".to_string()),
            }
        }
        None => {
            let ms = crate::time::now().since_start().as_secs_f64() * 1e3;
            (ms, "-".to_string(), std::thread::current().name().unwrap_or("?").to_string())
        }
    }
}

impl<S, N> FormatEvent<S, N> for SimFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let (ms, node, thread) = line_prefix();
        let meta = event.metadata();
        write!(writer, "{ms:>10.3} {node:<10} {thread:<18} {:<5} {}: ", meta.level(), meta.target())?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}
