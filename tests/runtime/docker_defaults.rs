//! Docker's secure defaults (`berth_runtime::defaults::docker_default`), proven from
//! inside a container: each protection denies what it exists to deny, and each denial
//! goes away once the config allows the action, so the denial really comes from that
//! protection.

use std::path::Path;

use berth_runtime::defaults::docker_default;
use berth_test_support::{unique_id, Bundle, Output, Runtime};
use serde_json::{json, Value};

/// Runs `sh -c SCRIPT` in Docker's default config (with `extra_caps` added the way
/// `docker run --cap-add` does it), after `edit` has changed the config.
fn run_docker_default(
    name: &str,
    script: &str,
    extra_caps: &[&str],
    edit: impl FnOnce(&mut Value),
) -> Output {
    let spec = docker_default(&["sh", "-c", script], extra_caps);
    let bundle = Bundle::new(name).config_mut(|c| {
        *c = serde_json::to_value(&spec).expect("the spec serializes");
        edit(c);
    });
    Runtime::new().run(&bundle, &unique_id(name))
}

fn unchanged(_: &mut Value) {}

fn status_field(status: &str, key: &str) -> Option<String> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|v| v.trim().to_owned())
}

// ---- mount(2): needs CAP_SYS_ADMIN, and Docker's seccomp profile only allows it then

#[test]
fn docker_default_denies_mounting_a_tmpfs() {
    let out = run_docker_default(
        "dd-mount",
        "mount -t tmpfs none /mnt && echo MOUNTED; grep -c ' /mnt ' /proc/mounts",
        &[],
        unchanged,
    );
    assert_eq!(out.stdout, "0\n", "{out}");
    assert!(out.stderr.contains("mount: permission denied"), "{out}");
}

#[test]
fn docker_default_with_cap_sys_admin_can_mount_a_tmpfs() {
    let out = run_docker_default(
        "dd-mount-admin",
        "mount -t tmpfs none /mnt && echo MOUNTED; grep ' /mnt ' /proc/mounts",
        &["CAP_SYS_ADMIN"],
        unchanged,
    )
    .ok();
    let mut lines = out.stdout.lines();
    assert_eq!(lines.next(), Some("MOUNTED"), "{out}");
    assert!(
        lines
            .next()
            .unwrap_or_default()
            .starts_with("none /mnt tmpfs rw"),
        "{out}"
    );
}

// ---- unshare(CLONE_NEWUSER): Docker's profile denies unshare without CAP_SYS_ADMIN

#[test]
fn docker_default_denies_creating_a_user_namespace() {
    let out = run_docker_default(
        "dd-unshare",
        "unshare -U true && echo UNSHARED",
        &[],
        unchanged,
    );
    assert!(!out.stdout.contains("UNSHARED"), "{out}");
    assert!(
        out.stderr
            .contains("unshare(0x10000000): Operation not permitted"),
        "{out}"
    );
}

#[test]
fn without_seccomp_and_with_cap_sys_admin_a_user_namespace_can_be_created() {
    let out = run_docker_default(
        "dd-unshare-allowed",
        "unshare -U true && echo UNSHARED",
        &["CAP_SYS_ADMIN"],
        |c| {
            c["linux"]
                .as_object_mut()
                .expect("linux is an object")
                .remove("seccomp");
        },
    )
    .ok();
    assert_eq!(out.stdout, "UNSHARED\n", "{out}");
}

// ---- keyctl: /proc/keys is masked and the process runs under a seccomp filter.
//
// busybox has no keyctl applet and no way to issue an arbitrary syscall, so the denial
// of keyctl/add_key/request_key by the filter itself is proven by berth-seccomp's own
// tests (crates/seccomp/src/docker_default.rs loads the Docker profile in a child and
// checks that keyctl returns EPERM). Here we prove what only the runtime can get wrong:
// the profile in the config denies keyctl, the filter is really installed in the
// container's process, and the key list is hidden.

