//! Expectations: CEL expressions judged over a probe's facts plus the checklist's vars.
//!
//! Compiling happens at load time so a typo is a checklist error, not a 2 a.m. surprise.
//! Judging explains itself: a failed expectation's reason shows the expression and
//! the actual values of every fact path it read.
//!
//! An expression is checklist text and the facts are target text, so neither may
//! crash or stall a run. Expressions are bounded at load time
//! ([`MAX_EXPRESSION_BYTES`], [`MAX_EXPRESSION_DEPTH`]); compiling and evaluating
//! run on a thread with [`EVAL_STACK_BYTES`] of stack, enough for the deepest
//! expression accepted; and evaluation checks a deadline and the memory it has
//! taken ([`Budget`]) at every step of every comprehension (`all`, `exists`, `map`,
//! …), the only constructs whose cost grows faster than the size of the facts.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cel::common::ast::{CallExpr, EntryExpr, Expr, IdedExpr, LiteralValue};
use cel::{Context, ExecutionError, Program, Value as CelValue};
use serde_json::Value;

/// Longest expression accepted, in bytes: long enough for an allow-list of a few
/// hundred values, short enough that parsing it is quick and shallow.
pub const MAX_EXPRESSION_BYTES: usize = 8 * 1024;

/// Deepest expression accepted, in levels of its syntax tree: each operand of a
/// chain of operators (`a + b + c` is 3 deep), each `.field` or `[index]` step,
/// each call or macro around another adds one. Real expectations are rarely
/// deeper than 20. (The parser separately refuses more than 96 nested brackets.)
pub const MAX_EXPRESSION_DEPTH: usize = 100;

/// Stack of the threads that compile and evaluate expressions. Measured with the
/// `cel` crate: in a debug build evaluating takes about 40 KiB per level of
/// depth and the parser about 160 KiB per nested bracket (release: under 2 KiB
/// and 4 KiB), so [`MAX_EXPRESSION_DEPTH`] and the parser's own limit of 96
/// brackets need about 20 MiB at worst; this leaves room to spare. It is address
/// space, not memory: only the pages used are ever touched.
pub const EVAL_STACK_BYTES: usize = 64 << 20;

/// The name of the function that meters comprehensions; `@` cannot be written in
/// an expression, so no checklist can call or shadow it.
const METER: &str = "@budget";

/// Memory one evaluation may add to the process (1 GiB), where the process's
/// resident size can be read (Linux): `json.map(x, json + json)` over a large
/// array allocates gigabytes a second, well before any timeout.
pub const MAX_EVAL_MEMORY_BYTES: u64 = 1 << 30;

/// What evaluating an expression may take: past the deadline, or once the process
/// has grown by more than `memory` since evaluation began, the next step of a
/// comprehension stops the evaluation and the expectation fails.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// When evaluation must stop.
    pub deadline: Instant,
    /// The timeout the deadline comes from, for the reason.
    pub timeout: Duration,
    /// Bytes the process may grow by while evaluating.
    pub memory: u64,
}

impl Budget {
    /// A budget of `timeout` from now and [`MAX_EVAL_MEMORY_BYTES`].
    pub fn from_now(timeout: Duration) -> Budget {
        Budget {
            deadline: Instant::now() + timeout,
            timeout,
            memory: MAX_EVAL_MEMORY_BYTES,
        }
    }
}

/// Why an evaluation was stopped.
const RAN_OUT_OF_TIME: u8 = 1;
const RAN_OUT_OF_MEMORY: u8 = 2;

/// Runs `f` on a scoped thread with [`EVAL_STACK_BYTES`] of stack. A panic in `f`
/// comes back as an error rather than unwinding into the caller.
pub fn on_eval_stack<T: Send>(f: impl FnOnce() -> T + Send) -> Result<T, String> {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("preflight-cel".into())
            .stack_size(EVAL_STACK_BYTES)
            .spawn_scoped(scope, f)
            .map_err(|e| format!("could not start a thread to evaluate it: {e}"))?;
        handle
            .join()
            .map_err(|_| "the expression evaluator crashed".to_string())
    })
}

