//! The submits waiting for their entries, by log index, and the answers the applier leaves them.
//!
//! A waiter is identified by the (index, term) Raft gave its entry: by the Log Matching Property
//! the entry applied at that index is the waiter's own exactly when its term is the same.
//!
//! Not the lab's concern, an optimisation: both tables are small arrays rather than `BTreeMap`s.
//! A leader's indexes grow and are applied in order, so a waiter joins at the back and leaves at
//! the front; answers are taken soon after they are left. (The B-tree nodes were a cache miss of
//! their own at every submit and apply.)

use std::collections::VecDeque;

struct Waiter {
    ticket: u64,
    term: u64,
}

/// Waiters by log index, in index order (a map with the `BTreeMap` methods used here).
struct ByIndex(VecDeque<(u64, Waiter)>);

impl ByIndex {
    /// Where `index` is, or would go.
    fn search(&self, index: u64) -> Result<usize, usize> {
        self.0.binary_search_by_key(&index, |&(i, _)| i)
    }

    /// Adds or replaces the waiter at `index`; returns the one it replaced.
    fn insert(&mut self, index: u64, waiter: Waiter) -> Option<Waiter> {
        if self.0.back().is_none_or(|&(last, _)| last < index) {
            self.0.push_back((index, waiter));
            return None;
        }
        match self.search(index) {
            Ok(at) => Some(std::mem::replace(&mut self.0[at].1, waiter)),
            Err(at) => {
                self.0.insert(at, (index, waiter));
                None
            }
        }
    }

    fn get(&self, index: &u64) -> Option<&Waiter> {
        self.search(*index).ok().map(|at| &self.0[at].1)
    }

    /// Asked at every applied entry: a follower has no waiters, and a leader's usually waits at
    /// the front.
    fn contains_key(&self, index: &u64) -> bool {
        match self.0.front() {
            None => false,
            Some(&(first, _)) if first >= *index => first == *index,
            Some(_) => self.search(*index).is_ok(),
        }
    }

    fn remove(&mut self, index: &u64) -> Option<Waiter> {
        if self.0.front().is_some_and(|&(first, _)| first == *index) {
            return self.0.pop_front().map(|(_, waiter)| waiter);
        }
        let at = self.search(*index).ok()?;
        self.0.remove(at).map(|(_, waiter)| waiter)
    }

