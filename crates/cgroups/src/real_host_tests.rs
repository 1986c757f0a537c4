//! Tests against this machine's real cgroupfs (root only; they skip
//! otherwise). Each creates a cgroup beneath the test process's own cgroup,
//! puts a child process in it, sets limits, reads them back from the
//! interface files and destroys it; the fixture cleans up on failure too.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use oci_spec::runtime::{
    LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxDeviceType as T, LinuxHugepageLimitBuilder,
    LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResourcesBuilder, LinuxThrottleDeviceBuilder,
};

use crate::device_rule::tests::rule;
use crate::error::Error;
use crate::fixture::{self, RealCgroup};
use crate::interface;

/// Reads `controller`'s file, picking the v1 or v2 name by where the controller is driven.
fn read(rc: &RealCgroup, controller: &str, v1: &str, v2: &str) -> String {
    let dir = rc.cg.controller_dir(controller).unwrap();
    let v1_dir = rc.cg.v1_dirs().iter().any(|h| h.dir() == dir);
    let file = if v1_dir { v1 } else { v2 };
    interface::read(dir, file).unwrap().trim().to_owned()
}

fn is_v1(rc: &RealCgroup, controller: &str) -> bool {
    let dir = rc.cg.controller_dir(controller).unwrap();
    rc.cg.v1_dirs().iter().any(|h| h.dir() == dir)
}

#[test]
fn lifecycle_limits_stats_freeze() {
    let Some(mut rc) = fixture::real_cgroup("life") else {
        return;
    };
    let pid = rc.sleeper();
    assert!(rc.cg.pids().unwrap().contains(&pid));
    for h in rc.cg.v1_dirs() {
        assert!(
            interface::procs(h.dir()).unwrap().contains(&pid),
            "{}",
            h.dir().display()
        );
    }

    let r = LinuxResourcesBuilder::default()
        .memory(
            LinuxMemoryBuilder::default()
                .limit(64 << 20)
                .reservation(32 << 20)
                .build()
                .unwrap(),
        )
        .cpu(
            LinuxCpuBuilder::default()
                .shares(512u64)
                .quota(50_000i64)
                .period(100_000u64)
                .build()
                .unwrap(),
        )
        .pids(LinuxPidsBuilder::default().limit(50).build().unwrap())
        .build()
        .unwrap();
    rc.cg.apply(&r).unwrap();
    assert_eq!(
        read(&rc, "memory", "memory.limit_in_bytes", "memory.max"),
        (64u64 << 20).to_string()
    );
    assert_eq!(read(&rc, "pids", "pids.max", "pids.max"), "50");
    if is_v1(&rc, "cpu") {
        assert_eq!(read(&rc, "cpu", "cpu.shares", ""), "512");
        assert_eq!(read(&rc, "cpu", "cpu.cfs_quota_us", ""), "50000");
    } else {
        assert_eq!(read(&rc, "cpu", "", "cpu.max"), "50000 100000");
    }

    let s = rc.cg.stats().unwrap();
    assert!(s.pids.current >= 1, "{s:?}");
    assert_eq!(s.pids.limit, 50);
    assert_eq!(s.memory.usage.limit, 64 << 20);
    let json = serde_json::to_value(&s).unwrap();
    assert!(json["memory"]["usage"]["limit"].is_u64());

    rc.cg.freeze().unwrap();
    assert!(rc.cg.is_frozen().unwrap());
    rc.cg.thaw().unwrap();
    assert!(!rc.cg.is_frozen().unwrap());
    rc.cg.events_oom().unwrap();

    rc.kill_children();
    assert!(!rc.cg.pids().unwrap().contains(&pid));
}

