//! Cgroup limits from `linux.resources`, as the container and the host see them, and
//! `update` of a running container.
//!
//! Inside the container the limits are read from its own cgroup mount: on this hybrid
//! host (cgroup v1 controllers, cgroup2 at /sys/fs/cgroup/unified) that is the v1 file,
//! on a pure cgroup v2 host the v2 one; the scripts pick by `test -d /sys/fs/cgroup/X`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use berth_test_support::{leaks, unique_id, Bundle, Runtime};
use serde_json::{json, Value};

use crate::{host_pid, WAIT};

const MIB: u64 = 1024 * 1024;

/// `cat` of the v1 file if the v1 controller `controller` is mounted, else of the v2 one.
fn read_limit_script(controller: &str, v1_file: &str, v2_file: &str) -> String {
    format!(
        "if test -d /sys/fs/cgroup/{controller}; then cat /sys/fs/cgroup/{controller}/{v1_file}; \
         else cat /sys/fs/cgroup/{v2_file}; fi"
    )
}

fn memory_limit_script() -> String {
    read_limit_script("memory", "memory.limit_in_bytes", "memory.max")
}

fn with_resources(name: &str, resources: Value) -> Bundle {
    Bundle::new(name).config_mut(|c| {
        let r = c["linux"]["resources"]
            .as_object_mut()
            .expect("resources is an object");
        for (k, v) in resources.as_object().expect("resources is an object") {
            r.insert(k.clone(), v.clone());
        }
    })
}

#[test]
fn memory_limit_is_visible_inside_the_container() {
    let bundle = with_resources("cg-memory", json!({"memory": {"limit": 64 * MIB}})).args(&[
        "sh",
        "-c",
        &memory_limit_script(),
    ]);
    let out = Runtime::new().run(&bundle, &unique_id("cg-memory")).ok();
    assert_eq!(out.stdout, format!("{}\n", 64 * MIB), "{out}");
}

#[test]
fn pids_limit_is_visible_inside_the_container() {
    let bundle = with_resources("cg-pids", json!({"pids": {"limit": 42}})).args(&[
        "sh",
        "-c",
        &read_limit_script("pids", "pids.max", "pids.max"),
    ]);
    let out = Runtime::new().run(&bundle, &unique_id("cg-pids")).ok();
    assert_eq!(out.stdout, "42\n", "{out}");
}

#[test]
fn cpu_quota_is_visible_inside_the_container() {
    let script = "if test -d /sys/fs/cgroup/cpu; then \
                    echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us); \
                  else cat /sys/fs/cgroup/cpu.max; fi";
    let bundle = with_resources("cg-cpu", json!({"cpu": {"quota": 25000, "period": 100000}}))
        .args(&["sh", "-c", script]);
    let out = Runtime::new().run(&bundle, &unique_id("cg-cpu")).ok();
    assert_eq!(out.stdout, "25000 100000\n", "{out}");
}

/// One hierarchy a process belongs to, as the host sees it.
#[derive(Debug)]
struct HostCgroup {
    /// Controllers of a v1 hierarchy (`["memory"]`, `["name=systemd"]`); empty for v2.
    controllers: Vec<String>,
    /// The process's cgroup directory on the host.
    dir: PathBuf,
}

/// Where each of `pid`'s cgroups is on the host: `/proc/PID/cgroup` joined onto the
/// mount points of the hierarchies in our mountinfo.
fn host_cgroups(pid: i32) -> Vec<HostCgroup> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    // (fstype, super options, mount point) of every cgroup mount
    let mounts: Vec<(&str, Vec<&str>, &str)> = mountinfo
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let point = left.split(' ').nth(4)?;
            let mut right = right.split(' ');
            let fstype = right.next()?;
            let opts = right.nth(1)?.split(',').collect();
            matches!(fstype, "cgroup" | "cgroup2").then_some((fstype, opts, point))
        })
        .collect();
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    cgroup
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let (_, list, path) = (parts.next()?, parts.next()?, parts.next()?);
            let controllers: Vec<String> = list
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect();
            let point = mounts.iter().find_map(|(fstype, opts, point)| {
                let fits = if controllers.is_empty() {
                    *fstype == "cgroup2"
                } else {
                    *fstype == "cgroup" && controllers.iter().all(|c| opts.contains(&c.as_str()))
                };
                fits.then_some(*point)
            })?;
            Some(HostCgroup {
                controllers,
                dir: Path::new(point).join(path.trim_start_matches('/')),
            })
        })
        .collect()
}

#[test]
fn hugetlb_limit_is_set_on_the_containers_cgroup() {
    if !Path::new("/sys/kernel/mm/hugepages/hugepages-2048kB").is_dir() {
        eprintln!("skipped: this kernel has no 2 MB huge pages");
        return;
    }
    let limit = 4 * 2 * MIB;
    let rt = Runtime::new();
    let bundle = with_resources(
        "cg-hugetlb",
        json!({"hugepageLimits": [{"pageSize": "2MB", "limit": limit}]}),
    )
    .args(&["sleep", "300"]);
    let id = unique_id("cg-hugetlb");
    rt.create(&bundle, &id).ok();
    let pid = host_pid(&rt.state(&id));

    let cgroups = host_cgroups(pid);
    // On this hybrid host hugetlb belongs to the cgroup2 hierarchy (hugetlb.2MB.max);
    // where it is a v1 hierarchy, the file is hugetlb.2MB.limit_in_bytes.
    let file = match cgroups
        .iter()
        .find(|c| c.controllers.iter().any(|c| c == "hugetlb"))
    {
        Some(v1) => v1.dir.join("hugetlb.2MB.limit_in_bytes"),
        None => {
            let v2 = cgroups
                .iter()
                .find(|c| c.controllers.is_empty())
                .unwrap_or_else(|| panic!("container is in no hugetlb cgroup: {cgroups:?}"));
            v2.dir.join("hugetlb.2MB.max")
        }
    };
    let value = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("read {}: {e} (cgroups: {cgroups:?})", file.display()));
    assert_eq!(value.trim(), limit.to_string(), "{}", file.display());
    rt.delete_force(&id).ok();
}

