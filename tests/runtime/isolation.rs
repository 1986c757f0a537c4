//! What a process inside a default container sees: namespaces, root, mounts, masks.

use berth_test_support::{unique_id, Bundle, Runtime};
use serde_json::json;

#[test]
fn container_sees_the_configured_hostname() {
    let rt = Runtime::new();
    let bundle = Bundle::new("hostname")
        .hostname("berth-e2e-host")
        .args(&["hostname"]);
    let out = rt.run(&bundle, &unique_id("hostname")).ok();
    assert_eq!(out.stdout, "berth-e2e-host\n");
}

#[test]
fn container_process_is_pid_1_and_sees_only_its_own_processes() {
    let rt = Runtime::new();
    let bundle = Bundle::new("pidns").args(&["sh", "-c", "echo $$; cat /proc/1/comm; ls /proc"]);
    let out = rt.run(&bundle, &unique_id("pidns")).ok();
    let mut lines = out.stdout.lines();
    assert_eq!(lines.next(), Some("1"), "{out}");
    assert_eq!(lines.next(), Some("sh"), "{out}");
    let pids: Vec<u32> = lines.filter_map(|l| l.parse().ok()).collect();
    // sh, ls and perhaps a short-lived helper: nothing of the host's processes
    assert!(
        pids.contains(&1) && pids.len() <= 3,
        "container sees pids {pids:?}"
    );
}

#[test]
fn container_has_only_a_loopback_network_interface() {
    let rt = Runtime::new();
    let bundle = Bundle::new("netns").args(&["ls", "/sys/class/net"]);
    let out = rt.run(&bundle, &unique_id("netns")).ok();
    assert_eq!(out.stdout, "lo\n");
}

#[test]
fn read_only_root_rejects_writes() {
    let rt = Runtime::new();
    let bundle = Bundle::new("ro-root").args(&["touch", "/new-file"]);
    let out = rt.run(&bundle, &unique_id("ro-root"));
    assert_ne!(out.code(), Some(0), "{out}");
    assert!(out.stderr.contains("Read-only file system"), "{out}");
    assert!(!bundle.rootfs().join("new-file").exists());
}

#[test]
fn tmpfs_mount_is_writable_on_a_read_only_root() {
    let rt = Runtime::new();
    let bundle = Bundle::new("tmpfs")
        .mount(json!({
            "destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
            "options": ["nosuid", "nodev", "mode=1777", "size=1m"]
        }))
        .args(&[
            "sh",
            "-c",
            "echo hi > /tmp/f && cat /tmp/f && grep ' /tmp ' /proc/mounts",
        ]);
    let out = rt.run(&bundle, &unique_id("tmpfs")).ok();
    let mut lines = out.stdout.lines();
    assert_eq!(lines.next(), Some("hi"));
    let mount = lines.next().unwrap_or_default();
    assert!(
        mount.starts_with("tmpfs /tmp tmpfs rw,nosuid,nodev"),
        "{out}"
    );
    assert!(mount.contains("size=1024k"), "{out}");
    assert!(
        !bundle.rootfs().join("tmp/f").exists(),
        "write went to the rootfs"
    );
}

#[test]
fn masked_proc_files_read_as_empty() {
    // /proc/kcore is masked too, but this kernel may not have it: check what exists.
    let masked: Vec<&str> = ["/proc/kcore", "/proc/keys", "/proc/timer_list"]
        .into_iter()
        .filter(|p| std::path::Path::new(p).exists())
        .collect();
    assert!(
        !masked.is_empty(),
        "no masked /proc file exists on this host to test with"
    );
    let script = masked
        .iter()
        .map(|p| format!("echo {p} $(wc -c < {p});"))
        .collect::<String>();
    let rt = Runtime::new();
    let bundle = Bundle::new("masked").args(&["sh", "-c", &script]);
    let out = rt.run(&bundle, &unique_id("masked")).ok();
    let expected: String = masked.iter().map(|p| format!("{p} 0\n")).collect();
    assert_eq!(out.stdout, expected, "{out}");
}

#[test]
fn masked_directories_are_empty_and_read_only_paths_reject_writes() {
    let rt = Runtime::new();
    let bundle = Bundle::new("ro-paths").args(&[
        "sh",
        "-c",
        // kernel.hostname is per UTS namespace: harmless even if the mask were missing
        "ls -A /sys/firmware | wc -l; echo x > /proc/sys/kernel/hostname && echo WROTE",
    ]);
    let out = rt.run(&bundle, &unique_id("ro-paths"));
    assert_eq!(out.stdout, "0\n", "{out}");
    assert!(out.stderr.contains("Read-only file system"), "{out}");
}

#[test]
fn personality_cpu_affinity_and_scheduler_apply_to_the_process() {
    let rt = Runtime::new();
    let bundle = Bundle::new("sched")
        .config_mut(|c| {
            c["linux"]["personality"] = json!({"domain": "LINUX32"});
            c["process"]["execCPUAffinity"] = json!({"final": "0"});
            c["process"]["scheduler"] = json!({"policy": "SCHED_BATCH", "nice": 7});
        })
        .args(&["sh", "-c", "uname -m; grep Cpus_allowed_list /proc/self/status; cut -d' ' -f19,41 /proc/self/stat"]);
    let out = rt.run(&bundle, &unique_id("sched")).ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(matches!(lines.first(), Some(&("i686" | "i386" | "armv7l" | "armv8l"))), "{out}");
    assert_eq!(lines.get(1).map(|l| l.split_whitespace().last()), Some(Some("0")), "{out}");
    // /proc/PID/stat field 19 is the nice value, 41 the policy (3 = SCHED_BATCH).
    assert_eq!(lines.get(2), Some(&"7 3"), "{out}");
}
