//! The `LAB_*` environment knobs under dstest. Knobs that shape one run are honoured; knobs that
//! choose which runs happen are refused, because dstest's flags choose them and two sources would
//! disagree silently.

use labrpc::sim::Knobs;

use super::case::Case;

/// Knobs dstest refuses, with the flag to use instead.
pub const REFUSED: [(&str, &str); 3] =
    [("LAB_SEED", "--seed"), ("LAB_RUNS", "-n/--runs"), ("LAB_CHECK_DETERMINISM", "--check-determinism")];

/// Knobs dstest honours, as the runs under `cargo test` do.
pub const HONOURED: [&str; 4] = ["LAB_TIME_LIMIT", "LAB_SPIN_LIMIT", "LAB_LINCHECK_BUDGET", "LAB_VIS"];

/// The note printed before a sweep when honoured knobs are set: the replay commands it prints do
/// not repeat them, so a replay must run in the same environment to fail the same way.
pub fn note(get: impl Fn(&str) -> Option<String>) -> Option<String> {
    let set: Vec<String> = HONOURED.iter().filter_map(|var| Some(format!("{var}={}", get(var)?))).collect();
    (!set.is_empty()).then(|| format!("note: {} applies to every run; keep it set when you replay", set.join(" ")))
}

/// The cases with the honoured knobs applied to their configs, or the one-line error for a
/// refused knob or a bad value. `get` reads the environment (a map in tests).
pub fn apply(cases: Vec<Case>, get: impl Fn(&str) -> Option<String>) -> Result<Vec<Case>, String> {
    for (var, flag) in REFUSED {
        if let Some(value) = get(var) {
            return Err(format!("{var}={value:?} is not read by dstest: use {flag} instead (or unset {var})"));
        }
    }
    let knobs = Knobs::from_lookup(get).map_err(|e| e.to_string())?;
    Ok(cases.into_iter().map(|c| Case { config: c.config.clone().with_knobs(&knobs), ..c }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use labrpc::sim::Config;
    use std::time::Duration;

    fn cases() -> Vec<Case> {
        vec![crate::dstest::case::for_tests("figure8_3c", "3c", "raft_3c")]
    }

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |var| vars.iter().find(|(k, _)| *k == var).map(|(_, v)| v.to_string())
    }

    #[test]
    fn run_choosing_knobs_are_refused_naming_the_flag() {
        let err = apply(cases(), env(&[("LAB_SEED", "0x10")])).unwrap_err();
        assert_eq!(err, "LAB_SEED=\"0x10\" is not read by dstest: use --seed instead (or unset LAB_SEED)");
        let err = apply(cases(), env(&[("LAB_RUNS", "300")])).unwrap_err();
        assert!(err.contains("use -n/--runs"), "{err}");
        let err = apply(cases(), env(&[("LAB_CHECK_DETERMINISM", "1")])).unwrap_err();
        assert!(err.contains("use --check-determinism"), "{err}");
    }

    #[test]
    fn run_shaping_knobs_reach_every_config_and_bad_values_name_the_knob() {
        let applied = apply(cases(), env(&[("LAB_TIME_LIMIT", "7")])).unwrap();
        assert_eq!(applied[0].config.time_limit, Duration::from_secs(7));
        assert_ne!(Config::default().time_limit, Duration::from_secs(7));
        let note = note(env(&[("LAB_TIME_LIMIT", "7"), ("LAB_VIS", "always")])).unwrap();
        assert_eq!(note, "note: LAB_TIME_LIMIT=7 LAB_VIS=always applies to every run; keep it set when you replay");
        assert_eq!(super::note(env(&[])), None);
        let err = apply(cases(), env(&[("LAB_SPIN_LIMIT", "soon")])).unwrap_err();
        assert!(err.starts_with("LAB_SPIN_LIMIT=\"soon\" is not valid"), "{err}");
    }
}
