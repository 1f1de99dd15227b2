//! The `env` probe: secrets hygiene of a production environment.
//!
//! For each listed variable name it looks at the value — in the process environment,
//! or in a dotenv `file` — and reports *names only*: which are unset, which hold a
//! placeholder (`changeme`, `xxx`, `<your-key>`, `TODO`, `example`, `test`, …), which
//! are shorter than `min_length`, which lack the required `prefix` (`sk_live_`,
//! `prd:`), which are reused from another environment's dotenv file (`same_as`), and an
//! entropy estimate in bits per name. Values are never stored in facts, never printed,
//! and never leave the process: `same_as` compares HMAC-SHA256 digests under a random
//! per-process key. The values of the listed names are also handed to the runner as
//! secrets, so they are masked if anything else (a command's output) ever shows them.
//!
//! ```toml
//! [[item]]
//! id = "secrets.fresh"
//! probe = "env"
//! names = ["SESSION_SECRET", "ADMIN_SECRET"]
//! file = "deploy/production.env"
//! min_length = 32
//! same_as = "deploy/stage.env"
//! expect = ["unset.size() == 0", "placeholders.size() == 0", "short.size() == 0",
//!           "reused.size() == 0", "entropy_bits.SESSION_SECRET >= 128"]
//! ```

mod entropy;
mod placeholder;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use preflight_core::probe::{BoxFuture, OptionProblem, parse_options};
use preflight_core::{Facts, Failure, Observer, Options, Probe, ProbeDescriptor};
use ring::hmac;
use serde::Deserialize;
use serde_json::{Value, json};

pub use entropy::entropy_bits;
pub use placeholder::is_placeholder;

static DESCRIPTOR: ProbeDescriptor = ProbeDescriptor {
    name: "env",
    options: &["names", "file", "min_length", "prefix", "same_as"],
    facts: &[
        "unset",
        "placeholders",
        "short",
        "wrong_prefix",
        "reused",
        "entropy_bits",
    ],
    secret_options: &[],
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvOptions {
    names: Vec<String>,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    min_length: usize,
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default)]
    same_as: Option<String>,
}

/// The env probe.
#[derive(Debug, Default)]
pub struct EnvProbe;

impl EnvProbe {
    /// A new probe.
    pub fn new() -> EnvProbe {
        EnvProbe
    }
}

impl Probe for EnvProbe {
    fn descriptor(&self) -> &'static ProbeDescriptor {
        &DESCRIPTOR
    }

    fn check(&self, options: &Options) -> Vec<OptionProblem> {
        let opts: EnvOptions = match parse_options(options) {
            Ok(o) => o,
            Err(p) => return vec![p],
        };
        let mut problems = Vec::new();
        if opts.names.is_empty() {
            problems.push(OptionProblem {
                key: Some("names".into()),
                message: "names is empty (list the variables to check, e.g. names = [\"SESSION_SECRET\"])".into(),
            });
        }
        if let Some(bad) = opts.names.iter().find(|n| !valid_name(n)) {
            problems.push(OptionProblem {
                key: Some("names".into()),
                message: format!("\"{bad}\" is not a variable name"),
            });
        }
        problems
    }

    fn default_expect(&self, _: &Options) -> Vec<String> {
        ["unset", "placeholders", "short", "wrong_prefix", "reused"]
            .iter()
            .map(|f| format!("{f}.size() == 0"))
            .collect()
    }

    /// The values of the listed names (from the file, or the process environment):
    /// masked wherever they might appear.
    fn secrets(&self, options: &Options) -> Vec<String> {
        let Ok(opts) = parse_options::<EnvOptions>(options) else {
            return Vec::new();
        };
        let source = match &opts.file {
            Some(path) => match std::fs::read(path)
                .map_err(|e| e.to_string())
                .and_then(|b| parse_dotenv(path, &b))
            {
                Ok(map) => Source::File(map),
                Err(_) => return Vec::new(),
            },
            None => Source::Process,
        };
        opts.names
            .iter()
            .filter_map(|n| source.get(n))
            .filter(|v| !v.trim().is_empty())
            .collect()
    }

    fn prepare(&self, options: &Options) -> Result<Arc<dyn Observer>, String> {
        let opts: EnvOptions = parse_options(options).map_err(|p| p.message)?;
        if let Some(bad) = opts.names.iter().find(|n| !valid_name(n)) {
            return Err(format!("\"{bad}\" is not a variable name"));
        }
        Ok(Arc::new(EnvObserver { opts }))
    }
}

fn valid_name(n: &str) -> bool {
    !n.is_empty() && !n.contains(['=', '\0']) && !n.chars().any(char::is_whitespace)
}

/// Where values come from.
enum Source {
    /// The process environment.
    Process,
    /// A parsed dotenv file.
    File(BTreeMap<String, String>),
}

impl Source {
    fn get(&self, name: &str) -> Option<String> {
        match self {
            Source::Process => std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()),
            Source::File(map) => map.get(name).cloned(),
        }
    }
}

