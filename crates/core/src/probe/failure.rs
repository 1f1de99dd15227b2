//! Why an observation produced no facts, typed.
//!
//! Each probe crate has one `thiserror` enum implementing [`ProbeError`]; core only
//! needs to know who is to blame (the target → `fail`, the checker → `error`) and
//! whether it was a timeout, and keeps the typed error for anyone who wants more.

use std::fmt;

use super::OptionProblem;

/// Who is to blame for a failed observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    /// The target misbehaved (refused, timed out, DNS/TLS failure): the item fails.
    Target,
    /// We could not observe (bad option after interpolation, probe bug): the item errors.
    Checker,
}

/// What a probe crate's error enum tells core.
pub trait ProbeError: std::error::Error + Send + Sync + 'static {
    /// Who is to blame; most failures are the target's.
    fn blame(&self) -> Blame {
        Blame::Target
    }

    /// True when the target did not answer in time.
    fn is_timeout(&self) -> bool {
        false
    }
}

/// A failed observation: a probe's typed error behind one type core can handle.
pub struct Failure {
    error: Box<dyn ProbeError>,
}

impl Failure {
    /// Wraps a probe's error.
    pub fn new(error: impl ProbeError) -> Failure {
        Failure {
            error: Box::new(error),
        }
    }

    /// Options that do not parse or validate once interpolated: the checker's fault.
    pub fn options(problem: OptionProblem) -> Failure {
        Failure::new(InvalidOptions(problem))
    }

    /// Who is to blame.
    pub fn blame(&self) -> Blame {
        self.error.blame()
    }

    /// True when the target is to blame (the item fails rather than errors).
    pub fn is_target(&self) -> bool {
        self.blame() == Blame::Target
    }

    /// True when the target did not answer in time.
    pub fn is_timeout(&self) -> bool {
        self.error.is_timeout()
    }

    /// The reason shown in reports: the error's message.
    pub fn reason(&self) -> String {
        self.error.to_string()
    }

    /// The probe's own error, when it is of type `E`.
    pub fn downcast_ref<E: ProbeError>(&self) -> Option<&E> {
        let e: &(dyn std::error::Error + 'static) = self.error.as_ref();
        e.downcast_ref::<E>()
    }
}

impl<E: ProbeError> From<E> for Failure {
    fn from(error: E) -> Failure {
        Failure::new(error)
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Failure")
            .field("blame", &self.blame())
            .field("reason", &self.reason())
            .finish()
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

/// Interpolated options a probe cannot use.
#[derive(Debug, thiserror::Error)]
#[error("{}", describe(.0))]
struct InvalidOptions(OptionProblem);

fn describe(p: &OptionProblem) -> String {
    match &p.key {
        Some(k) if !p.message.starts_with('`') => format!("option `{k}`: {}", p.message),
        _ => format!("options: {}", p.message),
    }
}

impl ProbeError for InvalidOptions {
    fn blame(&self) -> Blame {
        Blame::Checker
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    enum Sample {
        #[error("connection refused")]
        Refused,
        #[error("timed out")]
        Slow,
    }

    impl ProbeError for Sample {
        fn is_timeout(&self) -> bool {
            matches!(self, Sample::Slow)
        }
    }

    #[test]
    fn keeps_the_typed_error_and_its_blame() {
        let f = Failure::from(Sample::Slow);
        assert!(f.is_timeout() && f.is_target());
        assert_eq!(f.reason(), "timed out");
        assert!(matches!(f.downcast_ref::<Sample>(), Some(Sample::Slow)));
        let f = Failure::from(Sample::Refused);
        assert!(!f.is_timeout());
        let f = Failure::options(OptionProblem::at("port", "port 0 is out of range"));
        assert_eq!(f.blame(), Blame::Checker);
        assert_eq!(f.reason(), "option `port`: port 0 is out of range");
    }
}
