//! What the template reads: the report turned into display strings once, each
//! untrusted text cleaned here so the template only escapes.

use preflight_core::{Status, Verdict};
use preflight_model::{Attested, Diff, ItemPresence, ItemReport, LatencyThreshold, Report};

/// Text from a target or a checklist, safe to show: control characters (other than
/// newline) and bidirectional overrides, which could disguise what a reader sees,
/// are written as escapes (`\u{1b}`, `\u{202e}`), as in every format. Escaping
/// markup is the template's job.
pub(crate) fn clean(text: &str) -> String {
    preflight_core::sanitize::lines(text).into_owned()
}

/// A duration for people: `842 ms`, `12.4 s`, `3 min 5 s`.
pub(crate) fn duration(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

/// An RFC 3339 UTC time for people: `2026-05-15 09:00:00 UTC`.
pub(crate) fn time(rfc3339: &str) -> String {
    let t = clean(rfc3339);
    match t.strip_suffix('Z') {
        Some(base) if base.len() >= 19 => format!("{} UTC", base.replacen('T', " ", 1)),
        _ => t,
    }
}

/// How a status looks: the word, its icon (a symbol in the page's sprite) and its
/// place when sorting (problems first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StatusView {
    pub word: &'static str,
    pub icon: &'static str,
    pub rank: u8,
}

impl StatusView {
    pub const PASS: StatusView = StatusView {
        word: "pass",
        icon: "i-pass",
        rank: 4,
    };
    pub const FAIL: StatusView = StatusView {
        word: "fail",
        icon: "i-fail",
        rank: 0,
    };
    pub const ERROR: StatusView = StatusView {
        word: "error",
        icon: "i-error",
        rank: 1,
    };
    pub const SKIP: StatusView = StatusView {
        word: "skip",
        icon: "i-skip",
        rank: 3,
    };
    pub const MANUAL: StatusView = StatusView {
        word: "manual",
        icon: "i-manual",
        rank: 2,
    };

    pub fn of(s: Status) -> StatusView {
        match s {
            Status::Pass => Self::PASS,
            Status::Fail => Self::FAIL,
            Status::Error => Self::ERROR,
            Status::Skip => Self::SKIP,
            Status::Manual => Self::MANUAL,
        }
    }
}

/// The banner's verdict.
#[derive(Debug, Clone)]
pub(crate) struct VerdictView {
    pub word: &'static str,
    pub class: &'static str,
    pub icon: &'static str,
}

impl VerdictView {
    pub fn of(v: Verdict) -> VerdictView {
        match v {
            Verdict::Go => VerdictView {
                word: "GO",
                class: "go",
                icon: "i-pass",
            },
            Verdict::NoGo => VerdictView {
                word: "NO-GO",
                class: "nogo",
                icon: "i-fail",
            },
        }
    }
}

/// An expectation and whether it held.
#[derive(Debug, Clone)]
pub(crate) struct ExprView {
    pub expr: String,
    pub ok: bool,
}

/// An attestation, for people.
#[derive(Debug, Clone)]
pub(crate) struct AttestView {
    pub by: String,
    pub at: String,
    pub at_raw: String,
    pub note: String,
    pub expires: String,
}

impl AttestView {
    fn of(a: &Attested) -> AttestView {
        AttestView {
            by: clean(&a.by),
            at: time(&a.at),
            at_raw: clean(&a.at),
            note: a.note.as_deref().map(clean).unwrap_or_default(),
            expires: a.expires.as_deref().map(time).unwrap_or_default(),
        }
    }
}

/// One item's row.
#[derive(Debug, Clone)]
pub(crate) struct ItemView {
    /// Position in the report (checklist order).
    pub index: usize,
    /// The row's element id (by position: an item id may hold any character).
    pub anchor: String,
    pub id: String,
    pub title: String,
    pub status: StatusView,
    pub severity: String,
    /// The severity's CSS class: one of a known few, whatever a stored report says.
    pub severity_class: &'static str,
    pub severity_rank: u8,
    pub manual: bool,
    pub probe: String,
    pub owner: String,
    pub duration: String,
    pub duration_ms: u64,
    pub attempts: u32,
    pub reason: String,
    pub expectations: Vec<ExprView>,
    pub failed: Vec<String>,
    /// Facts as pretty JSON (already redacted in the report).
    pub facts: Option<String>,
    pub attested: Option<AttestView>,
    pub expired: Option<AttestView>,
    /// For the row that stands for a `for_each` template: its summary
    /// (`1,500 items: 1,499 pass, 1 fail`).
    pub group: Option<String>,
}

