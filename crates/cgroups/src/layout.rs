//! Detecting how cgroups are mounted on this host, from `/proc/self/mountinfo`
//! (which hierarchies exist and where), `/proc/self/cgroup` (where the calling
//! process sits in each of them) and `/proc/cgroups` (which names are real
//! controllers rather than mount flags).
//!
//! The proc root is injectable ([`Host::from_proc`], [`Host::parse`]) so tests
//! can describe a fake host whose "cgroupfs" is a temporary directory.

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How cgroups are arranged on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Only cgroup v1 hierarchies (one per controller or co-mounted group).
    V1,
    /// Only the cgroup2 unified hierarchy (usually mounted at /sys/fs/cgroup).
    Unified,
    /// v1 hierarchies for most controllers plus a cgroup2 mount (usually
    /// /sys/fs/cgroup/unified) holding whatever controllers v1 does not bind.
    Hybrid,
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::V1 => "v1",
            Layout::Unified => "unified",
            Layout::Hybrid => "hybrid",
        })
    }
}

/// The layout of this host's cgroups, detected once from
/// `/proc/self/mountinfo` and cached for the life of the process.
pub fn layout() -> Result<Layout> {
    static LAYOUT: OnceLock<Layout> = OnceLock::new();
    if let Some(l) = LAYOUT.get() {
        return Ok(*l);
    }
    let l = Host::load()?.layout();
    Ok(*LAYOUT.get_or_init(|| l))
}

/// One mounted cgroup v1 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Hierarchy {
    /// Controllers bound to it in mount order, e.g. `["cpu", "cpuacct"]` or `["name=systemd"]`.
    pub controllers: Vec<String>,
    /// Where it is mounted, e.g. `/sys/fs/cgroup/memory`.
    pub mount_point: PathBuf,
    /// Which cgroup of the hierarchy is the mount's root (`/` unless bind-mounted or namespaced).
    pub mount_root: PathBuf,
    /// The calling process's cgroup in this hierarchy (from `/proc/self/cgroup`).
    pub own: Option<PathBuf>,
}

impl V1Hierarchy {
    /// The controllers joined with commas, as `/proc/self/cgroup` and mount options spell them.
    pub fn controllers_string(&self) -> String {
        self.controllers.join(",")
    }

    /// Whether `controller` (e.g. "memory" or "name=systemd") is bound to this hierarchy.
    pub fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }
}

/// The mounted cgroup2 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnifiedHierarchy {
    /// Where it is mounted, e.g. `/sys/fs/cgroup` or `/sys/fs/cgroup/unified`.
    pub mount_point: PathBuf,
    /// Which cgroup is the mount's root.
    pub mount_root: PathBuf,
    /// The calling process's cgroup (the `0::` line of `/proc/self/cgroup`).
    pub own: Option<PathBuf>,
}

/// A snapshot of the host's cgroup mounts and of the caller's place in them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    layout: Layout,
    v1: Vec<V1Hierarchy>,
    unified: Option<UnifiedHierarchy>,
}

/// Mount flags that show up among a v1 mount's super options but are not
/// controllers; only used when `/proc/cgroups` cannot be read.
const V1_MOUNT_FLAGS: &[&str] = &[
    "rw",
    "ro",
    "none",
    "noprefix",
    "xattr",
    "clone_children",
    "cpuset_v2_mode",
    "favordynmods",
    "nofavordynmods",
];

impl Host {
    /// Reads the real `/proc`.
    pub fn load() -> Result<Host> {
        Host::from_proc(Path::new("/proc"))
    }

    /// Reads `<proc_root>/self/mountinfo`, `<proc_root>/self/cgroup` and
    /// (optionally) `<proc_root>/cgroups`.
    pub fn from_proc(proc_root: &Path) -> Result<Host> {
        let read = |p: PathBuf| fs::read_to_string(&p).map_err(|err| Error::Read { path: p, err });
        let mountinfo_path = proc_root.join("self/mountinfo");
        let mountinfo = read(mountinfo_path.clone())?;
        let own = read(proc_root.join("self/cgroup"))?;
        let subsystems = fs::read_to_string(proc_root.join("cgroups")).ok();
        Host::parse(&mountinfo, &own, subsystems.as_deref()).ok_or(Error::NoCgroupFs {
            mountinfo: mountinfo_path,
        })
    }

