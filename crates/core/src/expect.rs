//! Expectations: CEL expressions judged over a probe's facts plus the checklist's vars.
//!
//! Compiling happens at load time so a typo is a checklist error, not a 2 a.m. surprise.
//! Judging explains itself: a failed expectation's reason shows the expression and
//! the actual values of every fact path it read.

use std::collections::BTreeSet;
use std::sync::Arc;

use cel::common::ast::{Expr, IdedExpr, LiteralValue};
use cel::{Context, ExecutionError, Program, Value as CelValue};
use serde_json::Value;

/// The standard CEL environment, built once: building it costs more than judging.
fn stdlib() -> Arc<cel::Env> {
    static STDLIB: std::sync::OnceLock<Arc<cel::Env>> = std::sync::OnceLock::new();
    STDLIB.get_or_init(|| Arc::new(cel::Env::stdlib())).clone()
}

/// A compiled expectation.
#[derive(Debug, Clone)]
pub struct Expectation {
    source: String,
    program: Arc<Program>,
    names: BTreeSet<String>,
    reads: Vec<Path>,
}

/// A fact path an expression reads, such as `json.status` or `headers['hsts']`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Path(Vec<String>);

impl Path {
    /// The top-level name the path starts at.
    pub fn root(&self) -> &str {
        &self.0[0]
    }

    /// Looks the path up in a JSON tree; `None` when a step is missing.
    pub fn lookup<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        let mut cur = root.get(&self.0[0])?;
        for step in &self.0[1..] {
            cur = match cur {
                Value::Object(m) => m.get(step)?,
                Value::Array(a) => a.get(step.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0[0])?;
        for step in &self.0[1..] {
            if step.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !step.starts_with(|c: char| c.is_ascii_digit())
            {
                write!(f, ".{step}")?;
            } else if step.parse::<usize>().is_ok() {
                write!(f, "[{step}]")?;
            } else {
                write!(f, "['{step}']")?;
            }
        }
        Ok(())
    }
}

/// Outcome of judging one expectation.
#[derive(Debug, Clone, PartialEq)]
pub enum Judgement {
    /// The expression evaluated to true.
    Holds,
    /// The expression evaluated to false, or read a missing key; the text explains.
    Fails(String),
    /// The expression could not be evaluated (type error, non-boolean result).
    Unjudgeable(String),
}

impl Expectation {
    /// Compiles `source`; the error is the parser's message.
    pub fn compile(source: &str) -> Result<Expectation, String> {
        let program = std::panic::catch_unwind(|| Program::compile(source))
            .map_err(|_| "the expression parser crashed on this input".to_string())?
            .map_err(|e| e.to_string().trim().replace('\n', " "))?;
        let mut names = BTreeSet::new();
        let mut reads = BTreeSet::new();
        collect(
            program.expression(),
            &mut Vec::new(),
            &mut names,
            &mut reads,
        );
        Ok(Expectation {
            source: source.to_string(),
            program: Arc::new(program),
            names,
            reads: reads.into_iter().collect(),
        })
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The same program, shown (in reasons and reports) as `written`: a `for_each`
    /// expectation is compiled from its rewritten form (`${row.x}` → `vars.row['x']`).
    pub fn shown_as(mut self, written: &str) -> Expectation {
        self.source = written.to_string();
        self
    }

    /// The columns read as `vars.row.COLUMN`.
    pub fn row_reads(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .reads
            .iter()
            .filter(|p| p.0[0] == VARS && p.0.get(1).is_some_and(|s| s == "row"))
            .filter_map(|p| p.0.get(2).map(String::as_str))
            .collect();
        out.dedup();
        out
    }

    /// Free top-level names the expression reads (facts, vars by their bare name, or
    /// `vars`).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// The vars read as `vars.NAME` (or `vars['NAME']`), in order.
    pub fn var_reads(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .reads
            .iter()
            .filter(|p| p.0[0] == VARS && p.0.len() > 1)
            .map(|p| p.0[1].as_str())
            .collect();
        out.dedup();
        out
    }

    /// Whether the expression reads `vars` as a whole (`vars[k]` with a computed key,
    /// `'x' in vars`), so which vars it reads is not known before it runs.
    pub fn reads_all_vars(&self) -> bool {
        self.reads.iter().any(|p| p.0[0] == VARS && p.0.len() == 1)
            || (self.names.contains(VARS) && !self.reads.iter().any(|p| p.0[0] == VARS))
    }

    /// Evaluates the expression over `scope` to a JSON value (for `capture`). A
    /// missing key or an evaluation error is the reason it could not be taken.
    pub fn evaluate(&self, scope: &serde_json::Map<String, Value>) -> Result<Value, String> {
        let ctx = self.context(scope);
        let root = self.root(scope);
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.program.execute(&ctx)));
        match result {
            Err(_) => Err("the expression evaluator crashed".into()),
            Ok(Ok(v)) => from_cel(&v).ok_or_else(|| {
                format!(
                    "{} returned {}, which has no JSON form",
                    self.source,
                    describe_cel(&v)
                )
            }),
            Ok(Err(ExecutionError::NoSuchKey(key))) => Err(self.explain_missing(&root, &key)),
            Ok(Err(_)) if self.reads_missing(&root) => Err(self.explain_missing(&root, "?")),
            Ok(Err(e)) => Err(format!(
                "could not be evaluated: {e}; {}",
                self.explain(&root)
            )),
        }
    }

