//! [`Cgroup`]: one container's cgroup, as a directory in every hierarchy of
//! the host, and the operations on it.
//!
//! Controllers are looked up per resource: a controller bound to a v1
//! hierarchy is driven through v1 files; otherwise, if the host has a
//! cgroup2 mount (unified or hybrid), through the v2 files there. That is
//! what makes hybrid hosts work, where e.g. hugetlb is only on the cgroup2
//! mount while memory is on v1.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use oci_spec::runtime::{LinuxBlockIo, LinuxResources};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::interface;
use crate::layout::{Host, Layout};
use crate::path::CgroupsPath;
use crate::stats::{OomEvents, Stats};
use crate::{pids, rdma, teardown, v1, v2};

/// The container's directory in one hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HierarchyDir {
    /// v1: the hierarchy's controllers, comma-joined ("cpu,cpuacct",
    /// "name=systemd"). Empty for the cgroup2 hierarchy.
    controllers: String,
    /// Where the hierarchy is mounted on the host.
    mount_point: PathBuf,
    /// The container's cgroup directory in it.
    dir: PathBuf,
}

impl HierarchyDir {
    pub fn controllers(&self) -> &str {
        &self.controllers
    }

    pub fn mount_point(&self) -> &Path {
        &self.mount_point
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn has(&self, controller: &str) -> bool {
        self.controllers.split(',').any(|c| c == controller)
    }
}

/// Where one container's cgroup lives in every hierarchy of this host.
/// Serializable: the runtime stores it in its state and reloads it for
/// kill/pause/ps/delete, so later calls need no re-detection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cgroup {
    layout: Layout,
    v1: Vec<HierarchyDir>,
    unified: Option<HierarchyDir>,
}

/// What a `cgroup`-type mount inside the container should show for one
/// hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerMount {
    /// Directory name under the container's /sys/fs/cgroup: "memory",
    /// "cpu,cpuacct", "systemd" for name=systemd, "unified" for the cgroup2
    /// mount on a hybrid host, and "" on a unified host (cgroup2 is mounted
    /// at /sys/fs/cgroup itself).
    pub subdir: String,
    /// This container's cgroup directory on the host (bind-mount source).
    pub host_dir: PathBuf,
    /// Filesystem type for mounting a fresh instance: "cgroup" or "cgroup2".
    pub fs_type: String,
    /// Mount data for a fresh instance: "memory", "cpu,cpuacct",
    /// "none,name=systemd"; empty for cgroup2.
    pub options: String,
    /// Symlinks hosts conventionally add next to a co-mounted hierarchy
    /// ("cpu" and "cpuacct" → "cpu,cpuacct").
    pub aliases: Vec<String>,
}

