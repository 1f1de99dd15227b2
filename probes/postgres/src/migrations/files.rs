//! The files side: migration files in a folder, keyed the way each framework records
//! them in its tracking table.

use std::cmp::Ordering;
use std::path::Path;

use super::Framework;
use crate::error::Error;

/// One migration file (or folder, for prisma and diesel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationFile {
    /// What the tracking table records for it (version, name, revision …).
    pub key: String,
    /// How reports name it: the path relative to `dir`.
    pub name: String,
    /// alembic only: the revisions this one follows.
    pub parents: Vec<String>,
}

/// Files examined at most, so a wrong `dir` (say `/`) cannot stall a sweep.
const MAX_FILES: usize = 20_000;
/// Folder depth walked below `dir`.
const MAX_DEPTH: usize = 6;

/// Finds the framework's files under `dir` whose relative path matches `glob`
/// (the framework's default layout when `None`), sorted by key.
pub fn scan(
    framework: Framework,
    dir: &Path,
    glob: Option<&str>,
) -> Result<Vec<MigrationFile>, Error> {
    let pattern = glob.unwrap_or(framework.default_glob());
    let matcher = globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| Error::BadGlob {
            pattern: pattern.to_string(),
            reason: e.to_string(),
        })?
        .compile_matcher();
    if !dir.is_dir() {
        return Err(Error::NoMigrationsDir {
            dir: dir.display().to_string(),
        });
    }
    let mut paths = Vec::new();
    walk(dir, dir, 0, &mut paths)?;
    let mut files = Vec::new();
    for rel in paths {
        if !matcher.is_match(&rel) {
            continue;
        }
        if let Some(f) = key_of(framework, &rel, &dir.join(&rel))? {
            files.push(f);
        }
    }
    files.sort_by(|a, b| version_cmp(&a.key, &b.key).then_with(|| a.name.cmp(&b.name)));
    Ok(files)
}

fn walk(root: &Path, dir: &Path, depth: usize, out: &mut Vec<String>) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::ReadMigrationsDir {
        dir: dir.display().to_string(),
        source,
    })?;
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "node_modules" || name == "__pycache__" {
            continue;
        }
        let path = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() && depth < MAX_DEPTH {
            walk(root, &path, depth + 1, out)?;
        } else if ft.is_file()
            && let Ok(rel) = path.strip_prefix(root)
        {
            if out.len() >= MAX_FILES {
                return Err(Error::TooManyFiles {
                    dir: root.display().to_string(),
                    max: MAX_FILES,
                });
            }
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

fn file_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

fn stem(name: &str) -> &str {
    name.split_once('.').map_or(name, |(s, _)| s)
}

fn leading_digits(s: &str) -> Option<&str> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    (end > 0).then(|| &s[..end])
}

/// A number without leading zeros, as integer columns print it.
fn as_integer(digits: &str) -> String {
    let t = digits.trim_start_matches('0');
    if t.is_empty() { "0".into() } else { t.into() }
}

fn key_of(framework: Framework, rel: &str, path: &Path) -> Result<Option<MigrationFile>, Error> {
    let name = file_name(rel);
    let parent = |rel: &str| -> Option<String> {
        let mut parts: Vec<&str> = rel.split('/').collect();
        parts.pop();
        parts.pop().map(str::to_string)
    };
    let key = match framework {
        Framework::Prisma => parent(rel),
        Framework::Flyway => name
            .strip_prefix('V')
            .and_then(|r| r.split_once("__"))
            .map(|(v, _)| v.replace('_', ".")),
        Framework::Sqlx | Framework::GolangMigrate => {
            if name.ends_with(".down.sql") {
                None
            } else {
                leading_digits(name).map(as_integer)
            }
        }
        Framework::Diesel => parent(rel).and_then(|d| {
            let v: String = d
                .split('_')
                .next()
                .unwrap_or_default()
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            (!v.is_empty()).then_some(v)
        }),
        Framework::Rails => leading_digits(name).map(str::to_string),
        Framework::Knex | Framework::Table => Some(stem(name).to_string()),
        Framework::Django => {
            let parts: Vec<&str> = rel.split('/').collect();
            match parts.as_slice() {
                [.., app, "migrations", file] if file != &"__init__.py" => {
                    Some(format!("{app}.{}", stem(file)))
                }
                _ => None,
            }
        }
        Framework::Alembic => {
            let text = preflight_core::input::read_text(
                path,
                preflight_core::input::MAX_MIGRATION_FILE_BYTES,
            )
            .map_err(|source| Error::ReadMigration {
                path: path.display().to_string(),
                source,
            })?;
            let Some(rev) = assigned(&text, "revision").into_iter().next() else {
                return Ok(None);
            };
            return Ok(Some(MigrationFile {
                key: rev,
                name: rel.to_string(),
                parents: assigned(&text, "down_revision"),
            }));
        }
    };
    Ok(key.map(|key| MigrationFile {
        key,
        name: rel.to_string(),
        parents: Vec::new(),
    }))
}

