//! The durable-term check: a peer never comes back from a crash in a term below one it has
//! answered a request in. Figure 2 puts currentTerm on stable storage before any RPC reply, so
//! once a peer answered a request in term T, a restart must find T (or more) on disk; a peer
//! back in an older term may accept the deposed leader of that term or vote in it again.
//!
//! All from the public API and the network's counters: the monitor reads a peer's `state()`
//! (term T) and then how many requests its server was dispatched (d). Terms only grow while a
//! peer runs, so a request dispatched after that read is handled in T or later; once the server
//! has answered more than d requests, one of them was such a request, and its reply promised T.

use std::time::Duration;

/// One monitor sample of one peer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TermSample {
    pub(crate) peer: usize,
    pub(crate) incarnation: u64,
    /// What `state()` returned.
    pub(crate) term: u64,
    /// Requests dispatched to the peer's server, read after `state()` returned.
    pub(crate) dispatched: u64,
    /// Requests the peer's server answered, read after `dispatched`.
    pub(crate) answered: u64,
    /// Virtual time since the start.
    pub(crate) at: Duration,
}

#[derive(Clone, Debug, Default, PartialEq)]
struct PeerTerms {
    incarnation: u64,
    /// The highest term the peer answered a request in, over all incarnations, and when the
    /// monitor first saw it in that term.
    promised: Option<(u64, Duration)>,
    /// Terms seen in this incarnation that no answer has bound yet: (term, dispatched, at).
    pending: Vec<(u64, u64, Duration)>,
}

/// What the monitor knows of every peer's promised terms.
pub(crate) struct DurableTerms {
    peers: Vec<PeerTerms>,
}

impl DurableTerms {
    pub(crate) fn new(n: usize) -> DurableTerms {
        DurableTerms { peers: vec![PeerTerms::default(); n] }
    }

    /// The highest term peer `i` is known to have answered a request in.
    pub(crate) fn promised(&self, i: usize) -> Option<u64> {
        self.peers[i].promised.map(|(term, _)| term)
    }

    /// Takes one sample; fails if the peer is below a term it promised.
    #[inline]
    pub(crate) fn observe(&mut self, s: TermSample) -> Result<(), String> {
        let p = &self.peers[s.peer];
        // Most samples change nothing: the same incarnation, not below the promised term, no
        // pending term bound by a new answer (a leader's server is rarely asked anything, so its
        // term stays pending), and not in a newer term than the last pending or promised one.
        // The full path below would then neither fail, nor bind, drop or add a term.
        let newer = |t: u64| s.term > t;
        let unchanged = s.incarnation == p.incarnation
            && p.promised.is_none_or(|(t, _)| s.term >= t)
            && p.pending.iter().all(|&(_, dispatched, _)| s.answered <= dispatched)
            && !(p.pending.last().is_none_or(|&(t, _, _)| newer(t)) && p.promised.is_none_or(|(t, _)| newer(t)));
        if unchanged {
            return Ok(());
        }
        self.observe_changed(s)
    }

    /// [`DurableTerms::observe`] for a sample that may change something.
    #[inline(never)]
    fn observe_changed(&mut self, s: TermSample) -> Result<(), String> {
        let p = &mut self.peers[s.peer];
        if s.incarnation != p.incarnation {
            // Counters start again with the new server; what the old one answered after its
            // last sample is unknown, so its pending terms bind nothing.
            p.incarnation = s.incarnation;
            p.pending.clear();
        }
        if let Some((promised, seen_at)) = p.promised {
            if s.term < promised {
                return Err(format!(
                    "peer {} is in term {} at {:.3}s (incarnation {}), but it answered requests in term {promised} \
                     (seen in it at {:.3}s) before it crashed: a term must be on stable storage before any reply",
                    s.peer,
                    s.term,
                    s.at.as_secs_f64(),
                    s.incarnation,
                    seen_at.as_secs_f64()
                ));
            }
        }
        for &(term, dispatched, at) in &p.pending {
            if s.answered > dispatched && p.promised.is_none_or(|(t, _)| term > t) {
                p.promised = Some((term, at));
            }
        }
        p.pending.retain(|&(_, dispatched, _)| s.answered <= dispatched);
        let newer = |t: u64| s.term > t;
        if p.pending.last().is_none_or(|&(t, _, _)| newer(t)) && p.promised.is_none_or(|(t, _)| newer(t)) {
            p.pending.push((s.term, s.dispatched, s.at));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(incarnation: u64, term: u64, dispatched: u64, answered: u64, at_ms: u64) -> TermSample {
        TermSample { peer: 0, incarnation, term, dispatched, answered, at: Duration::from_millis(at_ms) }
    }

    /// The shortcut for samples that change nothing answers and leaves the state exactly as the
    /// full path does, over random runs of samples (restarts, term changes, answers, lost terms).
    #[test]
    fn the_shortcut_agrees_with_the_full_path() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut draw = |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let mut failures = 0;
        for _ in 0..2_000 {
            let (mut fast, mut full) = (DurableTerms::new(1), DurableTerms::new(1));
            let (mut incarnation, mut term, mut dispatched, mut answered) = (1u64, 1u64, 0u64, 0u64);
            for at_ms in 0..40 {
                match draw(10) {
                    0 => {
                        incarnation += 1;
                        term = term.saturating_sub(draw(3)).max(1);
                        (dispatched, answered) = (0, 0);
                    }
                    1 | 2 => term += 1,
                    _ => {}
                }
                dispatched += draw(3);
                answered = (answered + draw(3)).min(dispatched);
                let s = sample(incarnation, term, dispatched, answered, at_ms);
                let (a, b) = (fast.observe(s), full.observe_changed(s));
                assert_eq!(a, b, "{s:?}");
                assert_eq!(fast.peers, full.peers, "{s:?}");
                failures += usize::from(a.is_err());
            }
        }
        assert!(failures > 0, "some runs should come back below a promised term");
    }

    #[test]
    fn a_restart_below_a_term_answered_in_fails() {
        let mut d = DurableTerms::new(1);
        d.observe(sample(1, 5, 10, 10, 0)).unwrap();
        // Answers beyond the 10 requests dispatched by the time term 5 was seen: promised.
        d.observe(sample(1, 5, 11, 11, 10)).unwrap();
        assert_eq!(d.promised(0), Some(5));
        let e = d.observe(sample(2, 4, 0, 0, 20)).unwrap_err();
        assert!(e.contains("peer 0 is in term 4") && e.contains("answered requests in term 5"), "{e}");
    }

    #[test]
    fn a_term_seen_but_never_answered_in_may_be_lost() {
        let mut d = DurableTerms::new(1);
        d.observe(sample(1, 5, 10, 8, 0)).unwrap();
        // The two requests in flight when term 5 was seen are answered: they may have been
        // handled before the term moved.
        d.observe(sample(1, 5, 10, 10, 10)).unwrap();
        assert_eq!(d.promised(0), None);
        d.observe(sample(2, 4, 0, 0, 20)).unwrap();
        // The new incarnation's counters start again: its own promises count from its samples.
        d.observe(sample(2, 6, 3, 3, 30)).unwrap();
        d.observe(sample(2, 6, 4, 4, 40)).unwrap();
        assert_eq!(d.promised(0), Some(6));
    }
}
