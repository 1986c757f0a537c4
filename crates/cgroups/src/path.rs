//! Turning an OCI `linux.cgroupsPath` into a directory in each hierarchy.
//!
//! Forms accepted:
//! - absolute `/foo/bar`: relative to each hierarchy's mount root;
//! - relative `foo/bar`: beneath the caller's own cgroup in each hierarchy;
//! - absent: beneath the caller's own cgroup, named after the container id, so
//!   a container never lands in (and pollutes) a hierarchy's root;
//! - systemd `slice:prefix:name`: mapped onto the cgroupfs path systemd itself
//!   would use, `/<expanded slice>/<prefix>-<name>.scope`. There is no D-Bus
//!   here, so the unit is not registered with systemd; only the path matches.
//!   Slices nest the way systemd nests them: `user-1000.slice` lives at
//!   `/user.slice/user-1000.slice`.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A validated cgroups path, as a list of plain components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CgroupsPath {
    /// Below each hierarchy's mount root.
    Absolute(PathBuf),
    /// Below the caller's own cgroup.
    Relative(PathBuf),
}

/// The slice used for systemd-style paths that do not name one.
const DEFAULT_SLICE: &str = "system.slice";
/// The unit prefix used for systemd-style placement when no path is given.
const DEFAULT_PREFIX: &str = "berth";

impl CgroupsPath {
    pub(crate) fn parse(cgroups_path: Option<&str>, id: &str, systemd: bool) -> Result<Self> {
        let invalid = |p: &str, reason: &str| Error::InvalidPath {
            path: p.to_owned(),
            reason: reason.to_owned(),
        };
        if id.is_empty() || id.contains('/') || id == "." || id == ".." || id.contains('\0') {
            return Err(invalid(id, "container id cannot name a cgroup directory"));
        }
        let p = match cgroups_path {
            None | Some("") if systemd => {
                return systemd_path(DEFAULT_SLICE, DEFAULT_PREFIX, id).map(CgroupsPath::Absolute)
            }
            None | Some("") => return Ok(CgroupsPath::Relative(PathBuf::from(id))),
            Some(p) => p,
        };
        if !p.starts_with('/') && (systemd || p.matches(':').count() == 2) {
            let mut parts = p.split(':');
            let (Some(slice), Some(prefix), Some(name), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(invalid(
                    p,
                    "systemd cgroups path must be \"slice:prefix:name\"",
                ));
            };
            if name.is_empty() {
                return Err(invalid(p, "systemd cgroups path has an empty name"));
            }
            return systemd_path(slice, prefix, name)
                .map(CgroupsPath::Absolute)
                .map_err(|e| match e {
                    Error::InvalidPath { reason, .. } => invalid(p, &reason),
                    e => e,
                });
        }
        if systemd {
            return Err(invalid(
                p,
                "systemd cgroups path must be \"slice:prefix:name\"",
            ));
        }
        let rel = components(p)?;
        if rel.as_os_str().is_empty() {
            return Err(invalid(p, "refusing to use a hierarchy's root cgroup"));
        }
        Ok(if p.starts_with('/') {
            CgroupsPath::Absolute(rel)
        } else {
            CgroupsPath::Relative(rel)
        })
    }

    /// The directory in a hierarchy mounted at `mount_point` whose mount shows
    /// cgroup `mount_root`, given the caller's cgroup `own` there.
    pub(crate) fn dir_in(
        &self,
        mount_point: &Path,
        mount_root: &Path,
        own: Option<&Path>,
    ) -> PathBuf {
        match self {
            CgroupsPath::Absolute(rel) => mount_point.join(rel),
            CgroupsPath::Relative(rel) => {
                let own = own.unwrap_or(Path::new("/"));
                // /proc/self/cgroup paths are relative to the hierarchy root,
                // the mount may show a subtree of it (bind mounts, cgroupns).
                let below = own
                    .strip_prefix(mount_root)
                    .or_else(|_| own.strip_prefix("/"))
                    .unwrap_or(own);
                mount_point.join(below).join(rel)
            }
        }
    }
}

/// Splits a path into validated components (no `..`, no empty or `.` parts).
fn components(p: &str) -> Result<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                return Err(Error::InvalidPath {
                    path: p.to_owned(),
                    reason: "\"..\" is not allowed".to_owned(),
                })
            }
            c if c.contains('\0') => {
                return Err(Error::InvalidPath {
                    path: p.to_owned(),
                    reason: "NUL byte in path".to_owned(),
                })
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// `slice:prefix:name` → `<expanded slice>/<prefix>-<name>.scope`.
fn systemd_path(slice: &str, prefix: &str, name: &str) -> Result<PathBuf> {
    let slice = if slice.is_empty() {
        DEFAULT_SLICE
    } else {
        slice
    };
    let mut out = expand_slice(slice)?;
    let unit = if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}-{name}")
    };
    if unit.contains('/') || unit == "." || unit == ".." {
        return Err(Error::InvalidPath {
            path: unit,
            reason: "unit name cannot contain '/'".to_owned(),
        });
    }
    if unit.ends_with(".slice") || unit.ends_with(".scope") {
        out.push(unit);
    } else {
        out.push(format!("{unit}.scope"));
    }
    Ok(out)
}

