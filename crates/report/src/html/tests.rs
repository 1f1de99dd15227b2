//! The HTML page without a browser: escaping, self-containment, the CSP, the trend's
//! labels, attestations, the diff and the cost of 1,000 items. The browser side
//! (console, requests, layout) is tested end to end in `tests/e2e/html.rs`.

use base64::Engine as _;
use preflight_core::verdict::Counts;
use preflight_core::{Status, Verdict};
use preflight_model::{Diff, LatencyThreshold, Report, RunRef, RunSummary, StatusChange};
use serde_json::json;
use sha2::Digest as _;

use super::{CSS, HtmlContext, JS, render_html};
use crate::sample_report;

const PAYLOAD: &str = "</td></tr><script>alert(1)</script><a href=\"javascript:alert(2)\">x</a><img src=x onerror=alert(3)>\"'&";

/// A report whose every text field holds markup.
fn hostile_report() -> Report {
    let mut r = sample_report();
    r.checklist = format!("Launch {PAYLOAD}");
    r.environment = format!("prod{PAYLOAD}");
    r.phase = Some(format!("launch{PAYLOAD}"));
    r.tags = vec![PAYLOAD.into()];
    r.checklist_hash = Some(format!("sha256:{PAYLOAD}"));
    r.preflight_version = Some(PAYLOAD.into());
    r.notes = vec![PAYLOAD.into()];
    for it in &mut r.items {
        it.title = format!("{} {PAYLOAD}", it.title);
        it.section = format!("{} {PAYLOAD}", it.section);
        it.owner = Some(PAYLOAD.into());
        it.reason = Some(format!("status == 200 — body was {PAYLOAD}"));
        it.facts = Some(json!({"body": PAYLOAD, "headers": {PAYLOAD: PAYLOAD}}));
        it.expectations = vec![preflight_core::verdict::ExpectationResult {
            expr: PAYLOAD.into(),
            ok: false,
        }];
    }
    if let Some(a) = r.items.iter_mut().find_map(|i| i.attested.as_mut()) {
        a.by = PAYLOAD.into();
        a.note = Some(PAYLOAD.into());
    }
    r
}

fn summary(id: i64, at: &str, phase: &str, score: u8, failing: usize) -> RunSummary {
    RunSummary {
        id,
        started_at: at.into(),
        checklist: "Streamer App — production launch".into(),
        checklist_hash: "sha256:ab".into(),
        environment: "production".into(),
        phase: Some(phase.into()),
        verdict: if failing == 0 {
            Verdict::Go
        } else {
            Verdict::NoGo
        },
        score,
        counts: Counts::default(),
        failing_critical: failing,
        pass_score: 95,
        duration_ms: 800,
        interrupted: false,
        running: false,
        batch: None,
        shard: None,
    }
}

#[test]
fn markup_from_targets_and_checklists_stays_text() {
    let page = render_html(&hostile_report(), &HtmlContext::default());
    assert_eq!(
        page.matches("<script").count(),
        1,
        "only the page's own script"
    );
    assert!(
        !page.contains(PAYLOAD),
        "the payload never appears unescaped"
    );
    for raw in [
        "<script>alert",
        "<img",
        "<a href=\"javascript",
        "</tr><script",
    ] {
        assert!(!page.contains(raw), "{raw} in the page");
    }
    assert!(
        page.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "shown as text"
    );
    // Every attribute the page has is one of its own: none holds the payload.
    assert!(!page.contains("=\"javascript:"));
}

#[test]
fn control_and_bidi_characters_are_escaped() {
    let mut r = sample_report();
    r.items[0].reason = Some("status was \u{1b}[31m503\u{7}\u{202e}gnp.exe".into());
    let page = render_html(&r, &HtmlContext::default());
    assert!(!page.contains('\u{1b}') && !page.contains('\u{7}') && !page.contains('\u{202e}'));
    assert!(
        page.contains("status was \\u{1b}[31m503\\u{7}\\u{202e}gnp.exe"),
        "shown as escapes, as in every format"
    );
}

