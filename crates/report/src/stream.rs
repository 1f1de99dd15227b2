//! The JSON report written while a run goes: each item is rendered when it is
//! handed over (in checklist order) into a temp file, and the report is put
//! together at the end, byte for byte what [`crate::render`] writes for the whole
//! report. Memory holds one item at a time, however long the run.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};

use crate::{ItemReport, Report};

/// A JSON report being written.
pub struct JsonStream {
    tape: BufWriter<File>,
    items: usize,
}

impl JsonStream {
    /// Starts one (its items wait in an unnamed temp file).
    pub fn new() -> std::io::Result<JsonStream> {
        Ok(JsonStream {
            tape: BufWriter::with_capacity(256 * 1024, tempfile::tempfile()?),
            items: 0,
        })
    }

    /// Renders the next item.
    pub fn item(&mut self, item: &ItemReport) -> std::io::Result<()> {
        let text = crate::json::try_to_json_pretty(item).map_err(std::io::Error::other)?;
        if self.items > 0 {
            self.tape.write_all(b",\n")?;
        }
        self.items += 1;
        // Inside `"items": [`, two levels in: JSON text holds no raw newline but
        // between tokens, so indenting after each is exact.
        self.tape.write_all(b"    ")?;
        for (n, line) in text.split('\n').enumerate() {
            if n > 0 {
                self.tape.write_all(b"\n    ")?;
            }
            self.tape.write_all(line.as_bytes())?;
        }
        Ok(())
    }

    /// Writes the whole report to `out`: `head`'s fields (its `items` are not read)
    /// around the items rendered so far.
    pub fn finish(self, head: &Report, out: &mut dyn Write) -> std::io::Result<()> {
        let mut empty = head.clone();
        empty.items = Vec::new();
        let text = crate::json::try_to_json_pretty(&empty).map_err(std::io::Error::other)?;
        const SLOT: &str = "\n  \"items\": []";
        let Some(at) = text.find(SLOT) else {
            return Err(std::io::Error::other("the report has no items field"));
        };
        out.write_all(&text.as_bytes()[..at])?;
        if self.items == 0 {
            out.write_all(SLOT.as_bytes())?;
        } else {
            out.write_all(b"\n  \"items\": [\n")?;
            let mut f = self.tape.into_inner().map_err(|e| e.into_error())?;
            f.seek(SeekFrom::Start(0))?;
            std::io::copy(&mut f, out)?;
            out.write_all(b"\n  ]")?;
        }
        out.write_all(&text.as_bytes()[at + SLOT.len()..])?;
        out.write_all(b"\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_json_is_the_whole_report_byte_for_byte() {
        let mut r = crate::sample_report();
        // Target text in a reason: escaped the same way as the whole report does.
        r.items[0].reason = Some("\u{9b}31m \u{202e}desrever\u{2028}".into());
        let mut s = JsonStream::new().unwrap();
        for i in &r.items {
            s.item(i).unwrap();
        }
        let mut out = Vec::new();
        s.finish(&r, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            crate::render(&r, crate::Format::Json)
        );
        let mut empty = r.clone();
        empty.items.clear();
        let mut out = Vec::new();
        JsonStream::new().unwrap().finish(&empty, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            crate::render(&empty, crate::Format::Json)
        );
    }
}