impl ItemView {
    pub fn new(index: usize, i: &ItemReport) -> ItemView {
        let expectations: Vec<ExprView> = i
            .expectations
            .iter()
            .map(|e| ExprView {
                expr: clean(&e.expr),
                ok: e.ok,
            })
            .collect();
        ItemView {
            index,
            anchor: format!("i{index}"),
            id: clean(&i.id),
            title: clean(if i.title.is_empty() { &i.id } else { &i.title }),
            status: StatusView::of(i.status),
            severity_rank: match i.severity.as_str() {
                "critical" => 0,
                "normal" => 1,
                _ => 2,
            },
            severity_class: match i.severity.as_str() {
                "critical" => "sev-critical",
                "advisory" => "sev-advisory",
                _ => "sev-normal",
            },
            severity: clean(&i.severity),
            manual: i.probe.is_none(),
            probe: i.probe.as_deref().map(clean).unwrap_or_default(),
            owner: i.owner.as_deref().map(clean).unwrap_or_default(),
            duration: if i.attempts == 0 && i.duration_ms == 0 {
                String::new()
            } else {
                duration(i.duration_ms)
            },
            duration_ms: i.duration_ms,
            attempts: i.attempts,
            reason: if i.status == Status::Pass {
                String::new()
            } else {
                i.reason.as_deref().map(clean).unwrap_or_default()
            },
            failed: expectations
                .iter()
                .filter(|e| !e.ok)
                .map(|e| e.expr.clone())
                .collect(),
            expectations,
            facts: i
                .facts
                .as_ref()
                .map(|f| clean(&serde_json::to_string_pretty(f).unwrap_or_else(|_| f.to_string()))),
            attested: i.attested.as_ref().map(AttestView::of),
            expired: i.expired_attestation.as_ref().map(AttestView::of),
            group: None,
        }
    }

    /// The row of template `id` standing for `items` (the first at `index`) and
    /// `hidden` passed ones the report does not hold.
    pub fn template(index: usize, id: &str, items: &[&ItemReport], hidden: usize) -> ItemView {
        let mut v = ItemView::new(index, items[0]);
        v.id = clean(&format!("{id}[…]"));
        v.title = String::new();
        v.status = StatusView::of(crate::group::worst(items));
        v.manual = false;
        v.reason = String::new();
        v.facts = None;
        v.expectations.clear();
        v.failed.clear();
        v.attested = None;
        v.expired = None;
        v.group = Some(crate::group::summary(items, hidden));
        v
    }

    /// The id in pieces that end at a dot, so a narrow column breaks it there.
    pub fn id_parts(&self) -> Vec<&str> {
        self.id.split_inclusive('.').collect()
    }

    /// Whether the row has anything to show on demand.
    pub fn has_detail(&self) -> bool {
        self.facts.is_some() || !self.expectations.is_empty()
    }
}

/// A section of the checklist and its items.
#[derive(Debug, Clone)]
pub(crate) struct SectionView {
    pub name: String,
    pub anchor: String,
    pub items: Vec<ItemView>,
    /// Items in the section (a template's count for all of them).
    pub total: usize,
    pub passed: usize,
    pub problems: usize,
}

impl SectionView {
    pub fn new(n: usize, raw: &str, first: ItemView) -> SectionView {
        SectionView {
            name: if raw.is_empty() {
                "(no section)".into()
            } else {
                clean(raw)
            },
            anchor: format!("s{n}"),
            items: vec![first],
            total: 0,
            passed: 0,
            problems: 0,
        }
    }

