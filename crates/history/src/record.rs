//! A report split into what the stores keep: a header, and one row per item with its
//! status, reason, duration, attempts and facts in columns — redacted and capped.

use preflight_core::{Redactor, Verdict};
use preflight_model::{ItemReport, Report, RunSummary};
use serde_json::Value;

/// Longest reason kept, in bytes.
pub const REASON_CAP: usize = 4 * 1024;
/// Largest facts object kept per item, in bytes of JSON.
pub const FACTS_CAP: usize = 64 * 1024;
/// Strings inside over-large facts are cut to this many bytes.
const FACT_STRING_CAP: usize = 1024;

/// One stored item, as rows of the items table.
#[derive(Debug, Clone)]
pub(crate) struct ItemRow {
    pub position: i64,
    pub item_id: String,
    pub status: String,
    pub reason: Option<String>,
    pub duration_ms: i64,
    pub attempts: i64,
    pub facts: Option<Value>,
    /// Every other field of the item report (title, section, expectations, …).
    pub detail: Value,
}

/// A run ready to be written.
#[derive(Debug, Clone)]
pub(crate) struct RunRow {
    /// `--batch`, if any.
    pub batch: Option<String>,
    /// `--shard K/N`: K and N.
    pub shard: Option<(i64, i64)>,
    pub started_at: String,
    pub checklist: String,
    pub checklist_hash: String,
    pub environment: String,
    pub phase: Option<String>,
    pub verdict: String,
    pub score: i64,
    pub duration_ms: i64,
    /// The report without its items.
    pub header: Value,
    pub items: Vec<ItemRow>,
}

/// The `state` of a run still being written (a streamed run, or one whose process
/// died before it ended).
pub(crate) const RUNNING: &str = "running";
/// The `state` of a finished run.
pub(crate) const DONE: &str = "done";

/// Kept in columns only; the rest of an item report is stored whole in `detail`
/// (which also repeats the small indexed fields, so it deserializes directly).
const ITEM_COLUMNS: &[&str] = &["reason", "facts"];

/// Splits, redacts and caps a report (one serialization pass, one redaction pass).
pub(crate) fn split(report: &Report, checklist_hash: &str, redactor: &Redactor) -> RunRow {
    let mut row = head(report, checklist_hash, redactor);
    row.items = report
        .items
        .iter()
        .enumerate()
        .map(|(i, it)| item_row(i as i64, it.clone(), redactor))
        .collect();
    row
}

