//! Picking a name from a fixed set, with "did you mean" — the one helper every
//! place uses (severities, probes, environments, fixed option values, ids).

/// The closest candidate to a misspelt `word`, if one is close enough.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// A word that is not one of the allowed names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError {
    /// The closest allowed name, if any is close.
    pub suggestion: Option<String>,
    /// Every allowed name, in order.
    pub allowed: Vec<String>,
}

impl NameError {
    /// `did you mean "x"? {lead} a, b or c` — `lead` is e.g. "use" or "known probes:".
    pub fn hint(&self, lead: &str) -> String {
        let list = match self.allowed.as_slice() {
            [] => "nothing is defined".to_string(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} or {last}", init.join(", ")),
        };
        match &self.suggestion {
            Some(s) => format!("did you mean \"{s}\"? {lead} {list}"),
            None => format!("{lead} {list}"),
        }
    }
}

/// `word` if it is one of `allowed`; otherwise the closest name and the list.
pub fn one_of<'a>(
    word: &str,
    allowed: impl IntoIterator<Item = &'a str> + Clone,
) -> Result<&'a str, NameError> {
    if let Some(hit) = allowed.clone().into_iter().find(|a| *a == word) {
        return Ok(hit);
    }
    Err(NameError {
        suggestion: suggest(word, allowed.clone()).map(str::to_string),
        allowed: allowed.into_iter().map(str::to_string).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_or_suggests() {
        let names = ["critical", "normal", "advisory"];
        assert_eq!(one_of("normal", names), Ok("normal"));
        let e = one_of("critcal", names).unwrap_err();
        assert_eq!(
            e.hint("use"),
            "did you mean \"critical\"? use critical, normal or advisory"
        );
        assert_eq!(one_of("zzz", names).unwrap_err().suggestion, None);
    }
}
