//! Schemas: each table's and each probe's options come from a `schemars` derive;
//! [`shape`] compiles them for the loader, [`check`] validates spanned TOML against
//! them, and [`checklist_schema`] assembles the JSON Schema of a whole checklist file
//! that `preflight schema` prints for editors.

pub mod check;
mod checklist;
pub mod shape;

pub use checklist::checklist_schema;