/// Parses a dotenv file. Errors never quote the file's contents.
fn parse_dotenv(path: &str, bytes: &[u8]) -> Result<BTreeMap<String, String>, String> {
    let mut map = BTreeMap::new();
    for entry in dotenvy::from_read_iter(bytes) {
        match entry {
            Ok((k, v)) => {
                map.insert(k, v);
            }
            Err(dotenvy::Error::LineParse(line, at)) => {
                // The line holds a value: name only what precedes `=`, if it looks safe.
                let name = line
                    .split_once('=')
                    .map(|(k, _)| k.trim().trim_start_matches("export ").trim())
                    .filter(|k| valid_name(k) && k.len() <= 64)
                    .map(|k| format!(" (the line of {k})"))
                    .unwrap_or_default();
                return Err(format!(
                    "dotenv file {path} has a line that cannot be parsed{name}, at character {at}"
                ));
            }
            Err(_) => {
                return Err(format!("dotenv file {path} cannot be parsed"));
            }
        }
    }
    Ok(map)
}

async fn read_dotenv(option: &str, path: &str) -> Result<BTreeMap<String, String>, Failure> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| Failure::Probe(format!("failed to read {option} file {path}: {e}")))?;
    parse_dotenv(path, &bytes).map_err(Failure::Probe)
}

/// The per-process HMAC key for `same_as` comparisons.
fn process_key() -> &'static hmac::Key {
    static KEY: OnceLock<hmac::Key> = OnceLock::new();
    KEY.get_or_init(|| {
        let rng = ring::rand::SystemRandom::new();
        hmac::Key::generate(hmac::HMAC_SHA256, &rng).unwrap_or_else(|_| {
            // No system randomness: fall back to a key derived from the process
            // identity and time, still never written anywhere.
            let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
            hmac::Key::new(hmac::HMAC_SHA256, seed.as_bytes())
        })
    })
}

/// A keyed digest of a value; the value itself is not kept.
fn digest(value: &str) -> hmac::Tag {
    hmac::sign(process_key(), value.as_bytes())
}

struct EnvObserver {
    opts: EnvOptions,
}

impl Observer for EnvObserver {
    fn host(&self) -> Option<String> {
        None
    }

    fn observe(&self) -> BoxFuture<'_, Result<Facts, Failure>> {
        Box::pin(async move {
            let o = &self.opts;
            let source = match &o.file {
                Some(path) => Source::File(read_dotenv("file", path).await?),
                None => Source::Process,
            };
            let other: Option<BTreeMap<String, hmac::Tag>> = match &o.same_as {
                Some(path) => {
                    let map = read_dotenv("same_as", path).await?;
                    Some(
                        map.into_iter()
                            .filter(|(k, v)| o.names.contains(k) && !v.trim().is_empty())
                            .map(|(k, v)| (k, digest(&v)))
                            .collect(),
                    )
                }
                None => None,
            };
            Ok(assess(o, &source, other.as_ref()))
        })
    }
}