/// The standard CEL environment, built once: building it costs more than judging.
fn stdlib() -> Arc<cel::Env> {
    static STDLIB: std::sync::OnceLock<Arc<cel::Env>> = std::sync::OnceLock::new();
    STDLIB.get_or_init(|| Arc::new(cel::Env::stdlib())).clone()
}

/// A compiled expectation.
#[derive(Debug, Clone)]
pub struct Expectation {
    source: String,
    /// The program's tree with every comprehension step metered (see [`meter`]).
    metered: Arc<IdedExpr>,
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
    /// Compiles `source`; the error is the parser's message, or says which limit
    /// ([`MAX_EXPRESSION_BYTES`], [`MAX_EXPRESSION_DEPTH`]) it exceeds.
    pub fn compile(source: &str) -> Result<Expectation, String> {
        if source.len() > MAX_EXPRESSION_BYTES {
            return Err(format!(
                "it is {} bytes long; an expression may be at most {MAX_EXPRESSION_BYTES}",
                source.len()
            ));
        }
        // The parser and the tree walks below recurse: give them the stack the
        // limits were measured with, whatever thread the loader runs on.
        on_eval_stack(|| Self::compile_here(source))
            .map_err(|_| "the expression parser crashed on this input".to_string())?
    }

    fn compile_here(source: &str) -> Result<Expectation, String> {
        let program = std::panic::catch_unwind(|| Program::compile(source))
            .map_err(|_| "the expression parser crashed on this input".to_string())?
            .map_err(|e| e.to_string().trim().replace('\n', " "))?;
        let depth = depth(program.expression());
        if depth > MAX_EXPRESSION_DEPTH {
            return Err(format!(
                "it nests {depth} levels deep; an expression may be at most {MAX_EXPRESSION_DEPTH} \
                 (split a long chain of operators into several expectations)"
            ));
        }
        let mut names = BTreeSet::new();
        let mut reads = BTreeSet::new();
        collect(
            program.expression(),
            &mut Vec::new(),
            &mut names,
            &mut reads,
        );
        let mut metered = program.expression().clone();
        meter(&mut metered);
        Ok(Expectation {
            source: source.to_string(),
            metered: Arc::new(metered),
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

    /// Evaluates the expression over `scope` to a JSON value (for `capture`), on a
    /// thread with [`EVAL_STACK_BYTES`] of stack and within `budget`. A missing key,
    /// an evaluation error or a spent budget is the reason it could not be taken.
    pub fn evaluate(
        &self,
        scope: &serde_json::Map<String, Value>,
        budget: Option<Budget>,
    ) -> Result<Value, String> {
        on_eval_stack(|| self.evaluate_here(scope, budget))?
    }

    /// [`Expectation::evaluate`] on the calling thread, which must have
    /// [`EVAL_STACK_BYTES`] of stack.
    pub(crate) fn evaluate_here(
        &self,
        scope: &serde_json::Map<String, Value>,
        budget: Option<Budget>,
    ) -> Result<Value, String> {
        let (ctx, exhausted) = self.context(scope, budget);
        let root = self.root(scope);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            cel::Value::resolve(&self.metered, &ctx)
        }));
        if let Some(why) = spent(budget, &exhausted) {
            return Err(why);
        }
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

    /// The evaluation context: the names the expression reads, and the meter.
    fn context(
        &self,
        scope: &serde_json::Map<String, Value>,
        budget: Option<Budget>,
    ) -> (Context<'static, 'static>, Arc<AtomicU8>) {
        let mut ctx = Context::with_env(stdlib());
        for name in &self.names {
            if let Some(v) = scope.get(name) {
                ctx.add_variable_from_value(name.clone(), to_cel(v));
            }
        }
        let exhausted = Arc::new(AtomicU8::new(0));
        let _ = ctx.add_function(METER, meter_function(budget, exhausted.clone()));
        (ctx, exhausted)
    }

    /// What the expression read, for reasons.
    fn root(&self, scope: &serde_json::Map<String, Value>) -> Value {
        Value::Object(
            self.names
                .iter()
                .filter_map(|n| scope.get(n).map(|v| (n.clone(), v.clone())))
                .collect(),
        )
    }

    /// Judges the expectation over `scope`, a JSON object of facts and vars, with
    /// no deadline.
    pub fn judge(&self, scope: &serde_json::Map<String, Value>) -> Judgement {
        self.judge_until(scope, None)
    }

    /// Judges the expectation over `scope`, stopping at `budget`'s deadline (then
    /// it fails, saying so). Runs on a thread with [`EVAL_STACK_BYTES`] of stack.
    pub fn judge_until(
        &self,
        scope: &serde_json::Map<String, Value>,
        budget: Option<Budget>,
    ) -> Judgement {
        on_eval_stack(|| self.judge_here(scope, budget))
            .unwrap_or_else(|e| Judgement::Unjudgeable(format!("{} — {e}", self.source)))
    }

    /// [`Expectation::judge_until`] on the calling thread, which must have
    /// [`EVAL_STACK_BYTES`] of stack.
    pub(crate) fn judge_here(
        &self,
        scope: &serde_json::Map<String, Value>,
        budget: Option<Budget>,
    ) -> Judgement {
        let (ctx, exhausted) = self.context(scope, budget);
        let root = self.root(scope);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            cel::Value::resolve(&self.metered, &ctx)
        }));
        // Whatever the result, an evaluation cut short proves nothing (an error
        // inside `||` can still come out true).
        if let Some(why) = spent(budget, &exhausted) {
            return Judgement::Fails(format!("{} — {why}", self.source));
        }
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

