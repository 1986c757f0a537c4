//! cgroup v2: the unified hierarchy. Each submodule writes one controller's
//! interface files; this module creates the directory chain (delegating
//! controllers down to it) and writes the OCI `unified` map.

pub(crate) mod cpu;
pub(crate) mod cpuset;
pub(crate) mod devices_bpf;
pub(crate) mod freeze;
pub(crate) mod hugetlb;
pub(crate) mod io;
pub(crate) mod memory;

use std::collections::HashMap;
use std::fs;
use std::io as stdio;
use std::path::Path;

use crate::error::{Error, Result};
use crate::interface;

/// `mkdir -p` of `dir` below `mount_point`, enabling in each ancestor's
/// `cgroup.subtree_control` every controller it has available, so the new
/// cgroup gets the controllers' interface files.
///
/// Kernel quirk ("no internal processes"): a non-root cgroup that has
/// processes of its own cannot enable controllers for its children (EBUSY).
/// Enabling is therefore best effort, one controller per write so one
/// refusal does not block the rest; a resource that then cannot be applied
/// fails later with an error naming the missing interface file.
pub(crate) fn create(mount_point: &Path, dir: &Path) -> Result<()> {
    let rel = dir
        .strip_prefix(mount_point)
        .map_err(|_| Error::InvalidPath {
            path: dir.display().to_string(),
            reason: format!("not below the cgroup2 mount at {}", mount_point.display()),
        })?;
    let mut cur = mount_point.to_path_buf();
    for comp in rel.components() {
        enable_controllers(&cur);
        cur.push(comp);
        match fs::create_dir(&cur) {
            Ok(()) => {}
            Err(e) if e.kind() == stdio::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(Error::Create { path: cur, err }),
        }
    }
    Ok(())
}

fn enable_controllers(dir: &Path) {
    let Ok(Some(available)) = interface::read_optional(dir, "cgroup.controllers") else {
        return;
    };
    let enabled = interface::read_optional(dir, "cgroup.subtree_control")
        .ok()
        .flatten()
        .unwrap_or_default();
    let enabled: Vec<&str> = enabled.split_whitespace().collect();
    for c in available.split_whitespace() {
        if !enabled.contains(&c) {
            let _ = interface::write(dir, "cgroup.subtree_control", &format!("+{c}"));
        }
    }
}

/// The OCI `unified` map: each key is an interface file name in the cgroup.
pub(crate) fn apply_unified(dir: &Path, map: &HashMap<String, String>) -> Result<()> {
    let mut keys: Vec<_> = map.iter().collect();
    keys.sort();
    for (key, value) in keys {
        if key.is_empty() || key.contains('/') || key.starts_with('.') {
            return Err(Error::InvalidValue {
                what: "unified key",
                value: key.clone(),
                reason: "must be an interface file name like \"memory.high\"".to_owned(),
            });
        }
        interface::write(dir, key, value)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_enables_available_controllers() {
        let root = tempfile::tempdir().unwrap();
        let mp = root.path();
        fs::write(mp.join("cgroup.controllers"), "cpu memory\n").unwrap();
        fs::write(mp.join("cgroup.subtree_control"), "cpu\n").unwrap();
        create(mp, &mp.join("a/b")).unwrap();
        assert!(mp.join("a/b").is_dir());
        // The fake file keeps only the last write.
        assert_eq!(
            fs::read_to_string(mp.join("cgroup.subtree_control")).unwrap(),
            "+memory"
        );
    }

    #[test]
    fn unified_map_rejects_paths() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("memory.high"), "max").unwrap();
        let mut m = HashMap::new();
        m.insert("memory.high".to_owned(), "1000000".to_owned());
        apply_unified(d.path(), &m).unwrap();
        assert_eq!(
            fs::read_to_string(d.path().join("memory.high")).unwrap(),
            "1000000"
        );
        m.insert("../x".to_owned(), "1".to_owned());
        assert!(apply_unified(d.path(), &m).is_err());
    }
}