    /// Builds a host description from the text of mountinfo, `/proc/self/cgroup`
    /// and `/proc/cgroups`. `None` if no cgroup filesystem is mounted.
    pub fn parse(mountinfo: &str, self_cgroup: &str, proc_cgroups: Option<&str>) -> Option<Host> {
        let subsystems: Option<BTreeSet<&str>> = proc_cgroups.map(|text| {
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| l.split_whitespace().next())
                .collect()
        });
        let is_controller = |opt: &str| -> bool {
            if opt.starts_with("name=") {
                return true;
            }
            if opt.contains('=') {
                return false; // release_agent=..., etc.
            }
            match &subsystems {
                Some(known) => known.contains(opt),
                None => !V1_MOUNT_FLAGS.contains(&opt),
            }
        };

        let own = parse_self_cgroup(self_cgroup);
        let mut v1: Vec<V1Hierarchy> = Vec::new();
        let mut unified: Vec<UnifiedHierarchy> = Vec::new();
        for line in mountinfo.lines() {
            let Some(m) = MountInfoLine::parse(line) else {
                continue;
            };
            match m.fs_type {
                "cgroup" => {
                    let controllers: Vec<String> = m
                        .super_options
                        .split(',')
                        .filter(|o| is_controller(o))
                        .map(str::to_owned)
                        .collect();
                    if controllers.is_empty() {
                        continue;
                    }
                    let set: BTreeSet<&str> = controllers.iter().map(String::as_str).collect();
                    // The same hierarchy may be mounted more than once (bind
                    // mounts); keep the first, preferring one showing its root.
                    if let Some(existing) = v1.iter_mut().find(|h| {
                        h.controllers
                            .iter()
                            .map(String::as_str)
                            .collect::<BTreeSet<_>>()
                            == set
                    }) {
                        if existing.mount_root != Path::new("/") && m.root == Path::new("/") {
                            existing.mount_point = m.mount_point;
                            existing.mount_root = m.root;
                        }
                        continue;
                    }
                    let own_path = own
                        .iter()
                        .find(|(ctrls, _)| !ctrls.is_empty() && *ctrls == set_owned(&set))
                        .map(|(_, p)| p.clone());
                    v1.push(V1Hierarchy {
                        controllers,
                        mount_point: m.mount_point,
                        mount_root: m.root,
                        own: own_path,
                    });
                }
                "cgroup2" => unified.push(UnifiedHierarchy {
                    mount_point: m.mount_point,
                    mount_root: m.root,
                    own: own
                        .iter()
                        .find(|(c, _)| c.is_empty())
                        .map(|(_, p)| p.clone()),
                }),
                _ => {}
            }
        }
        // Prefer the conventional mount points if cgroup2 is mounted several times.
        let unified = unified
            .iter()
            .position(|u| u.mount_point == Path::new("/sys/fs/cgroup"))
            .or_else(|| {
                unified
                    .iter()
                    .position(|u| u.mount_point == Path::new("/sys/fs/cgroup/unified"))
            })
            .or(if unified.is_empty() { None } else { Some(0) })
            .map(|i| unified.swap_remove(i));

        let has_v1_controller = v1
            .iter()
            .any(|h| h.controllers.iter().any(|c| !c.starts_with("name=")));
        let layout = match (has_v1_controller, &unified) {
            (true, Some(_)) => Layout::Hybrid,
            (true, None) => Layout::V1,
            (false, Some(_)) => Layout::Unified,
            (false, None) => return None,
        };
        if layout == Layout::Unified {
            // A stray named v1 hierarchy (e.g. name=systemd for old
            // containers) on a unified host is not ours to manage.
            v1.clear();
        }
        Some(Host {
            layout,
            v1,
            unified,
        })
    }

    /// The detected layout.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The v1 hierarchies (empty on a unified host).
    pub fn v1(&self) -> &[V1Hierarchy] {
        &self.v1
    }

    /// The cgroup2 hierarchy, if mounted (unified and hybrid hosts).
    pub fn unified(&self) -> Option<&UnifiedHierarchy> {
        self.unified.as_ref()
    }
}

fn set_owned(set: &BTreeSet<&str>) -> BTreeSet<String> {
    set.iter().map(|s| (*s).to_owned()).collect()
}

/// `/proc/self/cgroup`: `hierarchy-id:controller-list:path`; the cgroup2 line
/// has an empty controller list (`0::/path`).
fn parse_self_cgroup(text: &str) -> Vec<(BTreeSet<String>, PathBuf)> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let _id = parts.next()?;
            let ctrls = parts.next()?;
            let path = parts.next()?;
            let set = ctrls
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect();
            Some((set, PathBuf::from(path)))
        })
        .collect()
}

/// The fields of one mountinfo line this crate needs.
struct MountInfoLine<'a> {
    root: PathBuf,
    mount_point: PathBuf,
    fs_type: &'a str,
    super_options: &'a str,
}

