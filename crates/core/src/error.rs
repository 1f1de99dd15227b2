//! Errors of loading a checklist: every problem at once, each with file:line:column,
//! the item id, the field and what to write instead.

use std::ops::Range;
use std::sync::Arc;

use miette::{NamedSource, SourceSpan};

use crate::sanitize;

/// One problem found while validating a checklist.
#[derive(Debug, Clone)]
pub struct Problem {
    /// Byte range in the file the problem points at.
    pub span: Range<usize>,
    /// The item id, when the problem is inside an item.
    pub item: Option<String>,
    /// The field (key) the problem is about.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// What to write instead.
    pub hint: Option<String>,
}

/// A problem rendered for people: location in the text and a labelled snippet.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{location}: {message}")]
pub struct ProblemReport {
    /// `file:line:column`.
    pub location: String,
    /// Item, field and message.
    pub message: String,
    #[source_code]
    src: NamedSource<Arc<String>>,
    #[label("here")]
    span: SourceSpan,
    /// What to write instead.
    #[help]
    pub hint: Option<String>,
}

impl ProblemReport {
    /// A problem in another file than the checklist (a `for_each` data file), at the
    /// byte range `span` of its `text`.
    pub fn in_file(
        path: &str,
        text: Arc<String>,
        span: Range<usize>,
        message: String,
        hint: Option<String>,
    ) -> ProblemReport {
        let (line, col) = line_col(&text, span.start);
        let start = span.start.min(text.len().saturating_sub(1));
        let len = span
            .end
            .saturating_sub(span.start)
            .max(1)
            .min(text.len().saturating_sub(start).max(1));
        ProblemReport {
            location: format!("{path}:{line}:{col}"),
            message,
            src: NamedSource::new(path, text),
            span: (start, len).into(),
            hint,
        }
    }
}

/// A checklist that failed validation. Nothing runs.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{path}: invalid checklist ({} problem{}); nothing was run", problems.len(), if problems.len() == 1 { "" } else { "s" })]
#[diagnostic(code(preflight::invalid_checklist))]
pub struct InvalidChecklist {
    /// The file.
    pub path: String,
    /// Every problem, in file order.
    #[related]
    pub problems: Vec<ProblemReport>,
}

impl InvalidChecklist {
    /// Builds the report from raw problems over `text`. The snippet and every
    /// message are shown with control characters escaped (the snippet's replaced
    /// by `?`, keeping its byte offsets): a checklist cannot drive the terminal
    /// through its own error report.
    pub fn new(path: &str, text: &str, mut problems: Vec<Problem>) -> InvalidChecklist {
        problems.sort_by_key(|p| p.span.start);
        let shown = crate::redact::mask_source(text);
        let shared = Arc::new(sanitize::same_length(&shown).into_owned());
        let path = sanitize::line(path).into_owned();
        let path = path.as_str();
        let problems = problems
            .into_iter()
            .map(|p| {
                let (line, col) = line_col(text, p.span.start);
                let mut message = String::new();
                if let Some(item) = &p.item {
                    message.push_str(&format!("item \"{item}\": "));
                }
                if let Some(field) = &p.field {
                    message.push_str(&format!("`{field}`: "));
                }
                message.push_str(&p.message);
                let message = sanitize::line(&message).into_owned();
                let len = p.span.end.saturating_sub(p.span.start).max(1);
                let start = p.span.start.min(text.len().saturating_sub(1));
                ProblemReport {
                    location: format!("{path}:{line}:{col}"),
                    message,
                    src: NamedSource::new(path, shared.clone()),
                    span: (start, len.min(text.len().saturating_sub(start).max(1))).into(),
                    hint: p.hint.map(|h| sanitize::line(&h).into_owned()),
                }
            })
            .collect();
        InvalidChecklist {
            path: path.to_string(),
            problems,
        }
    }

    /// Adds problems found in other files (`for_each` data files), after the
    /// checklist's own.
    pub fn with(mut self, more: Vec<ProblemReport>) -> InvalidChecklist {
        self.problems.extend(more);
        self
    }

    /// Plain text: one `file:line:col: message` line per problem with its hint.
    pub fn plain(&self) -> String {
        let mut out = format!("{self}\n");
        for p in &self.problems {
            out.push_str(&format!("{}: {}\n", p.location, p.message));
            if let Some(h) = &p.hint {
                out.push_str(&format!("    hint: {h}\n"));
            }
        }
        out
    }
}

/// Errors of core operations that users see.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum CoreError {
    /// The checklist file could not be read.
    #[error("failed to read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The checklist is invalid.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Invalid(#[from] InvalidChecklist),
    /// `--env NAME` names no environment of the checklist.
    #[error("unknown environment \"{name}\"")]
    #[diagnostic(help("{hint}"))]
    UnknownEnvironment {
        /// What was asked.
        name: String,
        /// The environments there are.
        hint: String,
    },
    /// `--only ID` names no item of the checklist.
    #[error("unknown item id \"{id}\"")]
    #[diagnostic(help("{hint}"))]
    UnknownItem {
        /// What was asked.
        id: String,
        /// A suggestion.
        hint: String,
    },
    /// A `--var` that is not `key=value`.
    #[error("invalid --var \"{0}\"")]
    #[diagnostic(help("write --var name=value"))]
    BadVar(String),
    /// The attestation file beside the checklist is unreadable or malformed.
    #[error("invalid attestation file {path}: {message}")]
    #[diagnostic(help(
        "the file is written by `preflight attest`; fix the entry named above or restore it from version control"
    ))]
    Attestations {
        /// The `*.attest.toml` file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// Line starts of a text, so many offsets can be turned into line numbers without
/// rescanning the text for each one.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    /// 1-based line of a byte offset.
    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_matches_line_col() {
        let t = "a\nbc\n\n€d\n";
        let idx = LineIndex::new(t);
        for off in 0..t.len() {
            assert_eq!(idx.line(off), line_col(t, off).0, "offset {off}");
        }
    }

    #[test]
    fn line_and_column() {
        let t = "a\nbc\n€d";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 3), (2, 2));
        assert_eq!(line_col(t, 8), (3, 2));
    }
}
