//! Readable, stable ids from headings and titles.

const STOP: &[&str] = &[
    "a", "an", "the", "to", "of", "for", "and", "or", "in", "on", "is", "are", "be", "with", "by",
    "at", "from", "all", "any", "its", "this", "that", "it", "as", "per", "into", "our",
];

fn slug_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            cur.push(c.to_ascii_lowercase());
        } else if !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

fn join_slug(words: &[String], max_words: usize, max_len: usize) -> String {
    let mut out = String::new();
    for w in words
        .iter()
        .filter(|w| !STOP.contains(&w.as_str()))
        .take(max_words)
    {
        if !out.is_empty() && out.len() + 1 + w.len() > max_len {
            break;
        }
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&w[..w.len().min(max_len)]);
    }
    out
}

/// `12. Smoke tests (against prod)` → `smoke-tests`.
pub fn section_slug(heading: &str) -> String {
    let mut h = heading.trim();
    // Leading numbering: "12.", "§3", "Step 1:", "1.1".
    let lower = h.to_lowercase();
    for prefix in ["step ", "phase ", "stage ", "part "] {
        if lower.starts_with(prefix) {
            let rest = &h[prefix.len()..];
            let num_end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            if num_end > 0 {
                h = rest[num_end..].trim_start_matches([':', ' ', '-', '—']);
            }
        }
    }
    let h =
        h.trim_start_matches(|c: char| c.is_ascii_digit() || matches!(c, '.' | '§' | ')' | ' '));
    let h = h.split(['(', '[']).next().unwrap_or(h);
    let s = join_slug(&slug_words(h), 3, 32);
    if s.is_empty() { "general".into() } else { s }
}

/// `GET /api/health returns 200` → `get-api-health`.
pub fn title_slug(title: &str) -> String {
    // Row numbers ("1.4 Verify …") are in the title, not the id.
    let title = title
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == ')')
        .trim_start();
    let lower = title.to_lowercase();
    let cut = [
        " returns",
        " return ",
        " responds",
        " shows",
        " →",
        "→",
        " — ",
        "—",
        " – ",
        " -> ",
        ": ",
    ]
    .iter()
    .filter_map(|m| lower.find(m))
    .filter(|&i| i > 0)
    .min()
    .unwrap_or(lower.len());
    let s = join_slug(&slug_words(&title[..cut]), 4, 40);
    if s.is_empty() {
        let s = join_slug(&slug_words(title), 4, 40);
        if s.is_empty() { "item".into() } else { s }
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(
            section_slug("12. Smoke tests (against prod)"),
            "smoke-tests"
        );
        assert_eq!(title_slug("GET /api/health returns 200"), "get-api-health");
        assert_eq!(
            title_slug("1.4 Certificate expires in 45 days"),
            "certificate-expires-45-days"
        );
    }
}
