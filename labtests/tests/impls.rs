//! The generic harness runs a second implementation: "reference-b" (the reference's Raft behind
//! another type, `labtests::impls`) goes through every Raft scenario's code instantiated for its
//! own type. It runs the same protocol, so each seed must give the very run the reference gives
//! (same determinism hash): the harness's generic code adds nothing that depends on the type.

use labrpc::sim;
use labtests::{impls, scenario};

#[test]
fn reference_b_runs_every_raft_scenario_seed_for_seed_like_the_reference() {
    labtests::set_quiet(true);
    let b = impls::scenarios("reference-b").expect("reference-b is registered");
    let reference = scenario::all();
    assert_eq!(b.len(), reference.len(), "reference-b runs every scenario");
    // The short ones, two seeds each, keep this test quick; dstest sweeps them all.
    for s in b.iter().filter(|s| ["3a", "3b"].contains(&s.phase)) {
        assert_eq!(s.implementation, "reference-b");
        let r = reference.iter().find(|r| r.name == s.name).expect("the reference has every scenario");
        for seed in 1..=2 {
            let ours = sim::run(seed, &s.config(), s.run).unwrap_or_else(|f| panic!("reference-b {}: {f}", s.name));
            let theirs = sim::run(seed, &r.config(), r.run).unwrap_or_else(|f| panic!("reference {}: {f}", r.name));
            assert_eq!(ours.hash, theirs.hash, "{} seed {seed}: reference-b ran differently", s.name);
        }
    }
    labtests::set_quiet(false);
}

#[test]
fn unknown_implementations_are_none() {
    assert!(impls::scenarios("nope").is_none());
    assert!(impls::scenarios(impls::DEFAULT).is_some_and(|s| s.iter().all(|s| s.implementation == impls::DEFAULT)));
}
