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
}

impl Case {
    pub fn target(&self) -> Target {
        Target { package: "labtests".into(), test_binary: Some(self.file.clone()), test_name: self.name.clone() }
    }

    /// The one-line command that replays `seed` of this scenario under `cargo test`.
    pub fn replay_command(&self, seed: u64, check_determinism: bool) -> String {
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
        outcome.map_err(|mut failure| {
            failure.replay = replay;
            failure
        })
    }
}
