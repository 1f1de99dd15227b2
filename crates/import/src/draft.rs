//! A probe item under construction, before it is written as TOML.

use toml::Value;

/// A variable the imported file needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarNeed {
    /// Variable name.
    pub name: String,
    /// Default written into `[vars]` (empty when the user must set it).
    pub default: String,
    /// What to put there.
    pub hint: String,
}

/// A probe item proposed for a box (or one part of it).
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// Probe name.
    pub probe: &'static str,
    /// The rule that proposed it (shown by `--explain`).
    pub rule: &'static str,
    /// Why, in a few words (shown by `--explain`).
    pub why: String,
    /// Options in the order they are written.
    pub options: Vec<(String, Value)>,
    /// Expectations; empty means the probe's defaults.
    pub expect: Vec<String>,
    /// Assumptions for the reader to review (`# review:` comments).
    pub notes: Vec<String>,
    /// Variables the options use.
    pub vars: Vec<VarNeed>,
    /// Capabilities beyond the probe itself that the item uses (`http.cors`).
    pub uses: Vec<&'static str>,
    /// Per-attempt timeout, when the check is slow (`5m`).
    pub timeout: Option<&'static str>,
    /// Filled in at the end with every environment variable the checklist names.
    pub all_env_names: bool,
}

impl Draft {
    /// A draft for `probe` from `rule`.
    pub fn new(probe: &'static str, rule: &'static str, why: impl Into<String>) -> Draft {
        Draft {
            probe,
            rule,
            why: why.into(),
            options: vec![],
            expect: vec![],
            notes: vec![],
            vars: vec![],
            uses: vec![],
            timeout: None,
            all_env_names: false,
        }
    }

    /// Sets an option (replacing an earlier value of the same key).
    pub fn opt(mut self, key: &str, value: impl Into<Value>) -> Draft {
        self.set(key, value.into());
        self
    }

