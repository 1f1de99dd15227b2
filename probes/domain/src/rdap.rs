//! An RDAP domain object (RFC 9083 §5.3) read into facts.
//!
//! - `days_left`: whole days from now to the `expiration` event, rounded down,
//!   negative once passed; null when the registry publishes no expiration;
//! - `registrar`: the `fn` of the vCard of the entity with the `registrar` role (at
//!   the top level or nested one level), else its handle;
//! - `status`: the status values as published (RFC 9083 §10.2.2, e.g. `client
//!   transfer prohibited`);
//! - `nameservers`: their `ldhName`s, lower case, without a trailing dot;
//! - `dnssec`: `secureDNS.delegationSigned`, null when absent.
//!
//! Target strings are stripped of control characters and cut at 255 characters;
//! lists at 64 entries.

use preflight_core::Facts;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const MAX_TEXT: usize = 255;
const MAX_LIST: usize = 64;

fn clean(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(MAX_TEXT)
        .collect()
}

/// The facts of a domain object, observed at `now` (Unix seconds).
pub(crate) fn facts(body: &[u8], now: i64) -> Result<Facts, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON ({e})"))?;
    let Some(o) = v.as_object() else {
        return Err("the JSON is not an object".into());
    };
    match o.get("objectClassName").and_then(Value::as_str) {
        Some("domain") => {}
        Some(other) => return Err(format!("objectClassName is \"{}\"", clean(other))),
        None if o.contains_key("ldhName") => {}
        None => return Err("no objectClassName".into()),
    }
    let events = o.get("events").and_then(Value::as_array);
    let expiration = events.and_then(|all| {
        all.iter().find(|e| {
            e.get("eventAction")
                .and_then(Value::as_str)
                .is_some_and(|a| a.eq_ignore_ascii_case("expiration"))
        })
    });
    let (expires, days_left) = match expiration {
        None => (None, None),
        Some(e) => {
            let date = e
                .get("eventDate")
                .and_then(Value::as_str)
                .ok_or("the expiration event has no eventDate")?;
            let at = OffsetDateTime::parse(date, &Rfc3339).map_err(|err| {
                format!(
                    "the expiration date \"{}\" is not RFC 3339 ({err})",
                    clean(date)
                )
            })?;
            let seconds = at.unix_timestamp() - now;
            let at_utc = at.to_offset(time::UtcOffset::UTC);
            (
                Some(at_utc.format(&Rfc3339).unwrap_or_else(|_| clean(date))),
                Some(seconds.div_euclid(86_400)),
            )
        }
    };
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .take(MAX_LIST)
                    .map(clean)
                    .collect()
            })
            .unwrap_or_default()
    };
    let nameservers: Vec<String> = o
        .get("nameservers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|ns| {
                    ns.get("ldhName")
                        .or_else(|| ns.get("unicodeName"))
                        .and_then(Value::as_str)
                })
                .take(MAX_LIST)
                .map(|n| clean(n.trim_end_matches('.')).to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    let dnssec = o
        .get("secureDNS")
        .and_then(|s| s.get("delegationSigned"))
        .and_then(Value::as_bool);
    let mut f = Facts::new();
    f.insert("days_left".into(), json!(days_left));
    f.insert("expires".into(), json!(expires));
    f.insert("registrar".into(), json!(registrar(o.get("entities"))));
    f.insert("status".into(), json!(strings(o.get("status"))));
    f.insert("nameservers".into(), json!(nameservers));
    f.insert("dnssec".into(), json!(dnssec));
    Ok(f)
}

/// The registrar's name: the entity with the `registrar` role, top level first.
fn registrar(entities: Option<&Value>) -> Option<String> {
    let list = entities?.as_array()?;
    let is_registrar = |e: &Value| {
        e.get("roles")
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|x| x.as_str() == Some("registrar")))
    };
    let found = list.iter().find(|e| is_registrar(e)).or_else(|| {
        list.iter()
            .filter_map(|e| e.get("entities").and_then(Value::as_array))
            .flatten()
            .find(|e| is_registrar(e))
    })?;
    vcard_fn(found)
        .or_else(|| found.get("handle").and_then(Value::as_str))
        .map(clean)
}

