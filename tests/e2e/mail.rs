//! Mail and domain checks end to end (issue #13): `config/mail-domain.toml` against
//! the testbed (DNS `mail.test.`, STARTTLS responders, RDAP), failures that read
//! well, and `import` of the checklist lines these checks answer.

use std::path::Path;

use crate::support::*;

#[test]
fn mail_domain_checklist_passes_against_the_testbed() {
    let env = Env::start();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/mail-domain.toml");
    let o = env.run(&file, &["--format", "json"]);
    let r = json(&o);
    for i in r["items"].as_array().expect("items") {
        assert_eq!(i["status"], "pass", "{i}");
    }
    assert_eq!(r["verdict"], "go");
    assert_eq!(o.status.code(), Some(0));
    let spf = &item(&r, "mail.spf")["facts"]["spf"];
    assert_eq!(spf["lookups"], 5, "{spf}");
    assert_eq!(item(&r, "mail.dkim")["facts"]["dkim"]["key_bits"], 2048);
    assert_eq!(
        item(&r, "mail.smtp-tls")["facts"]["subject"],
        "CN=localhost"
    );
    assert_eq!(
        item(&r, "domain.renewal")["facts"]["registrar"],
        preflight_testbed::rdap::REGISTRAR
    );
}

#[test]
fn mail_and_domain_failures_read_well() {
    let env = Env::start();
    let text = "[[item]]\nid = \"spf\"\nprobe = \"dns\"\nname = \"many.mail.test\"\ntype = \"TXT\"\nresolvers = [\"${dns}\"]\n\n\
                [[item]]\nid = \"dkim\"\nprobe = \"dns\"\nname = \"mail.test\"\ndkim_selector = \"revoked\"\nresolvers = [\"${dns}\"]\n\n\
                [[item]]\nid = \"plain\"\nprobe = \"tls\"\nhost = \"127.0.0.1\"\nport = \"${smtp_plain_port}\"\nstarttls = \"smtp\"\n\n\
                [[item]]\nid = \"expiring\"\nprobe = \"domain\"\nname = \"expiring.test\"\nserver = \"${rdap}\"\n\n\
                [[item]]\nid = \"garbage\"\nprobe = \"domain\"\nname = \"garbage.test\"\nserver = \"${rdap}\"\n";
    let f = env.write("bad.toml", text);
    let o = env.run(&f, &["--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r = json(&o);
    let reason = |id: &str| {
        item(&r, id)["reason"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    for id in ["spf", "dkim", "plain", "expiring", "garbage"] {
        assert_eq!(item(&r, id)["status"], "fail", "{id}: {}", item(&r, id));
    }
    assert!(
        reason("spf").contains("spf.lookups_exceeded was true"),
        "{}",
        reason("spf")
    );
    assert!(
        reason("dkim").contains("dkim.present"),
        "{}",
        reason("dkim")
    );
    assert!(
        reason("plain")
            .ends_with("does not offer STARTTLS (smtp: STARTTLS is not among the EHLO extensions)"),
        "{}",
        reason("plain")
    );
    assert_eq!(reason("expiring"), "days_left >= 30 — days_left was 10");
    assert!(
        reason("garbage")
            .contains("did not answer with a domain object for garbage.test: not JSON"),
        "{}",
        reason("garbage")
    );
}

#[test]
fn import_turns_mail_and_domain_lines_into_probe_items() {
    let dir = tempfile::tempdir().expect("tmp");
    let md = dir.path().join("mail.md");
    std::fs::write(
        &md,
        "# Launch\n\n## Mail\n- [ ] SPF/DKIM/DMARC configured\n- [ ] MX records point to our provider\n\
         - [ ] Mail server TLS certificate valid\n\n## Domain\n- [ ] Domain renewal: auto-renew on, expires in > 30 days\n",
    )
    .expect("write");
    let out = dir.path().join("mail.toml");
    let o = preflight(
        &[
            "import",
            md.to_str().expect("utf8"),
            "-o",
            out.to_str().expect("utf8"),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let toml = std::fs::read_to_string(&out).expect("imported");
    for want in [
        "probe = \"domain\"",
        "starttls = \"smtp\"",
        "type = \"MX\"",
        "dmarc = true",
        "dkim_selector = \"${dkim_selector}\"",
    ] {
        assert!(toml.contains(want), "{want} in\n{toml}");
    }
    assert!(toml.contains("4 items, 4 automated, 0 manual"), "{toml}");
    let c = preflight(&["check", out.to_str().expect("utf8")], &[]);
    assert_eq!(c.status.code(), Some(0), "{}\n{toml}", stderr(&c));
}
