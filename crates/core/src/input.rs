//! Reading the files preflight is given — a checklist, its attestation file, a
//! Markdown checklist to import, a dotenv file, a CA bundle, a migration file: only
//! regular files, and only up to a size, so `preflight check /dev/zero` or a FIFO is
//! a clear error instead of a hang or an exhausted memory.
//!
//! The errors are [`std::io::Error`]s (kind `InvalidInput` or `FileTooLarge`), so
//! callers keep their "failed to read PATH: …" messages.

use std::io::{self, Read};
use std::path::Path;

/// Largest checklist file (4 MiB: a few thousand items is well under 1 MiB).
pub const MAX_CHECKLIST_BYTES: u64 = 4 << 20;
/// Largest attestation file beside a checklist (16 MiB: it only grows, one short
/// entry per attestation).
pub const MAX_ATTESTATION_BYTES: u64 = 16 << 20;
/// Largest Markdown file `preflight import` reads (4 MiB).
pub const MAX_IMPORT_BYTES: u64 = 4 << 20;
/// Largest dotenv file the `env` probe reads (1 MiB).
pub const MAX_DOTENV_BYTES: u64 = 1 << 20;
/// Largest PEM file given as `ca` (4 MiB; a full system bundle is about 200 KiB).
pub const MAX_CA_BYTES: u64 = 4 << 20;
/// Largest migration file a probe reads to find its revision (8 MiB).
pub const MAX_MIGRATION_FILE_BYTES: u64 = 8 << 20;

/// Reads the regular file `path`, refusing anything else (a directory, a device, a
/// FIFO, a socket) and any file longer than `limit` bytes. Symbolic links are
/// followed.
pub fn read(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    regular(&std::fs::metadata(path)?)?;
    let file = std::fs::File::open(path)?;
    // The path may have been swapped since the first look.
    let meta = file.metadata()?;
    regular(&meta)?;
    if meta.len() > limit {
        return Err(too_large(limit));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // Some files (in /proc, say) report a length of 0 but have contents: stop
    // reading one byte past the limit either way.
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(bytes)
}

/// [`read`], as UTF-8 text.
pub fn read_text(path: &Path, limit: u64) -> io::Result<String> {
    String::from_utf8(read(path, limit)?).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

/// A size in bytes for messages: `1 GiB`, `4 MiB`, `512 KiB`, `100 bytes`.
pub fn size(bytes: u64) -> String {
    if bytes >= 1 << 30 && bytes.is_multiple_of(1 << 30) {
        format!("{} GiB", bytes >> 30)
    } else if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

fn too_large(limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!("the file is larger than {}, the limit", size(limit)),
    )
}

fn regular(meta: &std::fs::Metadata) -> io::Result<()> {
    if meta.is_file() {
        return Ok(());
    }
    let ft = meta.file_type();
    let what = if ft.is_dir() {
        "a directory"
    } else {
        kind(&ft)
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("it is {what}, not a regular file"),
    ))
}

#[cfg(unix)]
fn kind(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_fifo() {
        "a FIFO (named pipe)"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

#[cfg(not(unix))]
fn kind(_: &std::fs::FileType) -> &'static str {
    "not a file"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_regular_files_up_to_the_limit() {
        let dir = tempfile_dir();
        let p = dir.join("a.toml");
        std::fs::write(&p, b"12345").unwrap();
        assert_eq!(read(&p, 5).unwrap(), b"12345");
        let e = read(&p, 4).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(e.to_string(), "the file is larger than 4 bytes, the limit");
        let e = read(&dir, 100).unwrap_err();
        assert_eq!(e.to_string(), "it is a directory, not a regular file");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn refuses_devices() {
        let e = read(Path::new("/dev/zero"), MAX_CHECKLIST_BYTES).unwrap_err();
        assert_eq!(
            e.to_string(),
            "it is a character device, not a regular file"
        );
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(size(1 << 30), "1 GiB");
        assert_eq!(size(4 << 20), "4 MiB");
        assert_eq!(size(512 << 10), "512 KiB");
        assert_eq!(size(100), "100 bytes");
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!(
            "preflight-input-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
