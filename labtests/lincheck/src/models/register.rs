//! Single-register model: read, write, and compare-and-set returning whether it swapped.
//!
//! The register starts unwritten: a read then returns `None`, and a `cas` fails (nothing equals
//! "never written"). One register means one partition.

use crate::model::Model;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegisterInput {
    Read,
    Write(i64),
    /// Sets the register to `to` iff it holds `from`.
    Cas {
        from: i64,
        to: i64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegisterOutput {
    /// The value read; `None` if never written.
    Read(Option<i64>),
    /// A write completed.
    Done,
    /// Whether a cas swapped.
    Cas(bool),
}

#[derive(Clone, Copy, Debug, Default)]
pub struct RegisterModel;

impl Model for RegisterModel {
    /// `None` until the first write.
    type State = Option<i64>;
    type Input = RegisterInput;
    type Output = RegisterOutput;

    fn init(&self) -> Option<i64> {
        None
    }

    fn step(&self, state: &Option<i64>, input: &RegisterInput, output: Option<&RegisterOutput>) -> Option<Option<i64>> {
        match (input, output) {
            (RegisterInput::Read, None) => Some(*state),
            (RegisterInput::Read, Some(RegisterOutput::Read(seen))) => (seen == state).then_some(*state),
            (RegisterInput::Write(value), None | Some(RegisterOutput::Done)) => Some(Some(*value)),
            (RegisterInput::Cas { from, to }, output) => {
                let swaps = *state == Some(*from);
                match output {
                    None => {}
                    Some(RegisterOutput::Cas(swapped)) if *swapped == swaps => {}
                    Some(RegisterOutput::Cas(_)) => return None,
                    Some(other) => mismatch(input, other),
                }
                Some(if swaps { Some(*to) } else { *state })
            }
            (input, Some(output)) => mismatch(input, output),
        }
    }

    fn describe_op(&self, input: &RegisterInput, output: Option<&RegisterOutput>) -> String {
        let call = match input {
            RegisterInput::Read => "read()".to_string(),
            RegisterInput::Write(value) => format!("write({value})"),
            RegisterInput::Cas { from, to } => format!("cas({from}, {to})"),
        };
        match output {
            None => format!("{call} -> ?"),
            Some(RegisterOutput::Done) => call,
            Some(RegisterOutput::Read(Some(value))) => format!("{call} -> {value}"),
            Some(RegisterOutput::Read(None)) => format!("{call} -> never written"),
            Some(RegisterOutput::Cas(swapped)) => format!("{call} -> {swapped}"),
        }
    }

    fn describe_state(&self, state: &Option<i64>) -> String {
        match state {
            Some(value) => value.to_string(),
            None => "never written".to_string(),
        }
    }
}

/// An output of the wrong kind for its input is a bug in whoever built the history.
fn mismatch(input: &RegisterInput, output: &RegisterOutput) -> ! {
    panic!("register history bug: output {output:?} cannot answer {input:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cas_swaps_only_on_match_and_never_on_unwritten() {
        let cas = RegisterInput::Cas { from: 1, to: 2 };
        let m = RegisterModel;
        assert_eq!(m.step(&None, &cas, Some(&RegisterOutput::Cas(false))), Some(None));
        assert_eq!(m.step(&None, &cas, Some(&RegisterOutput::Cas(true))), None);
        assert_eq!(m.step(&Some(1), &cas, None), Some(Some(2)));
        assert_eq!(m.step(&Some(3), &cas, None), Some(Some(3)));
        let read = RegisterInput::Read;
        assert_eq!(m.step(&Some(3), &read, Some(&RegisterOutput::Read(Some(3)))), Some(Some(3)));
        assert_eq!(m.step(&Some(3), &read, Some(&RegisterOutput::Read(None))), None);
    }
}
