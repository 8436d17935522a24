//! Running simulations: `run` (one seed), `check` (the knob-driven test entry point that runs
//! seeds, checks determinism and panics with a replayable report), their config and reports.

pub mod failure;
pub mod fault_plan;
pub mod knobs;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

pub use failure::{format_time, BlockedThread, Divergence, Failure, FailureKind, PanicRecord};
pub use knobs::{KnobError, Knobs};

use crate::sched::context::Entered;
use crate::sched::entry::{install_panic_hook, run_body};
use crate::sched::record::Mode;
use crate::sched::{NodeId, Runtime};

/// How a simulation runs. Everything random comes from the seed, not from here.
#[derive(Clone, Debug)]
pub struct Config {
    /// Virtual time a run may last before it fails (default 120 s).
    pub time_limit: Duration,
    /// Chance, in thousandths, that a thread yields at a lock or send point (default 0). Raising
    /// it explores more interleavings; it changes the schedule of every seed.
    pub preempt_per_mille: u32,
    /// Wall time a thread may run without a simulator call before the run fails as spinning
    /// (default 5 s; zero turns detection off).
    pub spin_limit: Duration,
    /// Stack size of every simulated thread (default 256 KiB; stacks are reused).
    pub stack_size_bytes: usize,
    /// Scheduling steps allowed at one virtual instant before the run fails as a livelock.
    pub max_steps_per_instant: u64,
    /// Record the faults a run injects, or let only some happen (`fault_plan`; default None:
    /// every fault happens and nothing is recorded).
    pub fault_plan: Option<fault_plan::FaultPlan>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            time_limit: Duration::from_secs(120),
            preempt_per_mille: 0,
            spin_limit: Duration::from_secs(5),
            stack_size_bytes: 256 * 1024,
            max_steps_per_instant: 10_000_000,
            fault_plan: None,
        }
    }
}

impl Config {
    /// Applies the environment knobs that override a test's config.
    pub fn with_knobs(mut self, knobs: &Knobs) -> Config {
        if let Some(limit) = knobs.time_limit {
            self.time_limit = limit;
        }
        if let Some(limit) = knobs.spin_limit {
            self.spin_limit = limit;
        }
        self
    }
}

/// What a successful run returns.
#[derive(Clone, Debug)]
pub struct Report<T> {
    pub value: T,
    pub seed: u64,
    /// The determinism hash over every scheduling choice, random draw and virtual timestamp.
    pub hash: u64,
    pub virtual_time: Duration,
    /// Scheduling steps (thread resumptions).
    pub steps: u64,
    /// Threads created, the main thread included.
    pub threads: u64,
}

/// Runs `f` as the first simulated thread (node "main") of a simulation built from `seed` and
/// `config`. Returns when `f` returns, after every other thread has been killed and unwound.
pub fn run<T: 'static>(seed: u64, config: &Config, f: impl FnOnce() -> T + 'static) -> Result<Report<T>, Failure> {
    run_inner(seed, config, Mode::Off, None, f).result
}

/// Runs `f` twice with `seed` and fails with the first divergent event when the runs differ.
pub fn run_twice<F, T>(seed: u64, config: &Config, replay: Option<String>, f: F) -> Result<Report<T>, Failure>
where
    F: FnOnce() -> T + Clone + 'static,
    T: 'static,
{
    let first = run_inner(seed, config, Mode::Record(Vec::new()), replay.clone(), f.clone());
    let first_report = first.result?;
    let expected = Rc::new(first.events.expect("the first run records its events"));
    let mode = Mode::Compare { expected, position: 0, divergence: None };
    let second = run_inner(seed, config, mode, replay.clone(), f);
    let second_hash = second.result.as_ref().map(|r| r.hash).unwrap_or(0);
    if second.divergence.is_some() || second.result.is_err() || second_hash != first_report.hash {
        return Err(Failure {
            seed,
            virtual_time: second.result.as_ref().map(|r| r.virtual_time).unwrap_or_default(),
            node: None,
            thread: None,
            kind: Box::new(FailureKind::Nondeterminism {
                first_hash: first_report.hash,
                second_hash,
                divergence: second.divergence,
            }),
            replay,
        });
    }
    second.result
}

/// Where a test lives, so a failure can print the command that replays it.
#[derive(Clone, Debug)]
pub struct Target {
    pub package: String,
    /// The integration test binary (`--test NAME`), or None for the library's unit tests.
    pub test_binary: Option<String>,
    pub test_name: String,
}

impl Target {
    /// Use the `labrpc::target!("name")` macro, which fills in the package and binary.
    pub fn from_crate(package: &str, crate_name: &str, test_name: &str) -> Target {
        let is_lib = crate_name == package.replace('-', "_");
        // libtest names each test's thread after its full path; prefer it, so tests inside
        // modules replay with --exact.
        let full = std::thread::current()
            .name()
            .filter(|n| *n != "main" && (n.ends_with(&format!("::{test_name}")) || *n == test_name))
            .map(str::to_string)
            .unwrap_or_else(|| test_name.to_string());
        Target { package: package.to_string(), test_binary: (!is_lib).then(|| crate_name.to_string()), test_name: full }
    }

    pub fn replay_command(&self, seed: u64, check_determinism: bool) -> String {
        let target = match &self.test_binary {
            Some(bin) => format!("--test {bin}"),
            None => "--lib".to_string(),
        };
        let determinism = if check_determinism { "LAB_CHECK_DETERMINISM=1 " } else { "" };
        format!("LAB_SEED={seed} {determinism}cargo test -p {} {target} -- {} --exact", self.package, self.test_name)
    }
}

