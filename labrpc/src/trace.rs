//! `tracing` output for simulations: every line starts with virtual time in ms, node and thread,
//! so a run reads per node (sort or grep by the node column, like the dslogs pretty-printer).
//!
//! Enabled by `RUST_LOG` (tracing's EnvFilter syntax, e.g. `RUST_LOG=debug` or
//! `RUST_LOG=raftkv::raft=trace`); `sim::run` installs it on first use. Output goes through the
//! test harness's capture, so it shows for failing tests only unless `--nocapture` is given.

use std::fmt;
use std::sync::Once;

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

use crate::sched::try_current;

/// Installs the subscriber when `RUST_LOG` is set; a bad filter is one line naming RUST_LOG.
pub fn init_from_env() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let Some(value) = std::env::var_os("RUST_LOG") else { return };
        let filter = match EnvFilter::builder().parse(value.to_string_lossy()) {
            Ok(filter) => filter,
            Err(e) => {
                eprintln!(
                    "error: RUST_LOG={:?} is not valid: {e}; expected tracing filter directives such as `debug` or `raftkv=trace`",
                    value.to_string_lossy()
                );
                std::process::exit(2);
            }
        };
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            // Plain text: trace files are grepped and diffed, not only read in a terminal.
            .with_ansi(false)
            .event_format(SimFormat)
            .with_test_writer()
            .try_init();
    });
}

/// The line prefix: virtual ms, node, thread (or wall ms and the OS thread outside simulations).
pub struct SimFormat;

/// Time (ms), node and thread of the caller, as trace lines show them.
pub fn line_prefix() -> (f64, String, String) {
    match try_current() {
        Some(rt) => {
            let ms = rt.st.try_borrow().map(|st| st.now_ns as f64 / 1e6).unwrap_or(f64::NAN);
            match rt.current_names() {
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