/// Why a metered evaluation was stopped, if it was.
fn spent(budget: Option<Budget>, exhausted: &AtomicU8) -> Option<String> {
    let b = budget?;
    match exhausted.load(Ordering::Relaxed) {
        RAN_OUT_OF_TIME => Some(format!(
            "still evaluating when the {} timeout ran out",
            humantime::format_duration(b.timeout)
        )),
        RAN_OUT_OF_MEMORY => Some(format!(
            "stopped: evaluating it took more than {} of memory",
            crate::input::size(b.memory)
        )),
        _ => None,
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

/// The function behind [`METER`]: `true` until the budget runs out, then an
/// error (and a record of why, in `exhausted`). The clock is read every 64 steps;
/// the process's size at most every 5 ms of them.
fn meter_function(
    budget: Option<Budget>,
    exhausted: Arc<AtomicU8>,
) -> impl Fn(&cel::FunctionContext) -> Result<bool, ExecutionError> + Send + Sync + 'static {
    let steps = AtomicU32::new(0);
    let start = Instant::now();
    let ceiling = budget.and_then(|b| resident_bytes_lately().map(|r| r.saturating_add(b.memory)));
    let memory_checked = AtomicU64::new(0);
    move |ftx: &cel::FunctionContext| {
        let Some(b) = budget else {
            return Ok(true);
        };
        if exhausted.load(Ordering::Relaxed) == 0
            && steps.fetch_add(1, Ordering::Relaxed).is_multiple_of(64)
        {
            let now = Instant::now();
            let since = now.duration_since(start).as_millis() as u64;
            if now >= b.deadline {
                exhausted.store(RAN_OUT_OF_TIME, Ordering::Relaxed);
            } else if let Some(ceiling) = ceiling
                && since >= memory_checked.load(Ordering::Relaxed) + 5
            {
                memory_checked.store(since, Ordering::Relaxed);
                if resident_bytes().is_some_and(|r| r > ceiling) {
                    exhausted.store(RAN_OUT_OF_MEMORY, Ordering::Relaxed);
                }
            }
        }
        if exhausted.load(Ordering::Relaxed) != 0 {
            return Err(ftx.error("the evaluation budget ran out"));
        }
        Ok(true)
    }
}

/// [`resident_bytes`] as sampled in the last 50 ms: where an evaluation starts
/// from. Reading `/proc/self/status` for every expression of a 100,000-item sweep
/// cost more than evaluating them; the checks during a long evaluation still read
/// it fresh.
fn resident_bytes_lately() -> Option<u64> {
    static SAMPLE: std::sync::Mutex<Option<(Instant, Option<u64>)>> = std::sync::Mutex::new(None);
    let mut sample = SAMPLE.lock().unwrap_or_else(|p| p.into_inner());
    match *sample {
        Some((at, bytes)) if at.elapsed() < Duration::from_millis(50) => bytes,
        _ => {
            let bytes = resident_bytes();
            *sample = Some((Instant::now(), bytes));
            bytes
        }
    }
}

/// The process's resident size, where the system tells (Linux).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kib * 1024)
}

