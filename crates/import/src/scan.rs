//! Markdown as it is in the wild → checklist boxes.
//!
//! Line-oriented on purpose: real checklists are often damaged Markdown (headings
//! that lost their `#`, several `- [ ]` items run together on one line, items cut
//! in the middle by a lost code span). A CommonMark parser would read those as one
//! paragraph; this scanner reads them the way a person does.
//!
//! A *box* is what a person ticks: a `- [ ]` / `* [x]` / `1. [ ]` / `☐` line, a
//! numbered row (`1.4 Verify …`), a row of a table with a task column, or — in a
//! document with no boxes at all — a top-level bullet. Plain sub-bullets, code
//! spans and fenced commands under a box are its details.

use std::sync::LazyLock;

use regex::Regex;

/// One box found in the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The item text, inline markup removed.
    pub title: String,
    /// Code spans in the title and fenced lines under the box: what to run.
    pub code: Vec<String>,
    /// Sub-bullets, continuation lines and extra table cells under the box.
    pub details: Vec<Detail>,
    /// Heading chain above the item (outermost first, document title excluded).
    pub headings: Vec<String>,
    /// Ticked in the source (`[x]`, `☑`, or a done status in a table).
    pub ticked: bool,
    /// Owner column of a table row.
    pub owner: Option<String>,
    /// Title of the enclosing box, for nested boxes.
    pub parent: Option<String>,
    /// 1-based line of the box's marker in the source.
    pub line: usize,
    /// The item was labelled critical / mandatory / blocker.
    pub critical_label: bool,
}

/// A detail line under a box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detail {
    /// The text, inline markup removed.
    pub text: String,
    /// Its code spans.
    pub code: Vec<String>,
}

/// What the scanner found.
#[derive(Debug, Clone, Default)]
pub struct Scanned {
    /// The document title (first `#` heading, front matter `title`, or the first
    /// line of a heading-less file).
    pub title: Option<String>,
    /// Boxes in document order.
    pub entries: Vec<Entry>,
    /// Front matter `key: value` pairs.
    pub front: Vec<(String, String)>,
}

fn re(p: &str) -> Regex {
    Regex::new(p).expect("valid regex")
}

/// A checkbox marker anywhere in a line (items run together): `- [ ]`, `* [x]`.
static CHECKBOX: LazyLock<Regex> = LazyLock::new(|| re(r"[-*+]\s\[([ xX✓✔])\]"));
/// A checkbox that opens a line without a bullet, or after a number: `[ ] x`, `1. [x] y`.
static LEAD_BOX: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?:(?:\d{1,3}|[a-z])[.)]\s+)?\[([ xX✓✔])\](?:\s+|$)"));
/// A status emoji opening a line (`✅ DNS moved`, `⏳ HSTS`): a box in status posts.
static STATUS_LINE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?:[-*+]\s+)?(✅|✔️|✔|🟢|☑️|⏳|🟡|🟠|⚠️|❌|🔴|⛔|🚧|⬜)\s*(\S.*)$"));
/// Unicode ballot boxes: `☐ a ☐ b` (also after a bullet).
static BALLOT: LazyLock<Regex> = LazyLock::new(|| re(r"(?:^|\s)(?:[-*+]\s+)?([☐☑☒⬜🔲□])\s*"));
/// A numbered row: `1.4 Verify TLS`, `2.3) …`.
static NUMBERED_ROW: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(\d{1,3}(?:\.\d{1,3})+)[.)]?\s+(\S.*)$"));
static ATX: LazyLock<Regex> = LazyLock::new(|| re(r"^ {0,3}(#{1,6})(?:\s+(.*?))?\s*#*\s*$"));
static BULLET: LazyLock<Regex> = LazyLock::new(|| re(r"^(?:[-*+•]|\d{1,3}[.)])\s+(.*)$"));
static NUMBERED_HEADING: LazyLock<Regex> = LazyLock::new(|| re(r"^\d{1,2}\.\s+\S.{0,78}$"));
static BOLD_LINE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(?:\*\*|__)([^*_]{2,80})(?:\*\*|__):?$|^(?:\*\*|__)([^*_]{2,80}):(?:\*\*|__)$")
});
static SUMMARY: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)<summary>(.*?)</summary>"));
static HTML_TAG: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)</?(?:details|summary|br|p|div|span|b|i|strong|em|kbd|sub|sup|img|a|hr|small|u|center)\b[^>]*/?>",
    )
});
static SETEXT: LazyLock<Regex> = LazyLock::new(|| re(r"^ {0,3}(=+|-+)\s*$"));
static FENCE_CHECKBOX: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?:#+|//|--)\s*[-*+]\s\[([ xX])\]\s*(.*)$"));
static CODE_SPAN: LazyLock<Regex> = LazyLock::new(|| re(r"``\s?(.+?)\s?``|`([^`]+)`"));
static LINK: LazyLock<Regex> = LazyLock::new(|| re(r"!?\[([^\]]*)\]\(([^)\s]*)\)"));
static STAR_EMPHASIS: LazyLock<Regex> =
    LazyLock::new(|| re(r"(^|[\s(\[])\*([A-Za-z0-9](?:[^*]*[A-Za-z0-9.!?)])?)\*($|[\s).,:;!?\]])"));