/// The run without its items: what is written when a streamed run begins and
/// again when it ends.
pub(crate) fn head(report: &Report, checklist_hash: &str, redactor: &Redactor) -> RunRow {
    let mut header = match serde_json::to_value(report) {
        Ok(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    // The row's id is the run id; a report loaded from another store keeps none.
    header.remove("run_id");
    header.remove("items");
    let mut header = Value::Object(header);
    redactor.mask_json(&mut header);
    RunRow {
        batch: report.batch.clone(),
        shard: report
            .shard
            .map(|s| (i64::from(s.index), i64::from(s.count))),
        started_at: report.started_at.clone(),
        checklist: report.checklist.clone(),
        checklist_hash: checklist_hash.to_string(),
        environment: report.environment.clone(),
        phase: report.phase.clone(),
        verdict: verdict_str(report.verdict).to_string(),
        score: i64::from(report.score),
        duration_ms: report.duration_ms as i64,
        header,
        items: Vec::new(),
    }
}

/// One item's row at `position` (its place in the whole checklist), redacted and
/// capped.
pub(crate) fn item_row(position: i64, mut it: ItemReport, redactor: &Redactor) -> ItemRow {
    // The columns come out first, so the rest serializes without copying the facts.
    let facts = it.facts.take();
    let reason = it.reason.take();
    let mut detail = match serde_json::to_value(&it) {
        Ok(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    for k in ITEM_COLUMNS {
        detail.remove(*k);
    }
    ItemRow {
        position,
        status: it.status.as_str().to_string(),
        item_id: it.id,
        reason: reason.as_ref().map(|r| cap_text(&redactor.text(r))),
        duration_ms: it.duration_ms as i64,
        attempts: i64::from(it.attempts),
        facts: facts.map(|mut f| {
            redactor.mask_json(&mut f);
            cap_facts(f)
        }),
        detail: {
            let mut d = Value::Object(detail);
            redactor.mask_json(&mut d);
            d
        },
    }
}

/// Rebuilds run `id`'s report from its header, its `checklist_hash` column and its
/// item rows.
pub(crate) fn join(
    id: i64,
    header: Value,
    checklist_hash: String,
    items: Vec<ItemRow>,
) -> Result<Report, String> {
    let mut header = match header {
        Value::Object(m) => m,
        _ => return Err("stored run header is not an object".into()),
    };
    header
        .entry("checklist_hash")
        .or_insert(Value::String(checklist_hash));
    header.insert("run_id".into(), Value::from(id));
    header.insert("items".into(), Value::Array(vec![]));
    let mut report: Report = serde_json::from_value(Value::Object(header))
        .map_err(|e| format!("stored run is unreadable: {e}"))?;
    report.items.reserve(items.len());
    for row in items {
        let mut item: ItemReport = serde_json::from_value(row.detail)
            .map_err(|e| format!("stored item {} is unreadable: {e}", row.item_id))?;
        item.id = row.item_id;
        item.status = serde_json::from_value(Value::String(row.status))
            .map_err(|e| format!("stored item {} has a bad status: {e}", item.id))?;
        item.reason = row.reason;
        item.duration_ms = row.duration_ms.max(0) as u64;
        item.attempts = row.attempts.clamp(0, i64::from(u32::MAX)) as u32;
        item.facts = row.facts;
        report.items.push(item);
    }
    Ok(report)
}

fn verdict_str(v: Verdict) -> &'static str {
    match v {
        Verdict::Go => "go",
        Verdict::NoGo => "no-go",
    }
}

fn cap_text(s: &str) -> String {
    if s.len() <= REASON_CAP {
        return s.to_string();
    }
    let mut end = REASON_CAP;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… (cut)", &s[..end])
}

/// Facts over [`FACTS_CAP`]: long strings are cut, and if that is not enough the
/// facts are replaced by a marker. `_truncated = true` says it happened.
fn cap_facts(facts: Value) -> Value {
    if size_bound(&facts) <= FACTS_CAP {
        return facts;
    }
    let size = serde_json::to_string(&facts).map_or(0, |s| s.len());
    if size <= FACTS_CAP {
        return facts;
    }
    let mut cut = cut_strings(facts);
    if let Value::Object(m) = &mut cut {
        m.insert("_truncated".into(), Value::Bool(true));
    }
    if serde_json::to_string(&cut).map_or(0, |s| s.len()) <= FACTS_CAP {
        return cut;
    }
    serde_json::json!({"_truncated": true, "_bytes": size})
}

/// An upper bound of the JSON size (every byte escaped as `\u00XX`), cheap to compute.
fn size_bound(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len() * 6 + 2,
        Value::Array(a) => a.iter().map(|x| size_bound(x) + 1).sum::<usize>() + 2,
        Value::Object(m) => {
            m.iter()
                .map(|(k, v)| k.len() * 6 + 4 + size_bound(v))
                .sum::<usize>()
                + 2
        }
        _ => 32,
    }
}

fn cut_strings(v: Value) -> Value {
    match v {
        Value::String(s) if s.len() > FACT_STRING_CAP => {
            let mut end = FACT_STRING_CAP;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            Value::String(format!("{}…", &s[..end]))
        }
        Value::Array(a) => Value::Array(a.into_iter().map(cut_strings).collect()),
        Value::Object(m) => {
            Value::Object(m.into_iter().map(|(k, v)| (k, cut_strings(v))).collect())
        }
        other => other,
    }
}

/// A run's summary from its stored header and its `state` column.
pub(crate) fn summary_from_header(
    id: i64,
    checklist_hash: String,
    header: &Value,
    state: &str,
) -> RunSummary {
    {
        let s = |k: &str| header[k].as_str().unwrap_or_default().to_string();
        RunSummary {
            id,
            started_at: s("started_at"),
            checklist: s("checklist"),
            checklist_hash,
            environment: s("environment"),
            phase: header["phase"].as_str().map(str::to_string),
            verdict: if header["verdict"] == "go" {
                Verdict::Go
            } else {
                Verdict::NoGo
            },
            score: header["score"].as_u64().unwrap_or(0).min(100) as u8,
            counts: serde_json::from_value(header["counts"].clone()).unwrap_or_default(),
            failing_critical: header["failing_critical"].as_array().map_or(0, Vec::len),
            pass_score: header["pass_score"].as_u64().unwrap_or(100).min(100) as u8,
            duration_ms: header["duration_ms"].as_u64().unwrap_or(0),
            interrupted: header["interrupted"].as_bool().unwrap_or(false),
            running: state == RUNNING,
            batch: header["batch"].as_str().map(str::to_string),
            shard: serde_json::from_value(header["shard"].clone()).ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn large_facts_are_cut_and_marked() {
        let big = "x".repeat(FACTS_CAP * 2);
        let v = cap_facts(json!({"status": 200, "body": big}));
        assert_eq!(v["_truncated"], true);
        assert_eq!(v["status"], 200);
        assert!(v["body"].as_str().unwrap().len() < 2 * FACT_STRING_CAP);
        let many: Vec<String> = (0..200).map(|i| format!("{i:0>1000}")).collect();
        let v = cap_facts(json!({"answers": many}));
        assert_eq!(v["_truncated"], true);
        assert!(v.get("answers").is_none());
        let small = json!({"status": 200});
        assert_eq!(cap_facts(small.clone()), small);
    }

    #[test]
    fn long_reasons_are_cut_on_a_char_boundary() {
        let r = cap_text(&"é".repeat(REASON_CAP));
        assert!(r.ends_with("… (cut)"));
        assert!(r.len() < REASON_CAP + 20);
    }
}
