//! Markdown as it is in the wild → raw checklist entries.
//!
//! Line-oriented on purpose: real checklists are often damaged Markdown (headings
//! that lost their `#`, several `- [ ]` items run together on one line, items cut
//! in the middle by a lost code span). A CommonMark parser would read those as one
//! paragraph; this scanner reads them the way a person does.

use std::sync::LazyLock;

use regex::Regex;

/// One checklist line found in the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The item text, inline markup removed.
    pub title: String,
    /// Sub-bullets and continuation lines under the item.
    pub details: Vec<String>,
    /// Heading chain above the item (outermost first, document title excluded).
    pub headings: Vec<String>,
    /// Ticked in the source (`[x]`, or a done status emoji in a table).
    pub ticked: bool,
    /// Owner column of a table row.
    pub owner: Option<String>,
    /// Title of the enclosing checklist item, for nested items.
    pub parent: Option<String>,
    /// 1-based line in the source.
    pub line: usize,
    /// The item was labelled critical / mandatory / blocker.
    pub critical_label: bool,
}

/// What the scanner found.
#[derive(Debug, Clone, Default)]
pub struct Scanned {
    /// The document title (first `#` heading, or first line of a heading-less file).
    pub title: Option<String>,
    /// Items in document order.
    pub entries: Vec<Entry>,
}

static CHECKBOX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[-*+]\s\[([ xX])\]").expect("valid regex"));
static ATX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^ {0,3}(#{1,6})(?:\s+(.*?))?\s*#*\s*$").expect("valid regex"));
static BULLET: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:[-*+]|\d{1,3}[.)])\s+(.*)$").expect("valid regex"));
static NUMBERED_HEADING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d{1,2}\.\s+\S.{0,78}$").expect("valid regex"));
static FENCE_CHECKBOX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:#+|//|--)\s*[-*+]\s\[([ xX])\]\s*(.*)$").expect("valid regex")
});
static LINK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"!?\[([^\]]*)\]\(([^)\s]*)\)").expect("valid regex"));
static STAR_EMPHASIS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(^|[\s(\[])\*([A-Za-z0-9](?:[^*]*[A-Za-z0-9.!?)])?)\*($|[\s).,:;!?\]])")
        .expect("valid regex")
});
static UNDERSCORE_EMPHASIS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(^|[\s(])_([^_\s](?:[^_]*[^_\s])?)_([\s).,:;!?]|$)").expect("valid regex")
});
/// Words glued by an export that dropped code spans: `/api/healthreturns200`.
static GLUED_VERB: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(/[A-Za-z0-9_/.-]*[A-Za-z0-9])(returns|responds|shows)(\d{3}\b|\s|$)")
        .expect("valid regex")
});
static GLUED_STATUS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(returns?)(\d{3})\b").expect("valid regex"));
static SEPARATOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$").expect("valid regex")
});
static CRITICAL_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(\*\*|\[|\()\s*(critical|mandatory|blocker|blocking)\s*:?\s*(\*\*|\]|\))|^\s*(critical|mandatory|blocker)\s*:|(?-i:\b(CRITICAL|MANDATORY|BLOCKER)\b)|🔴|⛔")
        .expect("valid regex")
});

/// Removes inline Markdown (code spans, emphasis, links) and folds whitespace.
pub fn clean_inline(text: &str) -> String {
    let text = text.replace('`', "").replace("**", "");
    let text = LINK.replace_all(&text, |c: &regex::Captures<'_>| {
        let (t, u) = (&c[1], &c[2]);
        if t.is_empty() || t == u {
            u.to_string()
        } else {
            format!("{t} ({u})")
        }
    });
    let text = STAR_EMPHASIS.replace_all(&text, "$1$2$3");
    let text = UNDERSCORE_EMPHASIS.replace_all(&text, "$1$2$3");
    let text = GLUED_VERB.replace_all(&text, "$1 $2 $3");
    let text = GLUED_STATUS.replace_all(&text, "$1 $2");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// True when a line carries a critical / mandatory / blocker label.
pub fn has_critical_label(text: &str) -> bool {
    CRITICAL_LABEL.is_match(text)
}

fn indent_of(line: &str) -> usize {
    line.chars()
        .take_while(|c| c.is_whitespace())
        .map(|c| if c == '\t' { 4 } else { 1 })
        .sum()
}

fn is_list_line(trimmed: &str) -> bool {
    BULLET.is_match(trimmed) || CHECKBOX.is_match(trimmed)
}

/// A short line that reads like a title: used for headings that lost their `#`.
fn title_like(trimmed: &str) -> bool {
    let words = trimmed.split_whitespace().count();
    trimmed.chars().next().is_some_and(char::is_uppercase)
        && (1..=6).contains(&words)
        && !trimmed.ends_with(['.', ':', ';', ',', '|'])
        && !trimmed.contains('|')
        && trimmed.chars().count() <= 60
}

