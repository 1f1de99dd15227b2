//! What both expression targets check: compiling and judging `src` over `facts`
//! never panics, overflows a stack or runs past the budget, and metering (the
//! deadline checks put into comprehensions) changes no result: whenever the
//! unmetered program returns `true` the expectation holds, and the other way round.

use std::time::{Duration, Instant};

use arbitrary::Unstructured;
use preflight_core::expect::{Budget, Expectation, Judgement, on_eval_stack, to_cel};
use serde_json::{Map, Value};

/// The fact names the generated facts use.
pub const NAMES: [&str; 8] = [
    "status",
    "json",
    "headers",
    "body",
    "answers",
    "rows",
    "value",
    "latency_ms",
];

/// Budget for one judgement; the run must end well within it plus the grace the
/// runner allows.
const BUDGET: Duration = Duration::from_millis(100);

/// Any JSON value, up to 6 levels deep.
pub fn json(u: &mut Unstructured<'_>, depth: u32) -> Value {
    let pick: u8 = u.int_in_range(0..=7).unwrap_or(0);
    match pick {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary().unwrap_or(false)),
        2 => Value::from(u.int_in_range(-3i64..=300).unwrap_or(0)),
        3 => serde_json::Number::from_f64(u.arbitrary::<f64>().unwrap_or(0.0))
            .map_or(Value::Null, Value::Number),
        4 => Value::String(u.arbitrary::<String>().unwrap_or_default()),
        5 => Value::from(u.arbitrary::<u64>().unwrap_or(0)),
        6 if depth < 6 => {
            let n = u.int_in_range(0..=64).unwrap_or(0);
            Value::Array((0..n).map(|_| json(u, depth + 1)).collect())
        }
        _ if depth < 6 => {
            let n = u.int_in_range(0..=16).unwrap_or(0);
            let mut m = Map::new();
            for _ in 0..n {
                let k = u.arbitrary::<String>().unwrap_or_default();
                m.insert(k, json(u, depth + 1));
            }
            Value::Object(m)
        }
        _ => Value::Null,
    }
}

/// Facts under some of [`NAMES`].
pub fn facts(u: &mut Unstructured<'_>) -> Map<String, Value> {
    let mut facts = Map::new();
    for name in NAMES {
        if u.arbitrary::<bool>().unwrap_or(true) {
            facts.insert(name.to_string(), json(u, 0));
        }
    }
    facts
}

/// The checks (see the module doc).
pub fn check(src: &str, facts: &Map<String, Value>) {
    let Ok(e) = Expectation::compile(src) else {
        return;
    };
    let t0 = Instant::now();
    let judged = e.judge_until(facts, Some(Budget::from_now(BUDGET)));
    let took = t0.elapsed();
    assert!(
        took < BUDGET + Duration::from_secs(1),
        "judging `{src}` took {took:?} with a budget of {BUDGET:?}"
    );
    let cut = matches!(&judged, Judgement::Fails(r) if r.contains("still evaluating"));
    if took > BUDGET / 2 || cut {
        return;
    }
    let plain = on_eval_stack(|| {
        let program = cel::Program::compile(src).ok()?;
        let mut ctx = cel::Context::with_env(std::sync::Arc::new(cel::Env::stdlib()));
        for (k, v) in facts {
            ctx.add_variable_from_value(k.clone(), to_cel(v));
        }
        Some(matches!(program.execute(&ctx), Ok(cel::Value::Bool(true))))
    });
    if let Ok(Some(plain_true)) = plain {
        assert_eq!(
            plain_true,
            judged == Judgement::Holds,
            "metering changed the result of `{src}`: {judged:?}"
        );
    }
}
