//! Lab 3C (persistence): one test per scenario of `labtests::scenario`.
//! `LAB_SEED=N cargo test -p labtests --test raft_3c -- NAME --exact` replays seed N of one.

#[test]
fn persist1_3c() {
    labtests::scenario::run("persist1_3c");
}

#[test]
fn persist2_3c() {
    labtests::scenario::run("persist2_3c");
}

#[test]
fn persist3_3c() {
    labtests::scenario::run("persist3_3c");
}

#[test]
fn figure8_3c() {
    labtests::scenario::run("figure8_3c");
}

#[test]
fn unreliable_agree_3c() {
    labtests::scenario::run("unreliable_agree_3c");
}

#[test]
fn figure8_unreliable_3c() {
    labtests::scenario::run("figure8_unreliable_3c");
}

#[test]
fn reliable_churn_3c() {
    labtests::scenario::run("reliable_churn_3c");
}

#[test]
fn unreliable_churn_3c() {
    labtests::scenario::run("unreliable_churn_3c");
}

#[test]
fn figure8_constructed_3c() {
    labtests::scenario::run("figure8_constructed_3c");
}

#[test]
fn vote_crash_3c() {
    labtests::scenario::run("vote_crash_3c");
}

#[test]
fn stale_append_reply_3c() {
    labtests::scenario::run("stale_append_reply_3c");
}

#[test]
fn deaf_campaigners_3c() {
    labtests::scenario::run("deaf_campaigners_3c");
}

#[test]
fn term_answered_crash_3c() {
    labtests::scenario::run("term_answered_crash_3c");
}
