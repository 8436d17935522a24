//! Environment knobs, read in this one place. A bad value is reported as one line naming the
//! variable and what it accepts.

use std::fmt;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub struct Knobs {
    /// `LAB_SEED`: first seed (decimal or 0x-hex). Default: derived from the test name.
    pub seed: Option<u64>,
    /// `LAB_RUNS`: how many consecutive seeds to run (default 1).
    pub runs: u64,
    /// `LAB_CHECK_DETERMINISM`: run every seed twice and compare (default off).
    pub check_determinism: bool,
    /// `LAB_TIME_LIMIT`: virtual seconds a run may last (default: the test's config, 120 s).
    pub time_limit: Option<Duration>,
    /// `LAB_SPIN_LIMIT`: wall seconds a thread may run without a simulator call; 0 turns spin
    /// detection off (default: the test's config, 5 s).
    pub spin_limit: Option<Duration>,
}

impl Default for Knobs {
    fn default() -> Knobs {
        Knobs { seed: None, runs: 1, check_determinism: false, time_limit: None, spin_limit: None }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnobError {
    pub var: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl fmt::Display for KnobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={:?} is not valid: expected {}", self.var, self.value, self.expected)
    }
}

impl std::error::Error for KnobError {}

/// Upper bound on LAB_RUNS, so a typo cannot start a practically endless loop.
const MAX_RUNS: u64 = 100_000_000;
/// Upper bound on the time knobs (about 11.5 virtual days).
const MAX_SECONDS: f64 = 1_000_000.0;

impl Knobs {
    pub fn from_env() -> Result<Knobs, KnobError> {
        Knobs::from_lookup(|var| std::env::var_os(var).map(|v| v.to_string_lossy().into_owned()))
    }

    /// Like `from_env`, but prints the one-line error and exits with status 2 on a bad value: for
    /// binaries that read the knobs. Tests go through `sim::check`, which panics instead.
    pub fn from_env_or_exit() -> Knobs {
        match Knobs::from_env() {
            Ok(knobs) => knobs,
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(2);
            }
        }
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Knobs, KnobError> {
        let mut knobs = Knobs::default();
        if let Some(v) = get("LAB_SEED") {
            knobs.seed = Some(parse_seed(&v).ok_or_else(|| KnobError {
                var: "LAB_SEED",
                value: v.clone(),
                expected: "a 64-bit seed, decimal (17) or hex (0x11)",
            })?);
        }
        if let Some(v) = get("LAB_RUNS") {
            knobs.runs = v.trim().parse::<u64>().ok().filter(|n| (1..=MAX_RUNS).contains(n)).ok_or_else(|| {
                KnobError { var: "LAB_RUNS", value: v.clone(), expected: "a whole number of runs from 1 to 100000000" }
            })?;
        }
        if let Some(v) = get("LAB_CHECK_DETERMINISM") {
            knobs.check_determinism = match v.trim() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" | "" => false,
                _ => {
                    return Err(KnobError {
                        var: "LAB_CHECK_DETERMINISM",
                        value: v.clone(),
                        expected: "1 or 0 (also true/false, yes/no, on/off)",
                    })
                }
            };
        }
        if let Some(v) = get("LAB_TIME_LIMIT") {
            knobs.time_limit = Some(parse_seconds(&v, false).ok_or_else(|| KnobError {
                var: "LAB_TIME_LIMIT",
                value: v.clone(),
                expected: "virtual seconds greater than 0 (for example 120 or 2.5)",
            })?);
        }
        if let Some(v) = get("LAB_SPIN_LIMIT") {
            knobs.spin_limit = Some(parse_seconds(&v, true).ok_or_else(|| KnobError {
                var: "LAB_SPIN_LIMIT",
                value: v.clone(),
                expected: "wall seconds (for example 5 or 0.5), or 0 to turn spin detection off",
            })?);
        }
        Ok(knobs)
    }
}

/// A seed as `LAB_SEED` takes it: decimal (`17`) or 0x-hex (`0x11`). Public so the CLIs that take
/// a seed accept the same spellings.
pub fn parse_seed(v: &str) -> Option<u64> {
    let v = v.trim();
    match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

fn parse_seconds(v: &str, zero_ok: bool) -> Option<Duration> {
    let secs: f64 = v.trim().parse().ok()?;
    let ok = secs.is_finite() && secs <= MAX_SECONDS && (secs > 0.0 || (zero_ok && secs == 0.0));
    ok.then(|| Duration::from_secs_f64(secs))
}
