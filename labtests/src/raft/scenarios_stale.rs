//! Schedules where a peer's crash or a late message meets a term that has moved on, built
//! deterministically: each step waits for the state it needs, so every seed reaches it.

use std::time::Duration;

use labrpc::time;

use super::scenarios_constructed::{leader_among, ELECTION_BOUND, SETTLE};
use super::{ApplierKind, Cluster, Command, Reliability};
use labapi::RaftPeer;

/// A vote must be on disk before the reply that grants it. Leader P crashes; X wins the next term
/// T with voter V's vote; V crashes and restarts at once, before anything else could make it save.
/// X and P are cut from each other both ways, and P restarts and is connected to V only when its
/// term is T - 1, so its next election asks V for a vote in T. A V that forgot its vote grants it,
/// and P leads T beside X: the monitor fails the second leader of T. A correct V refuses, and P
/// wins T + 1 instead.
pub fn vote_crash_3c<R: RaftPeer>() {
    let n = 3;
    let cfg = Cluster::<R>::new(n, Reliability::Reliable, ApplierKind::Plain);
    cfg.begin("Test (3C): a voter crashes right after voting, and a second candidate asks it in the same term");

    cfg.one(&Command::Value(1), n, true);
    let p = cfg.check_one_leader();
    let (p_term, _) = cfg.state(p);
    let others = [(p + 1) % n, (p + 2) % n];

    cfg.crash(p);
    let (x, term) = leader_among(&cfg, &others, p_term);
    let v = if x == others[0] { others[1] } else { others[0] };
    cfg.crash(v);
    cfg.start(v);
    cfg.connect(v);

    cfg.cut(p, x);
    cfg.cut(x, p);
    cfg.start(p);
    // P's persisted term is at most T - 1; alone, it climbs one term per election timeout.
    let t0 = time::now();
    while cfg.state(p).0 < term - 1 {
        assert!(t0.elapsed() < ELECTION_BOUND, "peer {p} did not reach term {} alone", term - 1);
        time::sleep(Duration::from_millis(1));
    }
    assert_eq!(cfg.state(p).0, term - 1, "peer {p} passed term {} before it could be connected", term - 1);
    cfg.connect(p);

    // P leads T (a second leader of T: the monitor fails the run) or, correctly, a later term.
    let (winner, won) = leader_among(&cfg, &[p], term - 1);
    assert!(winner == p && won >= term);
    time::sleep(SETTLE);
    cfg.one(&Command::Value(2), 2, true);
    cfg.end();
}

/// How long the replies to the old leader's appends are held: well past the two elections and
/// the appends that the construction below waits for (each a few hundred ms).
const STALE_REPLY_HOLD: Duration = Duration::from_secs(9);

