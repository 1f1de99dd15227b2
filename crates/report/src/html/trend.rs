//! The trend chart: score and failing-critical count across the stored runs of a
//! checklist, as inline SVG geometry (numbers only; labels are escaped text).
//!
//! Runs after a `launch`-phase run are labelled by the time since it (`T+1h`,
//! `T+24h`, `T+7d`), the others by their phase, so the chart reads
//! pre-launch → launch → T+1h → T+24h → T+7d.

use std::time::SystemTime;

use preflight_core::Verdict;
use preflight_model::{Report, RunSummary};

use super::view::{clean, time};

/// A drawing of the chart: its size in SVG units (text is drawn at 11–12 units, so
/// the size is about the pixels it is shown at) and how many points get a label.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    /// `wide` or `narrow`: the CSS shows one of them by screen width.
    pub name: &'static str,
    width: f64,
    height: f64,
    /// At most this many points carry a label below the axis; the others a tooltip.
    max_labels: usize,
}

impl Layout {
    /// For a desktop screen or paper.
    pub const WIDE: Layout = Layout {
        name: "wide",
        width: 760.0,
        height: 250.0,
        max_labels: 10,
    };
    /// For a phone.
    pub const NARROW: Layout = Layout {
        name: "narrow",
        width: 350.0,
        height: 240.0,
        max_labels: 4,
    };
}

const TOP: f64 = 18.0;
/// Room for the axis labels on each side.
const SIDE: f64 = 40.0;

/// One run on the chart.
#[derive(Debug, Clone)]
pub(crate) struct Point {
    pub x: f64,
    pub y: f64,
    pub go: bool,
    pub current: bool,
    /// Tooltip and table text.
    pub run: String,
    pub when: String,
    pub label: String,
    pub verdict: &'static str,
    pub score: u8,
    pub failing: usize,
    /// Drawn with a label under the axis.
    pub labelled: bool,
    /// The failing-critical bar: left, top and height.
    pub bar_x: f64,
    pub bar_y: f64,
    pub bar_h: f64,
    /// The NO-GO marker (a square): its top-left corner.
    pub sq_x: f64,
    pub sq_y: f64,
}

/// A gridline of the score axis.
#[derive(Debug, Clone)]
pub(crate) struct Tick {
    pub y: f64,
    pub text: String,
}

/// Everything the template draws.
#[derive(Debug, Clone)]
pub(crate) struct Trend {
    pub layout: &'static str,
    pub points: Vec<Point>,
    /// The score line, as SVG path data.
    pub path: String,
    pub ticks: Vec<Tick>,
    pub crit_ticks: Vec<Tick>,
    pub threshold_y: f64,
    pub pass_score: u8,
    pub bar_w: f64,
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    /// Where the left (score) and right (count) axis labels end and start.
    pub axis_l: f64,
    pub axis_r: f64,
    pub label_y: f64,
    pub sub_y: f64,
    pub summary: String,
}

struct Run {
    id: Option<i64>,
    started_at: String,
    phase: Option<String>,
    verdict: Verdict,
    score: u8,
    failing: usize,
    current: bool,
}

