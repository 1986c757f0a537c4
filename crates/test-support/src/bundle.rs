//! Throw-away OCI bundles.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::{busybox_rootfs, leaks};

/// An OCI bundle in a temporary directory: `rootfs/` (a copy of [`busybox_rootfs`]) and
/// `config.json` ([`default_config`], edited by the builder methods). `config.json` is
/// rewritten after every edit, so the bundle on disk is always usable.
///
/// Dropping it kills processes still running from it, unmounts what is mounted below
/// it, and removes the directory.
///
/// ```no_run
/// # use berth_test_support::Bundle;
/// let bundle = Bundle::new("hello").args(&["echo", "hi"]).env("GREETING", "hi");
/// ```
pub struct Bundle {
    dir: tempfile::TempDir,
    config: Value,
}

impl Bundle {
    /// A fresh bundle; `name` only makes the directory recognisable.
    pub fn new(name: &str) -> Bundle {
        let dir = tempfile::Builder::new()
            .prefix(&format!("berth-bundle-{name}-"))
            .tempdir_in(
                std::env::var_os("BERTH_TEST_TMP")
                    .map(PathBuf::from)
                    .unwrap_or_else(std::env::temp_dir),
            )
            .expect("create bundle dir");
        // 0755: a container in a user namespace must be able to reach rootfs/.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod bundle");
        let status = Command::new("cp")
            .arg("-a")
            .arg(busybox_rootfs())
            .arg(dir.path().join("rootfs"))
            .status()
            .expect("run cp");
        assert!(
            status.success(),
            "cp -a of the busybox rootfs failed: {status}"
        );
        let bundle = Bundle {
            dir,
            config: default_config(),
        };
        bundle.save();
        bundle
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    pub fn config(&self) -> &Value {
        &self.config
    }

    /// `process.args`.
    pub fn args(self, args: &[&str]) -> Bundle {
        self.config_mut(|c| c["process"]["args"] = json!(args))
    }

    /// Sets `KEY=VALUE` in `process.env`, replacing an earlier value of `KEY`.
    pub fn env(self, key: &str, value: &str) -> Bundle {
        self.config_mut(|c| {
            let env = c["process"]["env"]
                .as_array_mut()
                .expect("process.env is an array");
            env.retain(|e| {
                e.as_str()
                    .and_then(|e| e.split_once('='))
                    .is_none_or(|(k, _)| k != key)
            });
            env.push(json!(format!("{key}={value}")));
        })
    }

    pub fn hostname(self, name: &str) -> Bundle {
        self.config_mut(|c| c["hostname"] = json!(name))
    }

    /// Appends an entry to `mounts`.
    pub fn mount(self, mount: Value) -> Bundle {
        self.config_mut(|c| {
            c["mounts"]
                .as_array_mut()
                .expect("mounts is an array")
                .push(mount)
        })
    }

    /// Any other edit of the config.
    pub fn config_mut(mut self, edit: impl FnOnce(&mut Value)) -> Bundle {
        edit(&mut self.config);
        self.save();
        self
    }

    fn save(&self) {
        let text = serde_json::to_string_pretty(&self.config).expect("serialize config");
        fs::write(self.dir.path().join("config.json"), text).expect("write config.json");
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        // A broken runtime may leave container processes or host mounts behind; don't
        // let them outlive the test, and never let remove_dir_all cross into a mount.
        leaks::kill_processes_using(self.dir.path());
        leaks::unmount_under(self.dir.path());
    }
}

/// The 14 capabilities a container gets by default (Docker's and berth's default set).
pub const DEFAULT_CAPABILITIES: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// A default config in the shape `runc spec` writes, non-interactive (`terminal: false`),
/// with the 14 default capabilities and a cgroup namespace.
pub fn default_config() -> Value {
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": { "uid": 0, "gid": 0 },
            "args": ["sh"],
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm"
            ],
            "cwd": "/",
            "capabilities": {
                "bounding": DEFAULT_CAPABILITIES,
                "effective": DEFAULT_CAPABILITIES,
                "permitted": DEFAULT_CAPABILITIES
            },
            "rlimits": [{ "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 }],
            "noNewPrivileges": true
        },
        "root": { "path": "rootfs", "readonly": true },
        "hostname": "berth",
        "mounts": [
            { "destination": "/proc", "type": "proc", "source": "proc" },
            {
                "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]
            },
            {
                "destination": "/dev/pts", "type": "devpts", "source": "devpts",
                "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]
            },
            {
                "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
                "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]
            },
            {
                "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
                "options": ["nosuid", "noexec", "nodev"]
            },
            {
                "destination": "/sys", "type": "sysfs", "source": "sysfs",
                "options": ["nosuid", "noexec", "nodev", "ro"]
            },
            {
                "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]
            }
        ],
        "linux": {
            "resources": { "devices": [{ "allow": false, "access": "rwm" }] },
            "namespaces": [
                { "type": "pid" },
                { "type": "network" },
                { "type": "ipc" },
                { "type": "uts" },
                { "type": "mount" },
                { "type": "cgroup" }
            ],
            "maskedPaths": [
                "/proc/acpi",
                "/proc/asound",
                "/proc/kcore",
                "/proc/keys",
                "/proc/latency_stats",
                "/proc/timer_list",
                "/proc/timer_stats",
                "/proc/sched_debug",
                "/sys/firmware",
                "/proc/scsi"
            ],
            "readonlyPaths": [
                "/proc/bus",
                "/proc/fs",
                "/proc/irq",
                "/proc/sys",
                "/proc/sysrq-trigger"
            ]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount<'a>(c: &'a Value, dest: &str) -> &'a Value {
        c["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["destination"] == dest)
            .unwrap()
    }

    #[test]
    fn default_config_has_the_runc_spec_shape() {
        let c = default_config();
        assert_eq!(c["ociVersion"], "1.0.2");
        assert_eq!(c["process"]["terminal"], false);
        assert_eq!(c["process"]["args"], json!(["sh"]));
        assert_eq!(c["process"]["cwd"], "/");
        assert_eq!(c["process"]["noNewPrivileges"], true);
        assert_eq!(
            c["process"]["rlimits"],
            json!([{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}])
        );
        for set in ["bounding", "effective", "permitted"] {
            assert_eq!(
                c["process"]["capabilities"][set].as_array().unwrap().len(),
                14,
                "{set}"
            );
        }
        assert!(c["process"]["capabilities"].get("ambient").is_none());
        assert_eq!(c["root"], json!({"path": "rootfs", "readonly": true}));

        let dests: Vec<_> = c["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["destination"].as_str().unwrap())
            .collect();
        assert_eq!(
            dests,
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/dev/shm",
                "/dev/mqueue",
                "/sys",
                "/sys/fs/cgroup"
            ]
        );
        assert_eq!(
            mount(&c, "/dev")["options"],
            json!(["nosuid", "strictatime", "mode=755", "size=65536k"])
        );
        assert_eq!(mount(&c, "/sys/fs/cgroup")["type"], "cgroup");

        let ns: Vec<_> = c["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap())
            .collect();
        assert_eq!(ns, ["pid", "network", "ipc", "uts", "mount", "cgroup"]);
        assert!(c["linux"]["maskedPaths"]
            .as_array()
            .unwrap()
            .contains(&json!("/proc/kcore")));
        assert!(c["linux"]["readonlyPaths"]
            .as_array()
            .unwrap()
            .contains(&json!("/proc/sys")));
    }

    #[test]
    fn bundle_writes_its_config_and_a_rootfs_copy() {
        let bundle = Bundle::new("unit")
            .args(&["echo", "hi"])
            .env("TERM", "dumb")
            .env("A", "1")
            .hostname("h1");
        let on_disk: Value =
            serde_json::from_slice(&fs::read(bundle.path().join("config.json")).unwrap()).unwrap();
        assert_eq!(&on_disk, bundle.config());
        assert_eq!(on_disk["process"]["args"], json!(["echo", "hi"]));
        let env = on_disk["process"]["env"].as_array().unwrap();
        assert_eq!(
            env.iter()
                .filter(|e| e.as_str().unwrap().starts_with("TERM="))
                .count(),
            1
        );
        assert!(env.contains(&json!("TERM=dumb")) && env.contains(&json!("A=1")));
        assert_eq!(on_disk["hostname"], "h1");
        assert!(bundle.rootfs().join("bin/busybox").is_file());
        assert_ne!(bundle.rootfs(), busybox_rootfs());
    }

    #[test]
    fn bundle_config_mut_and_mount_edit_the_config() {
        let bundle = Bundle::new("unit")
            .mount(json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}))
            .config_mut(|c| c["root"]["readonly"] = json!(false));
        assert_eq!(bundle.config()["root"]["readonly"], false);
        assert_eq!(mount(bundle.config(), "/tmp")["type"], "tmpfs");
    }

    #[test]
    fn dropping_a_bundle_removes_its_directory() {
        let bundle = Bundle::new("unit");
        let dir = bundle.path().to_owned();
        assert!(dir.join("config.json").exists());
        drop(bundle);
        assert!(!dir.exists());
    }
}
