//! The daemon's configuration: command-line flags over an optional JSON file in
//! `daemon.json`'s shape (`data-root`, `exec-root`, `hosts`, `cgroup-parent`, `log-opts`,
//! `default-runtime`, `init-path`, `insecure-registries`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// Default bound on one container's json-file log: 20 MB per file, 5 files. Docker's
/// default is unbounded, which fills disks; a user can still ask for more.
pub const DEFAULT_LOG_MAX_SIZE: u64 = 20 * 1024 * 1024;
pub const DEFAULT_LOG_MAX_FILES: u32 = 5;

#[derive(Debug, Clone)]
pub struct Config {
    /// Persistent state: images, container records, logs.
    pub data_root: PathBuf,
    /// Run-time state: the API socket, the runtime's root, the shims' sockets.
    pub exec_root: PathBuf,
    /// The API socket's path.
    pub socket: PathBuf,
    /// An OCI runtime with runc's command line.
    pub runtime: PathBuf,
    /// The runtime is berth's own: lifecycle calls go through its library in-process.
    pub runtime_in_process: bool,
    /// The per-container supervisor.
    pub shim: PathBuf,
    /// A static init for `--init` (tini-static).
    pub init_path: PathBuf,
    /// Absolute cgroup parent for containers; `None`: beneath the daemon's own cgroup.
    pub cgroup_parent: Option<String>,
    pub log_max_size: u64,
    pub log_max_files: u32,
    /// Registries that may be spoken to over plain HTTP (besides loopback, always allowed).
    pub insecure_registries: Vec<String>,
}

/// `daemon.json` keys berthd reads; unknown keys are refused so a typo is not ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    pub data_root: Option<PathBuf>,
    pub exec_root: Option<PathBuf>,
    pub hosts: Option<Vec<String>>,
    pub cgroup_parent: Option<String>,
    pub default_runtime: Option<PathBuf>,
    pub init_path: Option<PathBuf>,
    pub log_level: Option<String>,
    pub log_driver: Option<String>,
    pub log_opts: Option<LogOpts>,
    pub insecure_registries: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LogOpts {
    pub max_size: Option<String>,
    pub max_file: Option<String>,
}

impl FileConfig {
    pub fn read(path: &Path) -> Result<FileConfig> {
        let bytes = std::fs::read(path)
            .map_err(|e| Error::Invalid(format!("read config {}: {e}", path.display())))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::Invalid(format!("config {}: {e}", path.display())))
    }
}

/// `unix:///run/berth/berth.sock` → the path. Anything but unix:// is refused: a TCP
/// listener without TLS would hand root to the network.
pub fn socket_path(host: &str) -> Result<PathBuf> {
    match host.strip_prefix("unix://") {
        Some(p) if !p.is_empty() => Ok(PathBuf::from(p)),
        _ if host.starts_with("tcp://") => Err(Error::Invalid(format!(
            "host {host}: tcp listeners are not supported (they would need TLS); use unix://PATH"
        ))),
        _ => Err(Error::Invalid(format!("host {host}: expected unix://PATH"))),
    }
}

/// `20m`, `1g`, `512k`, `100` (bytes), as log-opts and docker's units give them.
pub fn parse_size(s: &str) -> Result<u64> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| Error::Invalid(format!("invalid size {s:?}")))?;
    if n < 0.0 {
        return Err(Error::Invalid(format!("invalid size {s:?}")));
    }
    Ok((n * mult as f64) as u64)
}

/// A binary next to the running one (`target/release/berth-shim` beside berthd), else the
/// name itself, for `$PATH`.
pub fn sibling(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(name)))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("20m").unwrap(), 20 << 20);
        assert_eq!(parse_size("1g").unwrap(), 1 << 30);
        assert_eq!(parse_size("100").unwrap(), 100);
        assert_eq!(parse_size("1.5k").unwrap(), 1536);
        assert!(parse_size("x").is_err());
    }

    #[test]
    fn hosts() {
        assert_eq!(socket_path("unix:///a/b.sock").unwrap(), PathBuf::from("/a/b.sock"));
        assert!(socket_path("tcp://0.0.0.0:2375").unwrap_err().to_string().contains("TLS"));
        assert!(socket_path("/a").is_err());
    }
}
