//! The HTML report: one self-contained page for people who are not at the terminal
//! (a ticket, a chat, a phone, a printer).
//!
//! Rendered by an `askama` template (`templates/html/report.html`, compile-time checked,
//! HTML-escaping every value). The page makes no request: CSS, the status icons and
//! the trend chart are inline, and a Content-Security-Policy (`default-src 'none'`,
//! the one script and style allowed by hash) keeps it so even if markup ever got
//! through. The small script only adds sorting and filtering; without it every item
//! is shown in checklist order.
//!
//! Everything that came from a target or a checklist is text: escaped by the
//! template, control and bidi characters replaced ([`view::clean`]), never a link or
//! an attribute that a browser acts on.

mod trend;
mod view;

use std::sync::LazyLock;

use askama::Template;
use base64::Engine as _;
use preflight_model::{Diff, ItemReport, Report, RunSummary};
use sha2::Digest as _;

use view::{DiffView, ItemView, MetaRow, SectionView, StatusView, VerdictView};

/// The page's stylesheet (screen, phone and print).
const CSS: &str = include_str!("../../templates/html/report.css");
/// Sorting and filtering; the page is complete without it.
const JS: &str = include_str!("../../templates/html/report.js");

/// The Content-Security-Policy of every page: nothing may load, only this build's
/// own script and stylesheet may run.
static CSP: LazyLock<String> = LazyLock::new(|| {
    let hash = |text: &str| {
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(text.as_bytes()))
    };
    format!(
        "default-src 'none'; script-src 'sha256-{}'; style-src 'sha256-{}'; base-uri 'none'; form-action 'none'",
        hash(JS),
        hash(CSS)
    )
});

/// What the page shows beyond the report itself: what history knows about the
/// checklist. [`HtmlContext::default`] is a page without history.
#[derive(Debug, Clone, Default)]
pub struct HtmlContext {
    /// Stored runs of the same checklist and environment, oldest first; the report's
    /// own run is added when it is not among them. `None`: no history store.
    pub history: Option<Vec<RunSummary>>,
    /// The diff against the baseline, when one was found.
    pub diff: Option<Diff>,
    /// The baseline that was asked for (`phase:launch`, `last`, `run 12`), so the
    /// page can say what was compared, or that nothing matched.
    pub baseline: Option<String>,
    /// Why history is missing or incomplete (e.g. the store could not be read).
    pub note: Option<String>,
    /// The page is a `preflight diff`: the comparison comes right after the verdict.
    pub diff_first: bool,
}

#[derive(Template)]
#[template(path = "html/report.html")]
struct Page {
    title: String,
    css: &'static str,
    js: &'static str,
    csp: &'static str,
    checklist: String,
    subtitle: String,
    verdict: VerdictView,
    verdict_reason: String,
    score: u8,
    pass_score: u8,
    score_bar: view::ScoreBar,
    counts: Vec<(StatusView, usize)>,
    total: usize,
    interrupted: bool,
    blockers: Vec<ItemView>,
    sections: Vec<SectionView>,
    manual: Vec<ItemView>,
    notes: Vec<String>,
    meta: Vec<MetaRow>,
    diff: Option<DiffView>,
    diff_first: bool,
    baseline_note: Option<String>,
    /// The trend's summary, legend and table (the wide drawing).
    trend: Option<trend::Trend>,
    /// The trend drawn for a desktop and for a phone (CSS shows one).
    charts: Vec<trend::Trend>,
    history_note: Option<String>,
    version: String,
}

/// Renders `report` as one self-contained HTML page, with `ctx`'s history and diff.
pub fn render_html(report: &Report, ctx: &HtmlContext) -> String {
    let page = page(report, ctx);
    page.render().unwrap_or_else(|e| {
        // Only a formatter error can get here; say so in a page that still opens.
        format!(
            "<!doctype html><meta charset=\"utf-8\"><title>preflight report</title><p>the report could not be rendered: {}</p>\n",
            view::clean(&e.to_string()).replace(['<', '>', '&', '"'], " ")
        )
    })
}

