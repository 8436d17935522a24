//! When tests write the HTML view: the `LAB_VIS` environment variable.

use std::fmt;

/// Environment variable read by [`VisPolicy::from_env`].
pub const LAB_VIS: &str = "LAB_VIS";

/// When to write the view of a checked history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VisPolicy {
    /// Only when the history is not linearizable or the check was inconclusive (the default).
    OnFailure,
    /// For every history, passing ones too.
    Always,
    /// Never.
    Never,
}

/// `LAB_VIS` holds something else than the accepted values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadVisPolicy {
    pub value: String,
}

impl fmt::Display for BadVisPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{LAB_VIS}={:?} is not understood: accepted values are always|never|on-failure (unset means on-failure)",
            self.value
        )
    }
}

impl std::error::Error for BadVisPolicy {}

impl VisPolicy {
    /// Reads `LAB_VIS`; unset or empty means [`VisPolicy::OnFailure`].
    pub fn from_env() -> Result<Self, BadVisPolicy> {
        match std::env::var_os(LAB_VIS) {
            None => Ok(Self::OnFailure),
            Some(value) => Self::parse(&value.to_string_lossy()),
        }
    }

    /// Parses `always`, `never` or `on-failure`; empty means `on-failure`.
    pub fn parse(value: &str) -> Result<Self, BadVisPolicy> {
        match value {
            "" | "on-failure" => Ok(Self::OnFailure),
            "always" => Ok(Self::Always),
            "never" => Ok(Self::Never),
            other => Err(BadVisPolicy { value: other.to_string() }),
        }
    }

    /// Whether to write the view of a history whose check `passed` (verdict Ok).
    pub fn should_write(self, passed: bool) -> bool {
        match self {
            Self::Always => true,
            Self::Never => false,
            Self::OnFailure => !passed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_accepted_values_and_names_the_variable_on_error() {
        assert_eq!(VisPolicy::parse("always"), Ok(VisPolicy::Always));
        assert_eq!(VisPolicy::parse("never"), Ok(VisPolicy::Never));
        assert_eq!(VisPolicy::parse("on-failure"), Ok(VisPolicy::OnFailure));
        assert_eq!(VisPolicy::parse(""), Ok(VisPolicy::OnFailure));
        let error = VisPolicy::parse("yes").unwrap_err().to_string();
        assert_eq!(
            error,
            "LAB_VIS=\"yes\" is not understood: accepted values are always|never|on-failure (unset means on-failure)"
        );
        assert!(VisPolicy::OnFailure.should_write(false));
        assert!(!VisPolicy::OnFailure.should_write(true));
        assert!(VisPolicy::Always.should_write(true));
        assert!(!VisPolicy::Never.should_write(false));
    }
}
