//! What changed between two runs: regressions, recoveries, items that appeared or
//! disappeared, and latency that grew past a threshold. Pure: no store, no clock.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::str::FromStr;

use preflight_core::{Status, Verdict};
use preflight_report::{ItemReport, Report};
use serde::Serialize;

/// A relative threshold ignores growth smaller than this, so loopback jitter
/// (1 ms → 3 ms is +200 %) is not reported.
pub const LATENCY_FLOOR_MS: f64 = 20.0;

/// How much latency must grow to be reported.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LatencyThreshold {
    /// Grew by more than this many percent (and by at least [`LATENCY_FLOOR_MS`]).
    Percent(f64),
    /// Grew by more than this many milliseconds.
    Millis(f64),
}

impl Default for LatencyThreshold {
    fn default() -> Self {
        LatencyThreshold::Percent(50.0)
    }
}

impl FromStr for LatencyThreshold {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(p) = s.strip_suffix('%') {
            return p
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|p| p.is_finite() && *p >= 0.0)
                .map(LatencyThreshold::Percent)
                .ok_or_else(|| {
                    format!("invalid latency threshold \"{s}\" (write e.g. 50% or 200ms)")
                });
        }
        humantime::parse_duration(s)
            .map(|d| LatencyThreshold::Millis(d.as_secs_f64() * 1000.0))
            .map_err(|_| format!("invalid latency threshold \"{s}\" (write e.g. 50% or 200ms)"))
    }
}

impl LatencyThreshold {
    fn exceeded(self, from: f64, to: f64) -> bool {
        let grew = to - from;
        match self {
            LatencyThreshold::Percent(p) => {
                grew >= LATENCY_FLOOR_MS && to > from * (1.0 + p / 100.0)
            }
            LatencyThreshold::Millis(ms) => grew > ms,
        }
    }
}

/// Which run a side of the diff is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRef {
    /// Run id in the store (absent for a run not recorded).
    pub id: Option<i64>,
    /// RFC 3339 start time.
    pub started_at: String,
    /// Environment.
    pub environment: String,
    /// Phase.
    pub phase: Option<String>,
    /// GO / NO-GO.
    pub verdict: Verdict,
    /// Score.
    pub score: u8,
}

impl RunRef {
    fn of(r: &Report, id: Option<i64>) -> RunRef {
        RunRef {
            id,
            started_at: r.started_at.clone(),
            environment: r.environment.clone(),
            phase: r.phase.clone(),
            verdict: r.verdict,
            score: r.score,
        }
    }

    fn label(&self) -> String {
        let id = self
            .id
            .map_or_else(|| "this run".to_string(), |i| format!("run {i}"));
        let phase = self
            .phase
            .as_deref()
            .map(|p| format!(", {p}"))
            .unwrap_or_default();
        format!(
            "{id} ({}{phase}, {} {}%)",
            self.started_at,
            self.verdict.label(),
            self.score
        )
    }
}

/// An item whose status changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusChange {
    /// Item id.
    pub id: String,
    /// Severity in the newer run.
    pub severity: String,
    /// Status in the older run.
    pub from: Status,
    /// Status in the newer run.
    pub to: Status,
    /// The newer run's reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An item present in only one of the runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemPresence {
    /// Item id.
    pub id: String,
    /// Its status in the run that has it.
    pub status: Status,
}

/// An item whose `latency_ms` grew past the threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyChange {
    /// Item id.
    pub id: String,
    /// Older latency.
    pub from_ms: f64,
    /// Newer latency.
    pub to_ms: f64,
}

/// Differences from run `from` to run `to`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diff {
    /// The older run.
    pub from: RunRef,
    /// The newer run.
    pub to: RunRef,
    /// pass → fail or error.
    pub regressed: Vec<StatusChange>,
    /// not passing → pass.
    pub recovered: Vec<StatusChange>,
    /// Any other status change (e.g. fail → error, pass → skip).
    pub changed: Vec<StatusChange>,
    /// In `to` only.
    pub appeared: Vec<ItemPresence>,
    /// In `from` only.
    pub disappeared: Vec<ItemPresence>,
    /// `latency_ms` grew past the threshold.
    pub slower: Vec<LatencyChange>,
    /// The threshold used for `slower`.
    pub latency_threshold: LatencyThreshold,
}