/// A leader must ignore a reply to an append it sent in an earlier term. Five peers. L leads term
/// T0 and sends X2..X4 (indices 2-4) to F alone, whose success replies are held for
/// `STALE_REPLY_HOLD`; F is then paused. G wins T1 among G, H, I, puts Y at index 2 (committed by
/// G, H, I and L, whose X2..X4 it replaces) and Y' at index 3 on L only; G leaves. Only L can win
/// now, in T; it puts Z at index 4 and gives it to H only (I is cut off and paused): L and H store Z. The held replies then
/// reach L: a leader that counts them believes F matches index 4 and commits Z with L, H, "F".
/// L and H crash; G returns and, with I and F, commits another entry at index 4: the appliers
/// see two commands at index 4. A correct L never commits Z, and G's entry replaces it.
pub fn stale_append_reply_3c<R: RaftPeer>() {
    let n = 5;
    let cfg = Cluster::<R>::new(n, Reliability::Reliable, ApplierKind::Plain);
    cfg.begin("Test (3C): replies to an old term's appends reach the leader of a later term");

    cfg.one(&Command::Value(1), n, true);
    let l = cfg.check_one_leader();
    let (t0, _) = cfg.state(l);
    let f = (l + 1) % n;
    let ghi: Vec<usize> = (2..n).map(|k| (l + k) % n).collect();
    // G, H, I are also cut from L until one of them leads: L, never deposed, keeps leading T0 and
    // never campaigns (hearing their split votes, it could reach a higher term than their winner
    // and refuse Y).
    for &p in &ghi {
        cfg.cut(l, p);
        cfg.cut(p, f);
        cfg.cut(p, l);
    }

    // L's appends of X2..X4 reach F only; every reply sent in this short window is held.
    let net = cfg.net();
    net.set_held_replies(1000, STALE_REPLY_HOLD, STALE_REPLY_HOLD);
    let held_at = time::now();
    for k in 2..=4 {
        let (index, _) = cfg.propose(l, &Command::Value(k)).expect("L no longer leads");
        assert_eq!(index, k, "L put X{k} at index {index}");
    }
    time::sleep(Duration::from_millis(30));
    net.set_held_replies(0, Duration::ZERO, Duration::ZERO);
    cfg.cut(l, f);
    cfg.pause(f, STALE_REPLY_HOLD + SETTLE * 2);

    // G wins T1 and replaces X2 on L with Y (committed by G, H, I and L), then gives Y' to L only.
    let (g, t1) = leader_among(&cfg, &ghi, t0);
    for &p in &ghi {
        cfg.heal_cut(p, l);
    }
    let hi: Vec<usize> = ghi.iter().copied().filter(|&p| p != g).collect();
    let (y_index, _) = cfg.propose(g, &Command::Value(5)).expect("G no longer leads");
    assert_eq!(y_index, 2, "G put Y at index {y_index}");
    assert_eq!(cfg.wait(2, 4, Some(t1)), Some(Command::Value(5)), "Y is not committed at index 2 by four peers");
    for &p in &hi {
        cfg.cut(g, p);
    }
    let (y2_index, _) = cfg.propose(g, &Command::Value(6)).expect("G no longer leads");
    assert_eq!(y2_index, 3, "G put Y' at index {y2_index}");
    time::sleep(SETTLE);
    cfg.disconnect(g);

    // Only L holds Y': it wins T among L, H, I and gives Z at index 4 to H only.
    for &p in &ghi {
        cfg.heal_cut(l, p);
    }
    let (_, t) = leader_among(&cfg, &[l], t1);
    // I must not get Z, nor time out and unseat L before the held replies arrive: it is cut
    // from L and paused until L and H have crashed.
    let resume_at = held_at + STALE_REPLY_HOLD + SETTLE;
    cfg.cut(l, hi[1]);
    cfg.pause(hi[1], resume_at - time::now());
    let (z_index, z_term) = cfg.propose(l, &Command::Value(7)).expect("L no longer leads");
    assert!(z_index == 4 && z_term == t, "L put Z at index {z_index} in term {z_term}; wanted 4 in {t}");
    time::sleep(SETTLE);
    assert!(
        held_at.elapsed() < STALE_REPLY_HOLD,
        "the construction took {:.3}s, longer than the replies are held",
        held_at.elapsed().as_secs_f64()
    );

    // The held replies reach L, the leader of T. Then L and H go; G, I and F commit index 4.
    time::sleep_until(resume_at);
    cfg.crash(l);
    cfg.crash(hi[0]);
    cfg.heal_all_cuts();
    cfg.connect(g);
    time::sleep(SETTLE * 2);
    cfg.one(&Command::Value(8), 3, true);
    cfg.end();
}