static UNDERSCORE_EMPHASIS: LazyLock<Regex> =
    LazyLock::new(|| re(r"(^|[\s(])_([^_\s](?:[^_]*[^_\s])?)_([\s).,:;!?]|$)"));
static SHORTCODE: LazyLock<Regex> = LazyLock::new(|| re(r":[a-z0-9_+-]{2,30}:"));
/// Words glued by an export that dropped code spans: `/api/healthreturns200`.
static GLUED_VERB: LazyLock<Regex> =
    LazyLock::new(|| re(r"(/[A-Za-z0-9_/.-]*[A-Za-z0-9])(returns|responds|shows)(\d{3}\b|\s|$)"));
static GLUED_STATUS: LazyLock<Regex> = LazyLock::new(|| re(r"\b(returns?)(\d{3})\b"));
/// A variable name glued to the next word: `SUMSUB_WEBHOOK_SECRETin webhooks`.
static GLUED_NAME: LazyLock<Regex> = LazyLock::new(|| {
    re(r"\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(in|on|at|to|for|and|or|is|are|from|with)\b")
});
static SEPARATOR: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$"));
static CRITICAL_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(\*\*|\[|\()\s*(critical|mandatory|blocker|blocking)\s*:?\s*(\*\*|\]|\))|^\s*(critical|mandatory|blocker)\s*:|(?-i:\b(CRITICAL|MANDATORY|BLOCKER)\b)|🔴|⛔",
    )
});
/// Headings of verification sections, whose commented commands are items.
static VERIFY: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)\b(verif\w*|validat\w*|smoke|sanity|health ?checks?|post-deploy\w*|acceptance)\b")
});
/// Headers and headings of sign-off tables.
static SIGN_OFF: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(sign-?off|signed|signature|approved by|approvals?|approver)\b"));
/// Sections whose bullets are never boxes (in documents without checkboxes).
static NOT_ITEMS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(rollback|roll back|contacts?|owners?|notes?|references?|glossary|background|overview|scope|audience|links|resources|timeline|schedule|history|changelog|legend|summary|sign-?off|approvals?|how to use|escalation|dependencies|appendix|faq|context|purpose|introduction)\b",
    )
});

/// Removes inline Markdown (code spans, emphasis, links, HTML) and folds whitespace.
pub fn clean_inline(text: &str) -> String {
    let text = HTML_TAG.replace_all(text, " ");
    let text = text.replace('`', "").replace("**", "").replace("__", " ");
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
    let text = SHORTCODE.replace_all(&text, " ");
    let text = GLUED_VERB.replace_all(&text, "$1 $2 $3");
    let text = GLUED_STATUS.replace_all(&text, "$1 $2");
    let text = GLUED_NAME.replace_all(&text, "$1 $2");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The code spans of a line, in order.
pub fn code_spans(text: &str) -> Vec<String> {
    CODE_SPAN
        .captures_iter(text)
        .filter_map(|c| c.get(1).or(c.get(2)).map(|m| m.as_str().trim().to_string()))
        .filter(|s| !s.is_empty())
        .collect()
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

fn is_box_line(trimmed: &str) -> bool {
    CHECKBOX.is_match(trimmed) || LEAD_BOX.is_match(trimmed) || starts_ballot(trimmed)
}

fn starts_ballot(trimmed: &str) -> bool {
    BALLOT
        .find(trimmed)
        .is_some_and(|m| m.start() == 0 && !trimmed[m.end()..].trim().is_empty())
}

fn is_list_line(trimmed: &str) -> bool {
    BULLET.is_match(trimmed) || is_box_line(trimmed)
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
    let mut in_code = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cur.push('|');
                chars.next();
            }
            '`' => {
                in_code = !in_code;
                cur.push(c);
            }
            '|' if !in_code => cells.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    cells.push(cur);
    cells
}

/// Columns of a table that lists checklist items.
#[derive(Debug, Clone, Default)]
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
    /// Priority / severity column.
    priority: Option<usize>,
    /// Other columns, kept as details: (header, index).
    extra: Vec<(String, usize)>,
    /// A sign-off / approvals table: never items.
    ignore: bool,
}

