//! A `for_each` template's items, grouped: reports show one summary line for a
//! template (`39,998 pass, 2 fail`) and then only its items that did not pass.

use preflight_core::Status;

use crate::ItemReport;

/// One entry of a section: an item of its own, or a template's items.
pub(crate) enum Entry<'a> {
    /// An item written as it is.
    Item(&'a ItemReport),
    /// The consecutive items one template made.
    Template {
        /// The template's id.
        id: &'a str,
        /// Its items, in order.
        items: Vec<&'a ItemReport>,
    },
}

/// Groups consecutive items of the same template.
pub(crate) fn entries<'a>(items: impl IntoIterator<Item = &'a ItemReport>) -> Vec<Entry<'a>> {
    let mut out: Vec<Entry<'a>> = Vec::new();
    for i in items {
        match (&i.template, out.last_mut()) {
            (Some(t), Some(Entry::Template { id, items })) if *id == t.as_str() => items.push(i),
            (Some(t), _) => out.push(Entry::Template {
                id: t.as_str(),
                items: vec![i],
            }),
            (None, _) => out.push(Entry::Item(i)),
        }
    }
    out
}

/// The statuses, in report order.
const ORDER: [Status; 5] = [
    Status::Pass,
    Status::Fail,
    Status::Error,
    Status::Skip,
    Status::Manual,
];

/// `40,000 items: 39,998 pass, 2 fail`: how many `items` (and `hidden` passed ones
/// the report does not hold) and their non-zero counts.
pub(crate) fn summary(items: &[&ItemReport], hidden: usize) -> String {
    let parts: Vec<String> = ORDER
        .iter()
        .filter_map(|s| {
            let mut n = items.iter().filter(|i| i.status == *s).count();
            if *s == Status::Pass {
                n += hidden;
            }
            (n > 0).then(|| format!("{} {}", thousands(n), s.as_str()))
        })
        .collect();
    format!(
        "{} items: {}",
        thousands(items.len() + hidden),
        parts.join(", ")
    )
}

/// The worst status among `items` (fail, error, manual, skip, then pass).
pub(crate) fn worst(items: &[&ItemReport]) -> Status {
    [Status::Fail, Status::Error, Status::Manual, Status::Skip]
        .into_iter()
        .find(|s| items.iter().any(|i| i.status == *s))
        .unwrap_or(Status::Pass)
}

/// `40,000`.
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_and_markdown_summarise_a_template_and_list_what_failed() {
        let mut r = crate::sample_report();
        let base = r.items[1].clone();
        let mut rows: Vec<ItemReport> = (0..1500)
            .map(|n| {
                let mut i = base.clone();
                i.id = format!("domains[d{n}.example]");
                i.template = Some("domains".into());
                if n == 700 {
                    i.status = Status::Fail;
                    i.reason = Some("certificate expired".into());
                }
                i
            })
            .collect();
        r.items.splice(2..2, rows.drain(..));
        let human = crate::render_human(&r);
        assert!(
            human.contains(
                "  ✘ domains[…]  1,500 items: 1,499 pass, 1 fail\n    ✘ domains[d700.example]"
            ),
            "{human}"
        );
        assert!(human.contains("\n        certificate expired\n"), "{human}");
        assert!(
            !human.contains("d699.example"),
            "passing rows are summarised"
        );
        let md = crate::render_markdown(&r);
        assert!(
            md.contains("- [ ] `domains[…]` — 1,500 items: 1,499 pass, 1 fail\n  - [ ] "),
            "{md}"
        );
        assert!(md.contains("`domains[d700.example]`") && !md.contains("d699"));
        let html = crate::render_html(&r, &crate::HtmlContext::default());
        assert!(html.contains("1,500 items: 1,499 pass, 1 fail"));
        assert!(html.contains("domains[d700.") && !html.contains("d699"));
        assert!(
            html.contains("1500 of 1504 pass"),
            "section totals count every item"
        );
        // JSON keeps every item.
        let json = crate::render(&r, crate::Format::Json);
        assert!(json.contains("d699.example") && json.contains("\"template\": \"domains\""));
        // A streamed run keeps the first item and the failures, and counts the rest.
        let mut kept = r.clone();
        kept.items.retain(|i| {
            i.template.is_none() || i.status != Status::Pass || i.id == "domains[d0.example]"
        });
        kept.hidden_passes.insert("domains".into(), 1498);
        assert_eq!(kept.total(), r.total());
        for text in [
            crate::render_human(&kept),
            crate::render_markdown(&kept),
            crate::render_html(&kept, &crate::HtmlContext::default()),
        ] {
            assert!(text.contains("1,500 items: 1,499 pass, 1 fail"), "{text}");
        }
        let html = crate::render_html(&kept, &crate::HtmlContext::default());
        assert!(html.contains("1500 of 1504 pass"));
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(7), "7");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(39998), "39,998");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