impl Trend {
    /// The chart of `history` (oldest first) with `r` as its current run, drawn in
    /// `layout`; `None` with fewer than two runs.
    pub fn new(history: &[RunSummary], r: &Report, layout: Layout) -> Option<Trend> {
        let (left, right) = (SIDE, layout.width - SIDE);
        let bottom = layout.height - 64.0;
        let mut runs: Vec<Run> = history
            .iter()
            .map(|s| Run {
                id: Some(s.id),
                started_at: s.started_at.clone(),
                phase: s.phase.clone(),
                verdict: s.verdict,
                score: s.score,
                failing: s.failing_critical,
                current: r.run_id == Some(s.id),
            })
            .collect();
        if !runs.iter().any(|x| x.current) {
            runs.push(Run {
                id: r.run_id,
                started_at: r.started_at.clone(),
                phase: r.phase.clone(),
                verdict: r.verdict,
                score: r.score,
                failing: r.failing_critical.len(),
                current: true,
            });
        }
        if runs.len() < 2 {
            return None;
        }
        let labels = labels(&runs);
        let n = runs.len();
        let pad = if layout.width < 500.0 { 12.0 } else { 18.0 };
        let step = if n > 1 {
            (right - left - 2.0 * pad) / (n - 1) as f64
        } else {
            0.0
        };
        let x = |i: usize| left + pad + step * i as f64;
        let y = |score: u8| bottom - f64::from(score.min(100)) / 100.0 * (bottom - TOP);
        let crit_max = runs.iter().map(|r| r.failing).max().unwrap_or(0).max(1);
        let bar_h = |count: usize| count as f64 / crit_max as f64 * (bottom - TOP) * 0.5;
        let every = n.div_ceil(layout.max_labels);
        let bar_w = round((step * 0.45).clamp(4.0, 22.0));
        let points: Vec<Point> = runs
            .iter()
            .enumerate()
            .map(|(i, run)| {
                let h = bar_h(run.failing);
                let (px, py) = (round(x(i)), round(y(run.score)));
                Point {
                    x: px,
                    y: py,
                    sq_x: round(px - 5.0),
                    sq_y: round(py - 5.0),
                    bar_x: round(px - bar_w / 2.0),
                    go: run.verdict == Verdict::Go,
                    current: run.current,
                    run: run
                        .id
                        .map_or_else(|| "this run".into(), |id| format!("run {id}")),
                    when: time(&run.started_at),
                    label: labels[i].clone(),
                    verdict: run.verdict.label(),
                    score: run.score,
                    failing: run.failing,
                    labelled: i % every == 0 || i == n - 1 || run.current,
                    bar_y: round(bottom - h),
                    bar_h: round(h),
                }
            })
            .collect();
        let path = points
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{}{},{}", if i == 0 { "M" } else { "L" }, p.x, p.y))
            .collect::<Vec<_>>()
            .join(" ");
        let ticks = [0u8, 25, 50, 75, 100]
            .iter()
            .map(|&s| Tick {
                y: round(y(s)),
                text: format!("{s}%"),
            })
            .collect();
        let crit_ticks = [0, crit_max]
            .iter()
            .map(|&c| Tick {
                y: round(bottom - bar_h(c)),
                text: c.to_string(),
            })
            .collect();
        let first = &points[0];
        let last = &points[n - 1];
        Some(Trend {
            summary: format!(
                "{n} runs, from {} ({}, score {}%) to {} ({}, score {}%)",
                first.label, first.verdict, first.score, last.label, last.verdict, last.score
            ),
            points,
            path,
            ticks,
            crit_ticks,
            threshold_y: round(y(r.pass_score)),
            pass_score: r.pass_score,
            bar_w,
            layout: layout.name,
            width: layout.width,
            height: layout.height,
            left,
            axis_l: left - 6.0,
            axis_r: right + 6.0,
            right,
            label_y: bottom + 22.0,
            sub_y: bottom + 38.0,
        })
    }
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Each run's label: `launch`, `T+…` after the latest launch-phase run before it,
/// otherwise its phase.
fn labels(runs: &[Run]) -> Vec<String> {
    let mut anchor: Option<SystemTime> = None;
    runs.iter()
        .map(|run| {
            let at = humantime::parse_rfc3339_weak(&run.started_at).ok();
            let phase = run.phase.as_deref().map(clean);
            match phase.as_deref() {
                Some("launch") => {
                    anchor = at.or(anchor);
                    "launch".to_string()
                }
                Some("pre-launch") => "pre-launch".to_string(),
                p => match (anchor, at) {
                    (Some(a), Some(t)) if t >= a => {
                        since(t.duration_since(a).unwrap_or_default().as_secs())
                    }
                    _ => p.unwrap_or("(no phase)").to_string(),
                },
            }
        })
        .collect()
}

/// `T+42s`, `T+5m`, `T+1h`, `T+24h`, `T+7d`.
fn since(secs: u64) -> String {
    let r = |unit: u64| (secs + unit / 2) / unit;
    if secs < 60 {
        format!("T+{secs}s")
    } else if r(60) < 60 {
        format!("T+{}m", r(60))
    } else if r(3600) < 48 {
        format!("T+{}h", r(3600))
    } else {
        format!("T+{}d", r(86_400))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_since_launch_reads_like_a_launch_plan() {
        assert_eq!(since(42), "T+42s");
        assert_eq!(since(3600), "T+1h");
        assert_eq!(since(24 * 3600), "T+24h");
        assert_eq!(since(7 * 86_400), "T+7d");
        assert_eq!(since(5 * 60 + 10), "T+5m");
        assert_eq!(since(59 * 60 + 50), "T+1h");
        assert_eq!(since(3 * 86_400 + 3600), "T+3d");
    }
}