#[test]
fn memory_swap_ordering_on_update() {
    let Some(mut rc) = fixture::real_cgroup("memsw") else {
        return;
    };
    rc.sleeper();
    let dir = rc.cg.controller_dir("memory").unwrap().to_owned();
    let has_swap = interface::exists(&dir, "memory.memsw.limit_in_bytes")
        || interface::exists(&dir, "memory.swap.max");
    if !has_swap {
        eprintln!("skipping: no swap accounting");
        return;
    }
    let mem = |limit: i64, swap: i64| {
        LinuxResourcesBuilder::default()
            .memory(
                LinuxMemoryBuilder::default()
                    .limit(limit)
                    .swap(swap)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    };
    for (limit, swap) in [
        (64i64 << 20, 128i64 << 20),
        (256 << 20, 512 << 20),
        (32 << 20, 48 << 20),
        (-1, -1),
    ] {
        rc.cg
            .apply(&mem(limit, swap))
            .unwrap_or_else(|e| panic!("{limit}/{swap}: {e}"));
        if is_v1(&rc, "memory") {
            let got_l: i64 = read(&rc, "memory", "memory.limit_in_bytes", "")
                .parse()
                .unwrap();
            let got_s: i64 = read(&rc, "memory", "memory.memsw.limit_in_bytes", "")
                .parse()
                .unwrap();
            if limit > 0 {
                assert_eq!((got_l, got_s), (limit, swap));
            } else {
                assert!(got_l > 1 << 60 && got_s > 1 << 60, "{got_l} {got_s}");
            }
        } else {
            let want = if limit > 0 {
                (swap - limit).to_string()
            } else {
                "max".to_owned()
            };
            assert_eq!(read(&rc, "memory", "", "memory.swap.max"), want);
        }
    }
}

#[test]
fn hugetlb_limits_land_where_the_controller_is() {
    if !Path::new("/sys/kernel/mm/hugepages/hugepages-2048kB").exists() {
        eprintln!("skipping: no 2MB huge pages");
        return;
    }
    let Some(mut rc) = fixture::real_cgroup("huge") else {
        return;
    };
    rc.sleeper();
    if rc.cg.layout() == crate::Layout::Hybrid
        && !rc.cg.v1_dirs().iter().any(|h| h.controllers() == "hugetlb")
    {
        assert_eq!(rc.cg.controller_dir("hugetlb"), rc.cg.unified_dir());
    }
    let r = LinuxResourcesBuilder::default()
        .hugepage_limits(vec![LinuxHugepageLimitBuilder::default()
            .page_size("2MB")
            .limit(4i64 << 20)
            .build()
            .unwrap()])
        .build()
        .unwrap();
    rc.cg.apply(&r).unwrap();
    assert_eq!(
        read(
            &rc,
            "hugetlb",
            "hugetlb.2MB.limit_in_bytes",
            "hugetlb.2MB.max"
        ),
        (4u64 << 20).to_string()
    );
    assert!(rc.cg.stats().unwrap().hugetlb.contains_key("2MB"));
}

#[test]
fn device_rules_deny_dev_null() {
    let Some(rc) = fixture::real_cgroup("dev") else {
        return;
    };
    let deny_null = LinuxResourcesBuilder::default()
        .devices(vec![
            rule(true, T::A, None, None, "rwm"),
            rule(false, T::C, Some(1), Some(3), "rwm"),
        ])
        .build()
        .unwrap();
    rc.cg.apply(&deny_null).unwrap();
    let script = "read _; if cat /dev/null; then echo null-ok; else echo null-denied; fi; \
                  n=$(head -c 1 /dev/zero | wc -c); [ \"$n\" = 1 ] && echo zero-ok";
    let out = fixture::run_in(script, |pid| rc.cg.add_pid(pid as i32));
    assert!(
        out.stdout.contains("null-denied") && out.stdout.contains("zero-ok"),
        "{out:?}"
    );
    assert!(out.stderr.contains("Operation not permitted"), "{out:?}");

    let allow_all = LinuxResourcesBuilder::default()
        .devices(vec![rule(true, T::A, None, None, "rwm")])
        .build()
        .unwrap();
    rc.cg.apply(&allow_all).unwrap();
    let out = fixture::run_in(script, |pid| rc.cg.add_pid(pid as i32));
    assert!(out.success && out.stdout.contains("null-ok"), "{out:?}");
}

#[test]
fn cpuset_and_rt() {
    let Some(mut rc) = fixture::real_cgroup("cpuset") else {
        return;
    };
    // v1 cpuset quirk: without inherited masks the sleeper could not join.
    rc.sleeper();
    let mut cpu = LinuxCpuBuilder::default().cpus("0").mems("0");
    let rt = is_v1(&rc, "cpu")
        && interface::exists(rc.cg.controller_dir("cpu").unwrap(), "cpu.rt_runtime_us");
    if rt {
        cpu = cpu.realtime_period(100_000u64).realtime_runtime(1_000i64);
    }
    let r = LinuxResourcesBuilder::default()
        .cpu(cpu.build().unwrap())
        .build()
        .unwrap();
    rc.cg.apply(&r).unwrap();
    assert_eq!(read(&rc, "cpuset", "cpuset.cpus", "cpuset.cpus"), "0");
    assert_eq!(read(&rc, "cpuset", "cpuset.mems", "cpuset.mems"), "0");
    if rt {
        assert_eq!(read(&rc, "cpu", "cpu.rt_period_us", ""), "100000");
        assert_eq!(read(&rc, "cpu", "cpu.rt_runtime_us", ""), "1000");
    }
}

/// The first whole-disk block device's `maj:min`.
fn some_block_device() -> Option<(i64, i64)> {
    let mut devs: Vec<_> = fs::read_dir("/sys/block")
        .ok()?
        .filter_map(|e| e.ok())
        .collect();
    devs.sort_by_key(|e| e.file_name());
    // Prefer real disks over loop devices, which may be unconfigured.
    devs.sort_by_key(|e| e.file_name().to_string_lossy().starts_with("loop"));
    let dev = fs::read_to_string(devs.first()?.path().join("dev")).ok()?;
    let (maj, min) = dev.trim().split_once(':')?;
    Some((maj.parse().ok()?, min.parse().ok()?))
}

#[test]
fn blkio_throttle_and_weight() {
    let Some((maj, min)) = some_block_device() else {
        eprintln!("skipping: no block device");
        return;
    };
    let Some(mut rc) = fixture::real_cgroup("blkio") else {
        return;
    };
    rc.sleeper();
    let t = LinuxThrottleDeviceBuilder::default()
        .major(maj)
        .minor(min)
        .rate(1u64 << 20)
        .build()
        .unwrap();
    let r = LinuxResourcesBuilder::default()
        .block_io(
            LinuxBlockIoBuilder::default()
                .throttle_read_bps_device(vec![t])
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    rc.cg.apply(&r).unwrap();
    let got = read(&rc, "blkio", "blkio.throttle.read_bps_device", "io.max");
    if is_v1(&rc, "blkio") {
        assert_eq!(got, format!("{maj}:{min} 1048576"));
    } else {
        assert!(got.contains(&format!("{maj}:{min} rbps=1048576")), "{got}");
    }

    let dir = rc.cg.controller_dir("blkio").unwrap();
    let weight_file = [
        "blkio.bfq.weight",
        "blkio.weight",
        "io.bfq.weight",
        "io.weight",
    ]
    .into_iter()
    .find(|f| interface::exists(dir, f));
    let r = LinuxResourcesBuilder::default()
        .block_io(
            LinuxBlockIoBuilder::default()
                .weight(500u16)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    match weight_file {
        Some(f) => {
            rc.cg.apply(&r).unwrap();
            let want = if f == "io.weight" {
                "default 4950"
            } else {
                "default 500"
            };
            let got = interface::read(dir, f).unwrap();
            assert!(got.trim() == want || got.trim() == &want[8..], "{f}: {got}");
        }
        None => {
            let e = rc.cg.apply(&r).unwrap_err();
            assert!(e.to_string().contains("weight not supported"), "{e}");
        }
    }
}

#[test]
fn destroy_reports_busy_hierarchies_then_succeeds() {
    let Some(mut rc) = fixture::real_cgroup("busy") else {
        return;
    };
    rc.sleeper();
    let start = Instant::now();
    let err = rc.cg.destroy().unwrap_err();
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
    let Error::Destroy(errors) = &err else {
        panic!("{err}")
    };
    let hierarchies = rc.cg.v1_dirs().len() + usize::from(rc.cg.unified_dir().is_some());
    assert_eq!(errors.len(), hierarchies, "{err}");
    assert!(
        errors.iter().all(|e| e.raw_os_error() == Some(libc::EBUSY)),
        "{err}"
    );
    assert!(err.to_string().contains("Device or resource busy"));
    // The fixture kills the child and destroys again: that must succeed.
}
