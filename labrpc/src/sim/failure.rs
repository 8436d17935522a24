//! Failure reports. Every report names the seed, the virtual time, the node and thread involved,
//! and the command that replays the run.

use std::fmt;
use std::time::Duration;

pub use crate::sched::record::Divergence;
pub use crate::sched::task::PanicRecord;

/// A thread that was parked when the run failed, and what it waited for.
#[derive(Clone, Debug)]
pub struct BlockedThread {
    pub serial: u64,
    pub node: String,
    pub thread: String,
    pub waits_for: String,
}

#[derive(Clone, Debug)]
pub enum FailureKind {
    /// A simulated thread panicked.
    Panic(PanicRecord),
    /// Nothing runnable and no timer pending.
    Deadlock { blocked: Vec<BlockedThread> },
    /// The next timer lies beyond the virtual time limit.
    TimeLimit { limit: Duration, blocked: Vec<BlockedThread> },
    /// A thread ran for the spin limit of wall time without a simulator call.
    Spin { wall_limit: Duration },
    /// Threads kept running without virtual time advancing.
    Livelock { steps: u64, runnable: Vec<String> },
    /// Threads blocked forever in destructors while being killed at the end of the run.
    StuckInDestructor { blocked: Vec<BlockedThread> },
    /// Two runs of one seed differed.
    Nondeterminism { first_hash: u64, second_hash: u64, divergence: Option<Divergence> },
}

#[derive(Clone, Debug)]
pub struct Failure {
    pub seed: u64,
    pub virtual_time: Duration,
    pub node: Option<String>,
    pub thread: Option<String>,
    /// Boxed: a failure is rare, and results carrying it stay small.
    pub kind: Box<FailureKind>,
    /// The shell command that replays this run, when the run knows its test.
    pub replay: Option<String>,
}

/// The message of `todo!()` or `unimplemented!()`: code not written yet rather than a bug.
fn missing_body(message: &str) -> bool {
    message.starts_with("not yet implemented") || message.starts_with("not implemented")
}

/// Virtual time as the reports print it: seconds with millisecond precision.
pub fn format_time(ns: u64) -> String {
    format!("{}.{:03}s", ns / 1_000_000_000, (ns / 1_000_000) % 1000)
}

fn write_blocked(f: &mut fmt::Formatter<'_>, blocked: &[BlockedThread]) -> fmt::Result {
    if blocked.is_empty() {
        return writeln!(f, "  (no thread is blocked)");
    }
    for b in blocked {
        writeln!(f, "  thread '{}' (#{}) on node '{}' {}", b.thread, b.serial, b.node, b.waits_for)?;
    }
    Ok(())
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = format_time(self.virtual_time.as_nanos() as u64);
        write!(f, "simulation failed (seed {}, virtual time {at}): ", self.seed)?;
        let who = match (&self.thread, &self.node) {
            (Some(t), Some(n)) => format!("thread {t} on node '{n}'"),
            _ => "the simulation".to_string(),
        };
        match &*self.kind {
            FailureKind::Panic(p) if missing_body(&p.message) => {
                // A todo!() (as in the lab's skeleton): what to write comes first, where second.
                let location = p.location.as_deref().unwrap_or("unknown location");
                let mut lines = p.message.lines();
                writeln!(f, "{} (reached by {who} at {location})", lines.next().unwrap_or_default())?;
                for line in lines {
                    writeln!(f, "    {line}")?;
                }
            }
            FailureKind::Panic(p) => {
                let location = p.location.as_deref().unwrap_or("unknown location");
                writeln!(f, "{who} panicked at {location}:")?;
                for line in p.message.lines() {
                    writeln!(f, "    {line}")?;
                }
            }
            FailureKind::Deadlock { blocked } => {
                writeln!(f, "deadlock: no thread can run and no timer is pending")?;
                write_blocked(f, blocked)?;
            }
            FailureKind::TimeLimit { limit, blocked } => {
                writeln!(
                    f,
                    "virtual time limit of {} reached (set LAB_TIME_LIMIT to change it); blocked threads:",
                    format_time(limit.as_nanos() as u64)
                )?;
                write_blocked(f, blocked)?;
            }
            FailureKind::Spin { wall_limit } => {
                writeln!(
                    f,
                    "spin detected: {who} ran for more than {:.1} s of wall time without reaching a simulator call \
                     (a busy loop, or a real blocking call such as std::thread::sleep or a std mutex)",
                    wall_limit.as_secs_f64()
                )?;
            }
            FailureKind::Livelock { steps, runnable } => {
                writeln!(f, "livelock: {steps} scheduling steps without virtual time advancing; runnable threads:")?;
                for r in runnable {
                    writeln!(f, "  {r}")?;
                }
            }
            FailureKind::StuckInDestructor { blocked } => {
                writeln!(
                    f,
                    "threads blocked forever in destructors while being killed or unwinding from a panic \
                     (destructors must not wait):"
                )?;
                write_blocked(f, blocked)?;
            }
            FailureKind::Nondeterminism { first_hash, second_hash, divergence } => {
                writeln!(
                    f,
                    "nondeterminism: two runs of this seed differ (hash {first_hash:#018x} then {second_hash:#018x})"
                )?;
                match divergence {
                    Some(d) => {
                        writeln!(f, "  first divergent event #{}:", d.index)?;
                        writeln!(f, "    run 1: {}", d.first_run.as_deref().unwrap_or("(run ended)"))?;
                        writeln!(f, "    run 2: {}", d.second_run.as_deref().unwrap_or("(run ended)"))?;
                    }
                    None => writeln!(f, "  (every recorded event matched; the difference is in the result)")?,
                }
            }
        }
        let replay = match &self.replay {
            Some(cmd) => format!("replay: {cmd}"),
            None => format!("replay: run seed {} again with the same config", self.seed),
        };
        // A backtrace is about 125 frames: the replay line goes before it, where a reader of the
        // report's top finds it, and again as the last line, where the report ends.
        if let FailureKind::Panic(PanicRecord { backtrace: Some(bt), .. }) = &*self.kind {
            writeln!(f, "{replay}")?;
            writeln!(f, "backtrace:\n{bt}")?;
        }
        write!(f, "{replay}")
    }
}

impl Failure {
    /// The report without a captured backtrace (which depends on RUST_BACKTRACE and the build).
    pub fn without_backtrace(mut self) -> Failure {
        if let FailureKind::Panic(p) = &mut *self.kind {
            p.backtrace = None;
        }
        self
    }
}

impl std::error::Error for Failure {}