#[test]
fn the_page_loads_nothing_and_allows_only_its_own_script_and_style() {
    let page = render_html(&sample_report(), &HtmlContext::default());
    for external in [
        "<link",
        " src=",
        "@import",
        "url(",
        "http://",
        "https://",
        "@font-face",
    ] {
        assert!(!page.contains(external), "{external} in the page");
    }
    let between = |open: &str, close: &str| {
        let start = page.find(open).expect("open tag") + open.len();
        let end = start + page[start..].find(close).expect("close tag");
        page[start..end].to_string()
    };
    let script = between("<script>", "</script>");
    let style = between("<style>", "</style>");
    assert_eq!(script, JS);
    assert_eq!(style, CSS);
    let hash = |t: &str| {
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(t.as_bytes()))
    };
    // The attribute is escaped like every value; a browser reads `&#39;` as `'`.
    let csp =
        between("http-equiv=\"Content-Security-Policy\" content=\"", "\"").replace("&#39;", "'");
    assert!(csp.starts_with("default-src 'none';"), "{csp}");
    assert!(
        csp.contains(&format!("script-src 'sha256-{}'", hash(&script))),
        "{csp}"
    );
    assert!(
        csp.contains(&format!("style-src 'sha256-{}'", hash(&style))),
        "{csp}"
    );
    assert!(
        !page.contains(" style=\""),
        "no inline style attribute (the CSP would block it)"
    );
}

#[test]
fn verdict_blockers_sections_and_attestations() {
    let mut r = sample_report();
    r.items[5].expired_attestation = Some(preflight_model::Attested {
        by: "bob".into(),
        at: "2026-01-10T09:00:00Z".into(),
        note: Some("v3".into()),
        expires: Some("2026-02-10T09:00:00Z".into()),
    });
    let page = render_html(&r, &HtmlContext::default());
    assert!(page.contains("<title>NO-GO — Streamer App — production launch</title>"));
    assert!(page.contains("<span class=\"word\">NO-GO</span>"));
    assert!(page.contains("<strong>40%</strong> score"));
    assert!(
        page.contains(
            "<p class=\"why\">1 critical item did not pass and the score is below 95%.</p>"
        )
    );
    // Failing critical items (the verdict's list) come first, with their reasons.
    let blockers = &page[page.find("id=\"blockers\"").expect("blockers")
        ..page.find("id=\"items\"").expect("items")];
    assert!(blockers.contains("smoke.health"));
    assert!(blockers.contains("status == 200 — status was 503"));
    assert!(
        !blockers.contains("smoke.build"),
        "passing items are not blockers"
    );
    // Sections in checklist order, "(no section)" for the empty one.
    let s12 = page.find("12. Smoke tests").expect("section");
    let s13 = page.find("13. Communication").expect("section");
    assert!(s12 < s13 && page.contains("(no section)"));
    // Status as icon and word.
    assert!(page.contains("<i class=\"ic i-fail\" aria-hidden=\"true\"></i>fail</span>"));
    // Manual items: attested, expired.
    let manual = &page[page.find("id=\"manual\"").expect("manual")..];
    assert!(manual.contains("alice") && manual.contains("page live\nsecond line"));
    assert!(manual.contains("expired</span> 2026-02-10 09:00:00 UTC"));
    assert!(manual.contains("bob"));
    // Metadata says what is not known.
    assert!(page.contains("<dt>store run id</dt><dd>(not recorded)</dd>"));
}

#[test]
fn the_trend_reads_pre_launch_launch_then_time_since_launch() {
    let history = vec![
        summary(1, "2026-05-14T09:00:00Z", "pre-launch", 60, 3),
        summary(2, "2026-05-15T09:00:00Z", "launch", 100, 0),
        summary(3, "2026-05-15T10:00:00Z", "post-launch", 100, 0),
        summary(4, "2026-05-16T09:00:00Z", "post-launch", 90, 1),
        summary(5, "2026-05-22T09:00:00Z", "post-launch", 100, 0),
    ];
    let mut r = sample_report();
    r.run_id = Some(5);
    let ctx = HtmlContext {
        history: Some(history),
        ..HtmlContext::default()
    };
    let page = render_html(&r, &ctx);
    let wide = &page[page.find("<svg class=\"wide\"").expect("wide chart")..];
    let wide = &wide[..wide.find("</svg>").expect("end")];
    let labels: Vec<&str> = wide
        .split("<text class=\"lbl\"")
        .skip(1)
        .map(|t| &t[t.find('>').expect(">") + 1..t.find("</text>").expect("</text>")])
        .collect();
    assert_eq!(labels, ["pre-launch", "launch", "T+1h", "T+24h", "T+7d"]);
    assert_eq!(
        wide.matches("<g class=\"pt").count(),
        5,
        "the report is run 5"
    );
    assert_eq!(wide.matches(" current\"").count(), 1);
    assert_eq!(
        wide.matches("<rect class=\"crit\"").count(),
        2,
        "bars for runs with failing critical items"
    );
    // A phone gets its own drawing; both say the same in their titles.
    assert!(page.contains("<svg class=\"narrow\""));
    // Without history there is no trend section; with only this run, a note.
    let first = render_html(
        &r,
        &HtmlContext {
            history: Some(vec![]),
            ..HtmlContext::default()
        },
    );
    assert!(!first.contains("<svg class=\"wide\"") && first.contains("first recorded run"));
    assert!(!render_html(&r, &HtmlContext::default()).contains("id=\"trend\""));
}

