//! Argument parsing shared by the CLIs (dstest, grade, mutants, skeleton): clap's own message,
//! exit 2 for bad arguments and 0 for `--help`/`--version`.

use std::process::ExitCode;

/// The parsed arguments, or the exit code once clap has printed why there are none.
pub fn parse<A: clap::Parser>() -> Result<A, ExitCode> {
    A::try_parse().map_err(|e| {
        let _ = e.print();
        ExitCode::from(if e.use_stderr() { 2 } else { 0 })
    })
}
