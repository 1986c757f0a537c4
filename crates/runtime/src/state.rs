//! Where containers' records live (runc's `--root`), and how a container's status is
//! derived from the kernel rather than trusted from disk.
//!
//! Layout: `<root>/<id>/state.json` (written atomically: temporary file, fsync, rename)
//! and, while the container is *created* but not yet started, `<root>/<id>/start.sock`,
//! the socket its init waits on. The status is computed on every read: a dead (or
//! reused) pid means stopped, an existing start socket means created, a frozen cgroup
//! means paused, otherwise running.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// runc's default state directory is /run/runc; ours sits beside it.
pub const DEFAULT_ROOT: &str = "/run/berth-runtime";

/// The file name of the socket a created container's init waits on.
pub const START_SOCKET: &str = "start.sock";

/// The OCI lifecycle states (plus runc's `paused`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        })
    }
}

/// What the runtime remembers about one container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub id: String,
    /// The init's pid in the runtime's pid namespace.
    pub pid: i32,
    /// Field 22 of /proc/<pid>/stat when the container was created: tells a reused pid apart.
    pub pid_start_time: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// RFC 3339 creation time, as runc prints it.
    pub created: String,
    pub owner: String,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    pub cgroup: Option<berth_cgroups::Cgroup>,
    /// The config the container was created from (exec, hooks and ps need it).
    pub config: oci_spec::runtime::Spec,
}

/// The state directory.
#[derive(Debug, Clone)]
pub struct StateRoot {
    path: PathBuf,
}

impl StateRoot {
    /// Opens (creating if needed, mode 0700) the state root.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&path)
            .map_err(|e| Error::io("create state directory", &path, e))?;
        // Absolute, so that changing directory (create does, into the bundle) keeps it valid.
        let path = fs::canonicalize(&path).map_err(|e| Error::io("open state directory", &path, e))?;
        Ok(StateRoot { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory of one container (which may not exist).
    pub fn dir(&self, id: &str) -> PathBuf {
        self.path.join(id)
    }

    /// Ids of every container with a state directory, sorted.
    pub fn ids(&self) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        let rd = fs::read_dir(&self.path).map_err(|e| Error::io("read state directory", &self.path, e))?;
        for entry in rd.flatten() {
            if entry.path().join("state.json").exists() {
                if let Some(name) = entry.file_name().to_str() {
                    ids.push(name.to_string());
                }
            }
        }
        ids.sort();
        Ok(ids)
    }
}

/// Rejects ids that could name a path outside the state root.
pub fn validate_id(id: &str) -> Result<()> {
    if id.is_empty() || id == "." || id == ".." || id.contains('/') || id.contains('\0') {
        return Err(Error::InvalidId(id.to_string()));
    }
    Ok(())
}

impl State {
    pub fn load(root: &StateRoot, id: &str) -> Result<State> {
        validate_id(id)?;
        let path = root.dir(id).join("state.json");
        let data = match fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::NotFound(id.to_string())),
            Err(e) => return Err(Error::io("read", path, e)),
        };
        serde_json::from_slice(&data).map_err(|e| Error::State { id: id.to_string(), msg: format!("parse {}: {e}", path.display()) })
    }

    /// Writes state.json atomically (temporary file, rename): a reader never sees half a
    /// record. Not fsynced: the record describes processes, which a power loss ends too,
    /// and the state root normally is a tmpfs (/run); an fsync on a disk-backed root would
    /// cost milliseconds on every create for nothing.
    pub fn save(&self, root: &StateRoot) -> Result<()> {
        let dir = root.dir(&self.id);
        let tmp = dir.join(".state.json.tmp");
        let data = serde_json::to_vec(self).map_err(|e| Error::State { id: self.id.clone(), msg: e.to_string() })?;
        std::fs::write(&tmp, &data).map_err(|e| Error::io("write", &tmp, e))?;
        fs::rename(&tmp, dir.join("state.json")).map_err(|e| Error::io("rename", dir.join("state.json"), e))
    }

    /// The status as the kernel sees it now.
    pub fn status(&self, root: &StateRoot) -> Status {
        if !pid_is_ours(self.pid, self.pid_start_time) {
            return Status::Stopped;
        }
        if root.dir(&self.id).join(START_SOCKET).exists() {
            return Status::Created;
        }
        if let Some(cg) = &self.cgroup {
            if cg.is_frozen().unwrap_or(false) {
                return Status::Paused;
            }
        }
        Status::Running
    }

    /// The state object the OCI spec defines (and runc prints for `state`).
    pub fn to_oci_json(&self, status: Status) -> serde_json::Value {
        let pid = if status == Status::Stopped { 0 } else { self.pid };
        serde_json::json!({
            "ociVersion": "1.2.0",
            "id": self.id,
            "pid": pid,
            "status": status,
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "created": self.created,
            "owner": self.owner,
            "annotations": self.annotations,
        })
    }
}

/// Field 22 (starttime) of /proc/<pid>/stat, and whether the process is a zombie.
pub fn pid_start_time(pid: i32) -> Option<(u64, bool)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let zombie = fields.first().is_some_and(|s| *s == "Z" || *s == "X");
    let start = fields.get(19)?.parse().ok()?;
    Some((start, zombie))
}

/// True when `pid` is alive, not a zombie, and is the process we started.
pub fn pid_is_ours(pid: i32, start_time: u64) -> bool {
    if pid <= 0 {
        return false;
    }
    matches!(pid_start_time(pid), Some((st, false)) if st == start_time)
}

/// Now, as RFC 3339 UTC with nanoseconds (the format runc uses for `created`).
pub fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    rfc3339(now.as_secs() as i64, now.subsec_nanos())
}

/// Formats a Unix time as RFC 3339 UTC (days-to-civil conversion, proleptic Gregorian).
pub fn rfc3339(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(rfc3339(951_782_400, 5), "2000-02-29T00:00:00.000000005Z");
        assert_eq!(rfc3339(1_798_761_599, 0), "2026-12-31T23:59:59.000000000Z");
    }

    #[test]
    fn ids_that_escape_the_root_are_refused() {
        for bad in ["", ".", "..", "a/b", "../x"] {
            assert!(validate_id(bad).is_err(), "{bad:?} accepted");
        }
        validate_id("abc-123_x.y").unwrap();
    }

    #[test]
    fn our_own_pid_is_alive_and_a_wrong_start_time_is_not() {
        let me = std::process::id() as i32;
        let (st, zombie) = pid_start_time(me).unwrap();
        assert!(!zombie);
        assert!(pid_is_ours(me, st));
        assert!(!pid_is_ours(me, st + 1));
    }
}
