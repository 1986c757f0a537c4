//! Docker's volumes (`local` driver): the [`Volume`] record and the [`VolumeStore`] the
//! daemon keeps them in. A volume is `<data-root>/volumes/<name>/_data` plus its
//! metadata in `volume.json` beside it, written atomically, so a daemon restart finds
//! every volume again. Which containers use a volume is not stored here: the container
//! records are the truth for that (see [`in_use`]).

pub mod copy_up;
pub mod create;
pub mod list;
pub mod mount;
pub mod resolve;
pub mod remove;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::daemon::Daemon;
use crate::error::{Error, Result};

pub const META: &str = "volume.json";
/// The label Docker puts on volumes it made for a container (`-v /path`, image VOLUME).
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Volume {
    pub name: String,
    pub driver: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The `local` driver's options (`type`, `device`, `o`).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    pub created: String,
}

impl Volume {
    pub fn is_anonymous(&self) -> bool {
        self.labels.contains_key(ANONYMOUS_LABEL)
    }

    /// Docker's JSON for a volume.
    pub fn to_json(&self, root: &Path) -> Value {
        json!({
            "Name": self.name,
            "Driver": self.driver,
            "Mountpoint": data_dir(root, &self.name),
            "CreatedAt": self.created,
            "Labels": self.labels,
            "Scope": "local",
            "Options": if self.options.is_empty() { Value::Null } else { json!(self.options) },
        })
    }
}

/// `<data-root>/volumes`.
pub fn volumes_root(data_root: &Path) -> PathBuf {
    data_root.join("volumes")
}

/// The directory a volume's data lives in (what containers mount).
pub fn data_dir(root: &Path, name: &str) -> PathBuf {
    root.join(name).join("_data")
}

/// Docker's rule for volume names, `[a-zA-Z0-9][a-zA-Z0-9_.-]+`: no `/`, so a name is
/// always one directory entry beneath the volumes root, and never `.` or `..`.
pub fn validate_name(name: &str) -> Result<()> {
    let b = name.as_bytes();
    let ok_first = b.first().is_some_and(|c| c.is_ascii_alphanumeric());
    let ok_rest = b.len() >= 2 && b[1..].iter().all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(c));
    if !ok_first || !ok_rest || name.contains("..") {
        return Err(Error::Invalid(format!(
            "create {name}: \"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
        )));
    }
    Ok(())
}

#[derive(Debug)]
pub struct VolumeStore {
    pub root: PathBuf,
    volumes: Mutex<HashMap<String, Volume>>,
    /// Held by a container create from resolving its volumes until its record is in the
    /// daemon, and by volume removal from its in-use check to the delete: so a volume
    /// cannot be removed under a container that is being created with it.
    pub ops: Mutex<()>,
}

impl VolumeStore {
    /// Loads every volume under `root`; a directory without readable metadata is
    /// skipped (logged), never deleted: it may hold someone's data.
    pub fn open(root: PathBuf) -> Result<VolumeStore> {
        fs::create_dir_all(&root).map_err(|e| Error::internal(format!("create {}", root.display()), e))?;
        let mut volumes = HashMap::new();
        // A removal cut short by a crash: the volume was already out of sight.
        for e in fs::read_dir(&root).into_iter().flatten().flatten() {
            if e.file_name().to_string_lossy().starts_with(".removing-") {
                let _ = fs::remove_dir_all(e.path());
            }
        }
        let entries = fs::read_dir(&root).map_err(|e| Error::internal(format!("read {}", root.display()), e))?;
        for e in entries.flatten() {
            let meta = e.path().join(META);
            match fs::read(&meta).map_err(|e| e.to_string()).and_then(|b| serde_json::from_slice::<Volume>(&b).map_err(|e| e.to_string())) {
                Ok(v) if validate_name(&v.name).is_ok() && e.file_name().to_str() == Some(v.name.as_str()) => {
                    volumes.insert(v.name.clone(), v);
                }
                Ok(_) => tracing::warn!(dir = %e.path().display(), "skipping volume: name does not match its directory"),
                Err(err) => tracing::warn!(dir = %e.path().display(), "skipping volume: {err}"),
            }
        }
        Ok(VolumeStore { root, volumes: Mutex::new(volumes), ops: Mutex::new(()) })
    }

