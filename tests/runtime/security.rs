//! Capabilities, user namespaces and seccomp.

use berth_test_support::{unique_id, Bundle, Runtime};
use serde_json::{json, Value};

use crate::host_pid;

fn status_line(status: &str, key: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

#[test]
fn container_has_exactly_the_14_default_capabilities() {
    let rt = Runtime::new();
    let bundle = Bundle::new("caps").args(&["cat", "/proc/self/status"]);
    let out = rt.run(&bundle, &unique_id("caps")).ok();
    // CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE
    // NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP
    for key in ["CapPrm:", "CapEff:", "CapBnd:"] {
        assert_eq!(status_line(&out.stdout, key), "00000000a80425fb", "{key}");
    }
    assert_eq!(status_line(&out.stdout, "CapInh:"), "0000000000000000");
    assert_eq!(status_line(&out.stdout, "CapAmb:"), "0000000000000000");
    assert_eq!(status_line(&out.stdout, "NoNewPrivs:"), "1");
}

#[test]
fn user_namespace_maps_container_root_to_host_uid_100000() {
    let rt = Runtime::new();
    let bundle = Bundle::new("userns")
        .config_mut(|c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "user"}));
            let map = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
            c["linux"]["uidMappings"] = map.clone();
            c["linux"]["gidMappings"] = map;
        })
        .args(&["sleep", "300"]);
    let id = unique_id("userns");
    rt.create_and_start(&bundle, &id);

    let out = rt.exec(&id, &["id"]).ok();
    assert!(out.stdout.starts_with("uid=0(root) gid=0(root)"), "{out}");
    let pid = host_pid(&rt.state(&id));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert_eq!(
        status_line(&status, "Uid:"),
        "100000\t100000\t100000\t100000"
    );
    assert_eq!(
        status_line(&status, "Gid:"),
        "100000\t100000\t100000\t100000"
    );
    let uid_map = std::fs::read_to_string(format!("/proc/{pid}/uid_map")).unwrap();
    assert_eq!(
        uid_map.split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"]
    );

    rt.delete_force(&id).ok();
}

/// Every syscall busybox and a runtime's last steps before exec need, and not
/// mount, umount2, unshare or setns.
#[rustfmt::skip]
const ALLOWED_SYSCALLS: &[&str] = &[
    // process
    "execve", "execveat", "exit", "exit_group", "clone", "clone3", "fork", "vfork", "wait4",
    "waitid", "kill", "tgkill", "tkill", "getpid", "getppid", "gettid", "getpgid", "setpgid",
    "getpgrp", "setsid", "getsid", "set_tid_address", "set_robust_list", "get_robust_list", "rseq",
    "prctl", "arch_prctl", "capget", "capset", "personality", "sched_yield", "sched_getaffinity",
    "nanosleep", "clock_nanosleep", "pause", "restart_syscall", "futex", "getrlimit", "setrlimit",
    "prlimit64", "getrusage", "times", "uname", "sysinfo", "getrandom",
    // credentials
    "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups", "setuid",
    "setgid", "setresuid", "setresgid", "setgroups", "setreuid", "setregid", "setfsuid",
    "setfsgid",
    // signals and time
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
    "sigaltstack", "alarm", "setitimer", "getitimer", "clock_gettime", "clock_getres",
    "gettimeofday", "time",
    // memory
    "brk", "mmap", "munmap", "mprotect", "mremap", "madvise",
    // files
    "read", "write", "readv", "writev", "pread64", "pwrite64", "open", "openat", "openat2",
    "close", "close_range", "creat", "lseek", "dup", "dup2", "dup3", "pipe", "pipe2", "fcntl",
    "ioctl", "flock", "fsync", "fdatasync", "ftruncate", "truncate", "stat", "fstat", "lstat",
    "newfstatat", "statx", "statfs", "fstatfs", "access", "faccessat", "faccessat2", "readlink",
    "readlinkat", "getdents", "getdents64", "getcwd", "chdir", "fchdir", "mkdir", "mkdirat",
    "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2", "link", "linkat", "symlink",
    "symlinkat", "chmod", "fchmod", "fchmodat", "chown", "fchown", "fchownat", "lchown", "umask",
    "utimensat", "sendfile", "copy_file_range", "select", "pselect6", "poll", "ppoll",
    "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "eventfd2", "getxattr", "lgetxattr",
    "fgetxattr",
    // sockets (busybox applets probe for them)
    "socket", "connect", "sendto", "recvfrom", "sendmsg", "recvmsg", "bind", "getsockname",
    "setsockopt", "getsockopt",
];

fn seccomp_bundle(name: &str, seccomp: Option<Value>) -> Bundle {
    Bundle::new(name)
        .config_mut(|c| {
            // CAP_SYS_ADMIN: without seccomp, mount and unshare would succeed
            for set in ["bounding", "effective", "permitted"] {
                c["process"]["capabilities"][set].as_array_mut().unwrap().push(json!("CAP_SYS_ADMIN"));
            }
            if let Some(seccomp) = seccomp {
                c["linux"]["seccomp"] = seccomp;
            }
        })
        .args(&["sh", "-c", "echo started; unshare -m true && echo UNSHARED; mount -t tmpfs t /mnt && echo MOUNTED; true"])
}

#[test]
fn seccomp_default_deny_profile_blocks_mount_and_unshare() {
    let profile = json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ALLOWED_SYSCALLS, "action": "SCMP_ACT_ALLOW"}]
    });
    let rt = Runtime::new();
    let out = rt
        .run(
            &seccomp_bundle("seccomp", Some(profile)),
            &unique_id("seccomp"),
        )
        .ok();
    assert_eq!(out.stdout, "started\n", "{out}");
    assert!(
        out.stderr
            .contains("unshare(0x20000): Operation not permitted"),
        "{out}"
    );
    assert!(out.stderr.contains("mount: permission denied"), "{out}");
}

#[test]
fn without_seccomp_the_same_container_can_mount_and_unshare() {
    // the control for the test above: the denial comes from the profile, not from caps
    let rt = Runtime::new();
    let out = rt
        .run(
            &seccomp_bundle("no-seccomp", None),
            &unique_id("no-seccomp"),
        )
        .ok();
    assert_eq!(out.stdout, "started\nUNSHARED\nMOUNTED\n", "{out}");
}