/// Depth of a syntax tree (a lone literal is 1), walked without recursion so a
/// tree of any depth can be measured.
fn depth(root: &IdedExpr) -> usize {
    let mut deepest = 0;
    let mut todo = vec![(root, 1usize)];
    while let Some((e, d)) = todo.pop() {
        deepest = deepest.max(d);
        todo.extend(children(e).into_iter().map(|c| (c, d + 1)));
    }
    deepest
}

/// The direct subexpressions of `e`.
fn children(e: &IdedExpr) -> Vec<&IdedExpr> {
    let mut out = Vec::new();
    match &e.expr {
        Expr::Call(call) => {
            out.extend(call.target.as_deref());
            out.extend(&call.args);
        }
        Expr::Select(sel) => out.push(&*sel.operand),
        Expr::Comprehension(c) => out.extend([
            &c.iter_range,
            &c.accu_init,
            &c.loop_cond,
            &c.loop_step,
            &c.result,
        ]),
        Expr::List(l) => out.extend(&l.elements),
        Expr::Map(m) => {
            for entry in &m.entries {
                if let EntryExpr::MapEntry(me) = &entry.expr {
                    out.extend([&me.key, &me.value]);
                }
            }
        }
        Expr::Struct(st) => {
            for entry in &st.entries {
                match &entry.expr {
                    EntryExpr::MapEntry(me) => out.extend([&me.key, &me.value]),
                    EntryExpr::StructField(f) => out.push(&f.value),
                }
            }
        }
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
    }
    out
}

/// `@budget() ? e : otherwise`: `e`, once the meter has said the budget holds.
/// The interpreter evaluates a condition's error straight out, and only one
/// branch, so this costs one call per step and changes no value (`otherwise` is
/// never taken: the meter returns `true` or fails).
fn metered(e: IdedExpr, otherwise: LiteralValue) -> IdedExpr {
    let id = e.id;
    let node = |expr| IdedExpr { id, expr };
    node(Expr::Call(CallExpr {
        func_name: cel::common::ast::operators::CONDITIONAL.to_string(),
        target: None,
        args: vec![
            node(Expr::Call(CallExpr {
                func_name: METER.to_string(),
                target: None,
                args: vec![],
            })),
            e,
            node(Expr::Literal(otherwise)),
        ],
    }))
}