#[test]
fn docker_default_hides_proc_keys_and_runs_the_process_under_a_seccomp_filter() {
    let spec = serde_json::to_value(docker_default(&["true"], &[])).unwrap();
    let seccomp = &spec["linux"]["seccomp"];
    assert_eq!(seccomp["defaultAction"], "SCMP_ACT_ERRNO", "{seccomp}");
    for rule in seccomp["syscalls"].as_array().expect("syscall rules") {
        if rule["action"] == "SCMP_ACT_ALLOW" {
            for name in ["keyctl", "add_key", "request_key"] {
                assert!(
                    !rule["names"].as_array().unwrap().contains(&json!(name)),
                    "the default profile allows {name}: {rule}"
                );
            }
        }
    }

    let out = run_docker_default(
        "dd-keys",
        "wc -c < /proc/keys; cat /proc/self/status",
        &[],
        unchanged,
    )
    .ok();
    let (keys, status) = out.stdout.split_once('\n').unwrap_or_default();
    assert_eq!(keys.trim(), "0", "/proc/keys is not empty:\n{out}");
    // 2 = SECCOMP_MODE_FILTER
    assert_eq!(
        status_field(status, "Seccomp:").as_deref(),
        Some("2"),
        "{out}"
    );
    assert_ne!(
        status_field(status, "Seccomp_filters:").as_deref(),
        Some("0"),
        "{out}"
    );
}

// ---- kernel modules

#[test]
fn docker_default_denies_loading_a_kernel_module_with_eperm() {
    // The file exists, so the failure is the syscall and not a missing module. Its
    // content is no module, so even a wrongly allowed syscall could load nothing.
    // (This kernel answers ENOSYS, "kernel does not support requested operation", to
    // init_module itself: EPERM can only come from the seccomp filter.)
    let out = run_docker_default(
        "dd-insmod",
        "echo 'not a module' > /tmp/dummy.ko && insmod /tmp/dummy.ko && echo LOADED",
        &[],
        unchanged,
    );
    assert!(!out.stdout.contains("LOADED"), "{out}");
    assert!(
        out.stderr
            .contains("can't insert '/tmp/dummy.ko': Operation not permitted"),
        "{out}"
    );
}

// ---- masked paths: bind mounts of /dev/null (files) or empty read-only tmpfs (dirs)

/// Masked files of Docker's default list that this kernel has and that have content.
/// (Not every kernel has /proc/kcore or /proc/sched_debug: this one has neither.)
fn readable_masked_files() -> Vec<&'static str> {
    let files: Vec<&str> = berth_runtime::defaults::MASKED_PATHS
        .into_iter()
        .filter(|p| p.starts_with("/proc/"))
        .filter(|p| {
            Path::new(p).is_file()
                && std::fs::File::open(p)
                    .and_then(|mut f| std::io::Read::read(&mut f, &mut [0u8; 1]))
                    .is_ok_and(|n| n == 1)
        })
        .collect();
    assert!(
        !files.is_empty(),
        "no masked /proc file on this host has content to test with"
    );
    files
}

/// Prints `PATH BYTES MAJOR:MINOR` for each of `files`, and `/proc/kcore SIZE` (its
/// size in stat, which needs no CAP_SYS_RAWIO unlike reading it) if the host has it.
fn probe_masked_files_script(files: &[&str]) -> String {
    let mut script: String = files
        .iter()
        .map(|p| format!("echo {p} $(head -c 100 {p} | wc -c) $(stat -c %t:%T {p});"))
        .collect();
    if Path::new("/proc/kcore").exists() {
        script.push_str(
            "echo /proc/kcore $(head -c1 /proc/kcore | wc -c) $(stat -c %s /proc/kcore);",
        );
    }
    script
}

#[test]
fn docker_default_masks_kernel_files_with_dev_null() {
    let files = readable_masked_files();
    let out = run_docker_default(
        "dd-masked",
        &probe_masked_files_script(&files),
        &[],
        unchanged,
    )
    .ok();
    let mut expected: String = files.iter().map(|p| format!("{p} 0 1:3\n")).collect();
    if Path::new("/proc/kcore").exists() {
        expected.push_str("/proc/kcore 0 0\n");
    }
    assert_eq!(out.stdout, expected, "{out}");
}