/// The facts for every listed name; values stay inside this function.
fn assess(o: &EnvOptions, source: &Source, other: Option<&BTreeMap<String, hmac::Tag>>) -> Facts {
    let mut unset = Vec::new();
    let mut placeholders = Vec::new();
    let mut short = Vec::new();
    let mut wrong_prefix = Vec::new();
    let mut reused = Vec::new();
    let mut entropy = serde_json::Map::new();
    for name in &o.names {
        let Some(value) = source.get(name) else {
            unset.push(name.clone());
            continue;
        };
        if is_placeholder(&value) {
            placeholders.push(name.clone());
        }
        if value.chars().count() < o.min_length {
            short.push(name.clone());
        }
        if let Some(p) = &o.prefix
            && !value.starts_with(p.as_str())
        {
            wrong_prefix.push(name.clone());
        }
        if let Some(tags) = other
            && let Some(theirs) = tags.get(name)
            && !value.trim().is_empty()
            && hmac::verify(process_key(), value.as_bytes(), theirs.as_ref()).is_ok()
        {
            reused.push(name.clone());
        }
        entropy.insert(name.clone(), json!(entropy_bits(&value)));
    }
    let mut f = Facts::new();
    f.insert("unset".into(), json!(unset));
    f.insert("placeholders".into(), json!(placeholders));
    f.insert("short".into(), json!(short));
    f.insert("wrong_prefix".into(), json!(wrong_prefix));
    f.insert("reused".into(), json!(reused));
    f.insert("entropy_bits".into(), Value::Object(entropy));
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROD: &str = "\
# production
export SESSION_SECRET=Zq3v9XkP0rT7mW2bY5nL8cH1dF4gJ6sA0eR3tU7iO9p
ADMIN_SECRET=\"changeme\"
STRIPE_SECRET_KEY=sk_test_51Habc123
SHARED_TOKEN='9f8e7d6c5b4a39281706f5e4d3c2b1a0'
EMPTY=
";
    const STAGE: &str = "\
SHARED_TOKEN=9f8e7d6c5b4a39281706f5e4d3c2b1a0
SESSION_SECRET=a-different-stage-value-000000000
";

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        p.display().to_string()
    }

    async fn observe(v: Value) -> Result<Facts, Failure> {
        let opts: Options = serde_json::from_value(v).expect("options");
        assert!(EnvProbe::new().check(&opts).is_empty());
        EnvProbe::new()
            .prepare(&opts)
            .expect("prepare")
            .observe()
            .await
    }

    #[tokio::test]
    async fn dotenv_file_facts_name_names_only() {
        let dir = tempfile::tempdir().expect("tmp");
        let prod = write(&dir, "prod.env", PROD);
        let stage = write(&dir, "stage.env", STAGE);
        let f = observe(json!({
            "names": ["SESSION_SECRET", "ADMIN_SECRET", "STRIPE_SECRET_KEY", "SHARED_TOKEN", "EMPTY", "MISSING"],
            "file": prod,
            "min_length": 32,
            "prefix": "sk_live_",
            "same_as": stage,
        }))
        .await
        .expect("facts");
        assert_eq!(f["unset"], json!(["MISSING"]));
        assert_eq!(
            f["placeholders"],
            json!(["ADMIN_SECRET", "STRIPE_SECRET_KEY", "EMPTY"])
        );
        assert_eq!(
            f["short"],
            json!(["ADMIN_SECRET", "STRIPE_SECRET_KEY", "EMPTY"])
        );
        assert_eq!(
            f["wrong_prefix"],
            json!([
                "SESSION_SECRET",
                "ADMIN_SECRET",
                "STRIPE_SECRET_KEY",
                "SHARED_TOKEN",
                "EMPTY"
            ])
        );
        assert_eq!(f["reused"], json!(["SHARED_TOKEN"]));
        let bits = &f["entropy_bits"];
        assert!(
            bits["SESSION_SECRET"].as_u64().expect("bits") >= 180,
            "{bits}"
        );
        assert!(bits["ADMIN_SECRET"].as_u64().expect("bits") < 30, "{bits}");
        assert_eq!(bits["EMPTY"], 0);
        assert!(bits.get("MISSING").is_none());
        // No value appears anywhere in the facts.
        let text = Value::Object(f).to_string();
        for secret in ["Zq3v9XkP", "changeme", "sk_test_51Habc123", "9f8e7d6c5b4a"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }

    #[tokio::test]
    async fn process_environment_is_the_default_source() {
        // PATH and HOME are set for any test process; this name is not.
        let f = observe(json!({"names": ["PATH", "PREFLIGHT_ENV_TEST_SURELY_UNSET"]}))
            .await
            .expect("facts");
        assert_eq!(f["unset"], json!(["PREFLIGHT_ENV_TEST_SURELY_UNSET"]));
        assert!(f["entropy_bits"]["PATH"].as_u64().is_some());
    }

    #[tokio::test]
    async fn missing_or_broken_files_are_errors_without_values() {
        let e = observe(json!({"names": ["A"], "file": "/nonexistent/prod.env"}))
            .await
            .expect_err("no file");
        assert!(matches!(e, Failure::Probe(r) if r.contains("/nonexistent/prod.env")));
        let dir = tempfile::tempdir().expect("tmp");
        let bad = write(&dir, "bad.env", "GOOD=1\nTOKEN=\"hunter2-unterminated\n");
        let e = observe(json!({"names": ["GOOD"], "file": bad}))
            .await
            .expect_err("bad file");
        let Failure::Probe(r) = e else {
            panic!("{e:?}")
        };
        assert!(!r.contains("hunter2"), "{r}");
    }

    #[test]
    fn secrets_are_the_listed_values() {
        let dir = tempfile::tempdir().expect("tmp");
        let prod = write(&dir, "prod.env", PROD);
        let opts: Options = serde_json::from_value(
            json!({"names": ["SESSION_SECRET", "EMPTY", "MISSING"], "file": prod}),
        )
        .expect("options");
        assert_eq!(
            EnvProbe::new().secrets(&opts),
            vec!["Zq3v9XkP0rT7mW2bY5nL8cH1dF4gJ6sA0eR3tU7iO9p".to_string()]
        );
    }

    #[test]
    fn check_wants_names() {
        let p = EnvProbe::new();
        let opts = |v: Value| -> Options { serde_json::from_value(v).expect("options") };
        assert_eq!(p.check(&opts(json!({"names": []}))).len(), 1);
        assert_eq!(p.check(&opts(json!({"names": ["A B"]}))).len(), 1);
        assert_eq!(p.check(&opts(json!({}))).len(), 1);
        assert_eq!(
            p.check(&opts(json!({"names": ["A"], "min_length": -1})))
                .len(),
            1
        );
        assert_eq!(p.default_expect(&Options::new()).len(), 5);
    }
}
