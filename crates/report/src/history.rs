//! `preflight history` for people.

use std::fmt::Write as _;

use preflight_core::sanitize::line;
use preflight_model::RunSummary;

/// ` (running)`, ` batch B shard K/N`: what the summary columns do not say.
fn batch_note(r: &RunSummary) -> String {
    let mut s = String::new();
    if r.running {
        s.push_str(" (running)");
    }
    if let Some(b) = &r.batch {
        s.push_str(&format!(" batch {}", truncate(b, 40)));
    }
    if let Some(k) = &r.shard {
        s.push_str(&format!(" shard {k}"));
    }
    s
}

/// `preflight history`: one line per run, newest first. Stored names are shown
/// with control characters escaped (a store may hold anything).
pub fn render_history(runs: &[RunSummary]) -> String {
    if runs.is_empty() {
        return "no runs recorded\n".into();
    }
    let mut out = format!(
        "{:>5}  {:<20}  {:<24}  {:<12}  {:<12}  {:<7}  {:>5}  {}\n",
        "RUN", "STARTED", "CHECKLIST", "ENV", "PHASE", "VERDICT", "SCORE", "PASS/FAIL/ERR/SKIP/MAN"
    );
    for r in runs {
        let c = &r.counts;
        let _ = writeln!(
            out,
            "{:>5}  {:<20}  {:<24}  {:<12}  {:<12}  {:<7}  {:>4}%  {}/{}/{}/{}/{}{}{}",
            r.id,
            line(&r.started_at),
            truncate(&r.checklist, 24),
            truncate(&r.environment, 12),
            truncate(r.phase.as_deref().unwrap_or("-"), 12),
            r.verdict.label(),
            r.score,
            c.pass,
            c.fail,
            c.error,
            c.skip,
            c.manual,
            if r.interrupted { " (interrupted)" } else { "" },
            batch_note(r)
        );
    }
    out
}

fn truncate(s: &str, n: usize) -> String {
    let s = line(s);
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}
