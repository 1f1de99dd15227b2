//! Records in presentation format, as `answers` reports them.
//!
//! IPs as written by the standard library (`203.0.113.7`, `2001:db8::7`); names in
//! ASCII (punycode), lower case, fully qualified with the trailing dot; TXT as the
//! unquoted concatenation of its character-strings; MX as `10 mx.example.com.`;
//! CAA as `0 issue "letsencrypt.org"`; SOA and SRV in zone-file field order.

use hickory_resolver::proto::rr::{Name, RData};

/// The presentation form of one record's data, or `None` for data of another type
/// than the ones the probe asks for.
pub(crate) fn present(data: &RData) -> Option<String> {
    Some(match data {
        RData::A(a) => a.0.to_string(),
        RData::AAAA(a) => a.0.to_string(),
        RData::CNAME(c) => name(&c.0),
        RData::NS(n) => name(&n.0),
        RData::TXT(t) => t
            .txt_data
            .iter()
            .map(|s| String::from_utf8_lossy(s))
            .collect::<String>(),
        RData::MX(mx) => format!("{} {}", mx.preference, name(&mx.exchange)),
        RData::CAA(caa) => caa.to_string(),
        RData::SOA(soa) => format!(
            "{} {} {} {} {} {} {}",
            name(&soa.mname),
            name(&soa.rname),
            soa.serial,
            soa.refresh,
            soa.retry,
            soa.expire,
            soa.minimum
        ),
        RData::SRV(srv) => format!(
            "{} {} {} {}",
            srv.priority,
            srv.weight,
            srv.port,
            name(&srv.target)
        ),
        _ => return None,
    })
}

/// A domain name in ASCII, lower case, with the trailing dot.
pub(crate) fn name(n: &Name) -> String {
    let mut s = n.to_lowercase().to_ascii();
    if !s.ends_with('.') {
        s.push('.');
    }
    s
}

/// The RFC mnemonic of a response code: `NOERROR`, `NXDOMAIN`, `SERVFAIL`, …
pub(crate) fn rcode(code: u16) -> String {
    let known = match code {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        16 => "BADVERS",
        17 => "BADKEY",
        18 => "BADTIME",
        19 => "BADMODE",
        20 => "BADNAME",
        21 => "BADALG",
        22 => "BADTRUNC",
        23 => "BADCOOKIE",
        other => return format!("RCODE{other}"),
    };
    known.to_string()
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use hickory_resolver::proto::rr::rdata::{A, AAAA, CAA, CNAME, MX, SOA, SRV, TXT};

    use super::*;

    #[test]
    fn presentation_formats() {
        let n = |s: &str| Name::from_str(s).unwrap();
        assert_eq!(
            present(&RData::A(A::new(203, 0, 113, 7))).unwrap(),
            "203.0.113.7"
        );
        assert_eq!(
            present(&RData::AAAA(AAAA::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7))).unwrap(),
            "2001:db8::7"
        );
        assert_eq!(
            present(&RData::CNAME(CNAME(n("App.Pages.Dev.")))).unwrap(),
            "app.pages.dev."
        );
        assert_eq!(
            present(&RData::TXT(TXT::new(vec![
                "v=spf1 include:_spf.google.com ".into(),
                "~all".into()
            ])))
            .unwrap(),
            "v=spf1 include:_spf.google.com ~all"
        );
        assert_eq!(
            present(&RData::MX(MX::new(10, n("mx.example.com.")))).unwrap(),
            "10 mx.example.com."
        );
        assert_eq!(
            present(&RData::CAA(CAA::new_issue(
                false,
                Some(n("letsencrypt.org")),
                vec![]
            )))
            .unwrap(),
            "0 issue \"letsencrypt.org\""
        );
        assert_eq!(
            present(&RData::SRV(SRV::new(10, 5, 5060, n("sip.example.com.")))).unwrap(),
            "10 5 5060 sip.example.com."
        );
        assert_eq!(
            present(&RData::SOA(SOA::new(
                n("ns1.example.com."),
                n("hostmaster.example.com."),
                2026,
                3600,
                600,
                86400,
                300
            )))
            .unwrap(),
            "ns1.example.com. hostmaster.example.com. 2026 3600 600 86400 300"
        );
    }

    #[test]
    fn idn_names_are_punycode() {
        let n = Name::from_utf8("bücher.example.").unwrap();
        assert_eq!(name(&n), "xn--bcher-kva.example.");
    }

    #[test]
    fn rcode_mnemonics() {
        assert_eq!(rcode(0), "NOERROR");
        assert_eq!(rcode(3), "NXDOMAIN");
        assert_eq!(rcode(2), "SERVFAIL");
        assert_eq!(rcode(5), "REFUSED");
        assert_eq!(rcode(99), "RCODE99");
    }
}