/// Compares two runs item by item (by id), in the newer run's order.
pub fn diff(
    from: (&Report, Option<i64>),
    to: (&Report, Option<i64>),
    threshold: LatencyThreshold,
) -> Diff {
    let (a, b) = (from.0, to.0);
    let old: HashMap<&str, &ItemReport> = a.items.iter().map(|i| (i.id.as_str(), i)).collect();
    let new: HashMap<&str, &ItemReport> = b.items.iter().map(|i| (i.id.as_str(), i)).collect();
    let mut d = Diff {
        from: RunRef::of(a, from.1),
        to: RunRef::of(b, to.1),
        regressed: vec![],
        recovered: vec![],
        changed: vec![],
        appeared: vec![],
        disappeared: vec![],
        slower: vec![],
        latency_threshold: threshold,
    };
    for it in &b.items {
        let Some(was) = old.get(it.id.as_str()) else {
            d.appeared.push(ItemPresence {
                id: it.id.clone(),
                status: it.status,
            });
            continue;
        };
        if was.status != it.status {
            let change = StatusChange {
                id: it.id.clone(),
                severity: it.severity.clone(),
                from: was.status,
                to: it.status,
                reason: it.reason.clone(),
            };
            match (was.status, it.status) {
                (Status::Pass, Status::Fail | Status::Error) => d.regressed.push(change),
                (_, Status::Pass) => d.recovered.push(change),
                _ => d.changed.push(change),
            }
        }
        if let (Some(x), Some(y)) = (latency(was), latency(it))
            && threshold.exceeded(x, y)
        {
            d.slower.push(LatencyChange {
                id: it.id.clone(),
                from_ms: x,
                to_ms: y,
            });
        }
    }
    for it in &a.items {
        if !new.contains_key(it.id.as_str()) {
            d.disappeared.push(ItemPresence {
                id: it.id.clone(),
                status: it.status,
            });
        }
    }
    d
}

fn latency(i: &ItemReport) -> Option<f64> {
    i.facts.as_ref()?.get("latency_ms")?.as_f64()
}

