//! Attestations: a person's "done" for a manual item (SPEC §4).
//!
//! They live beside the checklist (`launch.toml` → `launch.attest.toml`) as an
//! append-only history of `[[attestation]]` tables. The latest entry for an id is the
//! one that counts; once its `expires` time has passed the item is pending again.
//! Everything here is pure: parsing takes the text, judging takes "now".
//!
//! ```
//! use preflight_core::attest::{self, Attestation, Standing};
//! use std::time::{Duration, SystemTime};
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
//! let a = Attestation::new("legal.privacy", "alice", now, Some("page is live".into()),
//!     Some(Duration::from_secs(3600)));
//! let text = attest::entry_text(&a);
//! let log = attest::parse("launch.attest.toml", &text).unwrap();
//! assert!(matches!(log.standing("legal.privacy", now), Some(Standing::Valid(_))));
//! let later = now + Duration::from_secs(7200);
//! assert!(matches!(log.standing("legal.privacy", later), Some(Standing::Expired(_))));
//! ```

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::checklist::Check;
use crate::error::CoreError;
use crate::plan::Plan;

/// One attestation as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attestation {
    /// The item id.
    pub id: String,
    /// Who attested.
    pub by: String,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When it stops counting (RFC 3339, UTC); never when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

impl Attestation {
    /// An attestation made `at`, valid for `valid_for` when given.
    pub fn new(
        id: &str,
        by: &str,
        at: SystemTime,
        note: Option<String>,
        valid_for: Option<Duration>,
    ) -> Attestation {
        Attestation {
            id: id.to_string(),
            by: by.to_string(),
            at: rfc3339(at),
            note,
            expires: valid_for.map(|d| rfc3339(at + d)),
        }
    }

    /// True when `expires` is set and not after `now`.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expires
            .as_deref()
            .and_then(parse_time)
            .is_some_and(|e| e <= now)
    }
}

/// Where an item stands with respect to its latest attestation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Attested and not expired: the item counts as passed.
    Valid(Attestation),
    /// The latest attestation has expired: the item is pending again.
    Expired(Attestation),
}

/// The parsed history of an attestation file, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttestLog {
    /// Every entry, oldest first.
    pub entries: Vec<Attestation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    attestation: Vec<Attestation>,
}

impl AttestLog {
    /// The latest entry for `id`, judged at `now`; `None` when never attested.
    pub fn standing(&self, id: &str, now: SystemTime) -> Option<Standing> {
        let latest = self.entries.iter().rev().find(|a| a.id == id)?.clone();
        Some(if latest.is_expired(now) {
            Standing::Expired(latest)
        } else {
            Standing::Valid(latest)
        })
    }
}

/// The attestation file of a checklist: `launch.toml` → `launch.attest.toml`.
pub fn path_for(checklist: &Path) -> PathBuf {
    let stem = checklist
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "preflight".into());
    checklist.with_file_name(format!("{stem}.attest.toml"))
}

/// Parses an attestation file. Every entry must have a valid `at` (and `expires`).
pub fn parse(path: &str, text: &str) -> Result<AttestLog, CoreError> {
    let bad = |message: String| CoreError::Attestations {
        path: path.to_string(),
        message,
    };
    let file: File = toml::from_str(text).map_err(|e| bad(e.message().to_string()))?;
    for (n, a) in file.attestation.iter().enumerate() {
        let which = format!("entry {} (item \"{}\")", n + 1, a.id);
        if parse_time(&a.at).is_none() {
            return Err(bad(format!(
                "{which}: `at` is not an RFC 3339 time: {}",
                a.at
            )));
        }
        if let Some(e) = &a.expires
            && parse_time(e).is_none()
        {
            return Err(bad(format!(
                "{which}: `expires` is not an RFC 3339 time: {e}"
            )));
        }
    }
    Ok(AttestLog {
        entries: file.attestation,
    })
}

/// The text `preflight attest` appends for one attestation: a `[[attestation]]` table.
pub fn entry_text(a: &Attestation) -> String {
    let mut out = String::from("\n[[attestation]]\n");
    let field = |k: &str, v: &str| format!("{k} = {}\n", toml::Value::String(v.to_string()));
    out.push_str(&field("id", &a.id));
    out.push_str(&field("by", &a.by));
    out.push_str(&field("at", &a.at));
    if let Some(n) = &a.note {
        out.push_str(&field("note", n));
    }
    if let Some(e) = &a.expires {
        out.push_str(&field("expires", e));
    }
    out
}

