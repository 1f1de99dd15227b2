//! The checklist loader and planner over arbitrary bytes: they must never panic,
//! hang or overflow a stack, and what they report must be inert text (no control
//! characters from the input reach the messages or the snippet).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use preflight_core::sanitize::is_unsafe;
use preflight_core::{Catalog, checklist, plan};

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(preflight_cli::registry::catalog)
}

fn inert(what: &str, text: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| is_unsafe(c) && c != '\n')
        .collect();
    assert!(bad.is_empty(), "{what} shows {bad:?}:\n{text}");
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let vars = ["api".to_string(), "host".to_string()];
    match checklist::parse("fuzz.toml", text, &vars, catalog()) {
        Ok(list) => {
            // Planning reads no network; `${env:…}` resolves to nothing.
            let env = |_: &str| None;
            let mut req = plan::PlanRequest::with_env(&env);
            req.vars = vec![
                ("api".into(), "http://127.0.0.1:9".into()),
                ("host".into(), "127.0.0.1".into()),
            ];
            let _ = plan::plan(&list, catalog(), &req);
        }
        Err(e) => {
            inert("plain", &e.plain());
            let mut shown = String::new();
            let handler = miette::GraphicalReportHandler::new_themed(
                miette::GraphicalTheme::unicode_nocolor(),
            );
            let _ = handler.render_report(&mut shown, &e);
            inert("diagnostic", &shown);
        }
    }
});
