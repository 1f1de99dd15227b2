//! Numbers in a line that are thresholds: "p95 ≤ 200 ms", "under 1%", "30+ days",
//! "more than 45 days", "at least 64 characters". The comparison follows the
//! line's words: `≤` / "at most" is `<=`, "under" / "below" / `<` is `<`.

use std::sync::LazyLock;

use regex::Regex;

/// A unit a threshold is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Milliseconds (seconds and minutes are converted).
    Ms,
    /// A percentage, kept as written (`1` for 1 %).
    Percent,
    /// Days.
    Days,
    /// Bytes (KB/MB/GB converted).
    Bytes,
    /// No unit, or one not listed.
    Count,
}

/// A comparison with a number: `<= 200 ms`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    /// `<`, `<=`, `>`, `>=` or `==`.
    pub op: &'static str,
    /// The number, in the base unit (ms, %, days, bytes).
    pub value: f64,
    /// Its unit.
    pub unit: Unit,
}

impl Bound {
    /// The value as written in an expression (integers without `.0`).
    pub fn num(&self) -> String {
        num(self.value)
    }

    /// `FACT OP VALUE`.
    pub fn expr(&self, fact: &str) -> String {
        format!("{fact} {} {}", self.op, self.num())
    }

    /// As a fraction (1 % → 0.01), for rates.
    pub fn fraction(&self) -> String {
        let v = if self.unit == Unit::Percent {
            self.value / 100.0
        } else {
            self.value
        };
        num(v)
    }
}

/// A number for an expression: integers without a fraction, others shortest.
pub fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

static BOUND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?ix)
        (?P<op><=|>=|≤|≥|<|>|=|==|
           under|below|less\ than|lower\ than|at\ most|no\ more\ than|max(?:imum)?(?:\ of)?|within|
           more\ than|over|above|greater\ than|at\ least|min(?:imum)?(?:\ of)?|beyond|exceeds?|
           is|of|to)
        \s*
        (?P<n>\d{1,3}(?:[\x20,]\d{3})+|\d+(?:\.\d+)?)
        \s*
        (?P<u>ms|milliseconds?|s\b|secs?\b|seconds?|min\b|mins?\b|minutes?|h\b|hours?|%|percent|days?|d\b|weeks?|kb|mb|gb|kib|mib|gib|bytes?|characters?|chars?|bits?)?
        ").expect("valid regex")
});

static PLUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(\d+(?:\.\d+)?)\s*\+\s*(days?|d\b|characters?|chars?|bytes?)?")
        .expect("valid regex")
});

fn op_of(word: &str) -> Option<&'static str> {
    let w = word.to_lowercase();
    Some(match w.as_str() {
        "<" | "under" | "below" | "less than" | "lower than" => "<",
        "<=" | "≤" | "at most" | "no more than" | "max" | "maximum" | "max of" | "maximum of"
        | "within" => "<=",
        ">" | "more than" | "over" | "above" | "greater than" | "beyond" | "exceed" | "exceeds" => {
            ">"
        }
        ">=" | "≥" | "at least" | "min" | "minimum" | "min of" | "minimum of" => ">=",
        "=" | "==" | "is" | "of" | "to" => "==",
        _ => return None,
    })
}

fn unit_of(u: Option<&str>, value: f64) -> (Unit, f64) {
    let Some(u) = u else {
        return (Unit::Count, value);
    };
    let u = u.to_lowercase();
    match u.as_str() {
        "ms" | "millisecond" | "milliseconds" => (Unit::Ms, value),
        "s" | "sec" | "secs" | "second" | "seconds" => (Unit::Ms, value * 1000.0),
        "min" | "mins" | "minute" | "minutes" => (Unit::Ms, value * 60_000.0),
        "h" | "hour" | "hours" => (Unit::Ms, value * 3_600_000.0),
        "%" | "percent" => (Unit::Percent, value),
        "d" | "day" | "days" => (Unit::Days, value),
        "week" | "weeks" => (Unit::Days, value * 7.0),
        "kb" | "kib" => (Unit::Bytes, value * 1024.0),
        "mb" | "mib" => (Unit::Bytes, value * 1024.0 * 1024.0),
        "gb" | "gib" => (Unit::Bytes, value * 1024.0 * 1024.0 * 1024.0),
        "byte" | "bytes" => (Unit::Bytes, value),
        _ => (Unit::Count, value),
    }
}

/// Every threshold in `text`, in order.
pub fn bounds(text: &str) -> Vec<Bound> {
    let mut out = Vec::new();
    for c in BOUND.captures_iter(text) {
        let Some(op) = op_of(&c["op"]) else { continue };
        let raw = c["n"].replace([',', ' '], "");
        let Ok(v) = raw.parse::<f64>() else { continue };
        let (unit, value) = unit_of(c.name("u").map(|m| m.as_str()), v);
        // "is 3", "of 3" only count with a unit; bare "=" only before a number.
        if matches!(&c["op"].to_lowercase()[..], "is" | "of" | "to") && unit == Unit::Count {
            continue;
        }
        out.push(Bound { op, value, unit });
    }
    for c in PLUS.captures_iter(text) {
        let Ok(v) = c[1].parse::<f64>() else { continue };
        let (unit, value) = unit_of(c.get(2).map(|m| m.as_str()), v);
        out.push(Bound {
            op: ">=",
            value,
            unit,
        });
    }
    out
}

/// The first threshold in `text` with `unit`.
pub fn bound(text: &str, unit: Unit) -> Option<Bound> {
    bounds(text).into_iter().find(|b| b.unit == unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_comparison_follows_the_words() {
        let b = bound("p95 ≤ 200 ms", Unit::Ms).unwrap();
        assert_eq!((b.op, b.num()), ("<=", "200".to_string()));
        let b = bound("p99 latency <500ms", Unit::Ms).unwrap();
        assert_eq!((b.op, b.num()), ("<", "500".to_string()));
        let b = bound("loads in under 0.8 s", Unit::Ms).unwrap();
        assert_eq!((b.op, b.num()), ("<", "800".to_string()));
        let b = bound("Error rate below 0.5% over 30 minutes", Unit::Percent).unwrap();
        assert_eq!((b.op, b.fraction()), ("<", "0.005".to_string()));
        let b = bound("valid for 30+ days", Unit::Days).unwrap();
        assert_eq!((b.op, b.num()), (">=", "30".to_string()));
        let b = bound("expires in more than 45 days", Unit::Days).unwrap();
        assert_eq!((b.op, b.num()), (">", "45".to_string()));
        let b = bound("lag for group under 10 000 messages", Unit::Count).unwrap();
        assert_eq!(b.num(), "10000");
        assert!(bound("HPA for api", Unit::Ms).is_none());
    }
}