#[test]
fn update_memory_changes_the_limit_of_a_running_container() {
    let rt = Runtime::new();
    let bundle =
        with_resources("cg-update", json!({"memory": {"limit": 64 * MIB}})).args(&["sleep", "300"]);
    let id = unique_id("cg-update");
    rt.create_and_start(&bundle, &id);
    let script = memory_limit_script();

    let before = rt.exec(&id, &["sh", "-c", &script]).ok();
    assert_eq!(before.stdout, format!("{}\n", 64 * MIB), "{before}");

    let new_limit = (128 * MIB).to_string();
    rt.output(&["update", "--memory", &new_limit, &id]).ok();
    let after = rt.exec(&id, &["sh", "-c", &script]).ok();
    assert_eq!(after.stdout, format!("{new_limit}\n"), "{after}");
    assert_eq!(rt.status(&id).as_deref(), Some("running"));

    rt.delete_force(&id).ok();
}

#[test]
fn delete_removes_the_containers_cgroup_dirs_in_every_hierarchy() {
    let rt = Runtime::new();
    let bundle = with_resources(
        "cg-delete",
        json!({"memory": {"limit": 64 * MIB}, "pids": {"limit": 42}, "cpu": {"shares": 512}}),
    )
    .args(&["sleep", "300"]);
    let id = unique_id("cg-delete");
    let needles = [id.as_str(), bundle.path().to_str().unwrap()];
    let snapshot = leaks::Snapshot::take(&needles);
    rt.create_and_start(&bundle, &id);

    // the container's own cgroups: every hierarchy where it is not where we are
    let ours = host_cgroups(std::process::id() as i32);
    let theirs = host_cgroups(host_pid(&rt.state(&id)));
    let own: Vec<PathBuf> = theirs
        .iter()
        .filter(|c| !ours.iter().any(|o| o.dir == c.dir))
        .map(|c| c.dir.clone())
        .collect();
    for controller in ["memory", "pids", "cpu"] {
        let limited = theirs
            .iter()
            .find(|c| c.controllers.iter().any(|c| c == controller))
            .or_else(|| theirs.iter().find(|c| c.controllers.is_empty()))
            .unwrap_or_else(|| panic!("no {controller} hierarchy: {theirs:?}"));
        assert!(
            own.contains(&limited.dir),
            "the container has no {controller} cgroup of its own: {theirs:?}"
        );
    }
    for dir in &own {
        assert!(dir.is_dir(), "{} does not exist", dir.display());
    }

    rt.kill(&id, "KILL").ok();
    assert!(rt.wait_for_status(&id, "stopped", WAIT));
    rt.delete(&id).ok();
    let deadline = Instant::now() + WAIT;
    while own.iter().any(|d| d.exists()) && Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let left: Vec<_> = own.iter().filter(|d| d.exists()).collect();
    assert!(left.is_empty(), "cgroup dirs left after delete: {left:?}");
    leaks::assert_nothing_left(&snapshot, &needles, WAIT);
}

/// Stage 1 is born in the cgroup2 directory (clone3) and moves itself into the v1 ones
/// (`tasks`), then forks the init there; pids.max is only written once stage 1 is gone.
/// So a pids limit of 1 still creates, and the init (and an exec'd process) end up in the
/// container's cgroup in every hierarchy, cgroup2 included.
#[test]
fn init_and_exec_join_every_hierarchy_even_with_a_pids_limit_of_1() {
    let rt = Runtime::new();
    let bundle = with_resources("cg-join", json!({"pids": {"limit": 1}})).args(&["sleep", "300"]);
    let id = unique_id("cg-join");
    rt.create_and_start(&bundle, &id);
    let ours = host_cgroups(std::process::id() as i32);
    let theirs = host_cgroups(host_pid(&rt.state(&id)));
    assert_eq!(theirs.len(), ours.len(), "{theirs:?}");
    for c in &theirs {
        assert!(
            c.dir.ends_with(&id) && !ours.iter().any(|o| o.dir == c.dir),
            "the init is not in the container's cgroup here: {c:?} (all: {theirs:?})"
        );
    }
    // The limit holds: the init's one process is all the cgroup may have.
    let busy = rt.exec(&id, &["true"]);
    assert!(!busy.success(), "exec past pids.max=1 worked: {busy}");

    // With room, an exec'd process joins the same cgroups.
    let pids_dir = theirs
        .iter()
        .find(|c| c.controllers.iter().any(|c| c == "pids"))
        .or_else(|| theirs.iter().find(|c| c.controllers.is_empty()))
        .expect("a pids hierarchy")
        .dir
        .clone();
    std::fs::write(pids_dir.join("pids.max"), "10").unwrap();
    let out = rt.exec(&id, &["cat", "/proc/self/cgroup"]).ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), theirs.len(), "{out}");
    let init_view = rt.exec(&id, &["cat", "/proc/1/cgroup"]).ok();
    assert_eq!(out.stdout, init_view.stdout, "the exec'd process is elsewhere than the init");

    rt.delete_force(&id).ok();
}
