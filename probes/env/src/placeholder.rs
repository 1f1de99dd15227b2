//! Values that were never filled in: `changeme`, `xxx`, `<your-key>`, `TODO`, …

/// Words that mark a value as a placeholder when they appear as a whole word
/// (separated by anything that is not a letter or digit).
const WORDS: &[&str] = &[
    "changeme",
    "change",
    "replaceme",
    "replace",
    "todo",
    "tbd",
    "fixme",
    "placeholder",
    "example",
    "dummy",
    "fake",
    "sample",
    "test",
    "your",
    "insert",
    "redacted",
    "null",
    "none",
    "nil",
    "undefined",
    "secret",
    "password",
    "foo",
    "foobar",
    "lorem",
];

/// Fragments that mark a placeholder anywhere in the value.
const FRAGMENTS: &[&str] = &[
    "changeme",
    "change_me",
    "placeholder",
    "example",
    "dummy",
    "your_",
    "your-",
];

/// Whether a value looks like a placeholder rather than a real secret: empty or blank,
/// a template left unexpanded (`<…>`, `{{…}}`, `${…}`), one character repeated
/// (`xxxx`, `****`, `0000`), a placeholder word such as `changeme`, `TODO`, `example`,
/// `test`, `dummy` as a whole word, or a fragment such as `your_` or `placeholder`.
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim().to_ascii_lowercase();
    if v.is_empty() {
        return true;
    }
    let wrapped = |open: &str, close: &str| v.starts_with(open) && v.ends_with(close);
    if wrapped("<", ">") || wrapped("{{", "}}") || (v.contains("${") && v.contains('}')) {
        return true;
    }
    let mut chars = v.chars();
    if let Some(first) = chars.next()
        && v.chars().count() >= 3
        && chars.all(|c| c == first)
    {
        return true;
    }
    if FRAGMENTS.iter().any(|f| v.contains(f)) {
        return true;
    }
    v.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .any(|w| WORDS.contains(&w) || (w.len() >= 3 && w.chars().all(|c| c == 'x')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        for v in [
            "",
            "  ",
            "changeme",
            "CHANGE_ME",
            "xxx",
            "XXXXXXXX",
            "sk_live_xxxxxxxx",
            "TODO",
            "<your-api-key>",
            "{{ secret }}",
            "${SESSION_SECRET}",
            "https://api.example.com",
            "test",
            "sk_test_51Habc",
            "dummy-token",
            "your_key_here",
            "postgres://app:password@db:5432/app",
            "****",
            "00000000",
        ] {
            assert!(is_placeholder(v), "{v:?} should be a placeholder");
        }
    }

    #[test]
    fn real_values() {
        for v in [
            "sk_live_51HqLyjWDarjtT1zdp7dcXkxbdDN7PCfxUYxOuy1a",
            "prd:Zq3v9XkP0rT7mW2bY5nL8cH1dF4g",
            "P3wqfhuE0F9qPJ4rfUH4oGxeO50noU+A5sPZtSp/HgQ=",
            "redis://default:Zq3v9XkP0rT7@redis.internal:6379/0",
            "contestant",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ] {
            assert!(!is_placeholder(v), "{v:?} is a real value");
        }
    }
}