fn find_col(header: &[String], names: &[&str]) -> Option<usize> {
    header.iter().position(|h| {
        let h = h.to_lowercase();
        names
            .iter()
            .any(|n| h == *n || h.split_whitespace().any(|w| w == *n))
    })
}

const TASK_COLUMNS: &[&str] = &[
    "task",
    "tasks",
    "item",
    "items",
    "check",
    "checks",
    "checklist",
    "action",
    "requirement",
    "todo",
    "to-do",
    "deliverable",
    "control",
    "summary",
    "title",
    "description",
    "story",
    "criterion",
    "criteria",
];

fn table_from_header(header: &[String]) -> Table {
    let task = find_col(header, TASK_COLUMNS);
    let mut t = Table {
        task,
        endpoint: find_col(header, &["endpoint", "url", "path", "route"]),
        expected: find_col(header, &["expected", "response", "returns", "expect"]),
        number: find_col(header, &["#", "no", "no.", "nr", "step", "id", "ref"]),
        owner: find_col(
            header,
            &[
                "owner",
                "owners",
                "who",
                "responsible",
                "assignee",
                "dri",
                "approver",
            ],
        ),
        status: find_col(
            header,
            &[
                "status", "done", "state", "✓", "✔", "complete", "☐", "[ ]", "ok",
            ],
        ),
        priority: find_col(header, &["priority", "severity", "prio", "criticality"]),
        ignore: false,
        extra: vec![],
    };
    let used = [
        t.task, t.endpoint, t.expected, t.number, t.owner, t.status, t.priority,
    ];
    for (i, h) in header.iter().enumerate() {
        if !used.contains(&Some(i)) && !h.trim().is_empty() {
            t.extra.push((h.trim().to_string(), i));
        }
    }
    t
}

