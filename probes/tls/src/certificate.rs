//! What a certificate says, read with x509-parser: names, validity window, days left.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use x509_parser::extensions::GeneralName;

const SECONDS_PER_DAY: i64 = 86_400;

/// The parts of one certificate the probe reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSummary {
    /// Subject distinguished name, RFC 4514 style (`CN=api.example.com, O=Example`).
    pub subject: String,
    /// Issuer distinguished name, same style.
    pub issuer: String,
    /// Subject alternative names: DNS names as written, IP addresses as text.
    pub sans: Vec<String>,
    /// Start of validity, seconds since the Unix epoch.
    pub not_before: i64,
    /// End of validity, seconds since the Unix epoch.
    pub not_after: i64,
}

impl CertSummary {
    /// Parses a DER certificate; the error is the parser's reason.
    pub fn parse(der: &[u8]) -> Result<CertSummary, String> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| e.to_string())?;
        let mut sans = Vec::new();
        // A malformed or duplicated SAN extension reads as "no SANs"; the chain and
        // hostname checks (webpki) reject such a certificate on their own.
        if let Ok(Some(ext)) = cert.subject_alternative_name() {
            for name in &ext.value.general_names {
                match name {
                    GeneralName::DNSName(n) => sans.push((*n).to_string()),
                    GeneralName::IPAddress(bytes) => {
                        if let Some(ip) = ip_text(bytes) {
                            sans.push(ip);
                        }
                    }
                    _ => {}
                }
            }
        }
        let validity = cert.validity();
        Ok(CertSummary {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            sans,
            not_before: validity.not_before.timestamp(),
            not_after: validity.not_after.timestamp(),
        })
    }

    /// Whole days from `now` (Unix seconds) to not_after, rounded down: negative once expired.
    pub fn days_left(&self, now: i64) -> i64 {
        (self.not_after - now).div_euclid(SECONDS_PER_DAY)
    }

    /// `{subject, issuer, days_left}`, one entry of the `chain` fact.
    pub fn chain_entry(&self, now: i64) -> Value {
        json!({"subject": self.subject, "issuer": self.issuer, "days_left": self.days_left(now)})
    }
}

/// RFC 3339 text of a Unix time (`2026-05-15T09:00:00Z`).
pub fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => {
            let b: [u8; 4] = bytes.try_into().ok()?;
            Some(std::net::Ipv4Addr::from(b).to_string())
        }
        16 => {
            let b: [u8; 16] = bytes.try_into().ok()?;
            Some(std::net::Ipv6Addr::from(b).to_string())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(not_after: i64) -> CertSummary {
        CertSummary {
            subject: "CN=a".into(),
            issuer: "CN=b".into(),
            sans: vec![],
            not_before: 0,
            not_after,
        }
    }

    #[test]
    fn days_left_rounds_down_and_goes_negative() {
        let now = 1_000_000_000;
        assert_eq!(summary(now + 10 * 86_400 + 3_600).days_left(now), 10);
        assert_eq!(summary(now + 86_399).days_left(now), 0);
        assert_eq!(summary(now).days_left(now), 0);
        assert_eq!(summary(now - 1).days_left(now), -1);
        assert_eq!(summary(now - 86_400).days_left(now), -1);
        assert_eq!(summary(now - 86_401).days_left(now), -2);
    }

    #[test]
    fn rfc3339_is_utc_with_z() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_778_835_600), "2026-05-15T09:00:00Z");
    }

    #[test]
    fn ip_sans_read_as_text() {
        assert_eq!(ip_text(&[127, 0, 0, 1]).as_deref(), Some("127.0.0.1"));
        let mut v6 = [0u8; 16];
        v6[15] = 1;
        assert_eq!(ip_text(&v6).as_deref(), Some("::1"));
        assert_eq!(ip_text(&[1, 2, 3]), None);
    }

    #[test]
    fn garbage_does_not_parse() {
        assert!(CertSummary::parse(b"not a certificate").is_err());
        assert!(CertSummary::parse(&[]).is_err());
    }
}