/// Which interface a resource is applied through.
enum Target<'a> {
    V1(&'a Path),
    V2(&'a Path),
}

/// A pid for `cgroup.procs`: 0 would move the caller itself, negative
/// values are no pids.
fn positive_pid(pid: i32) -> Result<String> {
    if pid <= 0 {
        return Err(Error::InvalidValue {
            what: "pid",
            value: pid.to_string(),
            reason: "must be positive".to_owned(),
        });
    }
    Ok(pid.to_string())
}

fn blkio_requested(b: &LinuxBlockIo) -> bool {
    b.weight().is_some()
        || b.leaf_weight().is_some()
        || b.weight_device().as_ref().is_some_and(|v| !v.is_empty())
        || b.throttle_read_bps_device()
            .as_ref()
            .is_some_and(|v| !v.is_empty())
        || b.throttle_write_bps_device()
            .as_ref()
            .is_some_and(|v| !v.is_empty())
        || b.throttle_read_iops_device()
            .as_ref()
            .is_some_and(|v| !v.is_empty())
        || b.throttle_write_iops_device()
            .as_ref()
            .is_some_and(|v| !v.is_empty())
}

impl Cgroup {
    /// Resolves where the container's cgroup is (no side effects).
    ///
    /// `cgroups_path` is OCI `linux.cgroupsPath`:
    /// - absolute (`/foo/bar`): relative to each hierarchy's mount root;
    /// - relative (`foo/bar`): beneath the caller's own cgroup in each hierarchy;
    /// - `None`: beneath the caller's own cgroup, named `id`;
    /// - systemd form `slice:prefix:name` (when `systemd` is set, or the value
    ///   has exactly two colons): the cgroupfs path systemd would use,
    ///   `/<slice, expanded as systemd nests it>/<prefix>-<name>.scope`; no
    ///   unit is registered. With `systemd` and no path:
    ///   `system.slice:berth:<id>`.
    pub fn resolve(cgroups_path: Option<&str>, id: &str, systemd: bool) -> Result<Cgroup> {
        Cgroup::resolve_in(&Host::load()?, cgroups_path, id, systemd)
    }

    /// [`Cgroup::resolve`] against a given host description.
    pub fn resolve_in(
        host: &Host,
        cgroups_path: Option<&str>,
        id: &str,
        systemd: bool,
    ) -> Result<Cgroup> {
        let p = CgroupsPath::parse(cgroups_path, id, systemd)?;
        let v1 = host
            .v1()
            .iter()
            .map(|h| HierarchyDir {
                controllers: h.controllers_string(),
                mount_point: h.mount_point.clone(),
                dir: p.dir_in(&h.mount_point, &h.mount_root, h.own.as_deref()),
            })
            .collect();
        let unified = host.unified().map(|u| HierarchyDir {
            controllers: String::new(),
            mount_point: u.mount_point.clone(),
            dir: p.dir_in(&u.mount_point, &u.mount_root, u.own.as_deref()),
        });
        Ok(Cgroup {
            layout: host.layout(),
            v1,
            unified,
        })
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The container's directories in the v1 hierarchies (empty on unified hosts).
    pub fn v1_dirs(&self) -> &[HierarchyDir] {
        &self.v1
    }

    /// The container's cgroup2 directory (unified and hybrid hosts).
    pub fn unified_dir(&self) -> Option<&Path> {
        self.unified.as_ref().map(|u| u.dir.as_path())
    }

    /// The directory through which `controller` (v1 name, e.g. "memory",
    /// "blkio") is driven for this container.
    pub fn controller_dir(&self, controller: &str) -> Option<&Path> {
        match self.target(controller)? {
            Target::V1(d) | Target::V2(d) => Some(d),
        }
    }

    fn all(&self) -> impl Iterator<Item = &HierarchyDir> {
        self.v1.iter().chain(self.unified.iter())
    }

    /// Whether the container's directory exists in any hierarchy.
    pub fn exists(&self) -> bool {
        self.all().any(|h| h.dir.is_dir())
    }

    fn target(&self, v1_controller: &str) -> Option<Target<'_>> {
        if let Some(h) = self.v1.iter().find(|h| h.has(v1_controller)) {
            return Some(Target::V1(&h.dir));
        }
        self.unified.as_ref().map(|u| Target::V2(&u.dir))
    }

    fn need(&self, resource: &'static str, controller: &'static str) -> Result<Target<'_>> {
        self.target(controller).ok_or(Error::ControllerMissing {
            resource,
            controller,
        })
    }

    /// `mkdir -p` in every hierarchy. v1 cpuset directories get their
    /// parent's masks (empty cpusets refuse tasks); on cgroup2 the
    /// ancestors delegate their available controllers downwards.
    pub fn create(&self) -> Result<()> {
        self.create_v2()?;
        self.create_v1()
    }

    /// The cgroup2 half of [`Cgroup::create`] (no-op without a cgroup2 mount).
    pub fn create_v2(&self) -> Result<()> {
        if let Some(u) = &self.unified {
            v2::create(&u.mount_point, &u.dir)?;
        }
        Ok(())
    }

    /// The v1 half of [`Cgroup::create`] (no-op on a unified host): a runtime may
    /// make these while its first child is already on its way, born in the cgroup2
    /// directory, and move the child in later (see [`Cgroup::enter_v1_self`]).
    pub fn create_v1(&self) -> Result<()> {
        for h in &self.v1 {
            v1::create(&h.mount_point, &h.dir, h.has("cpuset"))?;
        }
        Ok(())
    }

    /// Moves process `pid` (and all its threads) into the cgroup in every
    /// hierarchy; also how an exec'd process joins a running container.
    pub fn add_pid(&self, pid: i32) -> Result<()> {
        let pid = positive_pid(pid)?;
        for h in self.all() {
            interface::write(&h.dir, "cgroup.procs", &pid)?;
        }
        Ok(())
    }

    /// Moves the calling thread into the cgroup in every v1 hierarchy, by
    /// writing `0` to each `tasks` file; the caller must be single-threaded
    /// (a freshly forked child), so that its whole process moves.
    ///
    /// Why not `cgroup.procs`: moving a whole thread group, or any task by
    /// pid, write-locks the kernel's global `cgroup_threadgroup_rwsem`, and
    /// taking that percpu rwsem for writing after a quiet moment waits for
    /// an RCU grace period (5-14 ms on the test VM, most of a container's
    /// start). A thread moving itself through `tasks` cannot exit or exec
    /// under the kernel's feet, so the kernel skips that lock (6.0+; older
    /// kernels take it anyway, so this is never slower): measured here,
    /// 0.02 ms instead of 5-6 ms. cgroup2 has no such path for domain
    /// cgroups; see [`Cgroup::add_pid_v2`].
    pub fn enter_v1_self(&self) -> Result<()> {
        for h in &self.v1 {
            interface::write(&h.dir, "tasks", "0")?;
        }
        Ok(())
    }

    /// Moves process `pid` into the cgroup2 hierarchy only (hybrid and
    /// unified hosts): the other half of [`Cgroup::enter_v1_self`]. No-op
    /// without a cgroup2 mount.
    pub fn add_pid_v2(&self, pid: i32) -> Result<()> {
        let pid = positive_pid(pid)?;
        if let Some(u) = &self.unified {
            interface::write(&u.dir, "cgroup.procs", &pid)?;
        }
        Ok(())
    }

    /// Applies every resource in `r` (initial setup and `update`).
    /// Absent fields are left alone. An empty device list leaves device
    /// access untouched; a non-empty one is applied in order (on v2 with
    /// an implicit final "deny everything else").
    pub fn apply(&self, r: &LinuxResources) -> Result<()> {
        if let Some(rules) = r.devices().as_ref().filter(|d| !d.is_empty()) {
            match self.need("devices", "devices")? {
                Target::V1(d) => v1::devices::apply(d, rules)?,
                Target::V2(d) => v2::devices_bpf::apply(d, rules)?,
            }
        }
        if let Some(m) = r.memory() {
            match self.need("memory", "memory")? {
                Target::V1(d) => v1::memory::apply(d, m)?,
                Target::V2(d) => v2::memory::apply(d, m)?,
            }
        }
        if let Some(c) = r.cpu() {
            if v1::cpu::requested(c) {
                match self.need("cpu", "cpu")? {
                    Target::V1(d) => v1::cpu::apply(d, c)?,
                    Target::V2(d) => v2::cpu::apply(d, c)?,
                }
            }
            let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
            if set(c.cpus()) || set(c.mems()) {
                match self.need("cpuset", "cpuset")? {
                    Target::V1(d) => v1::cpuset::apply(d, c)?,
                    Target::V2(d) => v2::cpuset::apply(d, c)?,
                }
            }
        }
        if let Some(p) = r.pids() {
            match self.need("pids", "pids")? {
                Target::V1(d) | Target::V2(d) => pids::apply(d, p)?,
            }
        }
        if let Some(b) = r.block_io().as_ref().filter(|b| blkio_requested(b)) {
            match self.need("blockIO", "blkio")? {
                Target::V1(d) => v1::blkio::apply(d, b)?,
                Target::V2(d) => v2::io::apply(d, b)?,
            }
        }
        if let Some(limits) = r.hugepage_limits().as_ref().filter(|l| !l.is_empty()) {
            match self.need("hugepageLimits", "hugetlb")? {
                Target::V1(d) => v1::hugetlb::apply(d, limits)?,
                Target::V2(d) => v2::hugetlb::apply(d, limits)?,
            }
        }
        if let Some(n) = r.network() {
            // net_cls/net_prio exist only on v1; when not mounted the
            // request is skipped, as runc does.
            if let Some(h) = self.v1.iter().find(|h| h.has("net_cls")) {
                v1::net::apply_class_id(&h.dir, n)?;
            }
            if let Some(h) = self.v1.iter().find(|h| h.has("net_prio")) {
                v1::net::apply_priorities(&h.dir, n)?;
            }
        }
        if let Some(map) = r.rdma().as_ref().filter(|m| !m.is_empty()) {
            // Like net_*: rdma is skipped on hosts that do not offer it.
            match self.target("rdma") {
                Some(Target::V1(d)) => rdma::apply(d, map)?,
                Some(Target::V2(d)) if v2_has_controller(d, "rdma") => rdma::apply(d, map)?,
                _ => {}
            }
        }
        if let Some(map) = r.unified().as_ref().filter(|m| !m.is_empty()) {
            match &self.unified {
                Some(u) => v2::apply_unified(&u.dir, map)?,
                None => {
                    return Err(Error::Unsupported {
                        what: "unified resources".to_owned(),
                        reason: "this host has no cgroup2 hierarchy".to_owned(),
                    })
                }
            }
        }
        Ok(())
    }

    /// Freezes every process; returns once the kernel reports the group frozen.
    pub fn freeze(&self) -> Result<()> {
        match self.need("freezing", "freezer")? {
            Target::V1(d) => v1::freezer::freeze(d),
            Target::V2(d) => v2::freeze::freeze(d),
        }
    }

    /// Thaws the group; returns once the kernel reports it thawed.
    pub fn thaw(&self) -> Result<()> {
        match self.need("thawing", "freezer")? {
            Target::V1(d) => v1::freezer::thaw(d),
            Target::V2(d) => v2::freeze::thaw(d),
        }
    }

    /// Whether the group is (completely) frozen.
    pub fn is_frozen(&self) -> Result<bool> {
        match self.need("freezer state", "freezer")? {
            Target::V1(d) => v1::freezer::is_frozen(d),
            Target::V2(d) => v2::freeze::is_frozen(d),
        }
    }

    /// Every process in the cgroup and its descendants, in any hierarchy,
    /// sorted and deduplicated.
    pub fn pids(&self) -> Result<Vec<i32>> {
        let mut out = BTreeSet::new();
        for h in self.all() {
            collect_procs(&h.dir, &mut out)?;
        }
        Ok(out.into_iter().collect())
    }

    /// Usage statistics in the shape of runc's `events --stats`.
    pub fn stats(&self) -> Result<Stats> {
        let mut s = Stats::default();
        match self.target("cpuacct") {
            Some(Target::V1(d)) => s.cpu.usage = v1::cpuacct::usage(d)?,
            Some(Target::V2(d)) => (s.cpu.usage, s.cpu.throttling) = v2::cpu::stats(d)?,
            None => {}
        }
        if let Some(Target::V1(d)) = self.target("cpu") {
            s.cpu.throttling = v1::cpu::throttling(d)?;
        }
        match self.target("memory") {
            Some(Target::V1(d)) => s.memory = v1::memory::stats(d)?,
            Some(Target::V2(d)) => s.memory = v2::memory::stats(d)?,
            None => {}
        }
        if let Some(Target::V1(d) | Target::V2(d)) = self.target("pids") {
            s.pids = pids::stats(d)?;
        }
        match self.target("blkio") {
            Some(Target::V1(d)) => s.blkio = v1::blkio::stats(d)?,
            Some(Target::V2(d)) => s.blkio = v2::io::stats(d)?,
            None => {}
        }
        match self.target("hugetlb") {
            Some(Target::V1(d)) => s.hugetlb = v1::hugetlb::stats(d)?,
            Some(Target::V2(d)) => s.hugetlb = v2::hugetlb::stats(d)?,
            None => {}
        }
        Ok(s)
    }

    /// OOM counters of the memory controller (for `events`).
    pub fn events_oom(&self) -> Result<OomEvents> {
        match self.need("OOM events", "memory")? {
            Target::V1(d) => v1::memory::oom_events(d),
            Target::V2(d) => v2::memory::oom_events(d),
        }
    }

    /// Removes the cgroup if it is already empty everywhere: one rmdir per
    /// hierarchy, the whole teardown of a container whose processes are
    /// gone. Returns whether nothing is left; if not, [`Cgroup::destroy`]
    /// (after killing what is left) does the rest.
    pub fn remove_empty(&self) -> bool {
        self.all()
            .map(|h| match std::fs::remove_dir(&h.dir) {
                Ok(()) => true,
                Err(e) => e.kind() == std::io::ErrorKind::NotFound,
            })
            .fold(true, |all, gone| all && gone)
    }

    /// Removes the cgroup (and any cgroups below it) in every hierarchy,
    /// leaf first. EBUSY is retried for up to about a second in total; every
    /// hierarchy is attempted and every failure reported. Missing
    /// directories are fine, so destroy is idempotent.
    pub fn destroy(&self) -> Result<()> {
        let deadline = Instant::now() + teardown::EBUSY_BUDGET;
        let mut errors = Vec::new();
        for h in self.all() {
            teardown::remove_tree(&h.dir, deadline, &mut errors);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Destroy(errors))
        }
    }

    /// What a `cgroup` mount inside the container should show, one entry
    /// per hierarchy (v1 ones first, then cgroup2).
    pub fn container_mounts(&self) -> Vec<ContainerMount> {
        let mut out = Vec::new();
        for h in &self.v1 {
            let real: Vec<&str> = h
                .controllers
                .split(',')
                .filter(|c| !c.starts_with("name="))
                .collect();
            let names: Vec<&str> = h
                .controllers
                .split(',')
                .filter_map(|c| c.strip_prefix("name="))
                .collect();
            let subdir = if real.is_empty() {
                names.join(",")
            } else {
                real.join(",")
            };
            let options = if real.is_empty() {
                format!("none,{}", h.controllers)
            } else {
                h.controllers.clone()
            };
            let aliases = if real.len() > 1 {
                real.iter().map(|c| (*c).to_owned()).collect()
            } else {
                Vec::new()
            };
            out.push(ContainerMount {
                subdir,
                host_dir: h.dir.clone(),
                fs_type: "cgroup".to_owned(),
                options,
                aliases,
            });
        }
        if let Some(u) = &self.unified {
            out.push(ContainerMount {
                subdir: if self.layout == Layout::Unified {
                    String::new()
                } else {
                    "unified".to_owned()
                },
                host_dir: u.dir.clone(),
                fs_type: "cgroup2".to_owned(),
                options: String::new(),
                aliases: Vec::new(),
            });
        }
        out
    }
}

