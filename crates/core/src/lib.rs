//! preflight-core: the pure heart of preflight.
//!
//! It owns the checklist model, loading with precise errors, variable interpolation,
//! CEL expectations, secrets redaction, and the verdict. It never touches the network:
//! probes observe, core judges.
//!
//! ```
//! use preflight_core::{checklist, probe::Catalog};
//! let text = "[checklist]\nname = \"demo\"\n[[item]]\nid = \"legal.privacy\"\nmanual = true\n";
//! let list = checklist::parse("demo.toml", text, &[], &Catalog::default()).unwrap();
//! assert_eq!(list.items[0].id, "legal.privacy");
//! ```

pub mod attest;
pub mod checklist;
pub mod error;
mod eval_threads;
pub mod expect;
pub mod input;
pub mod names;
pub mod network;
pub mod notify;
pub mod plan;
pub mod probe;
pub mod redact;
pub mod sanitize;
pub mod schema;
pub mod template;
pub mod tree;
pub mod verdict;

pub use checklist::{Check, Checklist, Item, Severity};
pub use error::{CoreError, InvalidChecklist};
pub use plan::{Plan, PlanRequest, PlannedItem, Selection};
pub use probe::{
    AnyProbe, Blame, Catalog, Context, Fact, FactType, Facts, Failure, Observer, Options, Probe,
    ProbeError,
};
pub use redact::Redactor;
pub use verdict::{Outcome, Status, Summary, Verdict};

/// Reads and validates a checklist file (a regular file of at most
/// [`input::MAX_CHECKLIST_BYTES`]).
pub fn load(
    path: &std::path::Path,
    extra_vars: &[String],
    catalog: &Catalog,
) -> Result<Checklist, CoreError> {
    let shown = path.display().to_string();
    let text =
        input::read_text(path, input::MAX_CHECKLIST_BYTES).map_err(|source| CoreError::Read {
            path: shown.clone(),
            source,
        })?;
    Ok(checklist::parse(&shown, &text, extra_vars, catalog)?)
}