fn split_row(line: &str) -> Vec<String> {
    let t = line.trim();
    let t = t.strip_prefix('|').unwrap_or(t);
    let t = t.strip_suffix('|').unwrap_or(t);
    let mut cells = Vec::new();
    let mut cur = String::new();
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cur.push('|');
                chars.next();
            }
            '|' => cells.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    cells.push(cur);
    cells.into_iter().map(|c| clean_inline(&c)).collect()
}

/// Columns of a table that lists checklist items.
#[derive(Debug, Clone)]
struct Table {
    /// The item text column.
    task: Option<usize>,
    /// An endpoint / path / URL column (health-check tables).
    endpoint: Option<usize>,
    /// Expected response column.
    expected: Option<usize>,
    /// Row number column (`1.1`).
    number: Option<usize>,
    owner: Option<usize>,
    status: Option<usize>,
    /// First column, used to name endpoint rows.
    header_seen: bool,
}

fn find_col(header: &[String], names: &[&str]) -> Option<usize> {
    header.iter().position(|h| {
        let h = h.to_lowercase();
        names
            .iter()
            .any(|n| h == *n || h.split_whitespace().any(|w| w == *n))
    })
}

fn table_from_header(header: &[String]) -> Table {
    Table {
        task: find_col(
            header,
            &[
                "task",
                "tasks",
                "item",
                "items",
                "check",
                "checklist",
                "action",
                "requirement",
                "todo",
                "to-do",
                "deliverable",
            ],
        ),
        endpoint: find_col(header, &["endpoint", "url", "path", "route"]),
        expected: find_col(header, &["expected", "response", "returns", "expect"]),
        number: find_col(header, &["#", "no", "no.", "nr", "step", "id", "ref"]),
        owner: find_col(
            header,
            &["owner", "owners", "who", "responsible", "assignee", "dri"],
        ),
        status: find_col(header, &["status", "done", "state", "✓", "✔", "complete"]),
        header_seen: true,
    }
}

/// Reads a status cell: ✅ / done / yes / [x] → ticked.
pub fn status_done(cell: &str) -> bool {
    let c = cell.trim().to_lowercase();
    ["✅", "✔", "☑", "✓", "🟢", "[x]"]
        .iter()
        .any(|m| c.contains(m))
        || matches!(
            c.as_str(),
            "done" | "yes" | "y" | "complete" | "completed" | "ok" | "passed" | "pass" | "x"
        )
}

struct Scanner {
    out: Scanned,
    has_atx: bool,
    headings: Vec<(usize, String)>,
    /// Index of the item that lazy lines continue, if any.
    open: Option<usize>,
    /// Indent of the open item's marker.
    open_indent: usize,
    /// Whether the last line added a detail (continuations go there).
    last_was_detail: bool,
    /// Enclosing items: (indent, entry index).
    stack: Vec<(usize, usize)>,
    table: Option<Table>,
    seen_text: bool,
    /// A `- [ ]` at the end of a line whose text is on the next line (damaged export).
    pending: Option<(usize, bool)>,
}

impl Scanner {
    fn chain(&self) -> Vec<String> {
        self.headings.iter().map(|(_, h)| h.clone()).collect()
    }

    fn heading(&mut self, level: usize, text: &str) {
        let text = clean_inline(text);
        self.close();
        if level == 1 && self.out.title.is_none() && self.out.entries.is_empty() {
            self.out.title = Some(text);
            return;
        }
        self.headings.retain(|(l, _)| *l < level);
        if !text.is_empty() {
            self.headings.push((level, text));
        }
    }

    fn close(&mut self) {
        self.open = None;
        self.pending = None;
        self.stack.clear();
        self.table = None;
        self.last_was_detail = false;
    }

    fn add_item(&mut self, indent: usize, ticked: bool, raw: &str, line: usize) {
        let title = clean_inline(raw);
        self.stack.retain(|(i, _)| *i < indent);
        if title.is_empty() {
            // `- [ ]` with nothing after it: its text may follow on the next line.
            self.open = None;
            self.pending = Some((indent, ticked));
            return;
        }
        self.pending = None;
        let parent = self
            .stack
            .last()
            .map(|(_, idx)| self.out.entries[*idx].title.clone());
        self.out.entries.push(Entry {
            critical_label: has_critical_label(raw),
            title,
            details: vec![],
            headings: self.chain(),
            ticked,
            owner: None,
            parent,
            line,
        });
        let idx = self.out.entries.len() - 1;
        self.stack.push((indent, idx));
        self.open = Some(idx);
        self.open_indent = indent;
        self.last_was_detail = false;
    }