/// Puts a [`METER`] check in every step of every comprehension, where the
/// interpreter evaluates it once per element and stops at its first error: in
/// the loop condition (`all`, `exists`), or — where the condition is a literal,
/// as in `map`, `filter` and `exists_one` — inside the step, keeping the shapes
/// (`@result + [e]`, `c ? @result + [e] : @result`) the interpreter recognises
/// to build lists in place.
fn meter(e: &mut IdedExpr) {
    match &mut e.expr {
        Expr::Call(call) => {
            if let Some(t) = &mut call.target {
                meter(t);
            }
            call.args.iter_mut().for_each(meter);
        }
        Expr::Select(sel) => meter(&mut sel.operand),
        Expr::Comprehension(c) => {
            for part in [
                &mut c.iter_range,
                &mut c.accu_init,
                &mut c.loop_cond,
                &mut c.loop_step,
                &mut c.result,
            ] {
                meter(part);
            }
            if !matches!(c.loop_cond.expr, Expr::Literal(_)) {
                let cond = std::mem::take(&mut c.loop_cond);
                c.loop_cond = metered(cond, LiteralValue::Boolean(false.into()));
                return;
            }
            let accu = c.accu_var.clone();
            let is_accu = |e: &IdedExpr| matches!(&e.expr, Expr::Ident(n) if *n == accu);
            if let Expr::Call(call) = &mut c.loop_step.expr {
                // `@result + [e]`: meter `e`.
                if call.func_name == cel::common::ast::operators::ADD
                    && call.args.len() == 2
                    && is_accu(&call.args[0])
                    && let Expr::List(list) = &mut call.args[1].expr
                    && let Some(first) = list.elements.first_mut()
                {
                    *first = metered(std::mem::take(first), LiteralValue::Null);
                    return;
                }
                // `c ? … : @result`: meter `c`.
                if call.func_name == cel::common::ast::operators::CONDITIONAL
                    && call.args.len() == 3
                    && is_accu(&call.args[2])
                {
                    let guard = std::mem::take(&mut call.args[0]);
                    call.args[0] = metered(guard, LiteralValue::Boolean(false.into()));
                    return;
                }
            }
            let step = std::mem::take(&mut c.loop_step);
            c.loop_step = metered(step, LiteralValue::Null);
        }
        Expr::List(l) => l.elements.iter_mut().for_each(meter),
        Expr::Map(m) => {
            for entry in &mut m.entries {
                if let EntryExpr::MapEntry(me) = &mut entry.expr {
                    meter(&mut me.key);
                    meter(&mut me.value);
                }
            }
        }
        Expr::Struct(st) => {
            for entry in &mut st.entries {
                match &mut entry.expr {
                    EntryExpr::MapEntry(me) => {
                        meter(&mut me.key);
                        meter(&mut me.value);
                    }
                    EntryExpr::StructField(f) => meter(&mut f.value),
                }
            }
        }
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
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
        assert_eq!(e.evaluate(&s, None), Ok(json!("t0k")));
        let e = Expectation::compile("json.n").unwrap();
        assert_eq!(e.evaluate(&s, None), Ok(json!([1, 2.5])));
        let e = Expectation::compile("json.missing").unwrap();
        assert_eq!(e.evaluate(&s, None), Err("json.missing was missing".into()));
        let e = Expectation::compile("{'a': json.n.size()}").unwrap();
        assert_eq!(e.evaluate(&s, None), Ok(json!({"a": 2})));
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
    fn long_and_deep_expressions_are_refused_at_compile_time() {
        let long = vec!["1"; 3000].join(" + ");
        let e = Expectation::compile(&long).unwrap_err();
        assert!(e.contains("bytes long"), "{e}");
        // Short enough, but 1000 operands deep: it would overflow a stack later.
        let deep = vec!["status"; 1000].join("+");
        let e = Expectation::compile(&deep).unwrap_err();
        assert!(e.contains("1000 levels deep"), "{e}");
        let member = format!("json{} == 1", ".a".repeat(500));
        let e = Expectation::compile(&member).unwrap_err();
        assert!(e.contains("levels deep"), "{e}");
        // At the limit it compiles.
        let ok = vec!["status"; MAX_EXPRESSION_DEPTH - 1].join(" + ");
        Expectation::compile(&format!("{ok} > 0")).unwrap();
    }

    #[test]
    fn the_deepest_accepted_expression_judges_from_a_small_stack() {
        // Compiling and judging run on a thread of their own: the caller's stack
        // (here 256 KiB, less than a runtime worker's) does not matter.
        let src = format!(
            "{} > 0",
            vec!["status"; MAX_EXPRESSION_DEPTH - 1].join(" + ")
        );
        let j = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || {
                let e = Expectation::compile(&src).unwrap();
                e.judge(&scope(json!({"status": 1})))
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(j, Judgement::Holds);
    }

    #[test]
    fn the_budget_stops_a_quadratic_expression() {
        let arr: Vec<i64> = (0..4000).collect();
        let facts = scope(json!({ "json": arr }));
        let e = Expectation::compile("json.all(x, json.all(y, x == y || x != y))").unwrap();
        let t0 = Instant::now();
        let j = e.judge_until(&facts, Some(Budget::from_now(Duration::from_millis(200))));
        let took = t0.elapsed();
        assert_eq!(
            j,
            Judgement::Fails(
                "json.all(x, json.all(y, x == y || x != y)) — still evaluating when the 200ms timeout ran out"
                    .into()
            )
        );
        assert!(took < Duration::from_secs(2), "{took:?}");
        // The same inside `||`, where an error could otherwise come out true.
        let e =
            Expectation::compile("json.map(x, json.filter(y, y > x).size()).size() > 0 || true")
                .unwrap();
        let j = e.judge_until(&facts, Some(Budget::from_now(Duration::from_millis(100))));
        assert!(
            matches!(&j, Judgement::Fails(r) if r.contains("still evaluating")),
            "{j:?}"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_budget_stops_an_expression_that_eats_memory() {
        let arr: Vec<i64> = (0..20_000).collect();
        let facts = scope(json!({ "json": arr }));
        let e = Expectation::compile("json.map(x, json + json).size() > 0").unwrap();
        let budget = Budget {
            memory: 64 << 20,
            ..Budget::from_now(Duration::from_secs(120))
        };
        let t0 = Instant::now();
        let j = e.judge_until(&facts, Some(budget));
        assert_eq!(
            j,
            Judgement::Fails(
                "json.map(x, json + json).size() > 0 — stopped: evaluating it took more than 64 MiB of memory"
                    .into()
            )
        );
        assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", t0.elapsed());
    }

    #[test]
    fn metering_changes_no_result() {
        let facts = scope(json!({
            "answers": ["1.2.3.4", "5.6.7.8"],
            "headers": {"a": "1", "b": "2"},
            "rows": [{"n": 1}, {"n": 2}, {"n": 3}],
            "empty": [],
        }));
        let budget = Some(Budget::from_now(Duration::from_secs(60)));
        for src in [
            "answers.all(a, a.contains('.'))",
            "answers.exists(a, a == '5.6.7.8')",
            "answers.exists_one(a, a.startsWith('1'))",
            "rows.map(r, r.n * 2) == [2, 4, 6]",
            "rows.filter(r, r.n > 1).size() == 2",
            "rows.map(r, r.n > 1, r.n) == [2, 3]",
            "headers.all(k, headers[k] != '')",
            "rows.all(r, rows.exists(s, s.n == r.n))",
            "empty.all(x, false) && !empty.exists(x, true)",
            "answers.all(a, a == 1)",
            "rows.exists(r, r.missing == 1) || true",
            "rows.filter(r, r.n > 5) == []",
        ] {
            let e = Expectation::compile(src).unwrap();
            let plain = Program::compile(src).unwrap();
            let mut ctx = Context::with_env(stdlib());
            for (k, v) in &facts {
                ctx.add_variable_from_value(k.clone(), to_cel(v));
            }
            let expected = match plain.execute(&ctx) {
                Ok(CelValue::Bool(true)) => "holds",
                Ok(CelValue::Bool(false)) => "fails",
                _ => "other",
            };
            let got = match e.judge_until(&facts, budget) {
                Judgement::Holds => "holds",
                Judgement::Fails(_) => "fails",
                Judgement::Unjudgeable(_) => "other",
            };
            assert_eq!(got, expected, "{src}");
        }
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