    fn context(&self, scope: &serde_json::Map<String, Value>) -> Context<'static, 'static> {
        let mut ctx = Context::with_env(stdlib());
        for name in &self.names {
            if let Some(v) = scope.get(name) {
                ctx.add_variable_from_value(name.clone(), to_cel(v));
            }
        }
        ctx
    }

    fn root(&self, scope: &serde_json::Map<String, Value>) -> Value {
        Value::Object(
            self.names
                .iter()
                .filter_map(|n| scope.get(n).map(|v| (n.clone(), v.clone())))
                .collect(),
        )
    }

    /// Judges the expectation over `scope`, a JSON object of facts and vars.
    pub fn judge(&self, scope: &serde_json::Map<String, Value>) -> Judgement {
        let ctx = self.context(scope);
        let root = self.root(scope);
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.program.execute(&ctx)));
        match result {
            Err(_) => Judgement::Unjudgeable("the expression evaluator crashed".into()),
            Ok(Ok(CelValue::Bool(true))) => Judgement::Holds,
            Ok(Ok(CelValue::Bool(false))) => {
                Judgement::Fails(format!("{} — {}", self.source, self.explain(&root)))
            }
            Ok(Ok(other)) => Judgement::Unjudgeable(format!(
                "{} — returned {}, not true or false",
                self.source,
                describe_cel(&other)
            )),
            Ok(Err(ExecutionError::NoSuchKey(key))) => Judgement::Fails(format!(
                "{} — {}",
                self.source,
                self.explain_missing(&root, &key)
            )),
            Ok(Err(e)) if self.reads_missing(&root) => {
                let _ = e;
                Judgement::Fails(format!("{} — {}", self.source, self.explain(&root)))
            }
            Ok(Err(e)) => Judgement::Unjudgeable(format!(
                "{} — could not be evaluated: {e}; {}",
                self.source,
                self.explain(&root)
            )),
        }
    }

    fn reads_missing(&self, root: &Value) -> bool {
        self.reads.iter().any(|p| p.lookup(root).is_none())
    }

    fn explain_missing(&self, root: &Value, key: &str) -> String {
        let missing: Vec<String> = self
            .reads
            .iter()
            .filter(|p| p.lookup(root).is_none())
            .map(|p| format!("{p} was missing"))
            .collect();
        if missing.is_empty() {
            format!("key '{key}' was missing")
        } else {
            missing.join(", ")
        }
    }

    fn explain(&self, root: &Value) -> String {
        let parts: Vec<String> = self
            .reads
            .iter()
            .map(|p| match p.lookup(root) {
                Some(v) => format!("{p} was {}", describe_json(v)),
                None => format!("{p} was missing"),
            })
            .collect();
        if parts.is_empty() {
            "it was false".into()
        } else {
            parts.join(", ")
        }
    }
}

