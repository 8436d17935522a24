//! Which operations a view draws: every operation of a small history; of a large one, a window
//! of consecutive calls around the operation that could not be placed, plus the operations still
//! running when the window opens. The rest is counted in the page's summary, not drawn, so the
//! page's size is bounded whatever the history's (a 50 MB history wrote a 350 MB page before).

use super::history::History;

/// Operations drawn at most by default: enough to show what led to a failure, small enough
/// that the page opens at once.
pub const DEFAULT_MAX_VIEW_OPS: usize = 600;

/// The operations a page draws.
#[derive(Clone, Debug)]
pub(crate) struct Window {
    /// Per operation of the history: drawn or not.
    pub(crate) shown: Vec<bool>,
    /// Operations not drawn that were called before the window, and after it.
    pub(crate) before: usize,
    pub(crate) after: usize,
    /// Call times of the first and last call of the window, if anything was left out.
    pub(crate) range: Option<(u64, u64)>,
}

/// Chooses at most about `max_ops` operations around `focus` (an operation index; without one,
/// the start of the history). Operations called before the window that are still running when
/// it opens (or never returned) are added, at most `max_ops / 2` of them, latest call first.
pub(crate) fn choose<I, O>(history: &History<I, O>, focus: Option<usize>, max_ops: usize) -> Window {
    let ops = history.ops();
    let max_ops = max_ops.max(1);
    if ops.len() <= max_ops {
        return Window { shown: vec![true; ops.len()], before: 0, after: 0, range: None };
    }
    let mut by_call: Vec<usize> = (0..ops.len()).collect();
    by_call.sort_by_key(|&index| (ops[index].call_stamp().order_key(false), index));
    let at = focus.and_then(|focus| by_call.iter().position(|&index| index == focus)).unwrap_or(0);
    let end = (at.saturating_sub(max_ops / 2) + max_ops).min(ops.len());
    let start = end - max_ops;
    let mut shown = vec![false; ops.len()];
    for &index in &by_call[start..end] {
        shown[index] = true;
    }
    let opens = ops[by_call[start]].call_stamp().order_key(false);
    let running = by_call[..start]
        .iter()
        .rev()
        .filter(|&&index| ops[index].return_stamp().is_none_or(|ret| ret.order_key(true) > opens))
        .take(max_ops / 2);
    let mut added = 0;
    for &index in running {
        shown[index] = true;
        added += 1;
    }
    let range = Some((ops[by_call[start]].call_time, ops[by_call[end - 1]].call_time));
    Window { shown, before: start - added, after: ops.len() - end, range }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_histories_are_drawn_whole_and_large_ones_around_the_focus() {
        let mut history: History<u8, u8> = History::new();
        for i in 0..100u64 {
            history.push(i % 4, 10 * i, 10 * i + 5, 0, 0).unwrap();
        }
        let whole = choose(&history, Some(3), 100);
        assert!(whole.range.is_none() && whole.shown.iter().all(|&shown| shown));

        let window = choose(&history, Some(50), 10);
        let drawn: Vec<usize> = (0..100).filter(|&i| window.shown[i]).collect();
        assert_eq!(drawn, (45..55).collect::<Vec<_>>());
        assert_eq!((window.before, window.after, window.range), (45, 45, Some((450, 540))));
        // Near the end the window slides back to stay full.
        let late = choose(&history, Some(99), 10);
        assert_eq!((late.before, late.after), (90, 0));
    }

    #[test]
    fn operations_running_when_the_window_opens_are_drawn() {
        let mut history: History<u8, u8> = History::new();
        history.push_unknown(7, 0, 1);
        history.push(8, 1, 1000, 1, 0).unwrap();
        for i in 0..50u64 {
            history.push(i % 4, 10 + 10 * i, 15 + 10 * i, 0, 0).unwrap();
        }
        let window = choose(&history, Some(40), 10);
        assert!(window.shown[0] && window.shown[1], "the never-returned and the long operation overlap the window");
        assert_eq!(window.shown.iter().filter(|&&shown| shown).count(), 12);
        assert_eq!(window.before + window.after + 12, history.len());
    }
}