    fn continue_open(&mut self, raw: &str, line: usize) {
        let text = clean_inline(raw);
        if text.is_empty() {
            return;
        }
        if let Some((indent, ticked)) = self.pending.take() {
            self.add_item(indent, ticked, raw, line);
            return;
        }
        let Some(idx) = self.open else { return };
        let e = &mut self.out.entries[idx];
        if self.last_was_detail
            && let Some(d) = e.details.last_mut()
        {
            d.push(' ');
            d.push_str(&text);
        } else {
            // Damaged exports cut items where a code span was: glue without a space
            // only when the title ends mid-word.
            e.title.push(' ');
            e.title.push_str(&text);
            if has_critical_label(raw) {
                e.critical_label = true;
            }
        }
    }

    fn checkbox_line(&mut self, line: &str, n: usize) {
        let trimmed = line.trim_start();
        let indent = indent_of(line);
        let marks: Vec<_> = CHECKBOX.captures_iter(trimmed).collect();
        let first_start = marks[0].get(0).map_or(0, |m| m.start());
        if first_start > 0 {
            self.continue_open(&trimmed[..first_start], n);
        }
        let own_indent = if first_start == 0 {
            indent
        } else {
            self.open.map_or(indent, |_| self.open_indent)
        };
        self.pending = None;
        for (k, c) in marks.iter().enumerate() {
            let m = c.get(0).expect("whole match");
            let end = marks
                .get(k + 1)
                .and_then(|next| next.get(0))
                .map_or(trimmed.len(), |nm| nm.start());
            let ticked = &c[1] != " ";
            self.add_item(own_indent, ticked, &trimmed[m.end()..end], n);
        }
    }

    fn table_row(&mut self, trimmed: &str, next: Option<&str>, n: usize) {
        if SEPARATOR.is_match(trimmed) {
            return;
        }
        let cells = split_row(trimmed);
        let Some(table) = self.table.clone() else {
            // A header row only counts when a separator row follows.
            if next.is_some_and(|l| SEPARATOR.is_match(l.trim())) {
                self.open = None;
                self.table = Some(table_from_header(&cells));
            }
            return;
        };
        debug_assert!(table.header_seen);
        let cell = |i: Option<usize>| {
            i.and_then(|i| cells.get(i))
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
        };
        let title = if let Some(task) = cell(table.task) {
            match cell(table.number) {
                Some(num) if table.number != table.task => format!("{num} {task}"),
                _ => task,
            }
        } else if let Some(ep) = cell(table.endpoint).filter(|_| table.expected.is_some()) {
            let name = cells
                .first()
                .filter(|_| table.endpoint != Some(0))
                .map(|c| format!("{}: ", c.trim()))
                .unwrap_or_default();
            let exp = cell(table.expected).unwrap_or_default();
            format!("{name}{ep} returns {exp}")
        } else {
            return;
        };
        let owner = cell(table.owner).filter(|o| {
            !matches!(
                o.to_lowercase().as_str(),
                "tbd" | "-" | "—" | "n/a" | "?" | "todo"
            )
        });
        let ticked = cell(table.status).is_some_and(|s| status_done(&s));
        self.out.entries.push(Entry {
            critical_label: has_critical_label(trimmed),
            title: clean_inline(&title),
            details: vec![],
            headings: self.chain(),
            ticked,
            owner,
            parent: None,
            line: n,
        });
        self.open = None;
    }
}