/// The name under which expressions read the vars: `vars.NAME`.
pub const VARS: &str = "vars";

/// The `vars` map expressions read: every var's value as a string (text as it is,
/// anything else as JSON).
pub fn vars_scope(vars: &serde_json::Map<String, Value>) -> Value {
    Value::Object(
        vars.iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), Value::String(text))
            })
            .collect(),
    )
}

/// Converts a CEL value back into JSON; `None` for values JSON cannot hold
/// (functions, bytes that are not text, non-finite numbers).
pub fn from_cel(v: &CelValue) -> Option<Value> {
    Some(match v {
        CelValue::Null => Value::Null,
        CelValue::Bool(b) => Value::Bool(*b),
        CelValue::Int(i) => Value::from(*i),
        CelValue::UInt(u) => Value::from(*u),
        CelValue::Float(f) => Value::Number(serde_json::Number::from_f64(*f)?),
        CelValue::String(s) => Value::String(s.to_string()),
        CelValue::Bytes(b) => Value::String(String::from_utf8(b.to_vec()).ok()?),
        CelValue::List(l) => Value::Array(l.iter().map(from_cel).collect::<Option<_>>()?),
        CelValue::Map(m) => {
            let mut out = serde_json::Map::new();
            let mut entries: Vec<_> = m.map.iter().collect();
            entries.sort_by_key(|(k, _)| key_text(k));
            for (k, v) in entries {
                out.insert(key_text(k), from_cel(v)?);
            }
            Value::Object(out)
        }
        _ => return None,
    })
}

fn key_text(k: &cel::objects::Key) -> String {
    match k {
        cel::objects::Key::Int(i) => i.to_string(),
        cel::objects::Key::Uint(u) => u.to_string(),
        cel::objects::Key::Bool(b) => b.to_string(),
        cel::objects::Key::String(s) => s.to_string(),
    }
}

/// Renders a JSON value compactly for a reason, cutting long text.
pub fn describe_json(v: &Value) -> String {
    let s = match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    shorten(&s, 120)
}