/// A cell holding only a checkbox: `[ ]`, `[x]`, `☐`, `☑`, `✅`, `⬜`.
fn checkbox_cell(cell: &str) -> Option<bool> {
    match cell.trim() {
        "[ ]" | "☐" | "⬜" | "🔲" | "□" => Some(false),
        "[x]" | "[X]" | "☑" | "☒" | "✅" | "✔" | "✔️" | "✓" => Some(true),
        _ => None,
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

fn letters(text: &str) -> usize {
    text.chars().filter(|c| c.is_alphabetic()).count()
}

struct Scanner {
    out: Scanned,
    has_atx: bool,
    /// The document has no boxes at all: top-level bullets are the items.
    list_mode: bool,
    headings: Vec<(usize, String)>,
    /// Level of the current heading when it is a bold line or `<summary>`.
    pseudo: Option<usize>,
    /// Index of the item that lazy lines continue, if any.
    open: Option<usize>,
    /// Indent of the open item's marker.
    open_indent: usize,
    /// Whether the last line added a detail (continuations go there).
    last_was_detail: bool,
    /// The last non-blank line belonged to the open item (a fence after it is its).
    item_context: Option<usize>,
    /// Enclosing items: (indent, entry index).
    stack: Vec<(usize, usize)>,
    table: Option<Table>,
    seen_text: bool,
    /// A `- [ ]` at the end of a line whose text is on the next line (damaged export):
    /// (indent, ticked, line of the marker).
    pending: Option<(usize, bool, usize)>,
}

impl Scanner {
    fn chain(&self) -> Vec<String> {
        self.headings.iter().map(|(_, h)| h.clone()).collect()
    }

    fn heading(&mut self, level: usize, text: &str) {
        let text = clean_inline(text);
        self.close();
        self.pseudo = None;
        if level == 1 && self.out.title.is_none() && self.out.entries.is_empty() {
            self.out.title = Some(text);
            return;
        }
        self.headings.retain(|(l, _)| *l < level);
        if !text.is_empty() {
            self.headings.push((level, text));
        }
    }

    /// A bold line or `<summary>` acting as a heading: a sub-heading of the current
    /// heading (a bold line), or a sibling of it (`<summary>`). A second pseudo
    /// heading replaces the first.
    fn pseudo_heading(&mut self, text: &str, sibling: bool) {
        let last = self.headings.last().map_or(1, |(l, _)| *l);
        let level = match self.pseudo {
            Some(l) => l,
            None if sibling => last.max(2),
            None => (last + 1).min(7),
        };
        self.heading(level, text);
        self.pseudo = Some(level);
    }

    fn close(&mut self) {
        self.open = None;
        self.pending = None;
        self.stack.clear();
        self.table = None;
        self.last_was_detail = false;
        self.item_context = None;
    }

    fn add_item(&mut self, indent: usize, ticked: bool, raw: &str, line: usize) {
        let title = clean_inline(raw);
        self.stack.retain(|(i, _)| *i < indent);
        if title.is_empty() {
            // `- [ ]` with nothing after it: its text may follow on the next line.
            self.open = None;
            self.pending = Some((indent, ticked, line));
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
            code: code_spans(raw),
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
        self.item_context = Some(idx);
        self.open_indent = indent;
        self.last_was_detail = false;
    }

    fn add_detail(&mut self, raw: &str) {
        let Some(idx) = self.open else { return };
        let text = clean_inline(raw);
        if text.is_empty() {
            return;
        }
        self.out.entries[idx].details.push(Detail {
            text,
            code: code_spans(raw),
        });
        self.last_was_detail = true;
        self.item_context = Some(idx);
    }

    fn continue_open(&mut self, raw: &str, line: usize) {
        let text = clean_inline(raw);
        if text.is_empty() {
            return;
        }
        if let Some((indent, ticked, at)) = self.pending.take() {
            let _ = line;
            self.add_item(indent, ticked, raw, at);
            return;
        }
        let Some(idx) = self.open else { return };
        let e = &mut self.out.entries[idx];
        if self.last_was_detail
            && let Some(d) = e.details.last_mut()
        {
            d.text.push(' ');
            d.text.push_str(&text);
            d.code.extend(code_spans(raw));
        } else {
            // Damaged exports cut items where a code span was.
            e.title.push(' ');
            e.title.push_str(&text);
            e.code.extend(code_spans(raw));
            if has_critical_label(raw) {
                e.critical_label = true;
            }
        }
        self.item_context = Some(idx);
    }

    fn checkbox_line(&mut self, line: &str, n: usize) {
        let trimmed = line.trim_start();
        let indent = indent_of(line);
        if let Some(c) = LEAD_BOX.captures(trimmed) {
            let m = c.get(0).expect("whole match");
            let rest = &trimmed[m.end()..];
            if !CHECKBOX.is_match(rest) {
                let ticked = &c[1] != " ";
                self.pending = None;
                self.add_item(indent, ticked, rest, n);
                return;
            }
        }
        if starts_ballot(trimmed) && !CHECKBOX.is_match(trimmed) {
            self.ballot_line(trimmed, indent, n);
            return;
        }
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

    /// `☐ a ☐ b ☑ c`: one item per ballot box.
    fn ballot_line(&mut self, trimmed: &str, indent: usize, n: usize) {
        let marks: Vec<_> = BALLOT.captures_iter(trimmed).collect();
        self.pending = None;
        for (k, c) in marks.iter().enumerate() {
            let m = c.get(0).expect("whole match");
            let end = marks
                .get(k + 1)
                .and_then(|next| next.get(0))
                .map_or(trimmed.len(), |nm| nm.start());
            let ticked = !matches!(&c[1], "☐" | "⬜" | "🔲" | "□");
            let text = &trimmed[m.end()..end];
            if !clean_inline(text).is_empty() {
                self.add_item(indent, ticked, text, n);
            }
        }
    }

    fn table_row(&mut self, trimmed: &str, next: Option<&str>, n: usize) {
        if SEPARATOR.is_match(trimmed) {
            return;
        }
        let raw = split_row(trimmed);
        let cells: Vec<String> = raw.iter().map(|c| clean_inline(c)).collect();
        if self.table.as_ref().is_some_and(|t| t.ignore) {
            return;
        }
        let Some(mut table) = self.table.clone() else {
            // A header row only counts when a separator row follows.
            if next.is_some_and(|l| SEPARATOR.is_match(l.trim())) {
                self.open = None;
                self.item_context = None;
                let sign_off = (cells.iter().any(|c| SIGN_OFF.is_match(c))
                    || self
                        .headings
                        .last()
                        .is_some_and(|(_, h)| SIGN_OFF.is_match(h)))
                    && table_from_header(&cells).task.is_none();
                self.table = Some(if sign_off {
                    Table {
                        ignore: true,
                        ..Table::default()
                    }
                } else {
                    table_from_header(&cells)
                });
            }
            return;
        };
        // A checkbox column makes a table a checklist even without a task header.
        let box_col = raw.iter().position(|c| checkbox_cell(c).is_some());
        if table.task.is_none()
            && let Some(b) = box_col
        {
            let text_col = (0..cells.len())
                .find(|&i| i != b && letters(&cells[i]) >= 3 && Some(i) != table.owner);
            if let Some(t) = text_col {
                table.task = Some(t);
                table.status = Some(b);
                table.extra.retain(|(_, i)| *i != t && *i != b);
                self.table = Some(table.clone());
            }
        }
        let cell = |i: Option<usize>| {
            i.and_then(|i| cells.get(i))
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
        };
        let task_raw = table
            .task
            .and_then(|i| raw.get(i))
            .cloned()
            .unwrap_or_default();
        let title = if let Some(task) = cell(table.task) {
            if letters(&task) < 2 {
                // Summary tables: counts, not tasks.
                return;
            }
            match cell(table.number) {
                Some(num) if table.number != table.task && letters(&num) == 0 => {
                    format!("{num} {task}")
                }
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
            ) && checkbox_cell(o).is_none()
        });
        let status_raw = table.status.and_then(|i| raw.get(i)).map(String::as_str);
        let ticked = status_raw
            .and_then(checkbox_cell)
            .unwrap_or_else(|| cell(table.status).is_some_and(|s| status_done(&s)));
        let mut code = code_spans(&task_raw);
        if table.task.is_none() {
            for i in [table.endpoint, table.expected].into_iter().flatten() {
                if let Some(r) = raw.get(i) {
                    code.extend(code_spans(r));
                }
            }
        }
        let mut details = Vec::new();
        for (h, i) in &table.extra {
            if let (Some(text), Some(r)) = (cell(Some(*i)), raw.get(*i))
                && checkbox_cell(r).is_none()
            {
                details.push(Detail {
                    text: format!("{h}: {text}"),
                    code: code_spans(r),
                });
            }
        }
        let critical = has_critical_label(trimmed)
            || cell(table.priority).is_some_and(|p| {
                let p = p.to_lowercase();
                p.contains("p0")
                    || p.contains("critical")
                    || p.contains("blocker")
                    || p == "highest"
            });
        self.out.entries.push(Entry {
            critical_label: critical,
            title: clean_inline(&title),
            code,
            details,
            headings: self.chain(),
            ticked,
            owner,
            parent: None,
            line: n,
        });
        self.open = None;
        self.item_context = None;
    }

    /// A line of a fenced block: a checkbox in a comment is an item; under an item the
    /// line is that item's command; in a verification section, a commented command
    /// is an item of its own (`# Check all pods are running` / `kubectl get pods`).
    fn fence_line(
        &mut self,
        trimmed: &str,
        n: usize,
        attach: Option<usize>,
        comment: &mut Option<(String, usize)>,
    ) {
        if let Some(c) = FENCE_CHECKBOX.captures(trimmed) {
            // `# - [ ] Login flow works` inside a script block: a real item.
            let ticked = &c[1] != " ";
            let text = c.get(2).map_or("", |m| m.as_str()).to_string();
            self.add_item(0, ticked, &text, n);
            self.open = None;
            self.item_context = None;
            return;
        }
        if let Some(idx) = attach {
            if !trimmed.is_empty() {
                self.out.entries[idx].code.push(trimmed.to_string());
            }
            return;
        }
        let verifying = self
            .headings
            .last()
            .is_some_and(|(_, h)| VERIFY.is_match(h));
        if !verifying || trimmed.is_empty() {
            *comment = None;
            return;
        }
        if let Some(c) = trimmed
            .strip_prefix('#')
            .filter(|_| !trimmed.starts_with("#!"))
        {
            let c = c
                .trim()
                .trim_start_matches(|x: char| x.is_ascii_digit() || x == '.' || x == ')')
                .trim();
            *comment = (!c.is_empty() && !c.ends_with(':')).then(|| (c.to_string(), n));
            return;
        }
        let continued = trimmed.ends_with('\\');
        if let Some((title, at)) = comment.take()
            && !continued
        {
            let headings = self.chain();
            self.out.entries.push(Entry {
                critical_label: false,
                title: clean_inline(&title),
                code: vec![trimmed.to_string()],
                details: vec![],
                headings,
                ticked: false,
                owner: None,
                parent: None,
                line: at,
            });
            self.open = None;
            self.item_context = None;
        }
    }
}

/// Where the front matter ends (index of the closing line), if the text has one.
fn front_matter(lines: &[&str]) -> Option<(usize, Vec<(String, String)>)> {
    let first = lines.first()?.trim();
    if first != "---" && first != "+++" {
        return None;
    }
    let end = lines
        .iter()
        .enumerate()
        .skip(1)
        .take(60)
        .find(|(_, l)| l.trim() == first)
        .map(|(i, _)| i)?;
    let mut pairs = Vec::new();
    for l in &lines[1..end] {
        let sep = if first == "+++" { '=' } else { ':' };
        if let Some((k, v)) = l.split_once(sep) {
            let k = k.trim();
            let v = v.trim().trim_matches(['"', '\'']);
            if !k.is_empty() && !k.contains(' ') && !v.is_empty() {
                pairs.push((k.to_string(), v.to_string()));
            }
        }
    }
    if pairs.is_empty() && end > 1 {
        return None;
    }
    Some((end, pairs))
}

/// Blockquote markers and HTML comments removed; `None` for lines to skip entirely.
fn unquote(line: &str) -> &str {
    let t = line.trim_start();
    if !t.starts_with('>') {
        return line;
    }
    let mut rest = t;
    while let Some(r) = rest.strip_prefix('>') {
        rest = r.strip_prefix(' ').unwrap_or(r);
        if !rest.trim_start().starts_with('>') {
            break;
        }
        rest = rest.trim_start();
    }
    rest
}

/// Removes `<!-- … -->` comments, tracking comments that span lines.
fn strip_comments(line: &str, in_comment: &mut bool) -> String {
    let mut out = String::new();
    let mut rest = line;
    loop {
        if *in_comment {
            match rest.find("-->") {
                Some(i) => {
                    rest = &rest[i + 3..];
                    *in_comment = false;
                }
                None => return out,
            }
        } else {
            match rest.find("<!--") {
                Some(i) => {
                    out.push_str(&rest[..i]);
                    rest = &rest[i + 4..];
                    *in_comment = true;
                }
                None => {
                    out.push_str(rest);
                    return out;
                }
            }
        }
    }
}

/// Scans a Markdown document.
pub fn scan(text: &str) -> Scanned {
    let raw_lines: Vec<&str> = text.lines().collect();
    let (skip_to, front) = match front_matter(&raw_lines) {
        Some((end, pairs)) => (end + 1, pairs),
        None => (0, vec![]),
    };
    // Comments removed, quotes unwrapped; line numbers kept.
    let mut in_comment = false;
    let owned: Vec<String> = raw_lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i < skip_to {
                return String::new();
            }
            let l = strip_comments(l, &mut in_comment);
            let l = unquote(&l).trim_end().to_string();
            if l.trim_start().starts_with("[!") && l.trim_end().ends_with(']') {
                // `> [!NOTE]` callout markers.
                return String::new();
            }
            l
        })
        .collect();
    let lines: Vec<&str> = owned.iter().map(String::as_str).collect();

    let mut fence = false;
    let mut has_atx = false;
    let mut has_boxes = false;
    let mut status_lines = 0;
    let mut md_fence = false;
    let mut header: Option<Vec<String>> = None;
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            let info = t[3..].trim().to_lowercase();
            if !fence && matches!(info.as_str(), "md" | "markdown" | "gfm" | "text" | "txt") {
                // Read as Markdown (see below): its lines count.
                md_fence = true;
                continue;
            }
            if md_fence && info.is_empty() {
                md_fence = false;
                continue;
            }
            fence = !fence;
            continue;
        }
        if fence {
            has_boxes |= FENCE_CHECKBOX.is_match(t);
            continue;
        }
        has_atx |= ATX.captures(l).is_some_and(|c| c.get(2).is_some());
        has_boxes |= is_box_line(t) || NUMBERED_ROW.is_match(t);
        status_lines += usize::from(STATUS_LINE.is_match(t) && !t.starts_with('|'));
        if t.starts_with('|') {
            if let Some(h) = &header {
                let cells = split_row(t);
                has_boxes |= cells.iter().any(|c| checkbox_cell(c).is_some())
                    || table_from_header(h).task.is_some() && !SEPARATOR.is_match(t);
            } else if lines
                .get(i + 1)
                .is_some_and(|n| SEPARATOR.is_match(n.trim()))
            {
                header = Some(split_row(t).iter().map(|c| clean_inline(c)).collect());
            }
        } else {
            header = None;
        }
    }

    // Three or more lines opening with a status emoji: a status post, one box a line.
    let status_post = status_lines >= 3;
    let mut s = Scanner {
        out: Scanned {
            front,
            ..Scanned::default()
        },
        has_atx,
        list_mode: !has_boxes && !status_post,
        headings: vec![],
        pseudo: None,
        open: None,
        open_indent: 0,
        last_was_detail: false,
        item_context: None,
        stack: vec![],
        table: None,
        seen_text: false,
        pending: None,
    };
    if let Some((_, t)) = s.out.front.iter().find(|(k, _)| k == "title") {
        s.out.title = Some(clean_inline(t));
    }
    let mut in_fence: Option<(String, Option<usize>)> = None;
    let mut fence_comment: Option<(String, usize)> = None;
    let mut markdown_fence: Option<String> = None;
    let mut skip_next = false;
    // Indent of the first bullet of the current list (list mode).
    let mut list_base: Option<usize> = None;
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        if skip_next {
            skip_next = false;
            continue;
        }
        let trimmed = line.trim_start();
        if let Some((marker, attach)) = &in_fence {
            if trimmed.starts_with(marker.as_str()) {
                in_fence = None;
            } else {
                let attach = *attach;
                s.fence_line(trimmed, n, attach, &mut fence_comment);
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            let info = trimmed[3..].trim().to_lowercase();
            let markdown = matches!(info.as_str(), "md" | "markdown" | "gfm" | "text" | "txt");
            // A checklist pasted in a Markdown fence ("copy this into the PR") is read as
            // Markdown: its closing fence is skipped below.
            if markdown && s.item_context.is_none() {
                markdown_fence = Some(trimmed[..3].to_string());
                continue;
            }
            if markdown_fence.as_deref() == Some(&trimmed[..3]) && info.is_empty() {
                markdown_fence = None;
                continue;
            }
            in_fence = Some((trimmed[..3].to_string(), s.item_context));
            fence_comment = None;
            s.open = None;
            s.pending = None;
            continue;
        }
        if let Some(c) = SUMMARY.captures(trimmed) {
            let t = c[1].to_string();
            s.pseudo_heading(&t, true);
            continue;
        }
        let stripped = HTML_TAG.replace_all(trimmed, "");
        if stripped.trim().is_empty() {
            if trimmed.is_empty() {
                s.open = None;
                s.pending = None;
                s.table = None;
                list_base = None;
            }
            continue;
        }
        if let Some(c) = ATX.captures(line) {
            let level = c[1].len();
            s.heading(level, c.get(2).map_or("", |m| m.as_str()));
            s.seen_text = true;
            continue;
        }
        if trimmed.starts_with('|') || (s.table.is_some() && trimmed.contains('|')) {
            s.table_row(trimmed, lines.get(i + 1).copied(), n);
            s.seen_text = true;
            continue;
        }
        // Setext headings: a paragraph line underlined with === or ---.
        if let Some(under) = lines.get(i + 1)
            && SETEXT.is_match(under)
            && !is_list_line(trimmed)
            && s.open.is_none()
            && s.pending.is_none()
            && (i == 0 || lines[i - 1].trim().is_empty())
        {
            let level = if under.trim_start().starts_with('=') {
                1
            } else {
                2
            };
            s.heading(level, trimmed);
            s.seen_text = true;
            skip_next = true;
            continue;
        }
        if let Some(c) = BOLD_LINE.captures(trimmed) {
            let t = c.get(1).or(c.get(2)).map_or("", |m| m.as_str()).to_string();
            s.pseudo_heading(&t, false);
            s.seen_text = true;
            continue;
        }
        if !s.has_atx {
            if !s.seen_text {
                s.seen_text = true;
                if !is_list_line(trimmed) {
                    if s.out.title.is_none() {
                        s.out.title = Some(clean_inline(trimmed));
                    }
                    continue;
                }
            }
            let numbered = NUMBERED_HEADING.is_match(trimmed) && !is_box_line(trimmed);
            let plain = title_like(trimmed) && !is_list_line(trimmed) && s.pending.is_none();
            if numbered || plain {
                s.heading(2, trimmed);
                continue;
            }
        }
        s.seen_text = true;
        if status_post && let Some(c) = STATUS_LINE.captures(trimmed) {
            let ticked = matches!(&c[1], "✅" | "✔️" | "✔" | "🟢" | "☑️");
            let text = c[2].to_string();
            s.pending = None;
            s.add_item(indent_of(line), ticked, &text, n);
            continue;
        }
        if is_box_line(trimmed) {
            s.checkbox_line(line, n);
            continue;
        }
        if let Some(c) = NUMBERED_ROW.captures(trimmed) {
            let title = format!("{} {}", &c[1], &c[2]);
            s.pending = None;
            s.add_item(indent_of(line), false, &title, n);
            continue;
        }
        if matches!(trimmed, "---" | "***" | "___") {
            s.close();
            continue;
        }
        if let Some(c) = BULLET.captures(trimmed) {
            let indent = indent_of(line);
            if s.list_mode {
                let base = *list_base.get_or_insert(indent);
                let in_items = !s.headings.iter().any(|(_, h)| NOT_ITEMS.is_match(h));
                if indent <= base && in_items {
                    s.add_item(indent, false, &c[1], n);
                    continue;
                }
            }
            if s.open.is_some() && indent > s.open_indent {
                s.add_detail(&c[1]);
            } else if s.open.is_some() && !s.list_mode {
                // A sibling bullet without a box ends the item's details.
                s.add_detail(&c[1]);
            }
            continue;
        }
        if s.open.is_some() || s.pending.is_some() {
            s.continue_open(trimmed, n);
        } else {
            s.item_context = None;
        }
    }
    let _ = s.has_atx;
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
        let d: Vec<&str> = s.entries[1]
            .details
            .iter()
            .map(|d| d.text.as_str())
            .collect();
        assert_eq!(d, vec!["a_guard", "b_guard"]);
        assert_eq!(s.entries[0].code, vec!["schema_versions"]);
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
        // The marker's line, not the text's.
        assert_eq!(s.entries[1].line, 4);
        assert_eq!(s.entries[3].headings, vec!["2. Next part"]);
    }

    #[test]
    fn tables_with_a_task_column_owner_status_and_checkbox_cells() {
        let s = scan(
            "# T\n| # | Task | Owner | Status |\n|---|---|---|---|\n| 1.1 | Ship **it** | Ann | ✅ |\n| 1.2 | Test it | TBD | ⏳ |\n\n| Section | Owner |\n|---|---|\n| x | y |\n\n| Done | What | Who |\n|---|---|---|\n| [x] | Rotate keys | Bo |\n| [ ] | Tell support | Cy |\n\n| Area | Items | Done |\n|---|---|---|\n| Net | 6 | 3 |\n",
        );
        assert_eq!(
            titles(&s),
            vec!["1.1 Ship it", "1.2 Test it", "Rotate keys", "Tell support"]
        );
        assert_eq!(s.entries[0].owner.as_deref(), Some("Ann"));
        assert!(s.entries[0].ticked && !s.entries[1].ticked);
        assert_eq!(s.entries[1].owner, None);
        assert!(s.entries[2].ticked && !s.entries[3].ticked);
        assert_eq!(s.entries[3].owner.as_deref(), Some("Cy"));
    }

    #[test]
    fn ballots_quotes_numbered_rows_and_bold_headings() {
        let s = scan(
            "# T\n> - [ ] quoted item\n> **Reviewer**\n> - [x] approved\n\nNet\n1.4 Verify TLS\n☐ a ☐ b ☑ c\n",
        );
        assert_eq!(
            titles(&s),
            vec!["quoted item", "approved", "1.4 Verify TLS", "a", "b", "c"]
        );
        assert_eq!(s.entries[1].headings, vec!["Reviewer"]);
        assert!(s.entries[5].ticked);
    }

    #[test]
    fn fenced_commands_attach_to_the_item_above() {
        let s = scan(
            "# T\n- [ ] Rolled out\n  ```\n  kubectl rollout status deploy/api\n  ```\n\nProse.\n\n```\nnot attached\n```\n",
        );
        assert_eq!(s.entries[0].code, vec!["kubectl rollout status deploy/api"]);
    }

    #[test]
    fn a_checklist_pasted_in_a_markdown_fence_is_read() {
        let s = scan(
            "# T\nCopy into the PR:\n```markdown\n- [ ] HSTS enabled\n- [x] Docs updated\n```\n- [ ] after\n",
        );
        assert_eq!(titles(&s), vec!["HSTS enabled", "Docs updated", "after"]);
    }

    #[test]
    fn front_matter_and_list_mode() {
        let s = scan(
            "---\ntitle: Launch\nsite_url: https://a.example\n---\n## Checks\n- Verify HSTS\n  - one year\n- Tell support\n## Rollback\n- Revert\n",
        );
        assert_eq!(s.title.as_deref(), Some("Launch"));
        assert_eq!(titles(&s), vec!["Verify HSTS", "Tell support"]);
        assert_eq!(s.front[1], ("site_url".into(), "https://a.example".into()));
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
            clean_inline("**Stage 1** — flip `a_b_c` and _this_ [docs](https://x.io/a) :one:"),
            "Stage 1 — flip a_b_c and this docs (https://x.io/a)"
        );
    }
}
