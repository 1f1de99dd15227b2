//! Which stored run a new run is compared with (`--baseline`, `diff --baseline`).

use preflight_model::Report;

use crate::{Filter, HistoryError, Store};

/// Which stored run to compare against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Baseline {
    /// The last run of this phase (same checklist and environment).
    Phase(String),
    /// The previous run (same checklist and environment).
    Last,
    /// A run id.
    Run(i64),
}

impl std::str::FromStr for Baseline {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(p) = s.strip_prefix("phase:").filter(|p| !p.is_empty()) {
            return Ok(Baseline::Phase(p.to_string()));
        }
        if s == "last" || s == "previous" {
            return Ok(Baseline::Last);
        }
        s.parse::<i64>().map(Baseline::Run).map_err(|_| {
            format!("invalid baseline \"{s}\" (write phase:launch, last, or a run id)")
        })
    }
}

impl std::fmt::Display for Baseline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Baseline::Phase(p) => write!(f, "phase:{p}"),
            Baseline::Last => f.write_str("last"),
            Baseline::Run(id) => write!(f, "run {id}"),
        }
    }
}

impl Store {
    /// The baseline's id and report, among runs matching `filter`. `previous` is the
    /// newest run before the one being compared, when the caller already has it.
    pub async fn baseline(
        &self,
        b: &Baseline,
        filter: &Filter,
        previous: Option<&(i64, Report)>,
    ) -> Result<Option<(i64, Report)>, HistoryError> {
        let id = match b {
            Baseline::Run(id) => Some(*id),
            Baseline::Last => match previous {
                Some(p) => return Ok(Some(p.clone())),
                None => self.latest(filter).await?.map(|r| r.id),
            },
            Baseline::Phase(p) => self
                .latest(&Filter {
                    phase: Some(p.clone()),
                    ..filter.clone()
                })
                .await?
                .map(|r| r.id),
        };
        match id {
            Some(id) => Ok(Some((id, self.report(id).await?))),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baselines_parse() {
        assert_eq!("phase:launch".parse(), Ok(Baseline::Phase("launch".into())));
        assert_eq!("last".parse(), Ok(Baseline::Last));
        assert_eq!("12".parse(), Ok(Baseline::Run(12)));
        assert!("phase:".parse::<Baseline>().is_err());
        assert!("yesterday".parse::<Baseline>().is_err());
    }
}
