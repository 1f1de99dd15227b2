//! Result columns as JSON values, whatever their type.
//!
//! tokio-postgres reads results in the binary format; this decodes the common types
//! (booleans, integers, floats, numeric, text-like, json/jsonb, uuid, date and
//! timestamps) and shows anything else as its text if it is UTF-8, else as `\x…` hex.

use std::error::Error;

use serde_json::{Map, Number, Value};
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, Kind, Type};

type BoxError = Box<dyn Error + Sync + Send>;

/// One column value of any type, decoded to JSON.
struct AnyValue(Value);

impl<'a> FromSql<'a> for AnyValue {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<AnyValue, BoxError> {
        decode(ty, raw).map(AnyValue)
    }

    fn from_sql_null(_: &Type) -> Result<AnyValue, BoxError> {
        Ok(AnyValue(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn float(f: f64) -> Value {
    Number::from_f64(f).map_or_else(|| Value::String(f.to_string()), Value::Number)
}

fn decode(ty: &Type, raw: &[u8]) -> Result<Value, BoxError> {
    Ok(match *ty {
        Type::BOOL => Value::Bool(bool::from_sql(ty, raw)?),
        Type::INT2 => Value::from(i16::from_sql(ty, raw)?),
        Type::INT4 => Value::from(i32::from_sql(ty, raw)?),
        Type::INT8 => Value::from(i64::from_sql(ty, raw)?),
        Type::OID => Value::from(u32::from_sql(ty, raw)?),
        Type::FLOAT4 => float(f64::from(f32::from_sql(ty, raw)?)),
        Type::FLOAT8 => float(f64::from_sql(ty, raw)?),
        Type::NUMERIC => numeric(raw)?,
        Type::JSON | Type::JSONB => serde_json::Value::from_sql(ty, raw)?,
        Type::UUID => Value::String(uuid(raw)?),
        Type::DATE => {
            let days = i32::from_sql(&Type::INT4, raw)?;
            Value::String(civil(i64::from(days) + DAYS_2000).date())
        }
        Type::TIMESTAMP | Type::TIMESTAMPTZ => {
            let micros = i64::from_sql(&Type::INT8, raw)?;
            let secs = micros.div_euclid(1_000_000);
            let frac = micros.rem_euclid(1_000_000);
            let days = secs.div_euclid(86_400);
            let rem = secs.rem_euclid(86_400);
            let mut s = format!(
                "{}T{:02}:{:02}:{:02}",
                civil(days + DAYS_2000).date(),
                rem / 3600,
                rem / 60 % 60,
                rem % 60
            );
            if frac != 0 {
                s.push_str(format!(".{frac:06}").trim_end_matches('0'));
            }
            if *ty == Type::TIMESTAMPTZ {
                s.push('Z');
            }
            Value::String(s)
        }
        _ => match ty.kind() {
            Kind::Array(_) => array(ty, raw).unwrap_or_else(|_| hex(raw)),
            Kind::Domain(inner) => decode(inner, raw)?,
            _ => match std::str::from_utf8(raw) {
                Ok(text) => Value::String(text.to_string()),
                Err(_) => hex(raw),
            },
        },
    })
}

fn hex(raw: &[u8]) -> Value {
    Value::String(format!(
        "\\x{}",
        raw.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

/// Days from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
const DAYS_2000: i64 = 10_957;

struct Civil(i64, u32, u32);

impl Civil {
    fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.0, self.1, self.2)
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil(days: i64) -> Civil {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    Civil(y, m, d)
}

fn uuid(raw: &[u8]) -> Result<String, BoxError> {
    if raw.len() != 16 {
        return Err("uuid is not 16 bytes".into());
    }
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

fn be_u16(raw: &[u8], at: usize) -> Result<u16, BoxError> {
    raw.get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or_else(|| "numeric value is cut short".into())
}

/// The binary `numeric` format: ndigits, weight, sign, dscale, then base-10000 digits.
/// Shown as a JSON number when it round-trips through f64, else as a string.
fn numeric(raw: &[u8]) -> Result<Value, BoxError> {
    let ndigits = usize::from(be_u16(raw, 0)?);
    let weight = i32::from(be_u16(raw, 2)? as i16);
    let sign = be_u16(raw, 4)?;
    let dscale = usize::from(be_u16(raw, 6)?);
    match sign {
        0xC000 => return Ok(Value::String("NaN".into())),
        0xD000 => return Ok(Value::String("Infinity".into())),
        0xF000 => return Ok(Value::String("-Infinity".into())),
        _ => {}
    }
    let digits: Vec<u16> = (0..ndigits)
        .map(|i| be_u16(raw, 8 + 2 * i))
        .collect::<Result<_, _>>()?;
    let mut int = String::new();
    let mut frac = String::new();
    for (i, d) in digits.iter().enumerate() {
        let pos = weight - i as i32;
        if pos >= 0 {
            if int.is_empty() {
                int = d.to_string();
            } else {
                int.push_str(&format!("{d:04}"));
            }
        } else {
            frac.push_str(&format!("{d:04}"));
        }
    }
    // Trailing zero groups between the last digit and the decimal point.
    let last_pos = weight - ndigits as i32 + 1;
    if last_pos > 0 && !int.is_empty() {
        for _ in 0..last_pos {
            int.push_str("0000");
        }
    }
    // Leading zero groups between the point and the first fractional digit.
    if weight < -1 {
        frac = "0000".repeat((-weight - 1) as usize) + &frac;
    }
    if int.is_empty() {
        int.push('0');
    }
    frac.truncate(dscale);
    while frac.len() < dscale {
        frac.push('0');
    }
    let mut text = if sign == 0x4000 {
        "-".to_string()
    } else {
        String::new()
    };
    text.push_str(&int);
    if !frac.is_empty() {
        text.push('.');
        text.push_str(&frac);
    }
    // A JSON number when it survives the trip exactly (trailing zeros aside), so
    // expectations can compare it; otherwise the exact text.
    let trimmed = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text.as_str()
    };
    if !trimmed.contains('.')
        && let Ok(i) = trimmed.parse::<i64>()
    {
        return Ok(Value::from(i));
    }
    Ok(match trimmed.parse::<f64>() {
        Ok(f) if f.is_finite() && f.to_string() == trimmed => float(f),
        _ => Value::String(text),
    })
}

fn array(ty: &Type, raw: &[u8]) -> Result<Value, BoxError> {
    // One-dimensional arrays; others are shown as hex by the caller's fallback.
    let items = Vec::<AnyValue>::from_sql(ty, raw)?;
    Ok(Value::Array(items.into_iter().map(|v| v.0).collect()))
}

/// A row as a JSON object, column name → value (a later duplicate name wins).
pub fn row_to_json(row: &Row) -> Result<Map<String, Value>, crate::error::Error> {
    let mut out = Map::new();
    for (i, col) in row.columns().iter().enumerate() {
        let v: AnyValue = row.try_get(i).map_err(|e| crate::error::Error::Column {
            column: col.name().to_string(),
            reason: e.to_string(),
        })?;
        out.insert(col.name().to_string(), v.0);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil(0).date(), "1970-01-01");
        assert_eq!(civil(DAYS_2000).date(), "2000-01-01");
        assert_eq!(civil(19_723).date(), "2024-01-01");
        assert_eq!(civil(-1).date(), "1969-12-31");
    }

    fn num(ndigits: u16, weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut v = Vec::new();
        for x in [ndigits, weight as u16, sign, dscale] {
            v.extend(x.to_be_bytes());
        }
        for d in digits {
            v.extend(d.to_be_bytes());
        }
        v
    }

    #[test]
    fn numerics() {
        // 12345.678 = [1, 2345, 6780], weight 1, dscale 3
        assert_eq!(
            numeric(&num(3, 1, 0, 3, &[1, 2345, 6780])).unwrap(),
            serde_json::json!(12345.678)
        );
        // 0.0005 = [5], weight -1, dscale 4
        assert_eq!(
            numeric(&num(1, -1, 0, 4, &[5])).unwrap(),
            serde_json::json!(0.0005)
        );
        // 20000 = [2], weight 1
        assert_eq!(
            numeric(&num(1, 1, 0, 0, &[2])).unwrap(),
            serde_json::json!(20000)
        );
        assert_eq!(
            numeric(&num(2, 0, 0x4000, 2, &[3, 1000])).unwrap(),
            serde_json::json!(-3.1)
        );
        // Beyond f64: the exact text.
        assert_eq!(
            numeric(&num(6, 5, 0, 0, &[1, 2, 3, 4, 5, 6])).unwrap(),
            serde_json::json!("100020003000400050006")
        );
        // 0.00001234 = [1234], weight -2, dscale 8
        assert_eq!(
            numeric(&num(1, -2, 0, 8, &[1234])).unwrap(),
            serde_json::json!(0.00001234)
        );
        assert_eq!(
            numeric(&num(0, 0, 0, 0, &[])).unwrap(),
            serde_json::json!(0)
        );
        assert_eq!(
            numeric(&num(0, 0, 0xC000, 0, &[])).unwrap(),
            serde_json::json!("NaN")
        );
    }
}
