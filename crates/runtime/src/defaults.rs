//! Configs the runtime can produce: the template `spec` writes (runc's shape), and
//! Docker's secure default for the engine: 14 capabilities, Docker's seccomp profile,
//! masked and read-only /proc and /sys paths, the usual /dev, /proc, /sys mounts.

use oci_spec::runtime::Spec;
use serde_json::{json, Value};

/// Docker's default capability set (one list, owned by the seccomp profile that depends
/// on it).
pub use berth_seccomp::DOCKER_DEFAULT_CAPABILITIES as DEFAULT_CAPS;

/// Paths a container may not read: kernel memory, keys, timers, hardware.
pub const MASKED_PATHS: [&str; 12] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths a container may read but not write.
pub const READONLY_PATHS: [&str; 5] = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

fn mounts(shm_size: &str) -> Value {
    json!([
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", format!("size={shm_size}")]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
    ])
}

fn caps_json(caps: &[&str]) -> Value {
    json!({"bounding": caps, "effective": caps, "permitted": caps})
}

/// The config `berth-runtime spec` writes: runc's template (runs `sh` in a terminal,
/// read-only rootfs, runc's masked paths and capabilities).
pub fn spec_template(rootless: bool) -> Value {
    let caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
    let mut v = json!({
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": true,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": caps_json(&caps),
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "berth",
        "mounts": mounts("65536k"),
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}],
            "maskedPaths": MASKED_PATHS,
            "readonlyPaths": READONLY_PATHS
        }
    });
    if rootless {
        let linux = &mut v["linux"];
        linux["namespaces"].as_array_mut().expect("array").push(json!({"type": "user"}));
        linux["uidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
        linux["gidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
        linux.as_object_mut().expect("object").remove("resources");
    }
    v
}

/// What Docker would run `args` with by default: its 14 capabilities, seccomp profile,
/// masked/read-only paths, a writable rootfs and the default devices (which the runtime
/// always creates).
pub fn docker_default(args: &[&str], extra_caps: &[&str]) -> Spec {
    let mut caps: Vec<&str> = DEFAULT_CAPS.to_vec();
    for c in extra_caps {
        if !caps.contains(c) {
            caps.push(c);
        }
    }
    let owned: Vec<String> = caps.iter().map(|s| s.to_string()).collect();
    let seccomp = serde_json::to_value(berth_seccomp::docker_default_profile_for(&owned)).expect("profile serializes");
    let v = json!({
        "ociVersion": "1.2.0",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/",
            "capabilities": caps_json(&caps),
            "noNewPrivileges": false,
            "oomScoreAdj": 0
        },
        "root": {"path": "rootfs", "readonly": false},
        "mounts": mounts("64m"),
        "linux": {
            "resources": {"devices": [
                {"allow": false, "access": "rwm"},
                {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
                {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
                {"allow": true, "type": "c", "major": 1, "minor": 7, "access": "rwm"},
                {"allow": true, "type": "c", "major": 1, "minor": 8, "access": "rwm"},
                {"allow": true, "type": "c", "major": 1, "minor": 9, "access": "rwm"},
                {"allow": true, "type": "c", "major": 5, "minor": 0, "access": "rwm"},
                {"allow": true, "type": "c", "major": 5, "minor": 1, "access": "rwm"},
                {"allow": true, "type": "c", "major": 5, "minor": 2, "access": "rwm"},
                {"allow": true, "type": "c", "major": 136, "access": "rwm"},
                {"allow": true, "type": "c", "major": 10, "minor": 200, "access": "rwm"}
            ]},
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}],
            "seccomp": seccomp,
            "maskedPaths": MASKED_PATHS,
            "readonlyPaths": READONLY_PATHS
        }
    });
    serde_json::from_value(v).expect("the default config is a valid spec")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_and_the_docker_default_are_valid_specs() {
        let _: Spec = serde_json::from_value(spec_template(false)).unwrap();
        let _: Spec = serde_json::from_value(spec_template(true)).unwrap();
        let d = docker_default(&["sh"], &[]);
        let caps = d.process().as_ref().unwrap().capabilities().as_ref().unwrap();
        assert_eq!(caps.bounding().as_ref().unwrap().len(), 14);
        assert!(d.linux().as_ref().unwrap().masked_paths().as_ref().unwrap().iter().any(|p| p == "/proc/kcore"));
    }
}
