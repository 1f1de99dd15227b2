//! Where a history lives: a SQLite file or a PostgreSQL database.

use std::path::{Path, PathBuf};

use preflight_core::redact::{MASK, url_password};

/// File name of the default store, inside `.preflight/` beside the checklist.
pub const DEFAULT_FILE: &str = ".preflight/history.db";

/// A history store's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An embedded SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection string (`postgres://…` or `postgresql://…`).
    Postgres(String),
}

impl Location {
    /// Parses `--store`: a `postgres://` URL, or a file path.
    pub fn parse(text: &str) -> Location {
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Location::Postgres(text.to_string())
        } else {
            Location::Sqlite(PathBuf::from(text))
        }
    }

    /// The default store of a checklist: `.preflight/history.db` in its directory.
    pub fn beside(checklist: &Path) -> Location {
        let dir = checklist
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Location::Sqlite(dir.join(DEFAULT_FILE))
    }

    /// The store as people may see it: a PostgreSQL password is masked.
    pub fn shown(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(dsn) => match url_password(dsn) {
                Some(pw) => dsn.replacen(&format!(":{pw}@"), &format!(":{MASK}@"), 1),
                None => dsn.clone(),
            },
        }
    }

    /// Secrets inside the location (a PostgreSQL password), for a redactor.
    pub fn secrets(&self) -> Vec<String> {
        match self {
            Location::Sqlite(_) => vec![],
            Location::Postgres(dsn) => url_password(dsn).into_iter().collect(),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_masks() {
        let l = Location::parse("postgres://app:hunter22@127.0.0.1:5432/hist");
        assert_eq!(l.shown(), "postgres://app:****@127.0.0.1:5432/hist");
        assert_eq!(l.secrets(), vec!["hunter22".to_string()]);
        assert_eq!(
            Location::parse("runs.db"),
            Location::Sqlite(PathBuf::from("runs.db"))
        );
        assert_eq!(
            Location::beside(Path::new("launch.toml")),
            Location::Sqlite(PathBuf::from("./.preflight/history.db"))
        );
        assert_eq!(
            Location::beside(Path::new("/srv/c/launch.toml")),
            Location::Sqlite(PathBuf::from("/srv/c/.preflight/history.db"))
        );
    }
}