/// systemd nests slices by their dash-separated name: `a-b-c.slice` is
/// `a.slice/a-b.slice/a-b-c.slice`; `-.slice` is the root slice.
fn expand_slice(slice: &str) -> Result<PathBuf> {
    let bad = |reason: &str| Error::InvalidPath {
        path: slice.to_owned(),
        reason: reason.to_owned(),
    };
    let Some(base) = slice.strip_suffix(".slice") else {
        return Err(bad("slice name must end in \".slice\""));
    };
    if base == "-" {
        return Ok(PathBuf::new());
    }
    if base.is_empty()
        || base.contains('/')
        || base.starts_with('-')
        || base.ends_with('-')
        || base.contains("--")
    {
        return Err(bad("invalid slice name"));
    }
    let mut out = PathBuf::new();
    let mut prefix = String::new();
    for part in base.split('-') {
        if !prefix.is_empty() {
            prefix.push('-');
        }
        prefix.push_str(part);
        out.push(format!("{prefix}.slice"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn abs(s: &str) -> CgroupsPath {
        CgroupsPath::Absolute(PathBuf::from(s))
    }

    #[test]
    fn parses_plain_forms() {
        assert_eq!(
            CgroupsPath::parse(Some("/foo/bar"), "c", false).unwrap(),
            abs("foo/bar")
        );
        assert_eq!(
            CgroupsPath::parse(Some("foo//bar/"), "c", false).unwrap(),
            CgroupsPath::Relative("foo/bar".into())
        );
        assert_eq!(
            CgroupsPath::parse(None, "c1", false).unwrap(),
            CgroupsPath::Relative("c1".into())
        );
        assert!(CgroupsPath::parse(Some("/"), "c", false).is_err());
        assert!(CgroupsPath::parse(Some("/a/../b"), "c", false).is_err());
        assert!(CgroupsPath::parse(None, "a/b", false).is_err());
        assert!(CgroupsPath::parse(None, "", false).is_err());
    }

    #[test]
    fn parses_systemd_forms() {
        assert_eq!(
            CgroupsPath::parse(Some("system.slice:docker:abc"), "x", false).unwrap(),
            abs("system.slice/docker-abc.scope")
        );
        assert_eq!(
            CgroupsPath::parse(Some("user-1000.slice:berth:abc"), "x", true).unwrap(),
            abs("user.slice/user-1000.slice/berth-abc.scope")
        );
        assert_eq!(
            CgroupsPath::parse(Some(":berth:abc"), "x", true).unwrap(),
            abs("system.slice/berth-abc.scope")
        );
        assert_eq!(
            CgroupsPath::parse(Some("-.slice::abc"), "x", true).unwrap(),
            abs("abc.scope")
        );
        assert_eq!(
            CgroupsPath::parse(Some("machine.slice:p:sub.slice"), "x", true).unwrap(),
            abs("machine.slice/p-sub.slice")
        );
        assert_eq!(
            CgroupsPath::parse(None, "abc", true).unwrap(),
            abs("system.slice/berth-abc.scope")
        );
        assert!(CgroupsPath::parse(Some("foo/bar"), "x", true).is_err());
        assert!(CgroupsPath::parse(Some("system:p:n"), "x", true).is_err());
        assert!(CgroupsPath::parse(Some("a--b.slice:p:n"), "x", true).is_err());
        assert!(CgroupsPath::parse(Some("system.slice:p:a/b"), "x", true).is_err());
    }

    #[test]
    fn dirs_per_hierarchy() {
        let mp = Path::new("/sys/fs/cgroup/memory");
        let root = Path::new("/");
        assert_eq!(
            abs("foo").dir_in(mp, root, Some(Path::new("/mine"))),
            Path::new("/sys/fs/cgroup/memory/foo")
        );
        let rel = CgroupsPath::Relative("c1".into());
        assert_eq!(
            rel.dir_in(mp, root, Some(Path::new("/process_api/x"))),
            Path::new("/sys/fs/cgroup/memory/process_api/x/c1")
        );
        assert_eq!(
            rel.dir_in(mp, root, Some(Path::new("/"))),
            Path::new("/sys/fs/cgroup/memory/c1")
        );
        assert_eq!(
            rel.dir_in(mp, root, None),
            Path::new("/sys/fs/cgroup/memory/c1")
        );
        // A mount that shows only /docker/abc of the hierarchy.
        assert_eq!(
            rel.dir_in(
                mp,
                Path::new("/docker/abc"),
                Some(Path::new("/docker/abc/sub"))
            ),
            Path::new("/sys/fs/cgroup/memory/sub/c1")
        );
    }
}