/// The `fn` property of a jCard (`["vcard", [["fn", {}, "text", "Name"], …]]`).
fn vcard_fn(entity: &Value) -> Option<&str> {
    let card = entity.get("vcardArray")?.as_array()?;
    card.get(1)?
        .as_array()?
        .iter()
        .find(|p| p.get(0).and_then(Value::as_str) == Some("fn"))?
        .get(3)?
        .as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_000_000;

    fn date(offset: i64) -> String {
        OffsetDateTime::from_unix_timestamp(NOW + offset)
            .expect("time")
            .format(&Rfc3339)
            .expect("fmt")
    }

    #[test]
    fn a_domain_object_reads_into_facts() {
        let body = json!({
            "objectClassName": "domain",
            "ldhName": "example.test",
            "status": ["client transfer prohibited", "active"],
            "events": [
                {"eventAction": "registration", "eventDate": date(-86_400 * 700)},
                {"eventAction": "expiration", "eventDate": date(86_400 * 45 + 3600)}
            ],
            "entities": [
                {"objectClassName": "entity", "roles": ["registrant"], "vcardArray": ["vcard", [["fn", {}, "text", "Someone"]]]},
                {"objectClassName": "entity", "roles": ["registrar"], "handle": "9999",
                 "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", "Registrar\u{1b}[31m, Inc."]]]}
            ],
            "nameservers": [{"ldhName": "NS1.Example.TEST."}, {"unicodeName": "ns2.example.test"}],
            "secureDNS": {"delegationSigned": true}
        });
        let f = facts(body.to_string().as_bytes(), NOW).expect("facts");
        assert_eq!(f["days_left"], 45);
        assert_eq!(f["expires"], date(86_400 * 45 + 3600));
        assert_eq!(f["registrar"], "Registrar[31m, Inc.");
        assert_eq!(f["status"], json!(["client transfer prohibited", "active"]));
        assert_eq!(
            f["nameservers"],
            json!(["ns1.example.test", "ns2.example.test"])
        );
        assert_eq!(f["dnssec"], true);
    }

    #[test]
    fn missing_parts_are_null_and_days_round_down() {
        let body = json!({"objectClassName": "domain", "ldhName": "x.test",
            "events": [{"eventAction": "expiration", "eventDate": date(-3600)}],
            "entities": [{"entities": [{"roles": ["registrar"], "handle": "R-1"}]}]});
        let f = facts(body.to_string().as_bytes(), NOW).expect("facts");
        assert_eq!(f["days_left"], -1, "an hour past expiry is day -1");
        assert_eq!(f["registrar"], "R-1", "nested registrar, by handle");
        assert_eq!(f["dnssec"], Value::Null);
        assert_eq!(f["nameservers"], json!([]));
        let f = facts(br#"{"ldhName": "x.test"}"#, NOW).expect("facts");
        assert_eq!(
            (f["days_left"].is_null(), f["expires"].is_null()),
            (true, true)
        );
        // Another time zone is converted to UTC.
        let body = json!({"objectClassName": "domain", "events": [{"eventAction": "expiration", "eventDate": "2027-01-01T02:00:00+02:00"}]});
        let f = facts(body.to_string().as_bytes(), NOW).expect("facts");
        assert_eq!(f["expires"], "2027-01-01T00:00:00Z");
    }

    #[test]
    fn garbage_is_an_error_with_a_reason() {
        assert!(
            facts(b"{not json", NOW)
                .unwrap_err()
                .starts_with("not JSON")
        );
        assert_eq!(facts(b"[1]", NOW).unwrap_err(), "the JSON is not an object");
        assert_eq!(
            facts(br#"{"objectClassName": "entity"}"#, NOW).unwrap_err(),
            "objectClassName is \"entity\""
        );
        let bad = br#"{"objectClassName": "domain", "events": [{"eventAction": "expiration", "eventDate": "next year"}]}"#;
        assert!(facts(bad, NOW).unwrap_err().contains("is not RFC 3339"));
    }
}
