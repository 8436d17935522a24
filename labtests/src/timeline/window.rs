//! Bounding the page of a long run: a timeline of at most `MAX_ITEMS` drawn items (states,
//! applies, messages, bands, marks, client operations) is drawn whole; a longer one keeps the
//! `max_items` items that start nearest the failure (three quarters of them before it, since
//! what led to a failure matters more than what followed), plus the items that started earlier
//! and are still going on when the window opens (each lane's state then, bands, messages and
//! operations in flight). The page says how many items it left out and which virtual time span
//! it covers, so its size is bounded (70 to 85 bytes per item) whatever the run's length.

use super::model::{Timeline, Window};

/// Items drawn at most by default: a page of at most about 1.7 MB, which a browser parses and
/// draws at once (the report of issue 14 gives the measured open times).
pub const MAX_ITEMS: usize = 20_000;

/// Cuts `t` down to about `max_items` items around its failure (or its end).
pub fn bound(t: &mut Timeline, max_items: usize) {
    let total = t.items();
    let max_items = max_items.max(1);
    if total <= max_items {
        return;
    }
    let mut starts: Vec<u64> = Vec::with_capacity(total);
    starts.extend(t.states.iter().map(|s| s.at_us));
    starts.extend(t.applied.iter().map(|a| a.at_us));
    starts.extend(t.messages.iter().map(|m| m.sent_us));
    starts.extend(t.bands.iter().map(|b| b.from_us));
    starts.extend(t.marks.iter().map(|m| m.at_us));
    starts.extend(t.ops.iter().map(|o| o.call_us));
    starts.sort_unstable();
    let focus = t.failure.as_ref().map_or(t.end_us, |f| f.at_us);
    let at = starts.partition_point(|&s| s <= focus);
    let end = (at.saturating_sub(max_items * 3 / 4) + max_items).min(starts.len());
    let (from_us, to_us) = (starts[end - max_items], starts[end - 1]);
    let inside = |start: u64, stop: u64| start <= to_us && stop >= from_us;

    // Each lane's state when the window opens, then its changes inside it.
    let mut before = std::collections::BTreeMap::new();
    for (k, s) in t.states.iter().enumerate().filter(|(_, s)| s.at_us < from_us) {
        before.insert(s.lane, k);
    }
    let mut keep_state = vec![false; t.states.len()];
    before.values().for_each(|&k| keep_state[k] = true);
    let mut k = 0;
    t.states.retain(|s| {
        let keep = keep_state[k] || inside(s.at_us, s.at_us);
        k += 1;
        keep
    });
    t.applied.retain(|a| inside(a.at_us, a.at_us));
    t.messages.retain(|m| inside(m.sent_us, m.end_us.unwrap_or(u64::MAX)));
    t.bands.retain(|b| inside(b.from_us, b.to_us));
    t.marks.retain(|m| inside(m.at_us, m.at_us));
    t.ops.retain(|o| inside(o.call_us, o.return_us.unwrap_or(u64::MAX)));
    t.window = Some(Window { from_us, to_us, items_total: total, items_left_out: total - t.items() });
}

#[cfg(test)]
mod tests {
    use super::super::model::{Applied, FailureMark, State};
    use super::*;

    fn applies(n: u64) -> Timeline {
        Timeline {
            end_us: n * 10,
            lanes: vec!["peer-0".into()],
            states: vec![State { lane: 0, at_us: 0, term: 1, leader: true, seen: true }],
            applied: (0..n).map(|i| Applied { lane: 0, at_us: i * 10, index: i + 1, snapshot: false }).collect(),
            ..Timeline::default()
        }
    }

    #[test]
    fn a_short_run_is_drawn_whole() {
        let mut t = applies(100);
        bound(&mut t, 1000);
        assert!(t.window.is_none());
        assert_eq!(t.items(), 101);
    }

    #[test]
    fn a_long_run_keeps_the_items_around_the_failure_and_the_state_in_force() {
        let mut t = applies(10_000);
        t.failure = Some(FailureMark { at_us: 50_000, lane: None, text: "boom".into() });
        bound(&mut t, 1000);
        let w = t.window.clone().expect("windowed");
        assert!(w.from_us < 50_000 && 50_000 < w.to_us, "{w:?}");
        assert!(t.items() <= 1001, "{}", t.items());
        assert_eq!(w.items_total - w.items_left_out, t.items());
        // The leader state from time 0 still colours the window.
        assert_eq!(t.states.len(), 1);
        // Three quarters before the failure.
        let before = t.applied.iter().filter(|a| a.at_us <= 50_000).count();
        assert!((700..=800).contains(&before), "{before}");
    }
}