impl Diff {
    /// True when an item went from pass to fail or error.
    pub fn has_regression(&self) -> bool {
        !self.regressed.is_empty()
    }

    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.regressed.is_empty()
            && self.recovered.is_empty()
            && self.changed.is_empty()
            && self.appeared.is_empty()
            && self.disappeared.is_empty()
            && self.slower.is_empty()
    }

    /// For people: one block per kind of change, then a summary line.
    pub fn render_human(&self) -> String {
        let mut out = format!("diff {} → {}\n", self.from.label(), self.to.label());
        let changes = |out: &mut String, title: &str, mark: &str, list: &[StatusChange]| {
            if list.is_empty() {
                return;
            }
            let _ = writeln!(out, "{title} ({}):", list.len());
            for c in list {
                let _ = write!(
                    out,
                    "  {mark} {}  {} → {}",
                    c.id,
                    c.from.as_str(),
                    c.to.as_str()
                );
                match &c.reason {
                    Some(r) if c.to != Status::Pass => {
                        let _ = writeln!(out, ": {r}");
                    }
                    _ => out.push('\n'),
                }
            }
        };
        changes(&mut out, "regressed", "✘", &self.regressed);
        changes(&mut out, "recovered", "✔", &self.recovered);
        changes(&mut out, "changed", "~", &self.changed);
        for (title, mark, list) in [
            ("appeared", "+", &self.appeared),
            ("disappeared", "-", &self.disappeared),
        ] {
            if !list.is_empty() {
                let _ = writeln!(out, "{title} ({}):", list.len());
                for p in list {
                    let _ = writeln!(out, "  {mark} {} ({})", p.id, p.status.as_str());
                }
            }
        }
        if !self.slower.is_empty() {
            let _ = writeln!(out, "slower ({}):", self.slower.len());
            for s in &self.slower {
                let pct = if s.from_ms > 0.0 {
                    format!(" (+{:.0}%)", (s.to_ms / s.from_ms - 1.0) * 100.0)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "  ▲ {}  latency {:.0} ms → {:.0} ms{pct}",
                    s.id, s.from_ms, s.to_ms
                );
            }
        }
        let n = self.regressed.len();
        if self.is_empty() {
            out.push_str("no changes\n");
        } else if n == 0 {
            out.push_str("no regressions\n");
        } else {
            let _ = writeln!(
                out,
                "{n} regression{}: {}",
                if n == 1 { "" } else { "s" },
                self.regressed
                    .iter()
                    .map(|c| c.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        out
    }

    /// JSON, for tools.
    pub fn render_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use preflight_core::verdict::Counts;
    use serde_json::json;

    fn item(id: &str, status: Status, latency: Option<f64>) -> ItemReport {
        serde_json::from_value(json!({
            "id": id,
            "title": id,
            "section": "",
            "severity": "normal",
            "probe": "http",
            "status": status,
            "reason": (status != Status::Pass).then_some("status == 200 — status was 503"),
            "duration_ms": 1,
            "attempts": 1,
            "facts": latency.map(|l| json!({"latency_ms": l})),
        }))
        .expect("fixture item")
    }

    fn report(items: Vec<ItemReport>) -> Report {
        Report {
            schema: 1,
            checklist: "c".into(),
            environment: "default".into(),
            phase: None,
            started_at: "2026-05-15T09:00:00Z".into(),
            duration_ms: 5,
            verdict: Verdict::Go,
            score: 100,
            pass_score: 100,
            counts: Counts::default(),
            failing_critical: vec![],
            interrupted: false,
            notes: vec![],
            items,
        }
    }

    #[test]
    fn classifies_every_kind_of_change() {
        let a = report(vec![
            item("reg", Status::Pass, Some(10.0)),
            item("rec", Status::Fail, None),
            item("chg", Status::Fail, None),
            item("gone", Status::Pass, None),
            item("slow", Status::Pass, Some(40.0)),
            item("jitter", Status::Pass, Some(1.0)),
        ]);
        let b = report(vec![
            item("reg", Status::Error, Some(10.0)),
            item("rec", Status::Pass, None),
            item("chg", Status::Skip, None),
            item("new", Status::Fail, None),
            item("slow", Status::Pass, Some(400.0)),
            item("jitter", Status::Pass, Some(5.0)),
        ]);
        let d = diff((&a, Some(1)), (&b, Some(2)), LatencyThreshold::default());
        assert_eq!(d.regressed.len(), 1);
        assert_eq!(d.regressed[0].id, "reg");
        assert_eq!(d.recovered[0].id, "rec");
        assert_eq!(d.changed[0].id, "chg");
        assert_eq!(d.appeared[0].id, "new");
        assert_eq!(d.disappeared[0].id, "gone");
        assert_eq!(d.slower.len(), 1, "{:?}", d.slower);
        assert_eq!(d.slower[0].id, "slow");
        assert!(d.has_regression());
        let text = d.render_human();
        assert!(
            text.contains("✘ reg  pass → error: status == 200"),
            "{text}"
        );
        assert!(
            text.contains("▲ slow  latency 40 ms → 400 ms (+900%)"),
            "{text}"
        );
        assert!(text.ends_with("1 regression: reg\n"), "{text}");
        let v: serde_json::Value = serde_json::from_str(&d.render_json()).unwrap();
        assert_eq!(v["regressed"][0]["from"], "pass");
        assert_eq!(v["to"]["id"], 2);
    }

    #[test]
    fn identical_runs_have_no_changes() {
        let a = report(vec![item("x", Status::Pass, Some(10.0))]);
        let d = diff((&a, Some(1)), (&a, Some(2)), LatencyThreshold::default());
        assert!(d.is_empty() && !d.has_regression());
        assert!(d.render_human().ends_with("no changes\n"));
    }

    #[test]
    fn thresholds_parse_and_apply() {
        assert_eq!("25%".parse(), Ok(LatencyThreshold::Percent(25.0)));
        assert_eq!("200ms".parse(), Ok(LatencyThreshold::Millis(200.0)));
        assert!("fast".parse::<LatencyThreshold>().is_err());
        assert!(LatencyThreshold::Millis(200.0).exceeded(10.0, 211.0));
        assert!(!LatencyThreshold::Millis(200.0).exceeded(10.0, 200.0));
        assert!(!LatencyThreshold::Percent(50.0).exceeded(100.0, 149.0));
        assert!(LatencyThreshold::Percent(50.0).exceeded(100.0, 151.0));
    }
}
