//! DMARC (RFC 7489) and DKIM key (RFC 6376, RFC 8463) records, read into facts.
//!
//! Both are `tag=value` lists separated by `;`. DMARC values are reported with the
//! RFC's defaults applied (`sp` = `p`, `pct` = 100, `adkim` = `aspf` = `"r"`), so an
//! expectation reads the policy in force. A DKIM key's size is read from the key
//! itself: RSA keys as SubjectPublicKeyInfo (or a bare PKCS#1 RSAPublicKey, which
//! some signers publish), Ed25519 keys as 32 raw bytes.

use base64::Engine;
use serde_json::{Value, json};

/// `tag=value` pairs, tags lower-cased, values trimmed.
fn tags(record: &str) -> Vec<(String, String)> {
    record
        .split(';')
        .filter_map(|part| {
            let (k, v) = part.split_once('=')?;
            Some((k.trim().to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect()
}

/// Target text in a fact: no control characters, at most 255 chars.
fn clean(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(255).collect()
}

fn is_dmarc(record: &str) -> bool {
    tags(record)
        .first()
        .is_some_and(|(k, v)| k == "v" && v.eq_ignore_ascii_case("DMARC1"))
}

/// The `dmarc` fact from the TXT records at `_dmarc.NAME`: `None` when none is a
/// DMARC record. With several, `records` says so and the first is read (receivers
/// ignore them all, RFC 7489 §6.6.3).
pub(crate) fn dmarc(answers: &[String]) -> Option<Value> {
    let records: Vec<&String> = answers.iter().filter(|a| is_dmarc(a)).collect();
    let first = records.first()?;
    let t = tags(first);
    let get = |k: &str| t.iter().find(|(tag, _)| tag == k).map(|(_, v)| v.as_str());
    let policy = |k: &str| get(k).map(|v| clean(&v.to_ascii_lowercase()));
    let uris = |k: &str| -> Vec<String> {
        get(k)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|u| !u.is_empty())
                    .map(clean)
                    .collect()
            })
            .unwrap_or_default()
    };
    let p = policy("p");
    let pct = match get("pct") {
        None => Some(100),
        Some(v) => v.parse::<u8>().ok().filter(|n| *n <= 100),
    };
    Some(json!({
        "records": records.len(),
        "p": p,
        "sp": policy("sp").or_else(|| p.clone()),
        "pct": pct,
        "rua": uris("rua"),
        "ruf": uris("ruf"),
        "adkim": policy("adkim").unwrap_or_else(|| "r".into()),
        "aspf": policy("aspf").unwrap_or_else(|| "r".into()),
    }))
}

/// The `dkim` fact from the TXT records at `SELECTOR._domainkey.NAME`.
pub(crate) fn dkim(answers: &[String]) -> Value {
    let key = answers.iter().map(|a| tags(a)).find(|t| {
        t.first()
            .is_some_and(|(k, v)| k == "v" && v.eq_ignore_ascii_case("DKIM1"))
            || t.iter().any(|(k, _)| k == "p")
    });
    let Some(t) = key else {
        return json!({"present": false, "revoked": false, "key_type": null, "key_bits": null});
    };
    let get = |k: &str| t.iter().find(|(tag, _)| tag == k).map(|(_, v)| v.clone());
    let key_type = get("k")
        .map(|k| clean(&k.to_ascii_lowercase()))
        .unwrap_or_else(|| "rsa".into());
    let p: String = get("p")
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if p.is_empty() {
        return json!({"present": false, "revoked": true, "key_type": key_type, "key_bits": null});
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(p.as_bytes())
        .ok();
    let bits = der.and_then(|d| match key_type.as_str() {
        "rsa" => rsa_bits(&d),
        "ed25519" => (d.len() == 32).then_some(256),
        _ => None,
    });
    json!({"present": true, "revoked": false, "key_type": key_type, "key_bits": bits})
}

/// One DER element: (tag, content, rest).
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;

/// Bits of the modulus of an RSA key: SubjectPublicKeyInfo or PKCS#1 RSAPublicKey.
fn rsa_bits(der: &[u8]) -> Option<u32> {
    let (tag, body, _) = element(der)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, first, rest) = element(body)?;
    let modulus = match tag {
        INTEGER => first,
        SEQUENCE => {
            let (tag, bits, _) = element(rest)?;
            if tag != BIT_STRING {
                return None;
            }
            let (_, key) = bits.split_first()?;
            let (tag, seq, _) = element(key)?;
            if tag != SEQUENCE {
                return None;
            }
            let (tag, n, _) = element(seq)?;
            if tag != INTEGER {
                return None;
            }
            n
        }
        _ => return None,
    };
    let n: &[u8] = {
        let start = modulus.iter().position(|b| *b != 0)?;
        &modulus[start..]
    };
    let lead = u32::from(8 - n[0].leading_zeros() as u8);
    u32::try_from(n.len() - 1)
        .ok()?
        .checked_mul(8)?
        .checked_add(lead)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn dmarc_with_every_tag_and_with_defaults() {
        let f = dmarc(&s(&[
            "v=spf1 -all",
            "v=DMARC1; p=Quarantine; sp=reject; pct=50; rua=mailto:a@x.test, mailto:b@y.test; ruf=mailto:f@x.test; adkim=s; aspf=r",
        ]))
        .expect("dmarc");
        assert_eq!(
            f,
            json!({"records": 1, "p": "quarantine", "sp": "reject", "pct": 50,
                   "rua": ["mailto:a@x.test", "mailto:b@y.test"], "ruf": ["mailto:f@x.test"],
                   "adkim": "s", "aspf": "r"})
        );
        let f = dmarc(&s(&["v=DMARC1; p=none"])).expect("dmarc");
        assert_eq!(
            f,
            json!({"records": 1, "p": "none", "sp": "none", "pct": 100, "rua": [], "ruf": [],
                   "adkim": "r", "aspf": "r"})
        );
        let f = dmarc(&s(&["v=DMARC1; pct=200", "v=DMARC1; p=reject"])).expect("dmarc");
        assert_eq!(
            (f["records"].as_u64(), f["p"].is_null(), f["pct"].is_null()),
            (Some(2), true, true)
        );
        assert_eq!(
            dmarc(&s(&["p=reject; v=DMARC1"])),
            None,
            "v must come first"
        );
        assert_eq!(dmarc(&[]), None);
    }

    // Keys generated with openssl for these tests (public halves only).
    const RSA_2048: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAreOQpzMP+gGRYftsuEzBaGN1FD3/H+f+4+QFrObV1/BQfFw6bYcLYJFBmh8Og2cPYNg8qQEAavWaxoiBy9JlZLyjKWIiR25TNQHZrbU+36u3PJ/0ZIq6atigVrUuUhgYW6EEWeekrYYLOx7Ws45URxetvX/ulIo5AI1IcNg1zaG1nq5vbMp3aqDsdnnrSlwrZRrOJ7xpXBRmkR0IP+i+FO3Oa0z6IcoB60wZwQTczO4mPpVUQ4Ob8GCec6J8nkGts0EXze2YzUDf+MwPQjiPpJDKGArGlXOSy8XkIy4JAXAjSNfHBq/gHBgZsK0wIwOef3/Xwoh/qV35IY7tntirLQIDAQAB";
    const RSA_1024: &str = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCaQW/jK9Xow9TdKEzDnhzgbhUXsSVUEPeTYgSpL1CyHtHfbCvjM4bSefEOkzmUUNtnzkeu4Zt1WmbNbAYsBOBKphPjrlbGco0HpIUHTxDwxY5CQSNPdA/NwgA9JgTfgPD2DfD4JU+E5tmZkvtAS627KGaqQSbnasMERFtvDEfBmQIDAQAB";

    #[test]
    fn dkim_key_sizes_are_read_from_the_key() {
        let f = dkim(&s(&[&format!("v=DKIM1; k=rsa; p={RSA_2048}")]));
        assert_eq!(
            f,
            json!({"present": true, "revoked": false, "key_type": "rsa", "key_bits": 2048})
        );
        // No `k` (rsa by default), no `v`, the key split by spaces.
        let (a, b) = RSA_1024.split_at(100);
        let f = dkim(&s(&[&format!("p={a} {b}")]));
        assert_eq!(
            (f["key_type"].as_str(), f["key_bits"].as_u64()),
            (Some("rsa"), Some(1024))
        );
        let f = dkim(&s(&[
            "v=DKIM1; k=ed25519; p=4OWaKq5mJT0Zd/JUGx/uxaFRIcFen1iOkQOyQuutXT0=",
        ]));
        assert_eq!(f["key_bits"], 256);
        let f = dkim(&s(&["v=DKIM1; p="]));
        assert_eq!(
            f,
            json!({"present": false, "revoked": true, "key_type": "rsa", "key_bits": null})
        );
        let f = dkim(&s(&["v=DKIM1; p=!!notbase64"]));
        assert_eq!(
            (f["present"].as_bool(), f["key_bits"].is_null()),
            (Some(true), true)
        );
        let f = dkim(&s(&["unrelated"]));
        assert_eq!(f["present"], false);
    }

    #[test]
    fn der_reader_is_bounded() {
        assert_eq!(rsa_bits(&[]), None);
        assert_eq!(rsa_bits(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(
            rsa_bits(&[0x30, 0x03, 0x02, 0x01, 0x00]),
            None,
            "a zero modulus"
        );
        // PKCS#1 with a 9-bit modulus 0x01ff.
        assert_eq!(
            rsa_bits(&[0x30, 0x07, 0x02, 0x02, 0x01, 0xff, 0x02, 0x01, 0x03]),
            Some(9)
        );
    }
}
