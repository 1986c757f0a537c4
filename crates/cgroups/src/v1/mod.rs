//! cgroup v1: one hierarchy per controller (or co-mounted group). Each
//! submodule writes one controller's interface files; this module creates the
//! directory chain in a hierarchy.

pub(crate) mod blkio;
pub(crate) mod cpu;
pub(crate) mod cpuacct;
pub(crate) mod cpuset;
pub(crate) mod devices;
pub(crate) mod freezer;
pub(crate) mod hugetlb;
pub(crate) mod memory;
pub(crate) mod net;

use std::fs;
use std::io;
use std::path::Path;

use crate::error::{Error, Result};

/// `mkdir -p` of `dir` below `mount_point`. In the cpuset hierarchy every
/// directory this creates (or finds with empty masks) gets the parent's
/// `cpuset.cpus`/`cpuset.mems`: v1 creates cpusets with empty masks and
/// refuses to attach tasks to them (ENOSPC), and does not inherit them
/// unless `cgroup.clone_children` happens to be set.
pub(crate) fn create(mount_point: &Path, dir: &Path, is_cpuset: bool) -> Result<()> {
    let rel = dir
        .strip_prefix(mount_point)
        .map_err(|_| Error::InvalidPath {
            path: dir.display().to_string(),
            reason: format!(
                "not below the hierarchy mounted at {}",
                mount_point.display()
            ),
        })?;
    let mut cur = mount_point.to_path_buf();
    for comp in rel.components() {
        let parent = cur.clone();
        cur.push(comp);
        match fs::create_dir(&cur) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(Error::Create { path: cur, err }),
        }
        if is_cpuset {
            cpuset::inherit_masks(&parent, &cur)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_chain_and_fills_cpuset_masks() {
        let root = tempfile::tempdir().unwrap();
        let mp = root.path();
        fs::write(mp.join("cpuset.cpus"), "0-3\n").unwrap();
        fs::write(mp.join("cpuset.mems"), "0\n").unwrap();
        // Pre-create the dirs with the empty mask files cgroupfs would show.
        for d in ["a", "a/b"] {
            fs::create_dir(mp.join(d)).unwrap();
            fs::write(mp.join(d).join("cpuset.cpus"), "\n").unwrap();
            fs::write(mp.join(d).join("cpuset.mems"), "\n").unwrap();
        }
        create(mp, &mp.join("a/b"), true).unwrap();
        assert_eq!(
            fs::read_to_string(mp.join("a/b/cpuset.cpus")).unwrap(),
            "0-3"
        );
        assert_eq!(fs::read_to_string(mp.join("a/cpuset.mems")).unwrap(), "0");

        create(mp, &mp.join("x/y"), false).unwrap();
        assert!(mp.join("x/y").is_dir());
        assert!(create(mp, Path::new("/elsewhere"), false).is_err());
    }
}