    /// Counts what passed and what did not among the section's items (and `hidden`
    /// passed ones the report does not hold).
    pub fn summarize(&mut self, items: &[&ItemReport], hidden: usize) {
        self.total = items.len() + hidden;
        self.passed = items.iter().filter(|i| i.status == Status::Pass).count() + hidden;
        self.problems = items
            .iter()
            .filter(|i| matches!(i.status, Status::Fail | Status::Error))
            .count();
    }
}

/// The score as a bar, in the SVG's units (0..=200 wide).
#[derive(Debug, Clone)]
pub(crate) struct ScoreBar {
    pub fill: u32,
    pub mark: u32,
    pub met: bool,
}

impl ScoreBar {
    pub fn new(score: u8, pass_score: u8) -> ScoreBar {
        ScoreBar {
            fill: u32::from(score.min(100)) * 2,
            // The 2-unit mark stays inside the 200-unit bar at 100 %.
            mark: (u32::from(pass_score.min(100)) * 2).min(198),
            met: score >= pass_score,
        }
    }
}

/// One line of the run's metadata.
#[derive(Debug, Clone)]
pub(crate) struct MetaRow {
    pub key: &'static str,
    pub value: String,
    pub mono: bool,
}

/// Why the verdict is what it is, in one sentence.
pub(crate) fn verdict_reason(r: &Report) -> String {
    if r.verdict == Verdict::Go {
        return format!(
            "Every critical item passed and the score meets {}%.",
            r.pass_score
        );
    }
    let mut why = Vec::new();
    match r.failing_critical.len() {
        0 => {}
        1 => why.push("1 critical item did not pass".to_string()),
        n => why.push(format!("{n} critical items did not pass")),
    }
    if r.score < r.pass_score {
        why.push(format!("the score is below {}%", r.pass_score));
    }
    if why.is_empty() {
        return "The run did not reach GO.".into();
    }
    let mut s = why.join(" and ");
    s[..1].make_ascii_uppercase();
    s.push('.');
    s
}

/// The line under the checklist name.
pub(crate) fn subtitle(r: &Report) -> String {
    let mut parts = vec![format!("environment {}", clean(&r.environment))];
    if let Some(p) = &r.phase {
        parts.push(format!("phase {}", clean(p)));
    }
    if !r.tags.is_empty() {
        let tags: Vec<String> = r.tags.iter().map(|t| clean(t)).collect();
        parts.push(format!("tags {}", tags.join(", ")));
    }
    parts.push(time(&r.started_at));
    parts.push(duration(r.duration_ms));
    parts.join(" · ")
}

