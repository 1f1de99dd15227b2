//! `preflight diff` for people and tools.

use std::fmt::Write as _;

use preflight_core::Status;
use preflight_core::sanitize::{indented, line};
use preflight_model::{Diff, RunRef, StatusChange};

/// For people: one block per kind of change, then a summary line. Ids and
/// reasons are shown with control characters escaped; a reason's line breaks
/// are indented under its change.
pub fn render_diff_human(d: &Diff) -> String {
    let mut out = format!("diff {} → {}\n", label(&d.from), label(&d.to));
    let changes = |out: &mut String, title: &str, mark: &str, list: &[StatusChange]| {
        if list.is_empty() {
            return;
        }
        let _ = writeln!(out, "{title} ({}):", list.len());
        for c in list {
            let _ = write!(
                out,
                "  {mark} {}  {} → {}",
                line(&c.id),
                c.from.as_str(),
                c.to.as_str()
            );
            match &c.reason {
                Some(r) if c.to != Status::Pass => {
                    let _ = writeln!(out, ": {}", indented(r, "      "));
                }
                _ => out.push('\n'),
            }
        }
    };
    changes(&mut out, "regressed", "✘", &d.regressed);
    changes(&mut out, "recovered", "✔", &d.recovered);
    changes(&mut out, "changed", "~", &d.changed);
    for (title, mark, list) in [
        ("appeared", "+", &d.appeared),
        ("disappeared", "-", &d.disappeared),
    ] {
        if !list.is_empty() {
            let _ = writeln!(out, "{title} ({}):", list.len());
            for p in list {
                let _ = writeln!(out, "  {mark} {} ({})", line(&p.id), p.status.as_str());
            }
        }
    }
    if !d.slower.is_empty() {
        let _ = writeln!(out, "slower ({}):", d.slower.len());
        for s in &d.slower {
            let pct = if s.from_ms > 0.0 {
                format!(" (+{:.0}%)", (s.to_ms / s.from_ms - 1.0) * 100.0)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  ▲ {}  latency {:.0} ms → {:.0} ms{pct}",
                line(&s.id),
                s.from_ms,
                s.to_ms
            );
        }
    }
    let n = d.regressed.len();
    if d.is_empty() {
        out.push_str("no changes\n");
    } else if n == 0 {
        out.push_str("no regressions\n");
    } else {
        let _ = writeln!(
            out,
            "{n} regression{}: {}",
            if n == 1 { "" } else { "s" },
            d.regressed
                .iter()
                .map(|c| line(&c.id))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    out
}

/// JSON, for tools.
pub fn render_diff_json(d: &Diff) -> String {
    crate::to_json_pretty(d)
}

fn label(r: &RunRef) -> String {
    let id =
        r.id.map_or_else(|| "this run".to_string(), |i| format!("run {i}"));
    let phase = r
        .phase
        .as_deref()
        .map(|p| format!(", {}", line(p)))
        .unwrap_or_default();
    format!(
        "{id} ({}{phase}, {} {}%)",
        line(&r.started_at),
        r.verdict.label(),
        r.score
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use preflight_core::Verdict;
    use preflight_core::verdict::Counts;
    use preflight_model::{ItemReport, LatencyThreshold, Report};
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
            checklist_hash: None,
            tags: vec![],
            preflight_version: None,
            run_id: None,
            batch: None,
            shard: None,
            hidden_passes: Default::default(),
        }
    }

    #[test]
    fn names_each_change_and_ends_with_the_regressions() {
        let a = report(vec![
            item("reg", Status::Pass, Some(10.0)),
            item("slow", Status::Pass, Some(40.0)),
        ]);
        let b = report(vec![
            item("reg", Status::Error, Some(10.0)),
            item("slow", Status::Pass, Some(400.0)),
        ]);
        let d = preflight_history::diff((&a, Some(1)), (&b, Some(2)), LatencyThreshold::default());
        let text = render_diff_human(&d);
        assert!(
            text.contains("✘ reg  pass → error: status == 200"),
            "{text}"
        );
        assert!(
            text.contains("▲ slow  latency 40 ms → 400 ms (+900%)"),
            "{text}"
        );
        assert!(text.ends_with("1 regression: reg\n"), "{text}");
        let v: serde_json::Value = serde_json::from_str(&render_diff_json(&d)).unwrap();
        assert_eq!(v["regressed"][0]["from"], "pass");
        assert_eq!(v["to"]["id"], 2);
        let same =
            preflight_history::diff((&a, Some(1)), (&a, Some(2)), LatencyThreshold::default());
        assert!(render_diff_human(&same).ends_with("no changes\n"));
    }
}
