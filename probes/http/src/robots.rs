//! `<meta name="robots" content="…">` in an HTML body, found with a small tag scanner
//! (no HTML parser: only `<meta …>` tags are read, comments and scripts are skipped).

/// At most this many `<meta>` tags are looked at.
const MAX_TAGS: usize = 1000;
/// The content is cut to this many characters.
const CONTENT_CAP: usize = 256;

/// The `content` of every `<meta name="robots">` (joined with `, `), or `None`.
pub fn meta_robots(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let mut found: Vec<String> = Vec::new();
    let mut at = 0;
    let mut tags = 0;
    while let Some(i) = lower[at..].find('<') {
        let start = at + i;
        let rest = &lower[start..];
        if rest.starts_with("<!--") {
            at = rest.find("-->").map_or(lower.len(), |e| start + e + 3);
            continue;
        }
        if rest.starts_with("<script") || rest.starts_with("<style") {
            let close = if rest.starts_with("<script") {
                "</script"
            } else {
                "</style"
            };
            at = rest
                .find(close)
                .map_or(lower.len(), |e| start + e + close.len());
            continue;
        }
        let end = rest.find('>').map_or(lower.len(), |e| start + e);
        if rest.starts_with("<meta")
            && rest[5..].starts_with(|c: char| c.is_ascii_whitespace() || c == '/')
        {
            tags += 1;
            if tags > MAX_TAGS {
                break;
            }
            let attrs = attributes(&html[start + 5..end]);
            let name = attrs
                .iter()
                .find(|(k, _)| k == "name")
                .map(|(_, v)| v.trim());
            if name.is_some_and(|n| n.eq_ignore_ascii_case("robots"))
                && let Some((_, content)) = attrs.iter().find(|(k, _)| k == "content")
            {
                found.push(content.trim().chars().take(CONTENT_CAP).collect());
            }
        }
        if rest.starts_with("</head") {
            break;
        }
        at = end.max(start + 1);
    }
    (!found.is_empty()).then(|| found.join(", "))
}

/// `name="v"`, `name='v'`, `name=v` and bare names; names lower-cased.
fn attributes(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        let ks = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' && b[i] != b'/' {
            i += 1;
        }
        let key = text[ks..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                let vs = i + 1;
                i = vs;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
                value = text[vs..i].to_string();
                i += 1;
            } else {
                let vs = i;
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = text[vs..i].to_string();
            }
        }
        if !key.is_empty() {
            out.push((key, value));
        }
        if i == ks {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_robots_meta_in_any_case_and_quoting() {
        assert_eq!(
            meta_robots("<html><head><META NAME=\"ROBOTS\" CONTENT=\"noindex, nofollow\"></head>"),
            Some("noindex, nofollow".into())
        );
        assert_eq!(
            meta_robots(
                "<meta content='index' name=robots /><meta name=\"robots\" content=noarchive>"
            ),
            Some("index, noarchive".into())
        );
        assert_eq!(meta_robots("<meta name=\"viewport\" content=\"x\">"), None);
        // Commented out, inside a script, or after </head>: not a robots tag.
        assert_eq!(
            meta_robots(
                "<!-- <meta name=robots content=noindex> --><script>'<meta name=robots content=noindex>'</script></head><meta name=robots content=noindex>"
            ),
            None
        );
        assert_eq!(meta_robots("<metadata name=robots content=x>"), None);
        assert_eq!(meta_robots("plain text, no tags"), None);
    }
}
