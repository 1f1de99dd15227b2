//! Like `expression`, but the expression is generated from a small CEL grammar
//! (operators, calls, indexes, and above all nested comprehensions over the facts),
//! so that nearly every input compiles and the metering of comprehensions is
//! exercised. See `judge.rs` for what is checked.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

#[path = "judge.rs"]
mod judge;

const BINARY: [&str; 14] = [
    "&&", "||", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "in",
];
const MACROS: [&str; 5] = ["all", "exists", "exists_one", "map", "filter"];
const METHODS: [&str; 6] = [
    "size()",
    "contains('a')",
    "startsWith('')",
    "endsWith('x')",
    "matches('^a')",
    "size() > 0",
];
const LITERALS: [&str; 12] = [
    "1", "0", "-1", "2u", "1.5", "'a'", "''", "true", "false", "null", "[]", "{}",
];

fn expr(u: &mut Unstructured<'_>, depth: u32, bound: &mut Vec<String>) -> String {
    let leaf = depth >= 5 || u.is_empty();
    let pick = if leaf {
        u.int_in_range(0..=1).unwrap_or(0)
    } else {
        u.int_in_range(0..=11).unwrap_or(0)
    };
    match pick {
        0 => LITERALS[u.choose_index(LITERALS.len()).unwrap_or(0)].to_string(),
        1 => {
            if !bound.is_empty() && u.arbitrary().unwrap_or(false) {
                bound[u.choose_index(bound.len()).unwrap_or(0)].clone()
            } else {
                judge::NAMES[u.choose_index(judge::NAMES.len()).unwrap_or(0)].to_string()
            }
        }
        2 => {
            let op = BINARY[u.choose_index(BINARY.len()).unwrap_or(0)];
            format!(
                "({} {op} {})",
                expr(u, depth + 1, bound),
                expr(u, depth + 1, bound)
            )
        }
        3 | 4 | 5 => {
            let m = MACROS[u.choose_index(MACROS.len()).unwrap_or(0)];
            let var = format!("v{depth}");
            let range = expr(u, depth + 1, bound);
            bound.push(var.clone());
            let body = expr(u, depth + 1, bound);
            let three = m == "map" && u.arbitrary().unwrap_or(false);
            let out = if three {
                let value = expr(u, depth + 1, bound);
                format!("{range}.{m}({var}, {body}, {value})")
            } else {
                format!("{range}.{m}({var}, {body})")
            };
            bound.pop();
            out
        }
        6 => format!(
            "{}.{}",
            expr(u, depth + 1, bound),
            METHODS[u.choose_index(METHODS.len()).unwrap_or(0)]
        ),
        7 => format!(
            "{}[{}]",
            expr(u, depth + 1, bound),
            expr(u, depth + 1, bound)
        ),
        8 => format!(
            "({} ? {} : {})",
            expr(u, depth + 1, bound),
            expr(u, depth + 1, bound),
            expr(u, depth + 1, bound)
        ),
        9 => format!(
            "[{}, {}]",
            expr(u, depth + 1, bound),
            expr(u, depth + 1, bound)
        ),
        10 => format!("!{}", expr(u, depth + 1, bound)),
        _ => format!("{}.a", expr(u, depth + 1, bound)),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let src = expr(&mut u, 0, &mut Vec::new());
    let facts = judge::facts(&mut u);
    judge::check(&src, &facts);
});