impl<'a> MountInfoLine<'a> {
    /// `36 35 98:0 /root /mnt opts [optional fields...] - fstype source superopts`
    fn parse(line: &'a str) -> Option<Self> {
        let (left, right) = line.split_once(" - ")?;
        let mut l = left.split(' ');
        let _id = l.next()?;
        let _parent = l.next()?;
        let _dev = l.next()?;
        let root = l.next()?;
        let mount_point = l.next()?;
        let mut r = right.split(' ');
        let fs_type = r.next()?;
        let _source = r.next()?;
        let super_options = r.next().unwrap_or("");
        Some(MountInfoLine {
            root: PathBuf::from(unescape(root)),
            mount_point: PathBuf::from(unescape(mount_point)),
            fs_type,
            super_options,
        })
    }
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo` octal.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The mounts of the hybrid VM this crate was written on.
    pub(crate) const HYBRID_MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    pub(crate) const HYBRID_SELF_CGROUP: &str = "\
9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/a74b
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
";

    #[test]
    fn detects_hybrid() {
        let h = Host::parse(HYBRID_MOUNTINFO, HYBRID_SELF_CGROUP, None).unwrap();
        assert_eq!(h.layout(), Layout::Hybrid);
        assert_eq!(h.v1().len(), 9);
        let mem = h.v1().iter().find(|h| h.has("memory")).unwrap();
        assert_eq!(mem.mount_point, Path::new("/sys/fs/cgroup/memory"));
        assert_eq!(mem.own.as_deref(), Some(Path::new("/process_api/a74b")));
        let sd = h.v1().iter().find(|h| h.has("name=systemd")).unwrap();
        assert_eq!(sd.controllers_string(), "name=systemd");
        let u = h.unified().unwrap();
        assert_eq!(u.mount_point, Path::new("/sys/fs/cgroup/unified"));
        assert_eq!(u.own.as_deref(), Some(Path::new("/")));
    }

    #[test]
    fn detects_unified_and_ignores_named_v1() {
        let mi = "\
25 20 0:22 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
26 25 0:23 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
";
        let h = Host::parse(mi, "1:name=systemd:/\n0::/user.slice/x.scope\n", None).unwrap();
        assert_eq!(h.layout(), Layout::Unified);
        assert!(h.v1().is_empty());
        assert_eq!(
            h.unified().unwrap().own.as_deref(),
            Some(Path::new("/user.slice/x.scope"))
        );
    }

    #[test]
    fn detects_v1_with_comounts_and_flags() {
        let mi = "\
30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw shared:10 - cgroup cgroup rw,cpu,cpuacct
31 25 0:27 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,release_agent=/lib/systemd/x,name=systemd
32 25 0:28 / /sys/fs/cgroup/net_cls,net_prio rw - cgroup cgroup rw,net_cls,net_prio
";
        let cg = "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t2\t1\t1\ncpuacct\t2\t1\t1\nnet_cls\t3\t1\t1\nnet_prio\t3\t1\t1\n";
        let h = Host::parse(mi, "2:cpu,cpuacct:/a\n1:name=systemd:/b\n", Some(cg)).unwrap();
        assert_eq!(h.layout(), Layout::V1);
        assert_eq!(h.v1()[0].controllers, ["cpu", "cpuacct"]);
        assert_eq!(h.v1()[0].own.as_deref(), Some(Path::new("/a")));
        assert_eq!(h.v1()[1].controllers, ["name=systemd"]);
        assert_eq!(h.v1()[1].own.as_deref(), Some(Path::new("/b")));
        assert_eq!(h.v1()[2].controllers_string(), "net_cls,net_prio");
        // Without /proc/cgroups the flag list filters xattr etc.
        let h2 = Host::parse(mi, "", None).unwrap();
        assert_eq!(h2.v1()[1].controllers, ["name=systemd"]);
    }

    #[test]
    fn no_cgroupfs() {
        assert!(Host::parse("1 0 0:1 / / rw - ext4 /dev/sda rw\n", "", None).is_none());
    }

    #[test]
    fn unescapes_octal() {
        assert_eq!(unescape(r"/a\040b"), "/a b");
        assert_eq!(unescape(r"/a\\b"), r"/a\\b");
    }

    #[test]
    fn this_host_parses() {
        // Whatever this machine is, detection must not fail if cgroups are mounted.
        if Path::new("/sys/fs/cgroup").exists() {
            let h = Host::load().unwrap();
            assert_eq!(layout().unwrap(), h.layout());
        }
    }
}
