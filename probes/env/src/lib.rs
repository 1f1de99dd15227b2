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

use preflight_core::probe::{BoxFuture, OptionProblem};
use preflight_core::{
    Blame, Context, Fact, FactType, Facts, Failure, Observer, Options, Probe, ProbeError,
};
use ring::hmac;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

pub use entropy::entropy_bits;
pub use placeholder::is_placeholder;

/// Options of an `env` item.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvOptions {
    /// Variable names to check.
    pub names: Vec<String>,
    /// A dotenv file to read the values from (`KEY=value`, `export`, quotes,
    /// comments); default: the process environment.
    pub file: Option<String>,
    /// Values shorter than this (in characters) are listed in `short`.
    #[serde(default)]
    pub min_length: u32,
    /// Required prefix of every value, e.g. `sk_live_` (Stripe live keys) or `prd:`.
    pub prefix: Option<String>,
    /// Another environment's dotenv file; values must differ from it.
    pub same_as: Option<String>,
}

/// Why the env probe could not observe: a dotenv file is missing or unparsable.
/// The checker lacks its input, so the item errors. Messages never quote a file's
/// lines.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The `file` or `same_as` file cannot be read.
    #[error("failed to read {option} file {path}: {error}")]
    Read {
        /// The option naming the file (`file`, `same_as`).
        option: &'static str,
        /// The path as written.
        path: String,
        /// Why it cannot be read.
        error: std::io::Error,
    },
    /// A line of a dotenv file does not parse.
    #[error(
        "dotenv file {path} has a line that cannot be parsed{}, at character {at}",
        line_of(.name)
    )]
    Line {
        /// The path as written.
        path: String,
        /// The variable the line sets, when it looks like a safe name.
        name: Option<String>,
        /// Where on the line parsing stopped.
        at: usize,
    },
    /// A dotenv file does not parse otherwise.
    #[error("dotenv file {path} cannot be parsed")]
    Parse {
        /// The path as written.
        path: String,
    },
}

fn line_of(name: &Option<String>) -> String {
    name.as_ref()
        .map(|n| format!(" (the line of {n})"))
        .unwrap_or_default()
}

impl ProbeError for Error {
    fn blame(&self) -> Blame {
        Blame::Checker
    }
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

/// The list facts the default expectation wants empty.
const LISTS: [&str; 5] = ["unset", "placeholders", "short", "wrong_prefix", "reused"];

impl Probe for EnvProbe {
    type Options = EnvOptions;
    const NAME: &'static str = "env";
    const SUMMARY: &'static str = "Secrets hygiene of environment variables or a dotenv file: \
         unset, placeholders, short, wrong prefix, reused, entropy; names only, never values.";
    const FACTS: &'static [Fact] = &[
        Fact::new("unset", FactType::List, "listed names that are not set"),
        Fact::new(
            "placeholders",
            FactType::List,
            "names whose value is a placeholder (empty, `changeme`, `xxx`, `<your-key>`, `TODO`, …)",
        ),
        Fact::new(
            "short",
            FactType::List,
            "names whose value is shorter than `min_length` characters",
        ),
        Fact::new(
            "wrong_prefix",
            FactType::List,
            "names whose value lacks the required `prefix` (empty without `prefix`)",
        ),
        Fact::new(
            "reused",
            FactType::List,
            "names whose value equals the one in the `same_as` file (empty without `same_as`)",
        ),
        Fact::new(
            "entropy_bits",
            FactType::Map,
            "estimated bits of randomness of each set name's value, {name: bits}",
        ),
    ];
    const EXAMPLE: &'static str = r#"[[item]]
id = "secrets.not-reused"
title = "Rotate — do not reuse stage credentials"
probe = "env"
names = ["SESSION_SECRET", "ADMIN_SECRET"]
file = "deploy/production.env"
same_as = "deploy/stage.env"
min_length = 32
expect = ["unset.size() == 0", "reused.size() == 0", "entropy_bits.SESSION_SECRET >= 128"]
"#;

    fn default_expect(_: &Options) -> Vec<String> {
        LISTS.iter().map(|f| format!("{f}.size() == 0")).collect()
    }

    fn validate(options: &EnvOptions) -> Vec<OptionProblem> {
        let mut problems = Vec::new();
        if options.names.is_empty() {
            problems.push(OptionProblem::at(
                "names",
                "names is empty (list the variables to check, e.g. names = [\"SESSION_SECRET\"])",
            ));
        }
        if let Some(bad) = options.names.iter().find(|n| !valid_name(n)) {
            problems.push(OptionProblem::at(
                "names",
                format!("\"{bad}\" is not a variable name"),
            ));
        }
        problems
    }

