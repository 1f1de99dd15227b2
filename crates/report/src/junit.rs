//! The JUnit XML report (via `quick-junit`): one testsuite per section, one testcase
//! per item. `fail` → `<failure>`, `error` → `<error>`, `skip` and pending manual
//! items → `<skipped>`.

use std::time::Duration;

use preflight_core::Status;
use preflight_core::sanitize::line;
use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};

use crate::Report;

/// Renders the JUnit report. Every text is on one line with its control
/// characters escaped (XML 1.0 cannot even hold most of them).
pub fn render_junit(r: &Report) -> String {
    let mut report = quick_junit::Report::new(line(&r.checklist));
    report.set_time(Duration::from_millis(r.duration_ms));
    let mut sections: Vec<&str> = Vec::new();
    for i in &r.items {
        if !sections.contains(&i.section.as_str()) {
            sections.push(&i.section);
        }
    }
    for section in sections {
        let name = if section.is_empty() {
            "(no section)".into()
        } else {
            line(section)
        };
        let mut suite = TestSuite::new(name.as_ref());
        suite.add_property(Property::new("verdict", r.verdict.label()));
        suite.add_property(Property::new("score", r.score.to_string()));
        suite.add_property(Property::new("environment", line(&r.environment)));
        if let Some(p) = &r.phase {
            suite.add_property(Property::new("phase", line(p)));
        }
        for i in r.items.iter().filter(|i| i.section == section) {
            let reason = line(i.reason.as_deref().unwrap_or_default()).into_owned();
            let status = match i.status {
                Status::Pass => TestCaseStatus::success(),
                Status::Fail | Status::Error => {
                    let kind = if i.status == Status::Fail {
                        NonSuccessKind::Failure
                    } else {
                        NonSuccessKind::Error
                    };
                    let mut s = TestCaseStatus::non_success(kind);
                    s.set_message(reason.as_str());
                    s.set_type(i.status.as_str());
                    s
                }
                Status::Skip | Status::Manual => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(reason.as_str());
                    s.set_type(if i.status == Status::Skip {
                        "skip"
                    } else {
                        "manual"
                    });
                    s
                }
            };
            let title = if i.title.is_empty() { &i.id } else { &i.title };
            let mut case = TestCase::new(format!("{} — {}", line(&i.id), line(title)), status);
            case.set_classname(name.as_ref());
            case.set_time(Duration::from_millis(i.duration_ms));
            case.add_property(Property::new("id", line(&i.id)));
            case.add_property(Property::new("severity", line(&i.severity)));
            if let Some(p) = &i.probe {
                case.add_property(Property::new("probe", line(p)));
            }
            if let Some(a) = &i.attested {
                case.add_property(Property::new("attested_by", line(&a.by)));
                case.add_property(Property::new("attested_at", line(&a.at)));
            }
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report
        .to_string()
        .unwrap_or_else(|e| format!("<!-- failed to write JUnit XML: {e} -->\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample_report;

    #[test]
    fn parses_back_with_one_suite_per_section() {
        let xml = render_junit(&sample_report());
        insta::assert_snapshot!(xml);
        let back = quick_junit::Report::deserialize_from_str(&xml).expect("valid JUnit XML");
        let names: Vec<&str> = back.test_suites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            vec!["12. Smoke tests", "13. Communication", "(no section)"]
        );
        let smoke = &back.test_suites[0];
        assert_eq!(
            (smoke.tests, smoke.failures, smoke.errors, smoke.skipped),
            (4, 1, 1, 1)
        );
        let kinds: Vec<String> = back
            .test_suites
            .iter()
            .flat_map(|s| &s.test_cases)
            .map(|c| match &c.status {
                TestCaseStatus::Success { .. } => "success".to_string(),
                TestCaseStatus::NonSuccess { kind, message, .. } => format!(
                    "{kind:?}: {}",
                    message.as_ref().map(|m| m.as_str()).unwrap_or("")
                ),
                TestCaseStatus::Skipped { ty, .. } => {
                    format!("skipped {}", ty.as_ref().map(|m| m.as_str()).unwrap_or(""))
                }
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                "Failure: status == 200 — status was 503",
                "success",
                "Error: environment variable DATABASE_URL is not set",
                "skipped skip",
                "success",
                "skipped manual",
            ]
        );
    }
}