/// The header written when `preflight attest` creates the file.
pub fn file_header(checklist_name: &str) -> String {
    format!(
        "# Attestations for {checklist_name}, appended by `preflight attest`.\n\
         # Append-only history: the latest entry per id counts; do not edit past entries.\n"
    )
}

/// Why an id cannot be attested: unknown, or not a manual item.
pub fn refuse(checklist: &crate::Checklist, id: &str) -> Option<String> {
    match checklist.items.iter().find(|i| i.id == id) {
        None => {
            let hint = crate::checklist::suggest(id, checklist.items.iter().map(|i| i.id.as_str()))
                .map(|s| format!(" (did you mean \"{s}\"?)"))
                .unwrap_or_default();
            Some(format!("no item \"{id}\" in {}{hint}", checklist.path))
        }
        Some(i) => match &*i.check {
            Check::Manual => None,
            Check::Probe { probe, .. } => Some(format!(
                "item \"{id}\" is checked by the {probe} probe; only manual items can be attested"
            )),
        },
    }
}

/// Gives every manual item of `plan` its standing at `now`. Entries for ids that are
/// not in the plan, or that are not manual, are ignored.
pub fn apply(plan: &mut Plan, log: &AttestLog, now: SystemTime) {
    for p in &mut plan.items {
        if matches!(*p.item.check, Check::Manual) {
            p.attestation = log.standing(&p.item.id, now);
        }
    }
}

/// RFC 3339 UTC with seconds.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

fn parse_time(s: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(s.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{PlanRequest, plan};
    use crate::probe::Catalog;

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn path_is_beside_the_checklist() {
        assert_eq!(
            path_for(Path::new("ops/launch.toml")),
            PathBuf::from("ops/launch.attest.toml")
        );
    }

    #[test]
    fn appended_entries_round_trip_and_latest_wins() {
        let mut text = file_header("demo");
        text.push_str(&entry_text(&Attestation::new(
            "a",
            "alice",
            t(1000),
            Some("say \"hi\"\nsecond line".into()),
            None,
        )));
        text.push_str(&entry_text(&Attestation::new(
            "a",
            "bob",
            t(2000),
            None,
            Some(Duration::from_secs(60)),
        )));
        let log = parse("x.attest.toml", &text).unwrap();
        assert_eq!(log.entries.len(), 2);
        assert_eq!(
            log.entries[0].note.as_deref(),
            Some("say \"hi\"\nsecond line")
        );
        match log.standing("a", t(2010)) {
            Some(Standing::Valid(a)) => assert_eq!(a.by, "bob"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            log.standing("a", t(2060)),
            Some(Standing::Expired(_))
        ));
        assert_eq!(log.standing("b", t(0)), None);
    }

    #[test]
    fn malformed_files_are_errors_naming_the_entry() {
        let e = parse(
            "x",
            "[[attestation]]\nid = \"a\"\nby = \"b\"\nat = \"yesterday\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("entry 1 (item \"a\")"), "{e}");
        let e = parse("x", "[[attestation]]\nid = \"a\"\nbye = \"b\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("bye"), "{e}");
        assert_eq!(parse("x", "").unwrap(), AttestLog::default());
    }

    #[test]
    fn apply_marks_only_manual_items_and_refuse_explains() {
        let text = "[checklist]\nname = \"d\"\n[[item]]\nid = \"m\"\nmanual = true\n";
        let list = crate::checklist::parse("d.toml", text, &[], &Catalog::default()).unwrap();
        let env = |_: &str| None;
        let req = PlanRequest::with_env(&env);
        let mut p = plan(&list, &Catalog::default(), &req).unwrap();
        let log = parse(
            "d.attest.toml",
            &entry_text(&Attestation::new("m", "ann", t(5), None, None)),
        )
        .unwrap();
        apply(&mut p, &log, t(10));
        assert!(matches!(p.items[0].attestation, Some(Standing::Valid(_))));
        assert_eq!(refuse(&list, "m"), None);
        assert!(refuse(&list, "n").unwrap().contains("no item \"n\""));
    }
}