#[test]
fn without_masked_paths_kernel_files_are_readable() {
    let files = readable_masked_files();
    let out = run_docker_default(
        "dd-unmasked",
        &probe_masked_files_script(&files),
        &[],
        |c| c["linux"]["maskedPaths"] = json!([]),
    )
    .ok();
    let mut lines = out.stdout.lines();
    for p in &files {
        let line = lines.next().unwrap_or_default();
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields.first(), Some(p), "{out}");
        assert_ne!(fields.get(1), Some(&"0"), "{p} reads as empty:\n{out}");
        assert_ne!(
            fields.get(2),
            Some(&"1:3"),
            "{p} is still /dev/null:\n{out}"
        );
    }
    if Path::new("/proc/kcore").exists() {
        let line = lines.next().unwrap_or_default();
        let size = line.rsplit(' ').next().unwrap_or_default();
        assert!(size.parse::<u64>().is_ok_and(|s| s > 0), "{out}");
    }
}

// ---- read-only paths
//
// Never write a command to /proc/sysrq-trigger here: the file has no capability check,
// so if the read-only mount were missing, `echo b` would reboot the machine running
// the tests. `: >` opens it for writing (which is what a read-only mount refuses) and
// writes nothing. This kernel has no /proc/sysrq-trigger (CONFIG_MAGIC_SYSRQ is off), so
// /proc/sys, read-only in the same way, carries the test here: kernel.hostname is per
// UTS namespace, so writing it when it is writable changes only the container's name.

fn probe_read_only_paths_script() -> String {
    let mut script = String::new();
    if Path::new("/proc/sysrq-trigger").exists() {
        script.push_str(": > /proc/sysrq-trigger && echo SYSRQ-WRITABLE;");
    }
    script.push_str("echo changed > /proc/sys/kernel/hostname && echo SYS-WRITABLE; hostname");
    script
}

#[test]
fn docker_default_makes_proc_sys_and_sysrq_trigger_read_only() {
    let out = run_docker_default(
        "dd-readonly",
        &probe_read_only_paths_script(),
        &[],
        unchanged,
    )
    .ok();
    assert!(!out.stdout.contains("WRITABLE"), "{out}");
    assert!(!out.stdout.contains("changed"), "{out}");
    let refusals = out.stderr.matches("Read-only file system").count();
    let expected = 1 + usize::from(Path::new("/proc/sysrq-trigger").exists());
    assert_eq!(refusals, expected, "{out}");
}

#[test]
fn without_readonly_paths_proc_sys_and_sysrq_trigger_are_writable() {
    let out = run_docker_default("dd-writable", &probe_read_only_paths_script(), &[], |c| {
        c["linux"]["readonlyPaths"] = json!([])
    })
    .ok();
    let mut expected = String::new();
    if Path::new("/proc/sysrq-trigger").exists() {
        expected.push_str("SYSRQ-WRITABLE\n");
    }
    expected.push_str("SYS-WRITABLE\nchanged\n");
    assert_eq!(out.stdout, expected, "{out}");
}

// ---- pid namespace

#[test]
fn docker_default_shows_only_the_containers_own_processes() {
    let out = run_docker_default(
        "dd-pidns",
        "echo $$; cat /proc/1/comm; ls /proc",
        &[],
        unchanged,
    )
    .ok();
    let mut lines = out.stdout.lines();
    assert_eq!(lines.next(), Some("1"), "{out}");
    assert_eq!(lines.next(), Some("sh"), "{out}");
    let pids: Vec<u32> = lines.filter_map(|l| l.parse().ok()).collect();
    // sh and ls (and at most one short-lived helper): none of the host's processes
    assert!(
        pids.contains(&1) && pids.len() <= 3,
        "container sees pids {pids:?}"
    );
}

#[test]
fn without_a_pid_namespace_the_hosts_init_is_visible() {
    let host_init = std::fs::read_to_string("/proc/1/comm").unwrap();
    let out = run_docker_default("dd-hostpid", "echo $$; cat /proc/1/comm", &[], |c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .expect("namespaces is an array")
            .retain(|ns| ns["type"] != "pid");
    })
    .ok();
    let mut lines = out.stdout.lines();
    assert_ne!(lines.next(), Some("1"), "sh is pid 1:\n{out}");
    assert_eq!(lines.next(), Some(host_init.trim_end()), "{out}");
}
