//! Computes what changed between two runs: regressions, recoveries, items that
//! appeared or disappeared, and latency that grew past a threshold. Pure: no store,
//! no clock. The result is [`preflight_model::Diff`]; `preflight-report` renders it.

use std::collections::HashMap;

use preflight_core::Status;
use preflight_model::{
    Diff, ItemPresence, ItemReport, LatencyChange, LatencyThreshold, Report, RunRef, StatusChange,
};

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

#[cfg(test)]
mod tests {
    use super::*;
    use preflight_core::Verdict;
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
    }

    #[test]
    fn identical_runs_have_no_changes() {
        let a = report(vec![item("x", Status::Pass, Some(10.0))]);
        let d = diff((&a, Some(1)), (&a, Some(2)), LatencyThreshold::default());
        assert!(d.is_empty() && !d.has_regression());
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
