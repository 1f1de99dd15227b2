//! Mail and DNSSEC zones the primary DNS server also serves (see [`crate::dns`]).
//!
//! - `mail.test.` (unsigned): SPF records of every shape the `dns` probe reads — a
//!   good one with nested includes, a redirect, one over the ten-lookup limit, an
//!   include loop, two `v=spf1` records at one name, an include of a name without
//!   SPF, `+all` —, DMARC at `_dmarc`, DKIM keys (RSA 2048, RSA 1024, Ed25519 and a
//!   revoked one), an MX and a Null MX (`0 .`);
//! - `signed.test.` (signed with a fresh ECDSA P-256 key, NSEC): an A and a TXT record.
//!   [`SignedZone::trust_anchor`] gives its DNSKEY, for a validating resolver.

use std::net::Ipv4Addr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use hickory_server::dnssec::NxProofKind;
use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::proto::dnssec::crypto::EcdsaSigningKey;
use hickory_server::proto::dnssec::rdata::DNSKEY;
use hickory_server::proto::dnssec::{Algorithm, DnssecSigner, SigningKey};
use hickory_server::proto::rr::rdata::{A, MX, NS, SOA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};

/// The unsigned mail zone.
pub const MAIL_ZONE: &str = "mail.test.";
/// The signed zone.
pub const SIGNED_ZONE: &str = "signed.test.";
/// The address of `www.signed.test.`.
pub const SIGNED_ADDR: &str = "203.0.113.53";

/// A 2048-bit RSA public key (SubjectPublicKeyInfo, base64) published at
/// `sel._domainkey.mail.test.`. Only the public half exists anywhere.
pub const DKIM_RSA_2048: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAreOQpzMP+gGRYftsuEzBaGN1FD3/H+f+4+QFrObV1/BQfFw6bYcLYJFBmh8Og2cPYNg8qQEAavWaxoiBy9JlZLyjKWIiR25TNQHZrbU+36u3PJ/0ZIq6atigVrUuUhgYW6EEWeekrYYLOx7Ws45URxetvX/ulIo5AI1IcNg1zaG1nq5vbMp3aqDsdnnrSlwrZRrOJ7xpXBRmkR0IP+i+FO3Oa0z6IcoB60wZwQTczO4mPpVUQ4Ob8GCec6J8nkGts0EXze2YzUDf+MwPQjiPpJDKGArGlXOSy8XkIy4JAXAjSNfHBq/gHBgZsK0wIwOef3/Xwoh/qV35IY7tntirLQIDAQAB";
/// A 1024-bit RSA public key at `old._domainkey.mail.test.` (too short nowadays).
pub const DKIM_RSA_1024: &str = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCaQW/jK9Xow9TdKEzDnhzgbhUXsSVUEPeTYgSpL1CyHtHfbCvjM4bSefEOkzmUUNtnzkeu4Zt1WmbNbAYsBOBKphPjrlbGco0HpIUHTxDwxY5CQSNPdA/NwgA9JgTfgPD2DfD4JU+E5tmZkvtAS627KGaqQSbnasMERFtvDEfBmQIDAQAB";
/// A raw Ed25519 public key (RFC 8463) at `ed._domainkey.mail.test.`.
pub const DKIM_ED25519: &str = "4OWaKq5mJT0Zd/JUGx/uxaFRIcFen1iOkQOyQuutXT0=";

/// The SPF record at `mail.test.`: 4 DNS-querying terms of its own, 1 more in
/// `_spf`, 1 in `_spf2` (6 in all).
pub const MAIL_SPF: &str = "v=spf1 mx a:out.mail.test ip4:192.0.2.0/24 include:_spf.mail.test ~all";

fn name(text: &str) -> Name {
    Name::from_str(text).unwrap_or_else(|e| panic!("testbed zone name {text}: {e}"))
}

fn txt(parts: &[&str]) -> RData {
    RData::TXT(TXT::new(parts.iter().map(|s| s.to_string()).collect()))
}

/// A handler for `origin` with an SOA and one NS (`ns1.demo.test.`), plus `records`
/// (label relative to the origin, `@` for the apex).
fn handler(
    origin: &Name,
    records: Vec<(&str, RData)>,
) -> std::io::Result<InMemoryZoneHandler<TokioRuntimeProvider>> {
    let mut h = InMemoryZoneHandler::<TokioRuntimeProvider>::empty(
        origin.clone(),
        ZoneType::Primary,
        AxfrPolicy::Deny,
        Some(NxProofKind::Nsec),
    );
    let at = |label: &str| {
        if label == "@" {
            origin.clone()
        } else {
            name(&format!("{label}.{origin}"))
        }
    };
    let serial = 2026120101;
    let mut all = vec![
        (
            "@",
            RData::SOA(SOA::new(
                name("ns1.demo.test."),
                at("hostmaster"),
                serial,
                3600,
                600,
                86400,
                300,
            )),
        ),
        ("@", RData::NS(NS(name("ns1.demo.test.")))),
    ];
    all.extend(records);
    for (label, data) in all {
        if !h.upsert_mut(Record::from_rdata(at(label), 300, data), serial) {
            return Err(std::io::Error::other(format!(
                "failed to add {label} to the testbed zone {origin}"
            )));
        }
    }
    Ok(h)
}