/// The quoted strings assigned to a top-level Python name:
/// `revision = 'a1'`, `down_revision: Union[str, None] = ('b2', 'c3')`, `= None`.
fn assigned(text: &str, var: &str) -> Vec<String> {
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(var) else {
            continue;
        };
        let rest = rest.trim_start();
        if !(rest.starts_with('=') || rest.starts_with(':')) {
            continue;
        }
        let Some((_, value)) = rest.split_once('=') else {
            continue;
        };
        let mut out = Vec::new();
        let mut chars = value.chars();
        while let Some(c) = chars.next() {
            if c == '\'' || c == '"' {
                let s: String = chars.by_ref().take_while(|x| *x != c).collect();
                out.push(s);
            } else if c == '#' {
                break;
            }
        }
        return out;
    }
    Vec::new()
}

/// Orders versions like `1.10` after `1.9` and `20240101` after `9`; falls back to text.
pub fn version_cmp(a: &str, b: &str) -> Ordering {
    let num =
        |s: &str| -> Option<Vec<u128>> { s.split('.').map(|p| p.parse::<u128>().ok()).collect() };
    match (num(a), num(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (p, text) in files {
            let p = d.path().join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        d
    }

    fn keys(fw: Framework, d: &tempfile::TempDir) -> Vec<String> {
        scan(fw, d.path(), None)
            .unwrap()
            .into_iter()
            .map(|f| f.key)
            .collect()
    }

    #[test]
    fn keys_per_framework() {
        let d = tree(&[
            ("20240101000000_init/migration.sql", ""),
            ("20240102000000_users/migration.sql", ""),
            ("migration_lock.toml", ""),
        ]);
        assert_eq!(
            keys(Framework::Prisma, &d),
            ["20240101000000_init", "20240102000000_users"]
        );
        let d = tree(&[
            ("V1__init.sql", ""),
            ("V1_1__more.sql", ""),
            ("V10__x.sql", ""),
            ("R__view.sql", ""),
        ]);
        assert_eq!(keys(Framework::Flyway, &d), ["1", "1.1", "10"]);
        let d = tree(&[
            ("0001_init.up.sql", ""),
            ("0001_init.down.sql", ""),
            ("0002_x.up.sql", ""),
        ]);
        assert_eq!(keys(Framework::GolangMigrate, &d), ["1", "2"]);
        let d = tree(&[
            ("20240101_init.sql", ""),
            ("20240102_x.up.sql", ""),
            ("20240102_x.down.sql", ""),
        ]);
        assert_eq!(keys(Framework::Sqlx, &d), ["20240101", "20240102"]);
        let d = tree(&[
            ("2024-01-01-000000_init/up.sql", ""),
            ("2024-01-01-000000_init/down.sql", ""),
        ]);
        assert_eq!(keys(Framework::Diesel, &d), ["20240101000000"]);
        let d = tree(&[("20240101000000_create_users.rb", "")]);
        assert_eq!(keys(Framework::Rails, &d), ["20240101000000"]);
        let d = tree(&[("20240101_init.js", ""), ("20240102_more.ts", "")]);
        assert_eq!(
            keys(Framework::Knex, &d),
            ["20240101_init", "20240102_more"]
        );
        let d = tree(&[
            ("shop/migrations/0001_initial.py", ""),
            ("shop/migrations/__init__.py", ""),
            ("apps/users/migrations/0001_initial.py", ""),
        ]);
        assert_eq!(
            keys(Framework::Django, &d),
            ["shop.0001_initial", "users.0001_initial"]
        );
        let d = tree(&[("001.sql", ""), ("002_more.sql", ""), ("notes.md", "")]);
        assert_eq!(keys(Framework::Table, &d), ["001", "002_more"]);
    }

    #[test]
    fn alembic_revisions() {
        let d = tree(&[
            ("a1_init.py", "revision = 'a1'\ndown_revision = None\n"),
            (
                "b2_more.py",
                "revision: str = \"b2\"\ndown_revision: Union[str, None] = 'a1'\n",
            ),
            (
                "c3_merge.py",
                "revision = 'c3'\ndown_revision = ('b2', 'x9')  # merge\n",
            ),
        ]);
        let files = scan(Framework::Alembic, d.path(), None).unwrap();
        let c3 = files.iter().find(|f| f.key == "c3").unwrap();
        assert_eq!(c3.parents, ["b2", "x9"]);
        assert!(
            files
                .iter()
                .find(|f| f.key == "a1")
                .unwrap()
                .parents
                .is_empty()
        );
    }

    #[test]
    fn versions_order_numerically() {
        assert_eq!(version_cmp("1.10", "1.9"), Ordering::Greater);
        assert_eq!(version_cmp("9", "10"), Ordering::Less);
        assert_eq!(version_cmp("abc", "abd"), Ordering::Less);
    }

    #[test]
    fn missing_dir_and_bad_glob() {
        assert!(scan(Framework::Table, Path::new("/nonexistent/x"), None).is_err());
        let d = tree(&[]);
        assert!(scan(Framework::Table, d.path(), Some("[")).is_err());
    }
}
