//! The Prometheus HTTP API's instant-query answer → facts.

use serde_json::{Map, Value, json};

use crate::{Error, preview};

/// Turns a `/api/v1/query` response into `value`, `series`, `count`.
///
/// Vector and scalar results are read as they are; for a matrix (a range selector
/// queried at an instant) each series' value is its last sample. Sample values that
/// are not finite (`NaN`, `+Inf`) become `null`: JSON has no spelling for them.
pub fn facts(status: u16, body: &[u8]) -> Result<preflight_core::Facts, Error> {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Err(Error::NotJson {
            status,
            preview: preview(body),
        });
    };
    match v.get("status").and_then(Value::as_str) {
        Some("success") => {}
        Some("error") => {
            let kind = v
                .get("errorType")
                .and_then(Value::as_str)
                .unwrap_or("error")
                .to_string();
            let message = v
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            return Err(if kind == "bad_data" {
                Error::BadQuery {
                    status,
                    kind,
                    message,
                }
            } else {
                Error::QueryFailed {
                    status,
                    kind,
                    message,
                }
            });
        }
        _ => {
            return Err(Error::NotPrometheus {
                status,
                preview: preview(body),
            });
        }
    }
    let data = v.get("data").cloned().unwrap_or(Value::Null);
    let result = data.get("result").cloned().unwrap_or(Value::Null);
    let series: Option<Vec<Value>> = match data.get("resultType").and_then(Value::as_str) {
        Some("vector") => result.as_array().map(|a| {
            a.iter()
                .map(|s| series_of(s.get("metric"), s.get("value")))
                .collect()
        }),
        Some("matrix") => result.as_array().map(|a| {
            a.iter()
                .map(|s| {
                    let last = s
                        .get("values")
                        .and_then(Value::as_array)
                        .and_then(|v| v.last());
                    series_of(s.get("metric"), last)
                })
                .collect()
        }),
        Some("scalar") | Some("string") => Some(vec![series_of(None, Some(&result))]),
        _ => None,
    };
    let Some(series) = series else {
        return Err(Error::UnreadableResult {
            status,
            preview: preview(body),
        });
    };
    // Prometheus 2.x put PromQL's informational notes among the warnings; 3.x has
    // `infos` for them. Neither means a part of the answer is missing.
    let warnings: Vec<Value> = v
        .get("warnings")
        .and_then(Value::as_array)
        .map(|w| {
            w.iter()
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .filter(|x| !x.starts_with("PromQL info:"))
                .map(Value::String)
                .collect()
        })
        .unwrap_or_default();
    let mut f = preflight_core::Facts::new();
    f.insert(
        "value".into(),
        series.first().map_or(Value::Null, |s| s["value"].clone()),
    );
    f.insert("count".into(), json!(series.len()));
    f.insert("series".into(), Value::Array(series));
    f.insert("warnings".into(), Value::Array(warnings));
    Ok(f)
}

/// `{labels, value}` from a metric object and a `[timestamp, "value"]` pair.
fn series_of(metric: Option<&Value>, sample: Option<&Value>) -> Value {
    let labels = metric
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_else(Map::new);
    let raw = sample.and_then(|s| s.get(1)).and_then(Value::as_str);
    let value = match raw {
        Some(text) => match text.parse::<f64>() {
            Ok(n) if n.is_finite() => json!(n),
            Ok(_) => Value::Null,
            // A string result.
            Err(_) => json!(text),
        },
        None => Value::Null,
    };
    json!({"labels": labels, "value": value})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(body: &str) -> preflight_core::Facts {
        match facts(200, body.as_bytes()) {
            Ok(f) => f,
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn vector_scalar_and_matrix() {
        let f = ok(
            r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"job":"api"},"value":[1700000000.1,"0.2"]},
            {"metric":{"job":"db"},"value":[1700000000.1,"NaN"]}]}}"#,
        );
        assert_eq!(f["value"], 0.2);
        assert_eq!(f["count"], 2);
        assert_eq!(f["series"][0]["labels"]["job"], "api");
        assert_eq!(f["series"][1]["value"], Value::Null);
        let f =
            ok(r#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"3"]}}"#);
        assert_eq!(
            (f["value"].as_f64(), f["count"].as_u64()),
            (Some(3.0), Some(1))
        );
        let f = ok(
            r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{},"values":[[1,"1"],[2,"5"]]}]}}"#,
        );
        assert_eq!(f["value"], 5.0);
        let f = ok(r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#);
        assert_eq!(
            (f["value"].clone(), f["count"].as_u64()),
            (Value::Null, Some(0))
        );
        assert_eq!(f["warnings"], json!([]));
    }

    #[test]
    fn warnings_of_a_partial_answer_are_kept_info_notes_are_not() {
        let f = ok(
            r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{},"value":[1,"1"]}]},
            "warnings":["partial response: store 10.0.0.3:10901 unavailable",
                        "PromQL info: metric might not be a counter"]}"#,
        );
        assert_eq!(
            f["warnings"],
            json!(["partial response: store 10.0.0.3:10901 unavailable"])
        );
    }

    #[test]
    fn errors_and_garbage() {
        let bad = br#"{"status":"error","errorType":"bad_data","error":"parse error"}"#;
        let e = facts(400, bad).expect_err("bad query");
        assert!(matches!(&e, Error::BadQuery { message, .. } if message == "parse error"));
        assert_eq!(
            e.to_string(),
            "Prometheus answered HTTP 400, bad_data: parse error"
        );
        let busy = br#"{"status":"error","errorType":"timeout","error":"query timed out"}"#;
        assert!(matches!(facts(503, busy), Err(Error::QueryFailed { .. })));
        for junk in [
            &b"<html>oops</html>"[..],
            b"{}",
            b"[1,2]",
            br#"{"status":"success","data":{}}"#,
            b"\xff\xfe",
        ] {
            assert!(
                matches!(
                    facts(200, junk),
                    Err(Error::NotJson { .. }
                        | Error::NotPrometheus { .. }
                        | Error::UnreadableResult { .. })
                ),
                "{junk:?}"
            );
        }
    }
}
