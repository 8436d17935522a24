//! The submits waiting for their entries, by log index, and the answers the applier leaves them.
//!
//! A waiter is identified by the (index, term) Raft gave its entry: by the Log Matching Property
//! the entry applied at that index is the waiter's own exactly when its term is the same.

use std::collections::BTreeMap;

struct Waiter {
    ticket: u64,
    term: u64,
}

pub(super) struct Waiters<T> {
    by_index: BTreeMap<u64, Waiter>,
    /// Answers by ticket: Some(output) when the waiter's entry was applied, None when another
    /// entry took its index (or a snapshot overtook it).
    results: BTreeMap<u64, Option<T>>,
    next_ticket: u64,
}

impl<T> Default for Waiters<T> {
    fn default() -> Self {
        Waiters { by_index: BTreeMap::new(), results: BTreeMap::new(), next_ticket: 0 }
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
        // Usually there are none: a loop, not `split_off`, which rebuilds the map every time.
        while let Some(waiter) = self.by_index.first_entry().filter(|w| *w.key() <= index) {
            self.results.insert(waiter.remove().ticket, None);
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
}