/// The run's metadata table.
pub(crate) fn meta(r: &Report) -> Vec<MetaRow> {
    let row = |key, value: String, mono| MetaRow { key, value, mono };
    let none = || "—".to_string();
    vec![
        row("checklist", clean(&r.checklist), false),
        row(
            "checklist file hash",
            r.checklist_hash.as_deref().map_or_else(none, clean),
            true,
        ),
        row("environment", clean(&r.environment), false),
        row(
            "phase",
            r.phase
                .as_deref()
                .map_or_else(|| "(every phase)".into(), clean),
            false,
        ),
        row(
            "tags",
            if r.tags.is_empty() {
                "(every tag)".into()
            } else {
                r.tags
                    .iter()
                    .map(|t| clean(t))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            false,
        ),
        row("started at", time(&r.started_at), false),
        row("duration", duration(r.duration_ms), false),
        row(
            "preflight version",
            r.preflight_version.as_deref().map_or_else(none, clean),
            false,
        ),
        row(
            "store run id",
            r.run_id
                .map_or_else(|| "(not recorded)".into(), |id| id.to_string()),
            false,
        ),
        row(
            "items",
            format!(
                "{} ({} critical)",
                r.total(),
                r.items.iter().filter(|i| i.severity == "critical").count()
            ),
            false,
        ),
        row(
            "interrupted",
            if r.interrupted { "yes" } else { "no" }.into(),
            false,
        ),
    ]
}

/// One status change in the diff.
#[derive(Debug, Clone)]
pub(crate) struct ChangeView {
    pub id: String,
    pub title: String,
    pub anchor: String,
    pub severity: String,
    pub from: StatusView,
    pub to: StatusView,
    pub reason: String,
}

/// An item in only one of the runs.
#[derive(Debug, Clone)]
pub(crate) struct PresenceView {
    pub id: String,
    pub title: String,
    pub anchor: String,
    pub status: StatusView,
}

/// Latency that grew.
#[derive(Debug, Clone)]
pub(crate) struct SlowView {
    pub id: String,
    pub anchor: String,
    pub from: String,
    pub to: String,
    pub growth: String,
}

/// The diff against the baseline, for people.
#[derive(Debug, Clone)]
pub(crate) struct DiffView {
    pub from: String,
    pub to: String,
    pub regressed: Vec<ChangeView>,
    pub recovered: Vec<ChangeView>,
    pub changed: Vec<ChangeView>,
    pub appeared: Vec<PresenceView>,
    pub disappeared: Vec<PresenceView>,
    pub slower: Vec<SlowView>,
    pub threshold: String,
    pub summary: String,
    pub regression: bool,
}

impl DiffView {
    /// `r` is the newer run's report (for titles and links).
    pub fn new(d: &Diff, r: &Report) -> DiffView {
        let find = |id: &str| r.items.iter().position(|i| i.id == id);
        let title = |id: &str| {
            find(id)
                .map(|n| clean(&r.items[n].title))
                .unwrap_or_default()
        };
        let anchor = |id: &str| find(id).map(|n| format!("i{n}")).unwrap_or_default();
        let changes = |list: &[preflight_model::StatusChange]| {
            list.iter()
                .map(|c| ChangeView {
                    id: clean(&c.id),
                    title: title(&c.id),
                    anchor: anchor(&c.id),
                    severity: clean(&c.severity),
                    from: StatusView::of(c.from),
                    to: StatusView::of(c.to),
                    reason: if c.to == Status::Pass {
                        String::new()
                    } else {
                        c.reason.as_deref().map(clean).unwrap_or_default()
                    },
                })
                .collect()
        };
        let presence = |list: &[ItemPresence], here: bool| {
            list.iter()
                .map(|p| PresenceView {
                    id: clean(&p.id),
                    title: if here { title(&p.id) } else { String::new() },
                    anchor: if here { anchor(&p.id) } else { String::new() },
                    status: StatusView::of(p.status),
                })
                .collect()
        };
        let n = d.regressed.len();
        DiffView {
            from: run_label(&d.from),
            to: run_label(&d.to),
            regressed: changes(&d.regressed),
            recovered: changes(&d.recovered),
            changed: changes(&d.changed),
            appeared: presence(&d.appeared, true),
            disappeared: presence(&d.disappeared, false),
            slower: d
                .slower
                .iter()
                .map(|s| SlowView {
                    id: clean(&s.id),
                    anchor: anchor(&s.id),
                    from: format!("{:.0} ms", s.from_ms),
                    to: format!("{:.0} ms", s.to_ms),
                    growth: if s.from_ms > 0.0 {
                        format!("+{:.0}%", (s.to_ms / s.from_ms - 1.0) * 100.0)
                    } else {
                        format!("+{:.0} ms", s.to_ms - s.from_ms)
                    },
                })
                .collect(),
            threshold: match d.latency_threshold {
                LatencyThreshold::Percent(p) => format!(
                    "more than {p}% (and at least {} ms)",
                    preflight_model::LATENCY_FLOOR_MS
                ),
                LatencyThreshold::Millis(ms) => format!("more than {ms} ms"),
            },
            summary: if d.is_empty() {
                "no changes".into()
            } else if n == 0 {
                "no regressions".into()
            } else {
                format!("{n} regression{}", if n == 1 { "" } else { "s" })
            },
            regression: n > 0,
        }
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
}

fn run_label(r: &preflight_model::RunRef) -> String {
    let id =
        r.id.map_or_else(|| "this run".to_string(), |i| format!("run {i}"));
    let phase = r
        .phase
        .as_deref()
        .map(|p| format!(", {}", clean(p)))
        .unwrap_or_default();
    format!(
        "{id} ({}{phase}, {} {}%)",
        time(&r.started_at),
        r.verdict.label(),
        r.score
    )
}