fn page(r: &Report, ctx: &HtmlContext) -> Page {
    let items: Vec<ItemView> = r
        .items
        .iter()
        .enumerate()
        .map(|(n, i)| ItemView::new(n, i))
        .collect();
    // The verdict's own list, in checklist order.
    let blockers = items
        .iter()
        .filter(|i| r.failing_critical.contains(&r.items[i.index].id))
        .cloned()
        .collect();
    let manual = items.iter().filter(|i| i.manual).cloned().collect();
    // Sections in checklist order; a template's items as one row and the ones
    // that did not pass.
    let mut names: Vec<&str> = Vec::new();
    for i in &r.items {
        if !names.contains(&i.section.as_str()) {
            names.push(&i.section);
        }
    }
    let mut sections: Vec<SectionView> = Vec::new();
    for name in names {
        let members: Vec<(usize, &ItemReport)> = r
            .items
            .iter()
            .enumerate()
            .filter(|(_, i)| i.section == name)
            .collect();
        let mut rows: Vec<ItemView> = Vec::new();
        let mut n = 0;
        while n < members.len() {
            let (at, i) = members[n];
            let Some(t) = &i.template else {
                rows.push(items[at].clone());
                n += 1;
                continue;
            };
            let run: Vec<(usize, &ItemReport)> = members[n..]
                .iter()
                .take_while(|(_, x)| x.template.as_ref() == Some(t))
                .copied()
                .collect();
            let group: Vec<&ItemReport> = run.iter().map(|(_, x)| *x).collect();
            rows.push(ItemView::template(at, t, &group, r.hidden(t)));
            rows.extend(
                run.iter()
                    .filter(|(_, x)| x.status != preflight_core::Status::Pass)
                    .map(|(k, _)| items[*k].clone()),
            );
            n += run.len();
        }
        let mut rows = rows.into_iter();
        let Some(first) = rows.next() else { continue };
        let mut s = SectionView::new(sections.len(), name, first);
        s.items.extend(rows);
        let all: Vec<&ItemReport> = members.iter().map(|(_, i)| *i).collect();
        let mut templates: Vec<&str> = all.iter().filter_map(|i| i.template.as_deref()).collect();
        templates.dedup();
        s.summarize(&all, templates.iter().map(|t| r.hidden(t)).sum());
        sections.push(s);
    }
    let checklist = view::clean(&r.checklist);
    let verdict = VerdictView::of(r.verdict);
    let c = &r.counts;
    let counts = vec![
        (StatusView::PASS, c.pass),
        (StatusView::FAIL, c.fail),
        (StatusView::ERROR, c.error),
        (StatusView::SKIP, c.skip),
        (StatusView::MANUAL, c.manual),
    ];
    let charts: Vec<trend::Trend> = match &ctx.history {
        Some(h) => [trend::Layout::WIDE, trend::Layout::NARROW]
            .into_iter()
            .filter_map(|l| trend::Trend::new(h, r, l))
            .collect(),
        None => Vec::new(),
    };
    let trend = charts.first().cloned();
    let history_note = match (&ctx.history, &trend, &ctx.note) {
        (_, _, Some(n)) => Some(view::clean(n)),
        (Some(_), None, None) => {
            Some("This is the first recorded run of this checklist here: no trend yet.".into())
        }
        _ => None,
    };
    let diff = ctx.diff.as_ref().map(|d| DiffView::new(d, r));
    let baseline_note = match (&ctx.diff, &ctx.baseline) {
        (None, Some(b)) if ctx.history.is_some() => Some(format!(
            "No stored run matches the baseline {}: nothing to compare with.",
            view::clean(b)
        )),
        _ => None,
    };
    Page {
        title: format!("{} — {}", verdict.word, checklist),
        css: CSS,
        js: JS,
        csp: CSP.as_str(),
        subtitle: view::subtitle(r),
        verdict_reason: view::verdict_reason(r),
        checklist,
        verdict,
        score: r.score,
        pass_score: r.pass_score,
        score_bar: view::ScoreBar::new(r.score, r.pass_score),
        total: r.total(),
        counts,
        interrupted: r.interrupted,
        blockers,
        sections,
        manual,
        notes: r.notes.iter().map(|n| view::clean(n)).collect(),
        meta: view::meta(r),
        diff,
        diff_first: ctx.diff_first,
        baseline_note,
        trend,
        charts,
        history_note,
        version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

#[cfg(test)]
mod tests;