    /// The values of the listed names (from the file, or the process environment):
    /// masked wherever they might appear.
    fn secrets(options: &EnvOptions) -> Vec<String> {
        let source = match &options.file {
            Some(path) => match preflight_core::input::read(
                std::path::Path::new(path),
                preflight_core::input::MAX_DOTENV_BYTES,
            )
            .ok()
            .and_then(|b| parse_dotenv(path, &b).ok())
            {
                Some(map) => Source::File(map),
                None => return Vec::new(),
            },
            None => Source::Process,
        };
        options
            .names
            .iter()
            .filter_map(|n| source.get(n))
            .filter(|v| !v.trim().is_empty())
            .collect()
    }

    fn prepare(&self, options: EnvOptions, _: &Context) -> Result<Arc<dyn Observer>, Failure> {
        Ok(Arc::new(EnvObserver { opts: options }))
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
fn parse_dotenv(path: &str, bytes: &[u8]) -> Result<BTreeMap<String, String>, Error> {
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
                    .map(str::to_string);
                return Err(Error::Line {
                    path: path.to_string(),
                    name,
                    at,
                });
            }
            Err(_) => {
                return Err(Error::Parse {
                    path: path.to_string(),
                });
            }
        }
    }
    Ok(map)
}

async fn read_dotenv(option: &'static str, path: &str) -> Result<BTreeMap<String, String>, Error> {
    let owned = path.to_string();
    // A bounded read of a regular file only: a dotenv path may name anything.
    let bytes = tokio::task::spawn_blocking(move || {
        preflight_core::input::read(
            std::path::Path::new(&owned),
            preflight_core::input::MAX_DOTENV_BYTES,
        )
    })
    .await
    .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())))
    .map_err(|error| Error::Read {
        option,
        path: path.to_string(),
        error,
    })?;
    parse_dotenv(path, &bytes)
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
    let min_length = usize::try_from(o.min_length).unwrap_or(usize::MAX);
    for name in &o.names {
        let Some(value) = source.get(name) else {
            unset.push(name.clone());
            continue;
        };
        if is_placeholder(&value) {
            placeholders.push(name.clone());
        }
        if value.chars().count() < min_length {
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
    use std::time::Duration;

    use preflight_core::probe::conformance;
    use preflight_core::{AnyProbe, Catalog, Check};

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

    fn options(v: Value) -> Options {
        serde_json::from_value(v).expect("options")
    }

    /// Checks and prepares the options as core does, observes once, and holds every
    /// set of facts to the probe's own description of them.
    async fn observe(v: Value) -> Result<Facts, Failure> {
        let opts = options(v);
        let p = EnvProbe::new();
        assert!(p.check(&opts).is_empty(), "{:?}", p.check(&opts));
        let facts = AnyProbe::prepare(&p, &opts, &Context::new(Duration::from_secs(5)))
            .expect("prepare")
            .observe()
            .await?;
        let problems = conformance(EnvProbe::FACTS, &facts);
        assert!(problems.is_empty(), "{problems:?}");
        Ok(facts)
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
    async fn a_clean_file_has_empty_lists() {
        let dir = tempfile::tempdir().expect("tmp");
        let prod = write(&dir, "prod.env", PROD);
        let stage = write(&dir, "stage.env", STAGE);
        let f = observe(json!({
            "names": ["SESSION_SECRET"],
            "file": prod,
            "min_length": 32,
            "same_as": stage,
        }))
        .await
        .expect("facts");
        for list in LISTS {
            assert_eq!(f[list], json!([]), "{list}");
        }
        assert_eq!(f["entropy_bits"].as_object().expect("map").len(), 1);
    }

    #[tokio::test]
    async fn process_environment_is_the_default_source() {
        // PATH and HOME are set for any test process; this name is not.
        let f = observe(json!({"names": ["PATH", "PREFLIGHT_ENV_TEST_SURELY_UNSET"]}))
            .await
            .expect("facts");
        assert_eq!(f["unset"], json!(["PREFLIGHT_ENV_TEST_SURELY_UNSET"]));
        assert!(f["entropy_bits"]["PATH"].as_u64().is_some());
        // Nothing set at all: every name unset, no entropy, still every fact.
        let f = observe(json!({"names": ["PREFLIGHT_ENV_TEST_SURELY_UNSET"]}))
            .await
            .expect("facts");
        assert_eq!(f["unset"], json!(["PREFLIGHT_ENV_TEST_SURELY_UNSET"]));
        assert_eq!(f["entropy_bits"], json!({}));
    }

    #[tokio::test]
    async fn missing_or_broken_files_are_errors_without_values() {
        let e = observe(json!({"names": ["A"], "file": "/nonexistent/prod.env"}))
            .await
            .expect_err("no file");
        assert_eq!(e.blame(), Blame::Checker);
        assert!(e.reason().contains("/nonexistent/prod.env"), "{e}");
        assert!(matches!(
            e.downcast_ref::<Error>(),
            Some(Error::Read { option: "file", .. })
        ));
        let dir = tempfile::tempdir().expect("tmp");
        let prod = write(&dir, "prod.env", PROD);
        let e = observe(json!({"names": ["A"], "file": prod, "same_as": "/nonexistent/stage.env"}))
            .await
            .expect_err("no same_as file");
        assert!(
            e.reason()
                .starts_with("failed to read same_as file /nonexistent/stage.env"),
            "{e}"
        );
        let bad = write(&dir, "bad.env", "GOOD=1\nTOKEN=\"hunter2-unterminated\n");
        let e = observe(json!({"names": ["GOOD"], "file": bad}))
            .await
            .expect_err("bad file");
        assert_eq!(e.blame(), Blame::Checker);
        assert!(!e.reason().contains("hunter2"), "{e}");
        assert!(e.reason().contains("cannot be parsed"), "{e}");
        assert!(!e.is_timeout());
    }

    #[test]
    fn parse_errors_name_the_variable_not_its_value() {
        let e = parse_dotenv("p.env", b"GOOD=1\nTOKEN hunter2 = x\n").expect_err("bad line");
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let e = Error::Line {
            path: "p.env".into(),
            name: Some("TOKEN".into()),
            at: 7,
        };
        assert_eq!(
            e.to_string(),
            "dotenv file p.env has a line that cannot be parsed (the line of TOKEN), at character 7"
        );
    }

    #[test]
    fn secrets_are_the_listed_values() {
        let dir = tempfile::tempdir().expect("tmp");
        let prod = write(&dir, "prod.env", PROD);
        let opts = options(json!({"names": ["SESSION_SECRET", "EMPTY", "MISSING"], "file": prod}));
        assert_eq!(
            AnyProbe::secrets(&EnvProbe::new(), &opts),
            vec!["Zq3v9XkP0rT7mW2bY5nL8cH1dF4gJ6sA0eR3tU7iO9p".to_string()]
        );
    }

    #[test]
    fn check_wants_names() {
        let p = EnvProbe::new();
        assert_eq!(p.check(&options(json!({"names": []}))).len(), 1);
        assert_eq!(p.check(&options(json!({"names": ["A B"]}))).len(), 1);
        assert_eq!(p.check(&options(json!({}))).len(), 1);
        for bad in [json!(-1), json!("32"), json!(1.5)] {
            let problems = p.check(&options(json!({"names": ["A"], "min_length": bad})));
            assert_eq!(problems.len(), 1, "{bad}");
            assert_eq!(problems[0].key.as_deref(), Some("min_length"), "{bad}");
        }
        let problems = p.check(&options(json!({"names": ["A"], "min_lenght": 3})));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            p.check(&options(json!({"names": ["A"], "min_length": 32})))
                .is_empty()
        );
        assert_eq!(AnyProbe::default_expect(&p, &Options::new()).len(), 5);
    }

    #[test]
    fn options_schema_documents_every_option() {
        let schema = EnvProbe::new().options_schema();
        let props = schema["properties"].as_object().expect("properties");
        assert_eq!(
            props.keys().collect::<Vec<_>>(),
            ["names", "file", "min_length", "prefix", "same_as"]
        );
        for (k, v) in props {
            assert!(v["description"].is_string(), "{k} has no doc");
        }
        assert_eq!(props["min_length"]["default"], 0);
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["required"], json!(["names"]));
    }

    #[test]
    fn the_example_loads() {
        let catalog = Catalog::new(vec![Arc::new(EnvProbe::new())]);
        let list =
            preflight_core::checklist::parse("example.toml", EnvProbe::EXAMPLE, &[], &catalog)
                .expect("the example loads");
        let Check::Probe { probe, expect, .. } = &*list.items[0].check else {
            panic!("a probe item")
        };
        assert_eq!(probe, "env");
        assert_eq!(expect.len(), 3);
    }

    #[tokio::test]
    async fn templated_options_are_interpolated_and_typed_by_core() {
        let dir = tempfile::tempdir().expect("tmp");
        write(&dir, "prod.env", PROD);
        let text = format!(
            "[vars]\ndir = \"{}\"\nn = \"32\"\n\n[[item]]\nid = \"secrets\"\nprobe = \"env\"\nnames = [\"SESSION_SECRET\", \"ADMIN_SECRET\"]\nfile = \"${{dir}}/prod.env\"\nmin_length = \"${{n}}\"\n",
            dir.path().display()
        );
        let catalog = Catalog::new(vec![Arc::new(EnvProbe::new())]);
        let list = preflight_core::checklist::parse("t.toml", &text, &[], &catalog)
            .expect("templated options load");
        let env = |_: &str| None;
        let plan = preflight_core::plan::plan(
            &list,
            &catalog,
            &preflight_core::PlanRequest::with_env(&env),
        )
        .expect("plan");
        let options = (*plan.items[0].options).clone().expect("resolved");
        assert_eq!(options["min_length"], 32);
        let f = observe(Value::Object(options)).await.expect("facts");
        assert_eq!(f["short"], json!(["ADMIN_SECRET"]));
    }
}
