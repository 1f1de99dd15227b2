//! Outcomes back in checklist order, in bounded memory: items finish in any order,
//! the sink sees them by index. Up to `memory` outcomes wait in memory; past that
//! they wait in a temp file (removed when the run ends) and are read back when their
//! turn comes.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::time::Duration;

use preflight_core::Outcome;
use preflight_core::Status;
use preflight_core::verdict::ExpectationResult;
use serde::{Deserialize, Serialize};

/// An outcome as the spill file holds it.
#[derive(Serialize, Deserialize)]
struct Spilled {
    status: Status,
    reason: Option<String>,
    nanos: u64,
    attempts: u32,
    expectations: Vec<ExpectationResult>,
    facts: Option<serde_json::Value>,
}

impl From<Outcome> for Spilled {
    fn from(o: Outcome) -> Spilled {
        Spilled {
            status: o.status,
            reason: o.reason,
            nanos: u64::try_from(o.duration.as_nanos()).unwrap_or(u64::MAX),
            attempts: o.attempts,
            expectations: o.expectations,
            facts: o.facts,
        }
    }
}

impl From<Spilled> for Outcome {
    fn from(s: Spilled) -> Outcome {
        Outcome {
            status: s.status,
            reason: s.reason,
            duration: Duration::from_nanos(s.nanos),
            attempts: s.attempts,
            expectations: s.expectations,
            facts: s.facts,
        }
    }
}

/// Where a waiting outcome is.
enum Waiting {
    Memory(Outcome),
    /// Offset and length in the spill file.
    Disk(u64, usize),
}

/// The reorder buffer.
pub(crate) struct Reorder {
    next: usize,
    waiting: BTreeMap<usize, Waiting>,
    in_memory: usize,
    memory: usize,
    spill: Option<File>,
    spill_len: u64,
    /// How many outcomes went to disk (for tests and the bench).
    pub spilled: usize,
}

impl Reorder {
    /// Keeps at most `memory` outcomes in memory.
    pub fn new(memory: usize) -> Reorder {
        Reorder {
            next: 0,
            waiting: BTreeMap::new(),
            in_memory: 0,
            memory: memory.max(1),
            spill: None,
            spill_len: 0,
            spilled: 0,
        }
    }

    /// The index the sink waits for.
    #[cfg(test)]
    pub fn next(&self) -> usize {
        self.next
    }

    /// Takes item `index`'s outcome.
    pub fn put(&mut self, index: usize, outcome: Outcome) {
        if index != self.next && self.in_memory >= self.memory && self.spill_out(index, &outcome) {
            return;
        }
        self.in_memory += 1;
        self.waiting.insert(index, Waiting::Memory(outcome));
    }

    fn spill_out(&mut self, index: usize, outcome: &Outcome) -> bool {
        if self.spill.is_none() {
            match tempfile::tempfile() {
                Ok(f) => self.spill = Some(f),
                // No temp dir: keep it in memory rather than lose it.
                Err(_) => return false,
            }
        }
        let Some(f) = self.spill.as_mut() else {
            return false;
        };
        let Ok(bytes) = serde_json::to_vec(&Spilled::from(outcome.clone())) else {
            return false;
        };
        if f.seek(SeekFrom::End(0)).is_err() || f.write_all(&bytes).is_err() {
            return false;
        }
        self.waiting
            .insert(index, Waiting::Disk(self.spill_len, bytes.len()));
        self.spill_len += bytes.len() as u64;
        self.spilled += 1;
        true
    }

    /// The next outcome in order, if it has finished.
    pub fn pop(&mut self) -> Option<(usize, Outcome)> {
        let w = self.waiting.remove(&self.next)?;
        let index = self.next;
        self.next += 1;
        let outcome = match w {
            Waiting::Memory(o) => {
                self.in_memory -= 1;
                o
            }
            Waiting::Disk(at, len) => self.read(at, len),
        };
        Some((index, outcome))
    }

    fn read(&self, at: u64, len: usize) -> Outcome {
        let mut buf = vec![0u8; len];
        let read = self.spill.as_ref().map(|f| f.read_exact_at(&mut buf, at));
        match read {
            Some(Ok(())) => match serde_json::from_slice::<Spilled>(&buf) {
                Ok(s) => s.into(),
                Err(e) => Outcome::without_attempt(
                    Status::Error,
                    Some(format!(
                        "internal error: the spilled result is unreadable: {e}"
                    )),
                ),
            },
            _ => Outcome::without_attempt(
                Status::Error,
                Some("internal error: the spilled result could not be read back".into()),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(n: u32) -> Outcome {
        let mut o = Outcome::without_attempt(Status::Pass, Some(format!("r{n}")));
        o.attempts = n;
        o.facts = Some(serde_json::json!({"n": n, "text": "x".repeat(n as usize)}));
        o.duration = Duration::from_nanos(u64::from(n) * 1_000_003);
        o
    }

    #[test]
    fn releases_in_order_and_spills_past_the_limit() {
        let mut r = Reorder::new(2);
        for i in (0..10u32).rev() {
            r.put(i as usize, o(i));
            if i > 0 {
                assert!(r.pop().is_none(), "0 has not finished");
            }
        }
        assert_eq!(
            r.spilled, 7,
            "two of the nine early ones fit in memory, 0 always does"
        );
        let mut seen = Vec::new();
        while let Some((i, out)) = r.pop() {
            assert_eq!(out.attempts as usize, i);
            assert_eq!(out.reason.as_deref(), Some(format!("r{i}").as_str()));
            assert_eq!(out.facts, o(i as u32).facts);
            assert_eq!(out.duration, o(i as u32).duration);
            seen.push(i);
        }
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        assert_eq!(r.next(), 10);
    }
}
