//! Alertmanager's `/api/v2/alerts` answer → facts.

use serde_json::{Value, json};

use crate::{Error, preview};

/// `alerts` [{labels, state}] and `firing`: alerts that are not suppressed (state
/// `active`, or `unprocessed` — just received, not yet routed).
pub fn facts(status: u16, body: &[u8]) -> Result<preflight_core::Facts, Error> {
    let parsed = serde_json::from_slice::<Value>(body).ok();
    let Some(list) = parsed
        .as_ref()
        .and_then(Value::as_array)
        .filter(|_| (200..300).contains(&status))
    else {
        // 400: Alertmanager rejected the filter (the checklist's fault); any other
        // status means the target is wrong or unwell.
        let preview = preview(body);
        return Err(if status == 400 {
            Error::BadFilter { status, preview }
        } else if status >= 300 {
            Error::AlertsFailed { status, preview }
        } else {
            Error::NotAlertList { status, preview }
        });
    };
    let mut alerts = Vec::with_capacity(list.len());
    for a in list {
        let (Some(labels), Some(state)) = (
            a.get("labels").and_then(Value::as_object),
            a.pointer("/status/state").and_then(Value::as_str),
        ) else {
            return Err(Error::MalformedAlert {
                preview: preview(a.to_string().as_bytes()),
            });
        };
        alerts.push(json!({"labels": labels, "state": state}));
    }
    let firing = alerts.iter().filter(|a| a["state"] != "suppressed").count();
    let mut f = preflight_core::Facts::new();
    f.insert("alerts".into(), Value::Array(alerts));
    f.insert("firing".into(), json!(firing));
    Ok(f)
}

/// `name="value"` with `"` and `\` escaped, as Alertmanager's `filter` expects.
pub fn matcher(name: &str, value: &str) -> String {
    let v = value.replace('\\', "\\\\").replace('"', "\\\"");
    format!("{name}=\"{v}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_unsuppressed_alerts() {
        let body = br#"[
          {"labels":{"alertname":"HighErrorRate","severity":"P0"},"status":{"state":"active","silencedBy":[],"inhibitedBy":[]}},
          {"labels":{"alertname":"Disk","severity":"P0"},"status":{"state":"suppressed","silencedBy":["x"],"inhibitedBy":[]}},
          {"labels":{"alertname":"New","severity":"P0"},"status":{"state":"unprocessed"}}]"#;
        let f = facts(200, body).expect("facts");
        assert_eq!(f["firing"], 2);
        assert_eq!(f["alerts"][1]["state"], "suppressed");
        assert_eq!(f["alerts"][0]["labels"]["alertname"], "HighErrorRate");
        let f = facts(200, b"[]").expect("facts");
        assert_eq!(f["firing"], 0);
    }

    #[test]
    fn garbage_and_errors() {
        assert!(matches!(
            facts(200, b"{\"data\":1}"),
            Err(Error::NotAlertList { .. })
        ));
        assert!(matches!(
            facts(200, b"[{\"labels\":{}}]"),
            Err(Error::MalformedAlert { .. })
        ));
        let e = facts(400, b"\"bad matcher\"").expect_err("bad filter");
        assert!(matches!(e, Error::BadFilter { status: 400, .. }));
        assert_eq!(
            e.to_string(),
            "Alertmanager answered HTTP 400: \"bad matcher\""
        );
        assert!(matches!(
            facts(502, b"<html>"),
            Err(Error::AlertsFailed { .. })
        ));
    }

    #[test]
    fn matchers_escape_quotes() {
        assert_eq!(matcher("severity", "P0"), "severity=\"P0\"");
        assert_eq!(matcher("a", "x\"y\\z"), "a=\"x\\\"y\\\\z\"");
    }
}
