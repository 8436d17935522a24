//! Lab 3A (leader election): one test per scenario of `labtests::scenario`.
//! `LAB_SEED=N cargo test -p labtests --test raft_3a -- NAME --exact` replays seed N of one.

#[test]
fn initial_election_3a() {
    labtests::scenario::run("initial_election_3a");
}

#[test]
fn re_election_3a() {
    labtests::scenario::run("re_election_3a");
}

#[test]
fn many_elections_3a() {
    labtests::scenario::run("many_elections_3a");
}

#[test]
fn leader_hears_higher_term_in_replies_3a() {
    labtests::scenario::run("leader_hears_higher_term_in_replies_3a");
}

#[test]
fn quiet_leader_keeps_term_3a() {
    labtests::scenario::run("quiet_leader_keeps_term_3a");
}

#[test]
fn stale_vote_reply_3a() {
    labtests::scenario::run("stale_vote_reply_3a");
}
