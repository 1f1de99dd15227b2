//! Text from targets and checklists, made safe to show.
//!
//! A server's error body, a database's error message, a fact, an item's title: any of
//! them may hold ESC/OSC/CSI sequences, other C0 or C1 controls, bidi overrides or
//! line breaks. Written raw to a terminal they could retitle it, clear it, recolour
//! the report or start a line that looks like another item's verdict. Every renderer
//! and every place the CLI prints such text passes it through [`line()`] (one line) or
//! [`lines`] (line breaks kept, for the renderer to indent) first. Reports keep the
//! raw text; only what is shown is changed.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must never reach a terminal or a report as itself: C0 controls
/// (line breaks and tab included), DEL, C1 controls, bidi embeddings, overrides,
/// isolates and marks, and the Unicode line and paragraph separators.
pub fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200e}' | '\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

/// `text` on one line: every unsafe character (see [`is_unsafe`]) written as an
/// escape — `\n`, `\r`, `\t`, or `\u{1b}` — so nothing can start a new line or
/// reach the terminal as a control. Borrowed when there is nothing to change.
pub fn line(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// Like [`line()`], but line feeds stay (a CR LF pair becomes one LF); the caller
/// indents the continuation lines so they stay inside the item they belong to.
pub fn lines(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

/// [`lines`], with every line after the first prefixed by `indent`.
pub fn indented(text: &str, indent: &str) -> String {
    let text = lines(text);
    let mut out = String::with_capacity(text.len());
    for (n, l) in text.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
            out.push_str(indent);
        }
        out.push_str(l);
    }
    out
}

fn escape(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' if keep_newlines => out.push('\n'),
            '\r' if keep_newlines && chars.peek() == Some(&'\n') => {}
            '\t' if keep_newlines => out.push('\t'),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `text` with every unsafe character replaced by as many `?` as it has bytes, so
/// byte offsets into it stay valid (for error snippets that point into a file).
/// Line feeds and CR LF pairs stay; tabs stay.
pub fn same_length(text: &str) -> Cow<'_, str> {
    let keep = |c: char, next: Option<char>| {
        c == '\n' || c == '\t' || (c == '\r' && next == Some('\n')) || !is_unsafe(c)
    };
    let mut chars = text.chars().peekable();
    let mut clean = true;
    while let Some(c) = chars.next() {
        if !keep(c, chars.peek().copied()) {
            clean = false;
            break;
        }
    }
    if clean {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if keep(c, chars.peek().copied()) {
            out.push(c);
        } else {
            out.extend(std::iter::repeat_n('?', c.len_utf8()));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_control_class() {
        let hostile = "a\u{1b}]0;title\u{7}b\u{1b}[2Jc\u{9b}31md\u{202e}e\u{2028}f\u{7f}g";
        let shown = line(hostile);
        assert!(!shown.chars().any(is_unsafe), "{shown}");
        assert_eq!(
            shown,
            "a\\u{1b}]0;title\\u{7}b\\u{1b}[2Jc\\u{9b}31md\\u{202e}e\\u{2028}f\\u{7f}g"
        );
    }

    #[test]
    fn line_folds_breaks_and_lines_keeps_them() {
        assert_eq!(line("a\r\nb\tc"), "a\\r\\nb\\tc");
        assert_eq!(lines("a\r\nb\rc\n\u{1b}d"), "a\nb\\rc\n\\u{1b}d");
        assert_eq!(indented("a\nb\n", "    "), "a\n    b\n    ");
    }

    #[test]
    fn clean_text_is_borrowed() {
        assert!(matches!(
            line("status == 200 — was 503 ✔"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(same_length("a = 1\r\nb\t= 2\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn same_length_keeps_byte_offsets() {
        let t = "x = \"\u{1b}[2J\u{9b}\u{202e}\"\rz\r\n";
        let s = same_length(t);
        assert_eq!(s.len(), t.len());
        assert!(!s.chars().any(|c| is_unsafe(c) && c != '\n' && c != '\r'));
        assert!(s.ends_with("\r\n"));
    }
}
