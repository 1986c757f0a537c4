//! The crate's error type. Each variant names the operation that failed and
//! carries the cgroupfs path (and, for writes, the value) plus the OS error.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while managing a cgroup.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading an interface file (or /proc file) failed.
    #[error("read {}: {}", .path.display(), OsError(.err))]
    Read { path: PathBuf, err: io::Error },

    /// Writing a value into an interface file failed.
    #[error("write {} = {:?}: {}", .path.display(), .value, OsError(.err))]
    Write {
        path: PathBuf,
        value: String,
        err: io::Error,
    },

    /// A value was requested but the interface file for it does not exist:
    /// this kernel or hierarchy does not offer the knob.
    #[error("write {} = {:?}: not supported here (no such interface file)", .path.display(), .value)]
    NotSupported { path: PathBuf, value: String },

    /// `mkdir` of a cgroup directory failed.
    #[error("create cgroup {}: {}", .path.display(), OsError(.err))]
    Create { path: PathBuf, err: io::Error },

    /// `rmdir` of a cgroup directory failed (after retrying on EBUSY).
    #[error("remove cgroup {}: {}", .path.display(), OsError(.err))]
    Remove { path: PathBuf, err: io::Error },

    /// Listing the child cgroups of a directory failed.
    #[error("list cgroup {}: {}", .path.display(), OsError(.err))]
    ReadDir { path: PathBuf, err: io::Error },

    /// A kernel-provided file did not have the expected format.
    #[error("parse {}: {reason}", .path.display())]
    Parse { path: PathBuf, reason: String },

    /// `linux.cgroupsPath` (or the container id) cannot be turned into a cgroup path.
    #[error("invalid cgroups path {path:?}: {reason}")]
    InvalidPath { path: String, reason: String },

    /// Neither a cgroup v1 hierarchy nor a cgroup2 filesystem is mounted.
    #[error("no cgroup filesystem is mounted (according to {})", .mountinfo.display())]
    NoCgroupFs { mountinfo: PathBuf },

    /// A resource was requested whose controller is not available on this host.
    #[error(
        "{resource} requested but the {controller} cgroup controller is not available on this host"
    )]
    ControllerMissing {
        resource: &'static str,
        controller: &'static str,
    },

    /// A resource was requested that this cgroup layout or kernel cannot enforce.
    #[error("{what} not supported: {reason}")]
    Unsupported { what: String, reason: String },

    /// A requested value is out of range or malformed.
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidValue {
        what: &'static str,
        value: String,
        reason: String,
    },

    /// `checkBeforeUpdate` refused a memory limit below the current usage.
    #[error("memory limit {limit} for {} is below the current usage {usage}", .path.display())]
    BelowUsage {
        path: PathBuf,
        limit: i64,
        usage: u64,
    },

    /// A bpf(2) operation for the cgroup v2 device filter failed.
    #[error("{op} device filter for {}: {}{}", .path.display(), OsError(.err), VerifierLog(.log))]
    DeviceFilter {
        op: &'static str,
        path: PathBuf,
        err: io::Error,
        log: String,
    },

    /// Freezing or thawing did not reach the wanted state in time.
    #[error("{op} {}: timed out with the cgroup still {state:?}", .path.display())]
    Timeout {
        op: &'static str,
        path: PathBuf,
        state: String,
    },

    /// Tearing down the cgroup hit one or more errors (all hierarchies were attempted).
    #[error("destroy cgroup: {}", ErrorList(.0))]
    Destroy(Vec<Error>),
}

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The OS error number behind this error, if there is one.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Read { err, .. }
            | Error::Write { err, .. }
            | Error::Create { err, .. }
            | Error::Remove { err, .. }
            | Error::ReadDir { err, .. }
            | Error::DeviceFilter { err, .. } => err.raw_os_error(),
            _ => None,
        }
    }
}

/// Displays an `io::Error` as the bare strerror text ("Device or resource
/// busy"), without std's "(os error 16)" suffix.
struct OsError<'a>(&'a io::Error);

impl fmt::Display for OsError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.raw_os_error() {
            Some(n) => f.write_str(nix::errno::Errno::from_raw(n).desc()),
            None => write!(f, "{}", self.0),
        }
    }
}

struct VerifierLog<'a>(&'a str);

impl fmt::Display for VerifierLog<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let log = self.0.trim();
        if log.is_empty() {
            Ok(())
        } else {
            write!(f, " (verifier: {log})")
        }
    }
}

struct ErrorList<'a>(&'a [Error]);

impl fmt::Display for ErrorList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_error_names_file_value_and_strerror() {
        let e = Error::Write {
            path: "/sys/fs/cgroup/memory/x/memory.limit_in_bytes".into(),
            value: "1234".into(),
            err: io::Error::from_raw_os_error(libc::EBUSY),
        };
        assert_eq!(
            e.to_string(),
            r#"write /sys/fs/cgroup/memory/x/memory.limit_in_bytes = "1234": Device or resource busy"#
        );
        assert_eq!(e.raw_os_error(), Some(libc::EBUSY));
    }

    #[test]
    fn destroy_lists_every_error() {
        let e = Error::Destroy(vec![
            Error::Remove {
                path: "/a".into(),
                err: io::Error::from_raw_os_error(libc::EBUSY),
            },
            Error::Remove {
                path: "/b".into(),
                err: io::Error::from_raw_os_error(libc::EACCES),
            },
        ]);
        assert_eq!(
            e.to_string(),
            "destroy cgroup: remove cgroup /a: Device or resource busy; remove cgroup /b: Permission denied"
        );
    }
}