    /// Removes the waiter with the lowest index if that index is at most `index`.
    fn pop_first_through(&mut self, index: u64) -> Option<Waiter> {
        if self.0.front().is_some_and(|&(first, _)| first <= index) {
            return self.0.pop_front().map(|(_, waiter)| waiter);
        }
        None
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Answers by ticket (a map with the `BTreeMap` methods used here): few, and taken soon.
struct Results<T>(Vec<(u64, Option<T>)>);

impl<T> Results<T> {
    /// Leaves the answer for `ticket` (a ticket gets at most one).
    fn insert(&mut self, ticket: u64, result: Option<T>) {
        debug_assert!(self.0.iter().all(|&(t, _)| t != ticket), "two answers for ticket {ticket}");
        self.0.push((ticket, result));
    }

    fn remove(&mut self, ticket: &u64) -> Option<Option<T>> {
        let at = self.0.iter().position(|&(t, _)| t == *ticket)?;
        Some(self.0.swap_remove(at).1)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

pub(super) struct Waiters<T> {
    by_index: ByIndex,
    /// Answers by ticket: Some(output) when the waiter's entry was applied, None when another
    /// entry took its index (or a snapshot overtook it).
    results: Results<T>,
    next_ticket: u64,
}

impl<T> Default for Waiters<T> {
    fn default() -> Self {
        Waiters { by_index: ByIndex(VecDeque::new()), results: Results(Vec::new()), next_ticket: 0 }
    }
}

impl<T> Waiters<T> {
    /// Registers a submit whose entry Raft placed at (index, term); returns its ticket.
    pub(super) fn add(&mut self, index: u64, term: u64) -> u64 {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        if let Some(old) = self.by_index.insert(index, Waiter { ticket, term }) {
            // An earlier proposal at this index (older term) cannot be committed there any more.
            self.results.insert(old.ticket, None);
        }
        ticket
    }

    /// No submit has a ticket: none waits for an entry or has an answer to take.
    pub(super) fn is_empty(&self) -> bool {
        self.by_index.is_empty() && self.results.is_empty()
    }

    /// A submit waits for the entry at `index`.
    pub(super) fn waits_at(&self, index: u64) -> bool {
        self.by_index.contains_key(&index)
    }

    /// The answer for `ticket`, once there is one.
    pub(super) fn take_result(&mut self, ticket: u64) -> Option<Option<T>> {
        self.results.remove(&ticket)
    }

    /// The submit with `ticket` at `index` gave up waiting.
    pub(super) fn abandon(&mut self, index: u64, ticket: u64) {
        if self.by_index.get(&index).is_some_and(|w| w.ticket == ticket) {
            self.by_index.remove(&index);
        }
        self.results.remove(&ticket);
    }

    /// The entry at (index, term) was applied and produced `output`: its waiter gets the output
    /// if the entry is its own, and fails otherwise; waiters below `index` fail (their indexes
    /// went by without them).
    pub(super) fn applied(&mut self, index: u64, term: u64, output: T) {
        if let Some(waiter) = self.by_index.remove(&index) {
            let result = (waiter.term == term).then_some(output);
            self.results.insert(waiter.ticket, result);
        }
        self.overtaken_through(index);
    }

    /// Fails every waiter at or below `index` (a snapshot replaced the state through it).
    pub(super) fn overtaken_through(&mut self, index: u64) {
        // Usually there are none.
        while let Some(waiter) = self.by_index.pop_first_through(index) {
            self.results.insert(waiter.ticket, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiters_get_their_output_or_fail_when_something_else_is_applied() {
        let mut w = Waiters::default();
        let a = w.add(3, 1);
        let b = w.add(4, 1);
        let c = w.add(6, 1);
        assert_eq!(w.take_result(a), None);
        // Index 3 holds the waiter's own entry (same term): it gets the output.
        w.applied(3, 1, "three");
        assert_eq!(w.take_result(a), Some(Some("three")));
        // Index 4 holds an entry of another term: that waiter fails (wrong leader).
        w.applied(4, 2, "four");
        assert_eq!(w.take_result(b), Some(None));
        // A snapshot through index 6 overtakes the last waiter.
        w.overtaken_through(6);
        assert_eq!(w.take_result(c), Some(None));
        assert!(w.by_index.is_empty() && w.results.is_empty());
    }

    #[test]
    fn a_newer_proposal_at_an_index_fails_the_older_and_abandoning_leaves_nothing() {
        let mut w: Waiters<&str> = Waiters::default();
        let old = w.add(5, 1);
        let new = w.add(5, 3);
        assert_eq!(w.take_result(old), Some(None));
        w.abandon(5, new);
        w.applied(5, 3, "five");
        assert!(w.by_index.is_empty() && w.results.is_empty());
    }

    /// The tables as `BTreeMap`s (what they were), to compare with.
    #[derive(Default)]
    struct Model {
        by_index: std::collections::BTreeMap<u64, (u64, u64)>,
        results: std::collections::BTreeMap<u64, Option<u64>>,
        next_ticket: u64,
    }

    impl Model {
        fn add(&mut self, index: u64, term: u64) -> u64 {
            let ticket = self.next_ticket;
            self.next_ticket += 1;
            if let Some((old, _)) = self.by_index.insert(index, (ticket, term)) {
                self.results.insert(old, None);
            }
            ticket
        }

        fn abandon(&mut self, index: u64, ticket: u64) {
            if self.by_index.get(&index).is_some_and(|w| w.0 == ticket) {
                self.by_index.remove(&index);
            }
            self.results.remove(&ticket);
        }

        fn applied(&mut self, index: u64, term: u64, output: u64) {
            if let Some((ticket, t)) = self.by_index.remove(&index) {
                self.results.insert(ticket, (t == term).then_some(output));
            }
            self.overtaken_through(index);
        }

        fn overtaken_through(&mut self, index: u64) {
            while let Some(w) = self.by_index.first_entry().filter(|w| *w.key() <= index) {
                self.results.insert(w.remove().0, None);
            }
        }
    }

    /// Random proposals (in order, out of order, at taken indexes), applies, snapshots,
    /// abandons and takes: every answer and every query as the `BTreeMap`s give them.
    #[test]
    fn the_arrays_answer_as_btree_maps_do() {
        let mut rng = crate::test_rng::TestRng::new(0x2545_f491_4f6c_dd1d);
        let mut next = move |bound: u64| rng.below(bound);
        for _ in 0..200 {
            let (mut w, mut m) = (Waiters::default(), Model::default());
            let mut tickets = Vec::new();
            let mut index: u64 = 1;
            for _ in 0..300 {
                match next(8) {
                    0..=2 => {
                        // Mostly the next index; sometimes one already taken or skipped.
                        let at = if next(4) == 0 { index.saturating_sub(next(5)).max(1) } else { index + next(2) };
                        index = index.max(at + 1);
                        let term = 1 + next(3);
                        let ticket = w.add(at, term);
                        assert_eq!(ticket, m.add(at, term));
                        tickets.push((at, ticket));
                    }
                    3 | 4 => {
                        let (at, term, output) = (1 + next(index + 1), 1 + next(3), next(1000));
                        w.applied(at, term, output);
                        m.applied(at, term, output);
                    }
                    5 => {
                        let at = next(index + 1);
                        w.overtaken_through(at);
                        m.overtaken_through(at);
                    }
                    6 if !tickets.is_empty() => {
                        let (at, ticket) = tickets[next(tickets.len() as u64) as usize];
                        w.abandon(at, ticket);
                        m.abandon(at, ticket);
                    }
                    _ if !tickets.is_empty() => {
                        let (_, ticket) = tickets[next(tickets.len() as u64) as usize];
                        assert_eq!(w.take_result(ticket), m.results.remove(&ticket), "ticket {ticket}");
                    }
                    _ => {}
                }
                let at = next(index + 1);
                assert_eq!(w.waits_at(at), m.by_index.contains_key(&at), "waits at {at}");
                assert_eq!(w.is_empty(), m.by_index.is_empty() && m.results.is_empty());
                let indexes: Vec<u64> = w.by_index.0.iter().map(|&(i, _)| i).collect();
                assert!(indexes.is_sorted(), "{indexes:?}");
                assert_eq!(indexes, m.by_index.keys().copied().collect::<Vec<_>>());
            }
        }
    }
}
