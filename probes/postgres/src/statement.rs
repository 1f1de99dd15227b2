//! Counting SQL statements without a full parser: `;` separates statements only
//! outside quotes (`'…'`, `E'…'`, `"…"`), dollar quotes (`$tag$…$tag$`) and comments
//! (`-- …`, nested `/* … */`).

/// Whether `sql` holds at most one statement (a trailing `;` is allowed).
/// Returns the text after the first separating `;` when there is more.
pub fn extra_statement(sql: &str) -> Option<String> {
    let b = sql.as_bytes();
    let mut i = 0;
    let mut seen_separator: Option<usize> = None;
    while i < b.len() {
        let c = b[i];
        if let Some(at) = seen_separator
            && !c.is_ascii_whitespace()
            && c != b';'
            && !(c == b'-' && b.get(i + 1) == Some(&b'-'))
            && !(c == b'/' && b.get(i + 1) == Some(&b'*'))
        {
            return Some(sql[at..].trim().to_string());
        }
        match c {
            b'\'' => {
                // E'…' allows backslash escapes; a doubled '' is a quote in both kinds.
                let escapes = i > 0 && matches!(b[i - 1], b'e' | b'E');
                i += 1;
                while i < b.len() {
                    if escapes && b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if b[i] == b'\'' {
                        if b.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0usize;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'$' => match dollar_tag(&sql[i..]) {
                Some(tag) => {
                    let body = i + tag.len();
                    i = sql[body..]
                        .find(tag)
                        .map_or(b.len(), |end| body + end + tag.len());
                }
                None => i += 1,
            },
            b';' => {
                seen_separator.get_or_insert(i + 1);
                i += 1;
            }
            _ => i += 1,
        }
    }
    None
}

/// `$tag$` or `$$` at the start of `s` (not a `$1` parameter).
fn dollar_tag(s: &str) -> Option<&str> {
    let rest = &s[1..];
    let end = rest.find('$')?;
    let tag = &rest[..end];
    let ok = tag.is_empty()
        || (tag
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && tag.chars().all(|c| c.is_alphanumeric() || c == '_'));
    ok.then(|| &s[..end + 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_statement_is_fine() {
        for sql in [
            "SELECT 1",
            "SELECT 1;",
            "SELECT 1;  \n -- done\n",
            "SELECT ';' AS semi",
            "SELECT E'it\\'s; fine'",
            "SELECT 'a''; b'",
            "SELECT \"we;ird\" FROM t",
            "SELECT $$ ; $$",
            "SELECT $fn$ a; b $fn$",
            "SELECT 1 /* ; /* nested ; */ still */",
            "SELECT $1::int",
            "SELECT 1; /* trailing */ ;",
        ] {
            assert_eq!(extra_statement(sql), None, "{sql}");
        }
    }

    #[test]
    fn several_statements_are_found() {
        assert_eq!(
            extra_statement("COMMIT; BEGIN READ WRITE; DELETE FROM t").as_deref(),
            Some("BEGIN READ WRITE; DELETE FROM t")
        );
        assert!(extra_statement("SELECT 1;SELECT 2").is_some());
        assert!(extra_statement("SELECT 'x'; -- c\nDROP TABLE t").is_some());
        assert!(extra_statement("SELECT $$a$$; SELECT 2").is_some());
    }
}