    /// Sets an option in place.
    pub fn set(&mut self, key: &str, value: Value) {
        match self.options.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.options.push((key.to_string(), value)),
        }
    }

    /// The value of option `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.options.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Adds an expectation (once).
    pub fn expect(mut self, e: impl Into<String>) -> Draft {
        self.push_expect(e);
        self
    }

    /// Adds an expectation in place (once).
    pub fn push_expect(&mut self, e: impl Into<String>) {
        let e = e.into();
        if !self.expect.contains(&e) {
            self.expect.push(e);
        }
    }

    /// Adds a review note.
    pub fn note(mut self, n: impl Into<String>) -> Draft {
        self.notes.push(n.into());
        self
    }

    /// Records a capability the item uses.
    pub fn uses(mut self, what: &'static str) -> Draft {
        if !self.uses.contains(&what) {
            self.uses.push(what);
        }
        self
    }

    /// Records variables the options use.
    pub fn with_vars(mut self, vars: Vec<VarNeed>) -> Draft {
        for v in vars {
            if !self.vars.iter().any(|x| x.name == v.name) {
                self.vars.push(v);
            }
        }
        self
    }

    /// Drops expectations that a more specific one implies (`status == 301` makes
    /// `status >= 300 && status < 400` redundant).
    pub fn tidy(&mut self) {
        let specific_status = self
            .expect
            .iter()
            .any(|e| e.starts_with("status == ") || e.starts_with("status in ["));
        let specific_age = self.expect.iter().any(|e| e.contains("contains('max-age="));
        let full_chain = self
            .expect
            .iter()
            .any(|e| e == "chain_valid && hostname_matches");
        self.expect.retain(|e| {
            !(specific_status && e.starts_with("status >= ")
                || specific_age && e.ends_with(".contains('max-age')")
                || full_chain && e == "chain_valid")
        });
    }

    /// What the item targets: two drafts with the same probe and target can be one
    /// item with the expectations of both.
    fn target(&self) -> Vec<(String, String)> {
        let keys: &[&str] = match self.probe {
            "http" => &[
                "url",
                "method",
                "headers",
                "follow_redirects",
                "samples",
                "origin",
            ],
            "tls" => &["host", "port", "sni", "starttls"],
            "dns" => &["name", "type", "resolvers"],
            "postgres" => &["dsn", "query"],
            "redis" => &["url", "key"],
            "tcp" => &["host", "port"],
            "webhook" => &["url"],
            "prometheus" => &["url", "query", "alertmanager", "match"],
            "command" => &["argv", "shell"],
            "websocket" => &["url"],
            "domain" => &["name"],
            // env: the whole option set (names and constraints) is the target.
            _ => &[],
        };
        if keys.is_empty() {
            return self
                .options
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect();
        }
        keys.iter()
            .map(|k| {
                (
                    (*k).to_string(),
                    self.get(k).map(Value::to_string).unwrap_or_default(),
                )
            })
            .collect()
    }

    /// Folds `other` into `self` when both check the same target with the same
    /// probe; returns `other` back when they cannot be one item.
    pub fn merge(&mut self, other: Draft) -> Result<(), Box<Draft>> {
        if self.probe != other.probe || self.target() != other.target() {
            return Err(Box::new(other));
        }
        // Options that are not part of the target must agree (or be new).
        for (k, v) in &other.options {
            if let Some(mine) = self.get(k)
                && mine != v
                && !matches!((mine, v), (Value::Table(_), Value::Table(_)))
            {
                return Err(Box::new(other));
            }
        }
        for (k, v) in other.options {
            match (self.get(&k).cloned(), v) {
                (Some(Value::Table(mut a)), Value::Table(b)) => {
                    for (bk, bv) in b {
                        match (a.get_mut(&bk), bv) {
                            (Some(Value::Array(x)), Value::Array(y)) => {
                                for item in y {
                                    if !x.contains(&item) {
                                        x.push(item);
                                    }
                                }
                            }
                            (None, bv) => {
                                a.insert(bk, bv);
                            }
                            _ => {}
                        }
                    }
                    self.set(&k, Value::Table(a));
                }
                (None, v) => self.set(&k, v),
                _ => {}
            }
        }
        for e in other.expect {
            self.push_expect(e);
        }
        for n in other.notes {
            if !self.notes.contains(&n) {
                self.notes.push(n);
            }
        }
        for v in other.vars {
            if !self.vars.iter().any(|x| x.name == v.name) {
                self.vars.push(v);
            }
        }
        for u in other.uses {
            if !self.uses.contains(&u) {
                self.uses.push(u);
            }
        }
        if self.timeout.is_none() {
            self.timeout = other.timeout;
        }
        self.all_env_names |= other.all_env_names;
        if !self.why.contains(&other.why) {
            self.why = format!("{}; {}", self.why, other.why);
        }
        Ok(())
    }
}

/// A TOML string value.
pub fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

/// A TOML array of strings.
pub fn list<I: IntoIterator<Item = S>, S: AsRef<str>>(items: I) -> Value {
    Value::Array(items.into_iter().map(|x| s(x.as_ref())).collect())
}

/// A TOML inline table of strings.
pub fn table<I: IntoIterator<Item = (K, Value)>, K: Into<String>>(items: I) -> Value {
    let mut t = toml::map::Map::new();
    for (k, v) in items {
        t.insert(k.into(), v);
    }
    Value::Table(t)
}

/// A CEL string literal.
pub fn cel_str(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_target_merges_other_targets_do_not() {
        let mut a = Draft::new("http", "hsts", "x")
            .opt("url", s("https://${app}/"))
            .expect("status == 200");
        let b = Draft::new("http", "header", "y")
            .opt("url", s("https://${app}/"))
            .expect("'x-frame-options' in headers");
        assert!(a.merge(b).is_ok());
        assert_eq!(a.expect.len(), 2);
        let c = Draft::new("http", "robots", "z").opt("url", s("https://${app}/robots.txt"));
        assert!(a.merge(c).is_err());
        let mut p = Draft::new("postgres", "migrations", "m")
            .opt("dsn", s("${env:DATABASE_URL}"))
            .opt("require", table([("extensions", list(["a"]))]));
        let q = Draft::new("postgres", "extensions", "e")
            .opt("dsn", s("${env:DATABASE_URL}"))
            .opt("require", table([("extensions", list(["b"]))]));
        assert!(p.merge(q).is_ok());
        assert_eq!(
            p.get("require").unwrap().to_string(),
            "{ extensions = [\"a\", \"b\"] }"
        );
    }
}
