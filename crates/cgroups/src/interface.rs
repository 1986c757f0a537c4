//! Reading and writing cgroup interface files (`memory.max`, `cgroup.procs`, ...).
//!
//! Every write is one `write(2)` of the whole value: several cgroup files parse
//! exactly one record per write (v1 `devices.allow`, `blkio.throttle.*`, v2
//! `io.max`), so values must never be split or batched.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// Reads a whole interface file.
pub(crate) fn read(dir: &Path, name: &str) -> Result<String> {
    let path = dir.join(name);
    fs::read_to_string(&path).map_err(|err| Error::Read { path, err })
}

/// Reads a file if it exists; `Ok(None)` when the kernel does not offer it.
pub(crate) fn read_optional(dir: &Path, name: &str) -> Result<Option<String>> {
    let path = dir.join(name);
    match fs::read_to_string(&path) {
        Ok(s) => Ok(Some(s)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(Error::Read { path, err }),
    }
}

/// Whether an interface file exists in `dir`.
pub(crate) fn exists(dir: &Path, name: &str) -> bool {
    dir.join(name).exists()
}

/// Writes `value` to `dir/name` in a single write.
///
/// A missing file in an existing directory means the kernel (or this
/// hierarchy) has no such knob: reported as [`Error::NotSupported`] so the
/// message says so instead of a bare ENOENT.
pub(crate) fn write(dir: &Path, name: &str, value: &str) -> Result<()> {
    let path = dir.join(name);
    let result = OpenOptions::new()
        .write(true)
        // O_TRUNC is a no-op on cgroupfs but keeps regular files (fake
        // cgroupfs in tests) holding exactly the last value written.
        .truncate(true)
        .open(&path)
        .and_then(|mut f| f.write_all(value.as_bytes()));
    match result {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound && dir.is_dir() => {
            Err(Error::NotSupported {
                path,
                value: value.to_owned(),
            })
        }
        Err(err) => Err(Error::Write {
            path,
            value: value.to_owned(),
            err,
        }),
    }
}

/// Writes two related files in order `first`, `second`; if the kernel refuses
/// the first with EINVAL (it would momentarily violate a constraint between
/// the two, e.g. quota vs period), writes them the other way round.
pub(crate) fn write_pair(dir: &Path, first: (&str, &str), second: (&str, &str)) -> Result<()> {
    match write(dir, first.0, first.1) {
        Ok(()) => write(dir, second.0, second.1),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            write(dir, second.0, second.1)?;
            write(dir, first.0, first.1)
        }
        Err(e) => Err(e),
    }
}

/// Parses a numeric single-value file; `"max"` (v2 for "no limit") maps to `u64::MAX`.
pub(crate) fn parse_u64(dir: &Path, name: &str, text: &str) -> Result<u64> {
    let t = text.trim();
    if t == "max" {
        return Ok(u64::MAX);
    }
    t.parse().map_err(|_| Error::Parse {
        path: dir.join(name),
        reason: format!("expected a number, got {t:?}"),
    })
}

/// Reads a numeric single-value file.
pub(crate) fn read_u64(dir: &Path, name: &str) -> Result<u64> {
    let text = read(dir, name)?;
    parse_u64(dir, name, &text)
}

/// Reads a numeric single-value file, or `None` if the file does not exist.
pub(crate) fn read_u64_optional(dir: &Path, name: &str) -> Result<Option<u64>> {
    match read_optional(dir, name)? {
        Some(text) => parse_u64(dir, name, &text).map(Some),
        None => Ok(None),
    }
}

/// Parses a "flat keyed" file (`key value` per line, e.g. `memory.stat`,
/// `cpu.stat`, `memory.events`). Lines that do not parse are skipped: kernels
/// add keys over time and a stats reader must not break on them.
pub(crate) fn flat_keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let mut it = line.split_whitespace();
            let key = it.next()?;
            let value = it.next()?.parse().ok()?;
            Some((key.to_owned(), value))
        })
        .collect()
}

/// Lists the pids in one cgroup directory's `cgroup.procs`.
pub(crate) fn procs(dir: &Path) -> Result<Vec<i32>> {
    let text = read(dir, "cgroup.procs")?;
    let path = dir.join("cgroup.procs");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.trim().parse().map_err(|_| Error::Parse {
                path: path.clone(),
                reason: format!("expected a pid, got {l:?}"),
            })
        })
        .collect()
}

/// Child cgroups (subdirectories) of `dir`.
pub(crate) fn children(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let rd = fs::read_dir(dir).map_err(|err| Error::ReadDir {
        path: dir.to_owned(),
        err,
    })?;
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|err| Error::ReadDir {
            path: dir.to_owned(),
            err,
        })?;
        // cgroupfs reports DT_DIR for child cgroups; `file_type` never follows symlinks.
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_to_missing_file_is_not_supported() {
        let dir = tempfile::tempdir().unwrap();
        let err = write(dir.path(), "blkio.weight", "500").unwrap_err();
        assert!(matches!(err, Error::NotSupported { .. }), "{err}");
        assert!(err.to_string().contains("blkio.weight"));
        assert!(err.to_string().contains("\"500\""));
    }

    #[test]
    fn write_into_missing_dir_is_a_write_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = write(&dir.path().join("gone"), "x", "1").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    }

    #[test]
    fn parses_numbers_and_max() {
        let d = Path::new("/x");
        assert_eq!(parse_u64(d, "f", "42\n").unwrap(), 42);
        assert_eq!(parse_u64(d, "f", "max\n").unwrap(), u64::MAX);
        assert!(parse_u64(d, "f", "junk").is_err());
    }

    #[test]
    fn flat_keyed_skips_garbage() {
        let m = flat_keyed("cache 10\nrss 20\nweird\nname notnum\n");
        assert_eq!(m.len(), 2);
        assert_eq!(m["rss"], 20);
    }

    #[test]
    fn procs_and_children() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("cgroup.procs"), "1\n22\n").unwrap();
        fs::create_dir(dir.path().join("child")).unwrap();
        assert_eq!(procs(dir.path()).unwrap(), vec![1, 22]);
        assert_eq!(
            children(dir.path()).unwrap(),
            vec![dir.path().join("child")]
        );
    }
}