#[test]
fn the_diff_lists_regressions_fixes_new_removed_and_slower_items() {
    let r = sample_report();
    let at = |id| RunRef {
        id: Some(id),
        started_at: "2026-05-15T09:00:00Z".into(),
        environment: "production".into(),
        phase: Some("launch".into()),
        verdict: Verdict::Go,
        score: 100,
    };
    let change = |id: &str, from, to| StatusChange {
        id: id.into(),
        severity: "critical".into(),
        from,
        to,
        reason: Some("status == 200 — status was 503".into()),
    };
    let d = Diff {
        from: at(2),
        to: at(7),
        regressed: vec![change("smoke.health", Status::Pass, Status::Fail)],
        recovered: vec![change("smoke.build", Status::Fail, Status::Pass)],
        changed: vec![],
        appeared: vec![preflight_model::ItemPresence {
            id: "smoke.after".into(),
            status: Status::Skip,
        }],
        disappeared: vec![preflight_model::ItemPresence {
            id: "gone.item".into(),
            status: Status::Pass,
        }],
        slower: vec![preflight_model::LatencyChange {
            id: "smoke.build".into(),
            from_ms: 40.0,
            to_ms: 400.0,
        }],
        latency_threshold: LatencyThreshold::default(),
    };
    let ctx = HtmlContext {
        diff: Some(d),
        diff_first: true,
        history: Some(vec![]),
        ..HtmlContext::default()
    };
    let page = render_html(&r, &ctx);
    let diff = &page[page.find("id=\"diff\"").expect("diff")..];
    for want in [
        "1 regression",
        "Regressions",
        "href=\"#i0\"",
        "Fixed",
        "New items",
        "smoke.after",
        "Removed items",
        "gone.item",
        "Latency growth",
        "+900%",
    ] {
        assert!(diff.contains(want), "{want}");
    }
    assert!(
        page.find("id=\"diff\"") < page.find("id=\"blockers\""),
        "a diff page shows the changes first"
    );
    // No baseline found: the page says so.
    let none = render_html(
        &r,
        &HtmlContext {
            history: Some(vec![]),
            baseline: Some("phase:launch".into()),
            ..HtmlContext::default()
        },
    );
    assert!(none.contains("No stored run matches the baseline phase:launch"));
}

#[test]
fn a_thousand_items_render_one_row_each() {
    let mut r = sample_report();
    let template = r.items[0].clone();
    r.items = (0..1000)
        .map(|i| {
            let mut it = template.clone();
            it.id = format!("svc{:02}.check{i:04}", i / 50);
            it.section = format!("{:02}. Service", i / 50);
            it.status = if i % 97 == 5 {
                Status::Fail
            } else {
                Status::Pass
            };
            it.facts = Some(json!({
                "status": 200, "latency_ms": 11.5, "http_version": "HTTP/1.1",
                "headers": {"content-type": "application/json", "content-length": "52",
                            "date": "Fri, 15 May 2026 09:00:00 GMT"},
                "body": "{\"status\":\"healthy\",\"version\":\"1.4.2\"}",
            }));
            it
        })
        .collect();
    // Its speed is measured by `cargo bench -p preflight-cli --bench html_report`.
    let page = render_html(&r, &HtmlContext::default());
    assert_eq!(page.matches("<tr id=\"i").count(), 1000);
}