    pub fn get(&self, name: &str) -> Result<Volume> {
        self.volumes
            .lock()
            .expect("volumes lock")
            .get(name)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("get {name}: no such volume")))
    }

    pub fn all(&self) -> Vec<Volume> {
        let mut v: Vec<Volume> = self.volumes.lock().expect("volumes lock").values().cloned().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    pub fn data_dir(&self, name: &str) -> PathBuf {
        data_dir(&self.root, name)
    }

    /// Writes the volume's directory and metadata, then makes it visible; an existing
    /// volume of that name is returned as it is (Docker's create is idempotent).
    pub(crate) fn insert_new(&self, v: Volume) -> Result<(Volume, bool)> {
        let mut map = self.volumes.lock().expect("volumes lock");
        if let Some(old) = map.get(&v.name) {
            return Ok((old.clone(), false));
        }
        let dir = self.root.join(&v.name);
        let data = dir.join("_data");
        fs::create_dir_all(&data).map_err(|e| Error::internal(format!("create {}", data.display()), e))?;
        save(&dir, &v)?;
        map.insert(v.name.clone(), v.clone());
        Ok((v, true))
    }

    pub(crate) fn forget(&self, name: &str) {
        self.volumes.lock().expect("volumes lock").remove(name);
    }
}

/// temp file, fsync, rename, fsync of the directory: a crash leaves the old metadata or
/// the new, never a torn file.
fn save(dir: &Path, v: &Volume) -> Result<()> {
    let path = dir.join(META);
    let tmp = dir.join(".volume.json.tmp");
    let io = |what: &str, p: &Path| {
        let what = format!("{what} {}", p.display());
        move |e: std::io::Error| Error::internal(what, e)
    };
    let bytes = serde_json::to_vec(v).map_err(|e| Error::internal("encode volume", e))?;
    let mut f = fs::File::create(&tmp).map_err(io("create", &tmp))?;
    f.write_all(&bytes).map_err(io("write", &tmp))?;
    f.sync_all().map_err(io("fsync", &tmp))?;
    fs::rename(&tmp, &path).map_err(io("rename", &path))?;
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io("fsync", dir))?;
    Ok(())
}

/// A container's `Mounts` as Docker reports them in inspect and `ps`: its volumes and
/// binds (tmpfs mounts are not listed, as in Docker).
pub fn mounts_json(r: &crate::container::record::Record) -> Value {
    let mut out = Vec::new();
    let h = &r.host_config;
    for b in h.binds.iter().flatten() {
        if let Ok(s) = resolve::parse_bind(b) {
            if s.is_host() {
                out.push(json!({"Type": "bind", "Source": s.source, "Destination": s.destination,
                    "Mode": if s.rw { "" } else { "ro" }, "RW": s.rw, "Propagation": "rprivate"}));
            }
        }
    }
    for m in h.mounts.iter().flatten().filter(|m| m.typ == Some(bollard_stubs::models::MountType::BIND)) {
        out.push(json!({"Type": "bind", "Source": m.source, "Destination": m.target, "Mode": "",
            "RW": m.read_only != Some(true), "Propagation": "rprivate"}));
    }
    for m in &r.volume_mounts {
        out.push(match &m.volume {
            Some(name) => json!({"Type": "volume", "Name": name, "Source": m.source, "Destination": m.destination,
                "Driver": "local", "Mode": if m.nocopy { "nocopy" } else { "z" }, "RW": m.rw, "Propagation": ""}),
            None => json!({"Type": "bind", "Source": m.source, "Destination": m.destination, "Mode": "",
                "RW": m.rw, "Propagation": "rprivate"}),
        });
    }
    Value::Array(out)
}

/// Ids of the containers (running or not) whose record mounts volume `name`.
pub fn in_use(d: &Daemon, name: &str) -> Vec<String> {
    let mut ids: Vec<String> = d
        .all()
        .into_iter()
        .filter(|c| c.record().volume_mounts.iter().any(|m| m.volume.as_deref() == Some(name)))
        .map(|c| c.id.clone())
        .collect();
    ids.sort();
    ids
}

/// Ids of the running containers that mount volume `name`.
pub fn running_users(d: &Daemon, name: &str) -> Vec<String> {
    d.all()
        .into_iter()
        .filter(|c| c.status().is_running())
        .filter(|c| c.record().volume_mounts.iter().any(|m| m.volume.as_deref() == Some(name)))
        .map(|c| c.id.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["ab", "my-vol", "a.b_c-1", "0x"] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a", "..", "a/b", "../etc", "-ab", ".ab", "a..b", "a b", "/abs", "é1"] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn store_survives_reopen() {
        let t = tempfile::tempdir().unwrap();
        let s = VolumeStore::open(t.path().to_path_buf()).unwrap();
        let v = Volume { name: "v1".into(), driver: "local".into(), labels: BTreeMap::new(), options: BTreeMap::new(), created: "x".into() };
        assert!(s.insert_new(v.clone()).unwrap().1);
        assert!(!s.insert_new(v.clone()).unwrap().1);
        assert!(t.path().join("v1/_data").is_dir());
        let s2 = VolumeStore::open(t.path().to_path_buf()).unwrap();
        assert_eq!(s2.get("v1").unwrap(), v);
    }
}