/// Scans a Markdown document.
pub fn scan(text: &str) -> Scanned {
    let lines: Vec<&str> = text.lines().collect();
    let mut in_fence: Option<String> = None;
    let has_atx = {
        let mut fence = false;
        lines.iter().any(|l| {
            let t = l.trim_start();
            if t.starts_with("```") || t.starts_with("~~~") {
                fence = !fence;
            }
            !fence && ATX.captures(l).is_some_and(|c| c.get(2).is_some())
        })
    };
    let mut s = Scanner {
        out: Scanned::default(),
        has_atx,
        headings: vec![],
        open: None,
        open_indent: 0,
        last_was_detail: false,
        stack: vec![],
        table: None,
        seen_text: false,
        pending: None,
    };
    for (i, raw) in lines.iter().enumerate() {
        let n = i + 1;
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if let Some(fence) = &in_fence {
            if trimmed.starts_with(fence.as_str()) {
                in_fence = None;
            } else if let Some(c) = FENCE_CHECKBOX.captures(trimmed) {
                // `# - [ ] Login flow works` inside a script block: a real item.
                let ticked = &c[1] != " ";
                let text = c.get(2).map_or("", |m| m.as_str()).to_string();
                s.add_item(0, ticked, &text, n);
                s.open = None;
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = Some(trimmed[..3].to_string());
            s.open = None;
            continue;
        }
        if trimmed.is_empty() {
            s.open = None;
            s.pending = None;
            s.table = None;
            continue;
        }
        let next = lines[i + 1..]
            .iter()
            .map(|l| l.trim())
            .find(|l| !l.is_empty());
        if let Some(c) = ATX.captures(line) {
            let level = c[1].len();
            s.heading(level, c.get(2).map_or("", |m| m.as_str()));
            s.seen_text = true;
            continue;
        }
        if trimmed.starts_with('|') {
            s.table_row(trimmed, lines.get(i + 1).copied(), n);
            s.seen_text = true;
            continue;
        }
        if !s.has_atx {
            if !s.seen_text {
                s.seen_text = true;
                if !is_list_line(trimmed) {
                    s.out.title = Some(clean_inline(trimmed));
                    continue;
                }
            }
            let numbered = NUMBERED_HEADING.is_match(trimmed) && !CHECKBOX.is_match(trimmed);
            let plain = title_like(trimmed)
                && !is_list_line(trimmed)
                && next.is_none_or(|l| !is_list_line(l));
            if numbered || plain {
                s.heading(2, trimmed);
                continue;
            }
        }
        s.seen_text = true;
        if CHECKBOX.is_match(trimmed) {
            s.checkbox_line(line, n);
            continue;
        }
        if matches!(trimmed, "---" | "***" | "___") {
            s.close();
            continue;
        }
        if let Some(c) = BULLET.captures(trimmed) {
            if let Some(idx) = s.open {
                let text = clean_inline(&c[1]);
                if !text.is_empty() {
                    s.out.entries[idx].details.push(text);
                    s.last_was_detail = true;
                }
            }
            continue;
        }
        if s.open.is_some() || s.pending.is_some() {
            s.continue_open(trimmed, n);
        }
    }
    s.out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn titles(s: &Scanned) -> Vec<&str> {
        s.entries.iter().map(|e| e.title.as_str()).collect()
    }

    #[test]
    fn headings_items_details_and_nesting() {
        let s = scan(
            "# Launch\n\n## Pre-launch\n\n### Database\n- [ ] All **migrations** applied (`schema_versions`)\n- [x] Triggers active:\n  - `a_guard`\n  - `b_guard`\n  - [ ] nested child\n",
        );
        assert_eq!(s.title.as_deref(), Some("Launch"));
        assert_eq!(
            titles(&s),
            vec![
                "All migrations applied (schema_versions)",
                "Triggers active:",
                "nested child"
            ]
        );
        assert_eq!(s.entries[1].details, vec!["a_guard", "b_guard"]);
        assert!(s.entries[1].ticked);
        assert_eq!(s.entries[2].parent.as_deref(), Some("Triggers active:"));
        assert_eq!(s.entries[0].headings, vec!["Pre-launch", "Database"]);
    }

    #[test]
    fn items_run_together_and_cut_lines_are_split_and_glued() {
        let s = scan(
            "Title\n1. Code\n- [ ] All\nmain CI is green - [ ]\nnpx tsc clean - [ ] Image pinned\n- [ ]\n2. Next part\n- [ ] x\n",
        );
        assert_eq!(s.title.as_deref(), Some("Title"));
        assert_eq!(
            titles(&s),
            vec!["All main CI is green", "npx tsc clean", "Image pinned", "x"]
        );
        assert_eq!(s.entries[3].headings, vec!["2. Next part"]);
    }

    #[test]
    fn tables_with_a_task_column_owner_and_status() {
        let s = scan(
            "# T\n| # | Task | Owner | Status |\n|---|---|---|---|\n| 1.1 | Ship **it** | Ann | ✅ |\n| 1.2 | Test it | TBD | ⏳ |\n\n| Section | Owner |\n|---|---|\n| x | y |\n",
        );
        assert_eq!(titles(&s), vec!["1.1 Ship it", "1.2 Test it"]);
        assert_eq!(s.entries[0].owner.as_deref(), Some("Ann"));
        assert!(s.entries[0].ticked && !s.entries[1].ticked);
        assert_eq!(s.entries[1].owner, None);
    }

    #[test]
    fn checkboxes_in_script_comments_and_labels() {
        let s = scan(
            "# T\n## Smoke\n```bash\n# - [ ] Login works\nnpm test\n```\n- [ ] **Critical:** backups\n- [ ] No critical CVEs\n- [ ] Backups BLOCKER\n",
        );
        assert_eq!(
            titles(&s),
            vec![
                "Login works",
                "Critical: backups",
                "No critical CVEs",
                "Backups BLOCKER"
            ]
        );
        let labels: Vec<bool> = s.entries.iter().map(|e| e.critical_label).collect();
        assert_eq!(labels, vec![false, true, false, true]);
    }

    #[test]
    fn clean_inline_keeps_snake_case() {
        assert_eq!(
            clean_inline("**Stage 1** — flip `a_b_c` and _this_ [docs](https://x.io/a)"),
            "Stage 1 — flip a_b_c and this docs (https://x.io/a)"
        );
    }
}
