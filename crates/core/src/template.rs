//! `${name}` and `${env:NAME}` interpolation.
//!
//! Values read from the environment are secrets: the resolver records each one so the
//! redactor can mask it wherever it ends up (reasons, facts, reports, history).

/// One piece of a string with placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Text written as-is (`$${` is the escape for a literal `${`).
    Literal(String),
    /// `${name}`: a checklist variable.
    Var(String),
    /// `${env:NAME}`: a process environment variable, always a secret.
    Env(String),
}

/// Splits `text` into segments; the error describes a malformed placeholder.
pub fn parse(text: &str) -> Result<Vec<Segment>, String> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        lit.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(escaped) = after.strip_prefix("$${") {
            lit.push_str("${");
            rest = escaped;
        } else if let Some(body) = after.strip_prefix("${") {
            let end = body
                .find('}')
                .ok_or_else(|| format!("unclosed placeholder `{after}`: add the closing `}}`"))?;
            let name = body[..end].trim();
            if !lit.is_empty() {
                out.push(Segment::Literal(std::mem::take(&mut lit)));
            }
            if let Some(env) = name.strip_prefix("env:") {
                let env = env.trim();
                if !valid_name(env) {
                    return Err(format!(
                        "`${{env:{env}}}` is not a valid environment variable name"
                    ));
                }
                out.push(Segment::Env(env.to_string()));
            } else {
                if !valid_name(name) {
                    return Err(format!(
                        "`${{{name}}}` is not a valid variable name (letters, digits, `_`, `-`, `.`)"
                    ));
                }
                out.push(Segment::Var(name.to_string()));
            }
            rest = &body[end + 1..];
        } else {
            lit.push('$');
            rest = &after[1..];
        }
    }
    lit.push_str(rest);
    if !lit.is_empty() || out.is_empty() {
        out.push(Segment::Literal(lit));
    }
    Ok(out)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The variable names a string refers to (not env vars).
pub fn var_refs(text: &str) -> Vec<String> {
    parse(text)
        .map(|segs| {
            segs.into_iter()
                .filter_map(|s| match s {
                    Segment::Var(v) => Some(v),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_vars_env_and_escapes() {
        let s = parse("${api}/x?t=${env:TOKEN}&$${raw}$5").unwrap();
        assert_eq!(
            s,
            vec![
                Segment::Var("api".into()),
                Segment::Literal("/x?t=".into()),
                Segment::Env("TOKEN".into()),
                Segment::Literal("&${raw}$5".into()),
            ]
        );
    }

    #[test]
    fn rejects_malformed() {
        assert!(parse("${api").is_err());
        assert!(parse("${}").is_err());
        assert!(parse("${env:}").is_err());
        assert!(parse("${a b}").is_err());
    }
}
