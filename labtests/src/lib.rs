//! Harness config, scenarios per lab phase and the CLIs (the linearizability checker is the
//! `lincheck` crate, labtests/lincheck/).
pub mod cli_args;
pub mod cluster;
pub mod dstest;
pub mod grade;
pub mod impls;
pub mod kv;
// skeleton: omit begin (the mutant zoo is staff only)
pub mod mutants;
// skeleton: omit end
pub mod raft;
pub mod rsm;
pub mod scenario;
pub mod shardkv;
pub mod shrink;
pub mod skeleton;
pub mod timeline;

use std::cell::Cell;

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Silences `say!` on this thread (sweep workers run thousands of scenarios; the per-run lines
/// belong to `cargo test`, not to the sweep's table).
pub fn set_quiet(quiet: bool) {
    QUIET.with(|q| q.set(quiet));
}

pub fn quiet() -> bool {
    QUIET.with(Cell::get)
}

/// `println!` for scenario progress lines ("Test (3A): ...", "... Passed --"), muted in sweeps.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        if !$crate::quiet() {
            println!($($arg)*);
        }
    };
}
