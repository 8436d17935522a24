//! The harness for lab 4A's replicated state machine layer alone (`labapi::Rsm`): replicas of a
//! solution's layer over the harness's own tiny machine (`probe::Probe`, ops are tags, the output
//! the position an op took), so the checks see every apply on every replica: replicas agree on
//! one total order, no op is applied twice, every submit's answer names the position its op holds
//! in that order, and the order respects real time. Scenarios in `scenarios.rs`, listed in
//! `crate::scenario` (phase "rsm", test file `rsm_4`).

pub mod cluster;
pub mod probe;
pub mod scenarios;

pub use cluster::RsmCluster;
pub use probe::Probe;