fn mail_records() -> Vec<(&'static str, RData)> {
    let z = |label: &str| name(&format!("{label}.{MAIL_ZONE}"));
    // RSA keys are longer than one TXT character-string: published in two, as usual.
    let (rsa_a, rsa_b) = DKIM_RSA_2048.split_at(200);
    vec![
        ("@", txt(&[MAIL_SPF])),
        ("@", txt(&["mail-verification=testbed"])),
        ("@", RData::MX(MX::new(10, z("mx1")))),
        ("mx1", RData::A(A(Ipv4Addr::new(127, 0, 0, 1)))),
        ("out", RData::A(A(Ipv4Addr::new(192, 0, 2, 25)))),
        (
            "_spf",
            txt(&["v=spf1 ip4:198.51.100.0/24 include:_spf2.mail.test -all"]),
        ),
        ("_spf2", txt(&["v=spf1 a -all"])),
        (
            "_dmarc",
            txt(&[
                "v=DMARC1; p=quarantine; sp=reject; pct=50; ",
                "rua=mailto:dmarc@mail.test,mailto:agg@report.test; ruf=mailto:forensic@mail.test; adkim=s",
            ]),
        ),
        ("sel._domainkey", txt(&["v=DKIM1; k=rsa; p=", rsa_a, rsa_b])),
        (
            "old._domainkey",
            txt(&[&format!("v=DKIM1; p={DKIM_RSA_1024}")]),
        ),
        (
            "ed._domainkey",
            txt(&[&format!("v=DKIM1; k=ed25519; p={DKIM_ED25519}")]),
        ),
        ("revoked._domainkey", txt(&["v=DKIM1; k=rsa; p="])),
        // A redirect to `_spf` (its `-all` is the effective policy).
        ("redirect", txt(&["v=spf1 redirect=_spf.mail.test"])),
        // 4 includes of 3 lookups each (include + a + mx): 12, over the limit of 10.
        (
            "many",
            txt(&[
                "v=spf1 include:l1.mail.test include:l2.mail.test include:l3.mail.test include:l4.mail.test -all",
            ]),
        ),
        ("l1", txt(&["v=spf1 a mx -all"])),
        ("l2", txt(&["v=spf1 a mx -all"])),
        ("l3", txt(&["v=spf1 a mx -all"])),
        ("l4", txt(&["v=spf1 a mx -all"])),
        ("loop", txt(&["v=spf1 include:loop2.mail.test -all"])),
        ("loop2", txt(&["v=spf1 include:loop.mail.test -all"])),
        ("two", txt(&["v=spf1 mx -all"])),
        ("two", txt(&["v=spf1 a -all"])),
        ("dangling", txt(&["v=spf1 include:nothing.mail.test -all"])),
        ("nothing", txt(&["not an spf record"])),
        ("open", txt(&["v=spf1 +all"])),
        ("nomail", RData::MX(MX::new(0, Name::root()))),
        ("nomail", txt(&["v=spf1 -all"])),
        ("_dmarc.none", txt(&["v=DMARC1; p=none"])),
    ]
}

/// The signed zone, served by the primary; its key is made at start.
pub struct SignedZone {
    /// `signed.test. DNSKEY 256 3 13 …`: the key a validating resolver trusts.
    pub trust_anchor: String,
}

/// Adds `mail.test.` and the freshly signed `signed.test.` to `catalog`.
pub fn add_zones(catalog: &mut Catalog) -> std::io::Result<SignedZone> {
    let mail = name(MAIL_ZONE);
    catalog.upsert(
        LowerName::new(&mail),
        vec![Arc::new(handler(&mail, mail_records())?)],
    );

    let signed = name(SIGNED_ZONE);
    let addr: Ipv4Addr = SIGNED_ADDR
        .parse()
        .map_err(|e| std::io::Error::other(format!("signed address: {e}")))?;
    let mut zone = handler(
        &signed,
        vec![
            ("www", RData::A(A(addr))),
            ("@", RData::A(A(addr))),
            ("@", txt(&["v=spf1 -all"])),
        ],
    )?;
    let sign_err =
        |e: &dyn std::fmt::Display| std::io::Error::other(format!("signing {SIGNED_ZONE}: {e}"));
    let pkcs8 =
        EcdsaSigningKey::generate_pkcs8(Algorithm::ECDSAP256SHA256).map_err(|e| sign_err(&e))?;
    let key = EcdsaSigningKey::from_pkcs8(&pkcs8, Algorithm::ECDSAP256SHA256)
        .map_err(|e| sign_err(&e))?;
    let public = key.to_public_key().map_err(|e| sign_err(&e))?;
    let dnskey = DNSKEY::from_key(&public);
    let trust_anchor = format!("{SIGNED_ZONE} DNSKEY {dnskey}");
    let signer = DnssecSigner::new(
        dnskey,
        Box::new(key),
        signed.clone(),
        Duration::from_secs(7 * 86400),
    );
    zone.add_zone_signing_key_mut(signer)
        .map_err(|e| sign_err(&e))?;
    zone.secure_zone_mut().map_err(|e| sign_err(&e))?;
    catalog.upsert(LowerName::new(&signed), vec![Arc::new(zone)]);
    Ok(SignedZone { trust_anchor })
}
