//! The search budget of checks inside tests: the `LAB_LINCHECK_BUDGET` environment variable.
//!
//! Tests bound the search in steps, not wall time, so a verdict never depends on the machine or
//! its load: the same history and budget give the same answer everywhere.

use std::fmt;

/// Environment variable read by [`budget_from_env`].
pub const LAB_LINCHECK_BUDGET: &str = "LAB_LINCHECK_BUDGET";

/// Search steps of one check (all keys together) when `LAB_LINCHECK_BUDGET` is unset. Sized
/// from the kv scenarios: the most a run of theirs needed, times a wide margin; small enough
/// that a check that spends it all still ends well within the simulator's spin limit (the
/// check runs inside the simulation), even on a histories whose steps are slow.
pub const DEFAULT_BUDGET_STEPS: u64 = 1_000_000;

/// `LAB_LINCHECK_BUDGET` is not a positive whole number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadBudget {
    pub value: String,
}

impl fmt::Display for BadBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{LAB_LINCHECK_BUDGET}={:?} is not understood: expected a positive whole number of search steps \
             (unset means {DEFAULT_BUDGET_STEPS})",
            self.value
        )
    }
}

impl std::error::Error for BadBudget {}

/// Reads `LAB_LINCHECK_BUDGET`; unset or empty means [`DEFAULT_BUDGET_STEPS`].
pub fn budget_from_env() -> Result<u64, BadBudget> {
    match std::env::var_os(LAB_LINCHECK_BUDGET) {
        None => Ok(DEFAULT_BUDGET_STEPS),
        Some(value) => parse_budget(&value.to_string_lossy()),
    }
}

/// Parses a positive whole number (`_` separators allowed); empty means the default.
pub fn parse_budget(value: &str) -> Result<u64, BadBudget> {
    if value.is_empty() {
        return Ok(DEFAULT_BUDGET_STEPS);
    }
    let digits: String = value.chars().filter(|&c| c != '_').collect();
    match digits.parse::<u64>() {
        Ok(steps) if steps > 0 && digits.chars().all(|c| c.is_ascii_digit()) => Ok(steps),
        _ => Err(BadBudget { value: value.to_string() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_positive_whole_numbers_only() {
        assert_eq!(parse_budget(""), Ok(DEFAULT_BUDGET_STEPS));
        assert_eq!(parse_budget("5000"), Ok(5000));
        assert_eq!(parse_budget("10_000_000"), Ok(10_000_000));
        for bad in ["0", "-1", "+5", "1e6", "lots", " 5", "99999999999999999999999"] {
            assert_eq!(parse_budget(bad), Err(BadBudget { value: bad.to_string() }), "{bad:?}");
        }
        assert_eq!(
            BadBudget { value: "lots".into() }.to_string(),
            "LAB_LINCHECK_BUDGET=\"lots\" is not understood: expected a positive whole number of search steps \
             (unset means 1000000)"
        );
    }
}