fn describe_cel(v: &CelValue) -> String {
    shorten(&format!("{v:?}"), 120)
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// Converts JSON into a CEL value; integers stay integers so `status == 200` holds.
pub fn to_cel(v: &Value) -> CelValue {
    match v {
        Value::Null => CelValue::Null,
        Value::Bool(b) => CelValue::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                CelValue::Int(i)
            } else if let Some(u) = n.as_u64() {
                CelValue::UInt(u)
            } else {
                CelValue::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => CelValue::String(Arc::new(s.clone())),
        Value::Array(a) => CelValue::List(Arc::new(a.iter().map(to_cel).collect())),
        Value::Object(m) => {
            let map: std::collections::HashMap<String, CelValue> =
                m.iter().map(|(k, v)| (k.clone(), to_cel(v))).collect();
            CelValue::from(map)
        }
    }
}

/// Walks the AST: collects free identifiers (skipping comprehension variables) and
/// the longest select/index chains rooted at them.
fn collect(
    e: &IdedExpr,
    bound: &mut Vec<String>,
    names: &mut BTreeSet<String>,
    reads: &mut BTreeSet<Path>,
) {
    if let Some(path) = chain(e) {
        if !bound.contains(&path.0[0]) && !path.0[0].starts_with('@') {
            names.insert(path.0[0].clone());
            reads.insert(path);
        }
        // Index arguments can contain expressions of their own.
        walk_index_args(e, bound, names, reads);
        return;
    }
    match &e.expr {
        Expr::Ident(name) => {
            if !bound.contains(name) && !name.starts_with('@') {
                names.insert(name.clone());
            }
        }
        Expr::Call(call) => {
            if let Some(t) = &call.target {
                collect(t, bound, names, reads);
            }
            for a in &call.args {
                collect(a, bound, names, reads);
            }
        }
        Expr::Select(sel) => collect(&sel.operand, bound, names, reads),
        Expr::Comprehension(c) => {
            collect(&c.iter_range, bound, names, reads);
            let before = bound.len();
            bound.push(c.iter_var.clone());
            if let Some(v2) = &c.iter_var2 {
                bound.push(v2.clone());
            }
            bound.push(c.accu_var.clone());
            collect(&c.accu_init, bound, names, reads);
            collect(&c.loop_cond, bound, names, reads);
            collect(&c.loop_step, bound, names, reads);
            collect(&c.result, bound, names, reads);
            bound.truncate(before);
        }
        Expr::List(l) => {
            for el in &l.elements {
                collect(el, bound, names, reads);
            }
        }
        Expr::Map(m) => {
            for entry in &m.entries {
                if let cel::common::ast::EntryExpr::MapEntry(me) = &entry.expr {
                    collect(&me.key, bound, names, reads);
                    collect(&me.value, bound, names, reads);
                }
            }
        }
        Expr::Struct(s) => {
            for entry in &s.entries {
                match &entry.expr {
                    cel::common::ast::EntryExpr::MapEntry(me) => {
                        collect(&me.key, bound, names, reads);
                        collect(&me.value, bound, names, reads);
                    }
                    cel::common::ast::EntryExpr::StructField(f) => {
                        collect(&f.value, bound, names, reads)
                    }
                }
            }
        }
        Expr::Literal(_) | Expr::Unspecified => {}
    }
}

fn walk_index_args(
    e: &IdedExpr,
    bound: &mut Vec<String>,
    names: &mut BTreeSet<String>,
    reads: &mut BTreeSet<Path>,
) {
    match &e.expr {
        Expr::Select(sel) => walk_index_args(&sel.operand, bound, names, reads),
        Expr::Call(call) if call.func_name == "_[_]" && call.args.len() == 2 => {
            walk_index_args(&call.args[0], bound, names, reads);
            if literal_key(&call.args[1]).is_none() {
                collect(&call.args[1], bound, names, reads);
            }
        }
        _ => {}
    }
}

/// `a.b['c'].d` as a path, when the expression is such a chain on an identifier.
fn chain(e: &IdedExpr) -> Option<Path> {
    match &e.expr {
        Expr::Ident(name) => Some(Path(vec![name.clone()])),
        Expr::Select(sel) if !sel.test => {
            let mut p = chain(&sel.operand)?;
            p.0.push(sel.field.clone());
            Some(p)
        }
        Expr::Call(call) if call.func_name == "_[_]" && call.args.len() == 2 => {
            let mut p = chain(&call.args[0])?;
            match literal_key(&call.args[1]) {
                Some(k) => p.0.push(k),
                None => return Some(p),
            }
            Some(p)
        }
        _ => None,
    }
}

fn literal_key(e: &IdedExpr) -> Option<String> {
    match &e.expr {
        Expr::Literal(LiteralValue::String(s)) => Some(s.inner().to_string()),
        Expr::Literal(LiteralValue::Int(i)) => Some(i.inner().to_string()),
        Expr::Literal(LiteralValue::UInt(i)) => Some(i.inner().to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn passes_and_fails_with_actual_values() {
        let e = Expectation::compile("status == 200").unwrap();
        assert_eq!(e.judge(&scope(json!({"status": 200}))), Judgement::Holds);
        assert_eq!(
            e.judge(&scope(json!({"status": 503}))),
            Judgement::Fails("status == 200 — status was 503".into())
        );
    }

    #[test]
    fn int_and_float_compare() {
        let e = Expectation::compile("latency_ms < 500").unwrap();
        assert_eq!(
            e.judge(&scope(json!({"latency_ms": 40.5}))),
            Judgement::Holds
        );
    }

    #[test]
    fn missing_header_fails_naming_the_key() {
        let e = Expectation::compile("headers['strict-transport-security'].contains('max-age')")
            .unwrap();
        let j = e.judge(&scope(json!({"headers": {"content-type": "text/html"}})));
        match j {
            Judgement::Fails(r) => {
                assert!(
                    r.contains("headers['strict-transport-security'] was missing"),
                    "{r}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn nested_json_path_is_reported() {
        let e = Expectation::compile("json.status == 'healthy'").unwrap();
        let j = e.judge(&scope(json!({"json": {"status": "degraded"}})));
        assert_eq!(
            j,
            Judgement::Fails("json.status == 'healthy' — json.status was \"degraded\"".into())
        );
        let j = e.judge(&scope(json!({"json": null})));
        assert!(matches!(j, Judgement::Fails(r) if r.contains("json.status was missing")));
    }

    #[test]
    fn comprehension_variables_are_not_free_names() {
        let e = Expectation::compile("answers.exists(a, a == '1.2.3.4') && ttl > min_ttl").unwrap();
        let names: Vec<&str> = e.names().collect();
        assert_eq!(names, vec!["answers", "min_ttl", "ttl"]);
    }

    #[test]
    fn vars_are_read_as_strings_under_vars() {
        let e = Expectation::compile("json.tag == vars.tag && vars['port'] == '8080'").unwrap();
        assert_eq!(e.var_reads(), vec!["port", "tag"]);
        assert!(!e.reads_all_vars());
        let vars = scope(json!({"tag": "v1.4.2", "port": 8080}));
        let mut s = scope(json!({"json": {"tag": "v1.4.2"}}));
        s.insert(VARS.into(), vars_scope(&vars));
        assert_eq!(e.judge(&s), Judgement::Holds);
        s.insert("json".into(), json!({"tag": "v1.4.1"}));
        assert_eq!(
            e.judge(&s),
            Judgement::Fails(
                "json.tag == vars.tag && vars['port'] == '8080' — json.tag was \"v1.4.1\", vars.port was \"8080\", vars.tag was \"v1.4.2\"".into()
            )
        );
        assert!(
            Expectation::compile("'tag' in vars")
                .unwrap()
                .reads_all_vars()
        );
    }

    #[test]
    fn evaluate_returns_json_or_why_not() {
        let e = Expectation::compile("json.access_token").unwrap();
        let s = scope(json!({"json": {"access_token": "t0k", "n": [1, 2.5]}}));
        assert_eq!(e.evaluate(&s), Ok(json!("t0k")));
        let e = Expectation::compile("json.n").unwrap();
        assert_eq!(e.evaluate(&s), Ok(json!([1, 2.5])));
        let e = Expectation::compile("json.missing").unwrap();
        assert_eq!(e.evaluate(&s), Err("json.missing was missing".into()));
        let e = Expectation::compile("{'a': json.n.size()}").unwrap();
        assert_eq!(e.evaluate(&s), Ok(json!({"a": 2})));
    }

    #[test]
    fn non_boolean_is_unjudgeable() {
        let e = Expectation::compile("status").unwrap();
        assert!(matches!(
            e.judge(&scope(json!({"status": 1}))),
            Judgement::Unjudgeable(_)
        ));
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for src in [
            "status ==",
            "((",
            "a.b.",
            "'unterminated",
            "}{",
            "1 +* 2",
            "",
        ] {
            assert!(Expectation::compile(src).is_err(), "{src}");
        }
    }
}
