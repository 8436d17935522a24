//! Delta debugging (Zeller and Hildebrandt's ddmin): from a set of faults that makes a run fail,
//! find a smaller one that still makes it fail the same way, testing subsets and complements of
//! ever finer partitions. The result is 1-minimal when the search completes: removing any single
//! fault of it no longer reproduces the failure.

/// What one trial of a candidate subset found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trial<T> {
    /// The run still failed the same check; the subset it actually used (a candidate may name
    /// faults the run never reached, which then change nothing and can be dropped).
    StillFails(Vec<T>),
    /// It passed, or failed another check.
    Differs,
    /// The attempt or time budget is spent: stop with the smallest failing set so far.
    OutOfBudget,
}

/// The smallest failing set found, and whether the search ran to its end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Minimized<T> {
    pub items: Vec<T>,
    pub complete: bool,
}

/// Splits `items` into `n` contiguous chunks of nearly equal size (`n <= items.len()`).
fn chunks<T: Clone>(items: &[T], n: usize) -> Vec<Vec<T>> {
    assert!(n >= 1 && n <= items.len(), "ddmin: {n} chunks of {} items", items.len());
    let (base, extra) = (items.len() / n, items.len() % n);
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    for i in 0..n {
        let len = base + usize::from(i < extra);
        out.push(items[start..start + len].to_vec());
        start += len;
    }
    out
}

/// Minimizes `items`, which must make `test` fail (the caller checked). `test` is called at most
/// once per candidate; the search stops early when it answers `OutOfBudget`.
pub fn ddmin<T: Clone>(mut items: Vec<T>, test: &mut impl FnMut(&[T]) -> Trial<T>) -> Minimized<T> {
    let mut n = 2usize;
    while items.len() >= 2 {
        n = n.min(items.len());
        let parts = chunks(&items, n);
        let mut reduced: Option<(Vec<T>, usize)> = None;
        // Reduce to a subset: one chunk alone still fails.
        for part in &parts {
            match test(part) {
                Trial::StillFails(used) => {
                    reduced = Some((used, 2));
                    break;
                }
                Trial::Differs => {}
                Trial::OutOfBudget => return Minimized { items, complete: false },
            }
        }
        // Reduce to a complement: everything but one chunk still fails (with two chunks the
        // complements are the chunks, already tried).
        if reduced.is_none() && n > 2 {
            for skip in 0..parts.len() {
                let complement: Vec<T> =
                    parts.iter().enumerate().filter(|&(i, _)| i != skip).flat_map(|(_, p)| p.iter().cloned()).collect();
                match test(&complement) {
                    Trial::StillFails(used) => {
                        reduced = Some((used, (n - 1).max(2)));
                        break;
                    }
                    Trial::Differs => {}
                    Trial::OutOfBudget => return Minimized { items, complete: false },
                }
            }
        }
        match reduced {
            Some((used, next_n)) => {
                items = used;
                n = next_n;
            }
            None if n >= items.len() => break,
            None => n = (2 * n).min(items.len()),
        }
    }
    Minimized { items, complete: true }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A "run" that fails when every item of `needed` is kept.
    fn needs<'a>(needed: &'static [u32], calls: &'a mut u32) -> impl FnMut(&[u32]) -> Trial<u32> + 'a {
        move |subset: &[u32]| {
            *calls += 1;
            if needed.iter().all(|n| subset.contains(n)) {
                Trial::StillFails(subset.to_vec())
            } else {
                Trial::Differs
            }
        }
    }

    #[test]
    fn finds_the_two_faults_that_matter_among_a_thousand() {
        let mut calls = 0;
        let out = ddmin((0..1000).collect(), &mut needs(&[17, 802], &mut calls));
        assert_eq!(out, Minimized { items: vec![17, 802], complete: true });
        assert!(calls < 150, "{calls} trials");
    }

    #[test]
    fn one_fault_and_a_run_that_reports_the_faults_it_used() {
        let mut calls = 0;
        // The run reaches only the even faults: a failing candidate shrinks to them at once.
        let mut test = |subset: &[u32]| {
            calls += 1;
            if subset.contains(&40) {
                Trial::StillFails(subset.iter().copied().filter(|x| x % 2 == 0).collect())
            } else {
                Trial::Differs
            }
        };
        let out = ddmin((0..100).collect(), &mut test);
        assert_eq!(out.items, vec![40]);
        assert!(calls < 40, "{calls} trials");
    }

    #[test]
    fn the_result_is_one_minimal_for_a_failure_needing_any_two_of_three() {
        let mut test = |subset: &[u32]| {
            let hits = [3, 50, 97].iter().filter(|x| subset.contains(x)).count();
            if hits >= 2 {
                Trial::StillFails(subset.to_vec())
            } else {
                Trial::Differs
            }
        };
        let out = ddmin((0..100).collect(), &mut test);
        assert_eq!(out.items.len(), 2, "{out:?}");
        assert!(out.complete);
    }

    #[test]
    fn a_spent_budget_stops_with_the_smallest_failing_set_so_far() {
        let mut left = 3;
        let mut test = |subset: &[u32]| {
            if left == 0 {
                return Trial::OutOfBudget;
            }
            left -= 1;
            if subset.contains(&7) {
                Trial::StillFails(subset.to_vec())
            } else {
                Trial::Differs
            }
        };
        let out = ddmin((0..64).collect(), &mut test);
        assert!(!out.complete);
        assert!(out.items.contains(&7) && out.items.len() < 64 && out.items.len() > 1, "{out:?}");
    }

    #[test]
    fn chunks_cover_every_item_once_in_order() {
        let items: Vec<u32> = (0..10).collect();
        let parts = chunks(&items, 3);
        assert_eq!(parts, vec![vec![0, 1, 2, 3], vec![4, 5, 6], vec![7, 8, 9]]);
        assert_eq!(chunks(&items, 10).len(), 10);
    }
}