/// A `Target` for the test function `name` in the calling crate.
#[macro_export]
macro_rules! target {
    ($name:expr) => {
        $crate::sim::Target::from_crate(env!("CARGO_PKG_NAME"), env!("CARGO_CRATE_NAME"), $name)
    };
}

/// The default seed of a test: a hash of its name, so plain `cargo test` is reproducible.
pub fn seed_from_name(name: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= byte as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The seeds the knobs ask for: LAB_SEED (or the test name's seed) and the LAB_RUNS after it.
pub fn seeds(knobs: &Knobs, test_name: &str) -> std::ops::Range<u64> {
    let first = knobs.seed.unwrap_or_else(|| seed_from_name(test_name));
    first..first.saturating_add(knobs.runs)
}

/// The test entry point: runs `body` in a simulation for every seed the environment knobs ask
/// for (LAB_SEED, LAB_RUNS, LAB_CHECK_DETERMINISM, LAB_TIME_LIMIT, LAB_SPIN_LIMIT) and panics
/// with the full report, seed and replay command at the first failure. A bad knob value panics
/// with one line naming the variable and what it accepts.
#[track_caller]
pub fn check<F>(target: &Target, config: Config, body: F)
where
    F: FnOnce() + Clone + 'static,
{
    let knobs = match Knobs::from_env() {
        Ok(knobs) => knobs,
        // A panic, not an exit: plain `cargo test` captures the output of a test and shows it
        // only for a test that panics, so after an exit the user would see just "exit status: 2".
        Err(e) => panic!("error: {e}"),
    };
    if let Err(failure) = check_with(target, config, &knobs, body) {
        panic!("{failure}");
    }
}

/// `check` with explicit knobs, returning the first failure instead of panicking.
pub fn check_with<F>(target: &Target, config: Config, knobs: &Knobs, body: F) -> Result<(), Failure>
where
    F: FnOnce() + Clone + 'static,
{
    let config = config.with_knobs(knobs);
    let base_name = target.test_name.rsplit("::").next().unwrap_or(&target.test_name).to_string();
    for seed in seeds(knobs, &base_name) {
        let replay = Some(target.replay_command(seed, knobs.check_determinism));
        if knobs.check_determinism {
            run_twice(seed, &config, replay, body.clone())?;
        } else {
            run_inner(seed, &config, Mode::Off, replay, body.clone()).result?;
        }
    }
    Ok(())
}

pub(crate) struct RunOutput<T> {
    pub(crate) result: Result<Report<T>, Failure>,
    pub(crate) events: Option<Vec<crate::sched::record::Event>>,
    pub(crate) divergence: Option<Divergence>,
}

pub(crate) fn run_inner<T: 'static>(
    seed: u64,
    config: &Config,
    mode: Mode,
    replay: Option<String>,
    f: impl FnOnce() -> T + 'static,
) -> RunOutput<T> {
    install_panic_hook();
    crate::trace::init_from_env();
    if let Some(plan) = &config.fault_plan {
        plan.start_run();
    }
    let rt = Box::new(Runtime::new(seed, config.clone(), mode, replay.clone()));
    let entered = Entered::new(&rt);
    let scope = crate::sim_cell::RunScope::begin();
    let value: Rc<RefCell<Option<T>>> = Rc::new(RefCell::new(None));
    // Set with `value`: the scheduler reads it between steps, a load instead of a call.
    let returned = Rc::new(Cell::new(false));
    let (slot, returned_slot) = (value.clone(), returned.clone());
    rt.spawn(NodeId::MAIN, "main".into(), move |first| {
        run_body(first, f, move |result| {
            if let Ok(v) = result {
                *slot.borrow_mut() = Some(v);
                returned_slot.set(true);
            }
        })
    });
    rt.schedule(&returned, false);
    rt.shutdown();
    let divergence = rt.finish_record();
    let events = rt.take_events();
    let draft = rt.take_failure();
    let (hash, steps, time_ns, threads) = {
        let st = rt.st.borrow();
        (st.rec.hash, st.steps, st.now_ns, st.next_serial_count())
    };
    drop(scope);
    drop(entered);
    drop(rt);
    let result = match (draft, value.borrow_mut().take()) {
        (None, Some(value)) => {
            Ok(Report { value, seed, hash, virtual_time: Duration::from_nanos(time_ns), steps, threads })
        }
        (draft, _) => {
            let draft = draft.expect("the main thread ended without a value and without a recorded failure");
            Err(Failure {
                seed,
                virtual_time: Duration::from_nanos(draft.time_ns),
                node: draft.node.map(|n| n.to_string()),
                thread: draft.thread.map(|(serial, name)| format!("'{name}' (#{serial})")),
                kind: Box::new(draft.kind),
                replay,
            })
        }
    };
    RunOutput { result, events, divergence }
}

/// The determinism hash of the running simulation so far.
pub fn current_hash() -> u64 {
    crate::sched::current("sim::current_hash").hash()
}

/// True inside a simulation (a thread of `sim::run`).
pub fn in_simulation() -> bool {
    crate::sched::try_current().is_some()
}

/// The seed of the running simulation.
pub fn current_seed() -> u64 {
    crate::sched::current("sim::current_seed").seed
}
