//! Harness config, scenarios per lab phase, the linearizability checker and the CLIs.
pub mod dstest;
pub mod lincheck;
