//! The sequential specification a history is checked against.

use std::fmt::Debug;
use std::hash::Hash;

use super::history::Operation;

/// One independent sub-history: the operations of a history that only interact with each other
/// (P-compositionality, Horn and Kroening). A history is linearizable iff every partition is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    /// Shown to users, e.g. `key "k"`.
    pub label: String,
    /// Indices into the history's operations.
    pub op_indices: Vec<usize>,
}

/// A sequential specification: a deterministic state machine over inputs and outputs.
///
/// `Sync` because partitions are checked on several threads at once.
pub trait Model: Sync {
    /// Model state; equality and hash key the search cache, so two states must be equal exactly
    /// when no future operation can tell them apart. `'static`: a search stopped by its
    /// deadline frees its cache on another thread.
    type State: Clone + Eq + Hash + Debug + Send + 'static;
    type Input: Debug + Sync;
    type Output: Debug + Sync;

    fn init(&self) -> Self::State;

    /// Applies `input` to `state`. With `Some(output)`, returns the next state if the operation
    /// may legally return `output` from `state`, `None` if not. With `None` (the operation never
    /// returned, its output is unknown) returns the state the operation leads to whatever it
    /// returned; the models here are deterministic, so that state is unique.
    fn step(&self, state: &Self::State, input: &Self::Input, output: Option<&Self::Output>) -> Option<Self::State>;

    /// [`Model::step`] from a state the caller gives up (the replay of a sequential partition
    /// keeps no earlier state), so a model whose states share storage may change it in place.
    /// Must answer exactly as `step` does.
    fn step_owned(
        &self,
        state: Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Option<Self::State> {
        self.step(&state, input, output)
    }

    /// Splits the history into independent partitions. The default keeps one partition; an
    /// override must put every operation in exactly one partition (the checker asserts it).
    fn partition(&self, ops: &[Operation<Self::Input, Self::Output>]) -> Vec<Partition> {
        vec![Partition { label: "all operations".to_string(), op_indices: (0..ops.len()).collect() }]
    }

    /// Short text for an operation, e.g. `get("k") -> "v1"`; `None` output: never returned.
    fn describe_op(&self, input: &Self::Input, output: Option<&Self::Output>) -> String {
        match output {
            Some(output) => format!("{input:?} -> {output:?}"),
            None => format!("{input:?} -> ?"),
        }
    }

    /// Short text for a state, shown on hover in the view.
    fn describe_state(&self, state: &Self::State) -> String {
        format!("{state:?}")
    }
}