fn v2_has_controller(dir: &Path, controller: &str) -> bool {
    interface::read_optional(dir, "cgroup.controllers")
        .ok()
        .flatten()
        .is_some_and(|c| c.split_whitespace().any(|c| c == controller))
}

/// Pids of `dir` and below; cgroups vanishing mid-walk are skipped.
fn collect_procs(dir: &Path, out: &mut BTreeSet<i32>) -> Result<()> {
    let gone = |e: &Error| {
        e.raw_os_error() == Some(libc::ENOENT) || e.raw_os_error() == Some(libc::ENODEV)
    };
    match interface::procs(dir) {
        Ok(p) => out.extend(p),
        Err(e) if gone(&e) => return Ok(()),
        Err(e) => return Err(e),
    }
    match interface::children(dir) {
        Ok(kids) => {
            for k in kids {
                collect_procs(&k, out)?;
            }
            Ok(())
        }
        Err(e) if gone(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::tests::{HYBRID_MOUNTINFO, HYBRID_SELF_CGROUP};
    use oci_spec::runtime::{
        LinuxCpuBuilder, LinuxHugepageLimitBuilder, LinuxMemoryBuilder, LinuxNetworkBuilder,
        LinuxResourcesBuilder,
    };
    use std::collections::HashMap;
    use std::fs;

    fn hybrid() -> Host {
        Host::parse(HYBRID_MOUNTINFO, HYBRID_SELF_CGROUP, None).unwrap()
    }

    #[test]
    fn resolves_everywhere() {
        let c = Cgroup::resolve_in(&hybrid(), None, "ctr", false).unwrap();
        assert_eq!(c.layout(), Layout::Hybrid);
        let mem = c
            .v1_dirs()
            .iter()
            .find(|h| h.controllers() == "memory")
            .unwrap();
        assert_eq!(
            mem.dir(),
            Path::new("/sys/fs/cgroup/memory/process_api/a74b/ctr")
        );
        let cpu = c
            .v1_dirs()
            .iter()
            .find(|h| h.controllers() == "cpu")
            .unwrap();
        assert_eq!(cpu.dir(), Path::new("/sys/fs/cgroup/cpu/ctr"));
        assert_eq!(
            c.unified_dir(),
            Some(Path::new("/sys/fs/cgroup/unified/ctr"))
        );
        assert_eq!(
            c.controller_dir("hugetlb"),
            Some(Path::new("/sys/fs/cgroup/unified/ctr"))
        );
        assert_eq!(
            c.controller_dir("blkio"),
            Some(Path::new("/sys/fs/cgroup/blkio/ctr"))
        );

        let abs = Cgroup::resolve_in(&hybrid(), Some("/a/b"), "ctr", false).unwrap();
        assert_eq!(
            abs.controller_dir("memory"),
            Some(Path::new("/sys/fs/cgroup/memory/a/b"))
        );
        let sd = Cgroup::resolve_in(&hybrid(), Some("system.slice:berth:x"), "ctr", false).unwrap();
        assert_eq!(
            sd.controller_dir("pids"),
            Some(Path::new("/sys/fs/cgroup/pids/system.slice/berth-x.scope"))
        );
    }

    #[test]
    fn serde_round_trip() {
        let c = Cgroup::resolve_in(&hybrid(), None, "ctr", false).unwrap();
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains("\"hybrid\""));
        let back: Cgroup = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn container_mounts_for_hybrid() {
        let c = Cgroup::resolve_in(&hybrid(), None, "ctr", false).unwrap();
        let m = c.container_mounts();
        assert_eq!(m.len(), 10);
        let sd = m.iter().find(|m| m.subdir == "systemd").unwrap();
        assert_eq!(sd.options, "none,name=systemd");
        assert_eq!(sd.host_dir, Path::new("/sys/fs/cgroup/systemd/ctr"));
        let mem = m.iter().find(|m| m.subdir == "memory").unwrap();
        assert_eq!(
            (mem.options.as_str(), mem.fs_type.as_str()),
            ("memory", "cgroup")
        );
        let u = m.last().unwrap();
        assert_eq!(
            (u.subdir.as_str(), u.fs_type.as_str()),
            ("unified", "cgroup2")
        );
    }

    #[test]
    fn container_mounts_for_comounted_v1() {
        let mi = "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n";
        let host = Host::parse(mi, "2:cpu,cpuacct:/\n", None).unwrap();
        let c = Cgroup::resolve_in(&host, None, "ctr", false).unwrap();
        let m = &c.container_mounts()[0];
        assert_eq!(m.subdir, "cpu,cpuacct");
        assert_eq!(m.options, "cpu,cpuacct");
        assert_eq!(m.aliases, ["cpu", "cpuacct"]);
    }

    /// A fake hybrid host whose hierarchies are directories in a tempdir.
    struct FakeHost {
        _root: tempfile::TempDir,
        cgroup: Cgroup,
    }

    fn fake_hybrid() -> FakeHost {
        let root = tempfile::tempdir().unwrap();
        let r = root.path().display().to_string();
        let mut mi = String::new();
        for (i, c) in [
            "memory", "cpu", "cpuset", "pids", "devices", "freezer", "blkio",
        ]
        .iter()
        .enumerate()
        {
            fs::create_dir_all(root.path().join(c)).unwrap();
            mi.push_str(&format!(
                "{} 1 0:{i} / {r}/{c} rw - cgroup cgroup rw,{c}\n",
                30 + i
            ));
        }
        fs::create_dir_all(root.path().join("unified")).unwrap();
        mi.push_str(&format!(
            "50 1 0:50 / {r}/unified rw - cgroup2 cgroup2 rw\n"
        ));
        let host = Host::parse(&mi, "0::/\n", None).unwrap();
        let cgroup = Cgroup::resolve_in(&host, Some("/berth/ctr"), "ctr", false).unwrap();
        FakeHost {
            _root: root,
            cgroup,
        }
    }

    #[test]
    fn fake_lifecycle_routes_resources() {
        let f = fake_hybrid();
        let c = &f.cgroup;
        c.create().unwrap();
        assert!(c.exists());
        let d = |ctrl: &str| c.controller_dir(ctrl).unwrap().to_owned();
        // Fake interface files cgroupfs would provide.
        for (ctrl, files) in [
            (
                "memory",
                &[
                    "memory.limit_in_bytes",
                    "memory.memsw.limit_in_bytes",
                    "cgroup.procs",
                ][..],
            ),
            ("cpu", &["cpu.shares", "cgroup.procs"][..]),
            ("hugetlb", &["hugetlb.2MB.max", "cgroup.procs"][..]),
        ] {
            for file in files {
                fs::write(d(ctrl).join(file), "0").unwrap();
            }
        }
        fs::write(
            d("memory").join("memory.limit_in_bytes"),
            "9223372036854771712",
        )
        .unwrap();
        let r = LinuxResourcesBuilder::default()
            .memory(
                LinuxMemoryBuilder::default()
                    .limit(1 << 20)
                    .swap(2 << 20)
                    .build()
                    .unwrap(),
            )
            .cpu(LinuxCpuBuilder::default().shares(256u64).build().unwrap())
            .hugepage_limits(vec![LinuxHugepageLimitBuilder::default()
                .page_size("2MB")
                .limit(2 << 20)
                .build()
                .unwrap()])
            // Not mounted: skipped without error.
            .network(
                LinuxNetworkBuilder::default()
                    .class_id(7u32)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        c.apply(&r).unwrap();
        let read = |p: PathBuf| fs::read_to_string(p).unwrap();
        assert_eq!(read(d("memory").join("memory.limit_in_bytes")), "1048576");
        assert_eq!(read(d("cpu").join("cpu.shares")), "256");
        // Hybrid: hugetlb goes to the cgroup2 directory.
        assert_eq!(read(d("hugetlb").join("hugetlb.2MB.max")), "2097152");
        assert!(d("hugetlb").starts_with(f._root.path().join("unified")));

        let mut unified = HashMap::new();
        unified.insert("hugetlb.2MB.max".to_owned(), "4194304".to_owned());
        c.apply(
            &LinuxResourcesBuilder::default()
                .unified(unified)
                .build()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(read(d("hugetlb").join("hugetlb.2MB.max")), "4194304");

        // Only memory, cpu and unified have a fake cgroup.procs.
        assert!(c.add_pid(0).is_err());
        assert!(c.add_pid(42).is_err());
        fs::write(d("memory").join("cgroup.procs"), "42\n7\n").unwrap();
        fs::write(d("cpu").join("cgroup.procs"), "42\n").unwrap();
        fs::write(d("hugetlb").join("cgroup.procs"), "").unwrap();
        fs::create_dir(d("cpu").join("sub")).unwrap();
        fs::write(d("cpu").join("sub/cgroup.procs"), "99\n").unwrap();
        assert_eq!(c.pids().unwrap(), vec![7, 42, 99]);

        // Regular files make rmdir fail: every hierarchy is still attempted.
        let err = c.destroy().unwrap_err();
        let Error::Destroy(errors) = &err else {
            panic!("{err}")
        };
        assert!(errors.len() >= 3, "{err}");
        for ctrl in ["pids", "devices", "freezer", "blkio", "cpuset"] {
            assert!(!d(ctrl).exists(), "{ctrl} left behind");
        }
    }

    #[test]
    fn unified_map_needs_cgroup2() {
        let mi = "30 25 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        let host = Host::parse(mi, "", None).unwrap();
        let c = Cgroup::resolve_in(&host, None, "ctr", false).unwrap();
        let mut unified = HashMap::new();
        unified.insert("memory.high".to_owned(), "1".to_owned());
        let e = c
            .apply(
                &LinuxResourcesBuilder::default()
                    .unified(unified)
                    .build()
                    .unwrap(),
            )
            .unwrap_err();
        assert!(matches!(e, Error::Unsupported { .. }), "{e}");
        let e = c
            .apply(
                &LinuxResourcesBuilder::default()
                    .pids(
                        oci_spec::runtime::LinuxPidsBuilder::default()
                            .limit(1)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::ControllerMissing {
                    controller: "pids",
                    ..
                }
            ),
            "{e}"
        );
        assert!(c.freeze().is_err());
    }
}
