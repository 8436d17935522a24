//! What the runner runs: a named scenario with its phase, test file and config.

use labrpc::sim::{self, Config, Failure, Report, Target};

#[derive(Clone, Debug)]
pub struct Case {
    /// e.g. "figure8_3c"
    pub name: String,
    /// e.g. "3c"
    pub phase: String,
    /// The integration test file (binary) that runs it, e.g. "raft_3c".
    pub file: String,
    pub config: Config,
    /// The scenario body, run as a simulation's main thread.
    pub run: fn(),
    /// Extra test-harness arguments the replay command needs (e.g. `--include-ignored` for a
    /// deliberately broken scenario that normal test runs skip).
    pub replay_args: &'static str,
    /// The implementation it runs (`crate::impls`).
    pub implementation: String,
    /// Rows, failures and logs name the implementation (a sweep of another implementation than
    /// the default, or of several).
    pub show_implementation: bool,
}

impl Case {
    /// A scenario of the table, as the runner runs it (named by its implementation only when a
    /// sweep asks for that).
    pub fn of_scenario(s: &crate::scenario::Scenario) -> Case {
        Case {
            name: s.name.into(),
            phase: s.phase.into(),
            file: s.file.into(),
            config: s.config(),
            run: s.run,
            replay_args: "",
            implementation: s.implementation.into(),
            show_implementation: false,
        }
    }

    pub fn target(&self) -> Target {
        Target { package: "labtests".into(), test_binary: Some(self.file.clone()), test_name: self.name.clone() }
    }

    /// What rows, failures and logs call it: `IMPL/NAME` when they name the implementation.
    pub fn label(&self) -> String {
        if self.show_implementation {
            format!("{}/{}", self.implementation, self.name)
        } else {
            self.name.clone()
        }
    }

    /// The one-line command that replays `seed` of this scenario: under `cargo test` for the
    /// default implementation (the test files run it), with dstest for any other.
    pub fn replay_command(&self, seed: u64, check_determinism: bool) -> String {
        if self.implementation != crate::impls::DEFAULT {
            return format!(
                "scripts/dstest --impl {} --replay {} --seed {seed}{}",
                self.implementation,
                self.name,
                if check_determinism { " --check-determinism" } else { "" }
            );
        }
        let command = self.target().replay_command(seed, check_determinism);
        if self.replay_args.is_empty() {
            command
        } else {
            format!("{command} {}", self.replay_args)
        }
    }

    /// Runs `seed` (twice, comparing, when checking determinism); a failure carries this case's
    /// replay command. The sweep, the failure logs and `--replay` all run seeds through here.
    pub fn run_seed(&self, seed: u64, check_determinism: bool) -> Result<Report<()>, Failure> {
        let replay = Some(self.replay_command(seed, check_determinism));
        let outcome = if check_determinism {
            sim::run_twice(seed, &self.config, replay.clone(), self.run)
        } else {
            sim::run(seed, &self.config, self.run)
        };
        crate::cluster::release_networks();
        outcome.map_err(|mut failure| {
            failure.replay = replay;
            failure
        })
    }
}

/// A case of the default implementation whose body does nothing: for the runner's unit tests.
#[cfg(test)]
pub(crate) fn for_tests(name: &str, phase: &str, file: &str) -> Case {
    Case {
        name: name.into(),
        phase: phase.into(),
        file: file.into(),
        config: Config::default(),
        run: || {},
        replay_args: "",
        implementation: crate::impls::DEFAULT.into(),
        show_implementation: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(implementation: &str, show_implementation: bool) -> Case {
        Case { implementation: implementation.into(), show_implementation, ..for_tests("figure8_3c", "3c", "raft_3c") }
    }

    #[test]
    fn another_implementation_is_named_and_replays_through_dstest() {
        let c = case("reference-b", true);
        assert_eq!(c.label(), "reference-b/figure8_3c");
        assert_eq!(c.replay_command(7, false), "scripts/dstest --impl reference-b --replay figure8_3c --seed 7");
        assert!(c.replay_command(7, true).ends_with(" --check-determinism"));
    }

    #[test]
    fn the_default_implementation_replays_under_cargo_test() {
        let alone = case(crate::impls::DEFAULT, false);
        assert_eq!(alone.label(), "figure8_3c");
        let command = alone.replay_command(7, false);
        assert!(
            command.contains("cargo test") && command.contains("raft_3c") && command.contains("figure8_3c"),
            "{command}"
        );
        assert_eq!(case(crate::impls::DEFAULT, true).label(), "reference/figure8_3c");
    }
}