/// A term learned from a refused request must be on disk before the refusal is sent. Three
/// peers: Q, cut off, climbs terms alone while L and P commit an entry it lacks. Q comes back
/// able to reach P only; P refuses Q's vote (Q's log is stale) but takes Q's term. L never
/// hears of it: P's answers to L are cut, so L goes on sending heartbeats of its old term, and P
/// goes on refusing them, answering in Q's term. Once the monitor has seen P answer a request in
/// that term, P crashes and restarts at once, before anything else (a vote, new entries, its own
/// election) makes it save. A P that did not save the term it answered in comes back in L's
/// older term: the durable-term check (`durable_terms.rs`) fails it.
pub fn term_answered_crash_3c<R: RaftPeer>() {
    let n = 3;
    let cfg = Cluster::<R>::new(n, Reliability::Reliable, ApplierKind::Plain);
    cfg.begin("Test (3C): a follower crashes right after answering in a term it only heard of");

    cfg.one(&Command::Value(1), n, true);
    let l = cfg.check_one_leader();
    let (l_term, _) = cfg.state(l);
    let (p, q) = ((l + 1) % n, (l + 2) % n);

    cfg.partition(&[vec![l, p], vec![q]]);
    cfg.one(&Command::Value(2), 2, true);
    let t0 = time::now();
    while cfg.state(q).0 < l_term + 2 {
        assert!(t0.elapsed() < ELECTION_BOUND, "peer {q}, alone, did not reach term {}", l_term + 2);
        time::sleep(Duration::from_millis(10));
    }
    assert_eq!(cfg.state(l), (l_term, true), "peer {l} lost its leadership of term {l_term}");

    cfg.cut(p, l);
    cfg.cut(q, l);
    cfg.cut(l, q);
    cfg.heal_partition();
    let t0 = time::now();
    let q_term = loop {
        if let Some(promised) = cfg.promised_term(p).filter(|&t| t > l_term) {
            break promised;
        }
        assert!(t0.elapsed() < ELECTION_BOUND, "peer {p} never answered a request in a term above {l_term}");
        time::sleep(Duration::from_millis(1));
    };
    cfg.crash(p);
    cfg.start(p);
    cfg.connect(p);
    // The monitor reads the restarted P within a poll or two.
    time::sleep(SETTLE);
    assert!(cfg.state(p).0 >= q_term, "peer {p} came back below term {q_term}");
    cfg.end();
}

/// Waits until peer `i` is in a term above `above` (polled every millisecond) and returns it.
fn term_above<R: RaftPeer>(cfg: &Cluster<R>, i: usize, above: u64) -> u64 {
    let t0 = time::now();
    loop {
        let (term, _) = cfg.state(i);
        if term > above {
            return term;
        }
        assert!(t0.elapsed() < ELECTION_BOUND, "peer {i} did not move past term {above}");
        time::sleep(Duration::from_millis(1));
    }
}

/// A candidate must count only the votes of its current election. Three peers: D leads term T0;
/// C and D are cut from each other both ways, and V's replies to C are held on their link. C,
/// hearing no leader, campaigns in T = T0 + 1 and V grants it, but the grant is held; C is then
/// cut from V too, so its later requests reach nobody. V's answers in T depose D, who wins T + 1
/// with V's vote. C, a candidate still, times out into T + 1, and only then is V's grant of T
/// released to it. A C that counts it has two votes of three and leads T + 1 beside D: the
/// monitor fails the second leader of T + 1. A correct C ignores the answer to an old election
/// and campaigns in vain until the ending heals everything.
pub fn stale_vote_reply_3a<R: RaftPeer>() {
    let n = 3;
    let cfg = Cluster::<R>::new(n, Reliability::Reliable, ApplierKind::Plain);
    cfg.begin("Test (3A): a vote granted in an earlier election reaches the candidate in a later one");

    cfg.one(&Command::Value(1), n, true);
    let d = cfg.check_one_leader();
    let (t0, _) = cfg.state(d);
    let (c, v) = ((d + 1) % n, (d + 2) % n);
    cfg.hold_replies(v, c);
    cfg.cut(c, d);
    cfg.cut(d, c);

    // C campaigns in T; once V has answered (it moves to T), V's answer is held and C's later
    // requests are cut.
    let t = term_above(&cfg, c, t0);
    assert_eq!(t, t0 + 1, "peer {c} skipped from term {t0} to {t}");
    assert_eq!(term_above(&cfg, v, t0), t, "peer {v} did not take C's term {t} from its vote request");
    cfg.cut(c, v);

    // C's next election is in T + 1: deliver the old grant while C still campaigns in it.
    let t_next = term_above(&cfg, c, t);
    assert_eq!(t_next, t + 1, "peer {c} skipped from term {t} to {t_next}");
    cfg.release_replies(v, c);

    // D (or V) leads a later term with the other's vote; the monitor has watched C meanwhile.
    leader_among(&cfg, &[d, v], t);
    time::sleep(SETTLE);
    cfg.end();
}
