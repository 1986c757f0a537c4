//! Docker's default seccomp profile, written out here as data.
//!
//! Like Docker's, it is an allow-list: the default action is `SCMP_ACT_ERRNO` with `EPERM`,
//! and the syscalls an ordinary program needs are allowed. What it leaves out follows Docker's
//! documentation of its default profile ("significant syscalls blocked by the default
//! profile"): syscalls that reach kernel state no namespace isolates (clocks, keyrings,
//! modules, swap, reboot, accounting, NUMA policy), that mount or change namespaces, that are
//! obsolete or unused and so only attack surface (`uselib`, `vm86`, `_sysctl`, ...), and
//! `io_uring_*`, which Docker dropped because io_uring runs operations that seccomp never sees.
//!
//! Three syscalls are allowed only with certain arguments, as Docker does:
//! * `personality` for the personas programs query or need (Linux, 32-bit Linux, `UNAME26`,
//!   and the `0xffffffff` query), not for e.g. `READ_IMPLIES_EXEC` or `ADDR_NO_RANDOMIZE`;
//! * `clone` when its flags ask for no new namespace;
//! * `clone3` fails with `ENOSYS`, as its flags live in memory seccomp cannot inspect, so that
//!   glibc falls back to `clone`.
//!
//! Some syscalls are allowed when the container holds the capability the kernel checks for
//! them anyway, as Docker does: with `CAP_SYS_ADMIN`, `mount`, `unshare`, `setns`, unrestricted
//! `clone`/`clone3` and the new mount API go through; `CAP_SYS_PTRACE` allows `kcmp`, ... See
//! [`docker_default_profile_for`].

use std::collections::BTreeSet;

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompArgBuilder,
    LinuxSeccompOperator, LinuxSyscall,
};

/// The capabilities `docker run` grants without `--cap-add`/`--cap-drop`.
pub const DOCKER_DEFAULT_CAPABILITIES: &[&str] = &[
    "CAP_AUDIT_WRITE",
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_MKNOD",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_RAW",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
];

/// Reading and writing open files, pipes and their descriptors.
const FILE_IO: &[&str] = &[
    "_llseek",
    "close",
    "close_range",
    "copy_file_range",
    "dup",
    "dup2",
    "dup3",
    "fadvise64",
    "fadvise64_64",
    "fallocate",
    "fcntl",
    "fcntl64",
    "fdatasync",
    "flock",
    "fsync",
    "ftruncate",
    "ftruncate64",
    "ioctl",
    "lseek",
    "pipe",
    "pipe2",
    "pread64",
    "preadv",
    "preadv2",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readv",
    "sendfile",
    "sendfile64",
    "splice",
    "sync",
    "sync_file_range",
    "syncfs",
    "tee",
    "truncate",
    "truncate64",
    "vmsplice",
    "write",
    "writev",
];

/// Paths: opening, metadata, directories, links, extended attributes, change notification.
const FILESYSTEM: &[&str] = &[
    "access",
    "chdir",
    "chmod",
    "chown",
    "chown32",
    "creat",
    "faccessat",
    "faccessat2",
    "fanotify_mark",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "fchown",
    "fchown32",
    "fchownat",
    "fgetxattr",
    "file_getattr",
    "file_setattr",
    "flistxattr",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstat64",
    "fstatat64",
    "fstatfs",
    "fstatfs64",
    "futimesat",
    "getcwd",
    "getdents",
    "getdents64",
    "getxattr",
    "getxattrat",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "lchown",
    "lchown32",
    "lgetxattr",
    "link",
    "linkat",
    "listxattr",
    "listxattrat",
    "llistxattr",
    "lremovexattr",
    "lsetxattr",
    "lstat",
    "lstat64",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "newfstatat",
    "open",
    "openat",
    "openat2",
    "readlink",
    "readlinkat",
    "removexattr",
    "removexattrat",
    "rename",
    "renameat",
    "renameat2",
    "rmdir",
    "setxattr",
    "setxattrat",
    "stat",
    "stat64",
    "statfs",
    "statfs64",
    "statx",
    "symlink",
    "symlinkat",
    "umask",
    "unlink",
    "unlinkat",
    "utime",
    "utimensat",
    "utimensat_time64",
    "utimes",
];

/// The process's own address space.
const MEMORY: &[&str] = &[
    "brk",
    "cachestat",
    "madvise",
    "map_shadow_stack",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mmap2",
    "mprotect",
    "mremap",
    "mseal",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "process_mrelease",
    "remap_file_pages",
];

/// Processes and threads: life cycle, scheduling, limits, futexes, self-sandboxing.
const PROCESSES: &[&str] = &[
    "capget",
    "capset",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "fork",
    "futex",
    "futex_requeue",
    "futex_time64",
    "futex_wait",
    "futex_waitv",
    "futex_wake",
    "get_robust_list",
    "getcpu",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getrlimit",
    "getrusage",
    "getsid",
    "gettid",
    "ioprio_get",
    "ioprio_set",
    "kill",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "pidfd_open",
    "pidfd_send_signal",
    "prctl",
    "prlimit64",
    "restart_syscall",
    "rseq",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_rr_get_interval_time64",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "set_robust_list",
    "set_tid_address",
    "setpgid",
    "setpriority",
    "setrlimit",
    "setsid",
    "sysinfo",
    "tgkill",
    "times",
    "tkill",
    "ugetrlimit",
    "uname",
    "vfork",
    "wait4",
    "waitid",
    "waitpid",
];

/// User and group ids, including the 16-bit-era `*32` variants of 32-bit ABIs.
const CREDENTIALS: &[&str] = &[
    "getegid",
    "getegid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getgroups",
    "getgroups32",
    "getresgid",
    "getresgid32",
    "getresuid",
    "getresuid32",
    "getuid",
    "getuid32",
    "setfsgid",
    "setfsgid32",
    "setfsuid",
    "setfsuid32",
    "setgid",
    "setgid32",
    "setgroups",
    "setgroups32",
    "setregid",
    "setregid32",
    "setresgid",
    "setresgid32",
    "setresuid",
    "setresuid32",
    "setreuid",
    "setreuid32",
    "setuid",
    "setuid32",
];

/// Signals.
const SIGNALS: &[&str] = &[
    "alarm",
    "pause",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo",
    "sigaction",
    "sigaltstack",
    "signal",
    "signalfd",
    "signalfd4",
    "sigpending",
    "sigprocmask",
    "sigreturn",
    "sigsuspend",
];

/// Reading clocks, sleeping, timers. (`adjtimex` changes a clock only with `CAP_SYS_TIME`.)
const TIME: &[&str] = &[
    "adjtimex",
    "clock_getres",
    "clock_getres_time64",
    "clock_gettime",
    "clock_gettime64",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "getitimer",
    "gettimeofday",
    "nanosleep",
    "setitimer",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_gettime64",
    "timer_settime",
    "timer_settime64",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_gettime64",
    "timerfd_settime",
    "timerfd_settime64",
];

/// Waiting on descriptors and POSIX AIO.
const EVENTS: &[&str] = &[
    "_newselect",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "eventfd",
    "eventfd2",
    "io_cancel",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_pgetevents_time64",
    "io_setup",
    "io_submit",
    "poll",
    "ppoll",
    "ppoll_time64",
    "pselect6",
    "pselect6_time64",
    "select",
];

/// Sockets, including the 32-bit x86 `socketcall` multiplexer.
const NETWORK: &[&str] = &[
    "accept",
    "accept4",
    "bind",
    "connect",
    "getpeername",
    "getsockname",
    "getsockopt",
    "listen",
    "recv",
    "recvfrom",
    "recvmmsg",
    "recvmmsg_time64",
    "recvmsg",
    "send",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "setsockopt",
    "shutdown",
    "socket",
    "socketcall",
    "socketpair",
];

/// System V and POSIX IPC, including the 32-bit `ipc` multiplexer.
const IPC: &[&str] = &[
    "ipc",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_timedsend",
    "mq_timedsend_time64",
    "mq_unlink",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "semtimedop_time64",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
];

/// Tracing one's own processes; allowed from Linux 4.8 on, where seccomp is re-checked after a
/// tracer changes a syscall (before, `ptrace` could bypass the filter).
const TRACING_SINCE_4_8: &[&str] = &["process_vm_readv", "process_vm_writev", "ptrace"];

/// Syscalls of the native architecture family only.
const ARCH_SPECIFIC: &[&str] = if cfg!(any(target_arch = "x86_64", target_arch = "x86")) {
    &[
        "arch_prctl",
        "get_thread_area",
        "modify_ldt",
        "set_thread_area",
    ]
} else if cfg!(any(target_arch = "aarch64", target_arch = "arm")) {
    &[
        "arm_fadvise64_64",
        "arm_sync_file_range",
        "breakpoint",
        "cacheflush",
        "set_tls",
        "sync_file_range2",
    ]
} else if cfg!(target_arch = "s390x") {
    &[
        "s390_pci_mmio_read",
        "s390_pci_mmio_write",
        "s390_runtime_instr",
    ]
} else if cfg!(target_arch = "riscv64") {
    &["riscv_flush_icache", "riscv_hwprobe"]
} else if cfg!(any(target_arch = "powerpc64", target_arch = "powerpc")) {
    &["sync_file_range2"]
} else {
    &[]
};

/// Syscalls allowed when the container holds the capability (with `CAP_` prefix).
const CAPABILITY_GATED: &[(&str, &[&str])] = &[
    (
        "CAP_SYS_ADMIN",
        &[
            "bpf",
            "fanotify_init",
            "fsconfig",
            "fsmount",
            "fsopen",
            "fspick",
            "lookup_dcookie",
            "mount",
            "mount_setattr",
            "move_mount",
            "name_to_handle_at",
            "open_tree",
            "open_tree_attr",
            "perf_event_open",
            "quotactl",
            "quotactl_fd",
            "setdomainname",
            "sethostname",
            "setns",
            "syslog",
            "umount",
            "umount2",
            "unshare",
        ],
    ),
    ("CAP_BPF", &["bpf"]),
    ("CAP_PERFMON", &["perf_event_open"]),
    ("CAP_SYSLOG", &["syslog"]),
    (
        "CAP_DAC_READ_SEARCH",
        &["name_to_handle_at", "open_by_handle_at"],
    ),
    ("CAP_SYS_BOOT", &["reboot"]),
    ("CAP_SYS_CHROOT", &["chroot"]),
    (
        "CAP_SYS_MODULE",
        &["delete_module", "finit_module", "init_module"],
    ),
    ("CAP_SYS_PACCT", &["acct"]),
    (
        "CAP_SYS_PTRACE",
        &[
            "kcmp",
            "pidfd_getfd",
            "process_madvise",
            "process_vm_readv",
            "process_vm_writev",
            "ptrace",
        ],
    ),
    ("CAP_SYS_RAWIO", &["ioperm", "iopl"]),
    (
        "CAP_SYS_TIME",
        &[
            "clock_adjtime",
            "clock_adjtime64",
            "clock_settime",
            "clock_settime64",
            "settimeofday",
            "stime",
        ],
    ),
    ("CAP_SYS_TTY_CONFIG", &["vhangup"]),
    (
        "CAP_SYS_NICE",
        &[
            "get_mempolicy",
            "mbind",
            "move_pages",
            "set_mempolicy",
            "set_mempolicy_home_node",
        ],
    ),
];

/// Syscalls no capability lets through (Docker's reasons: keyrings are not namespaced;
/// `kexec`, swap and `pivot_root` of the host are out of bounds; `userfaultfd` eases kernel
/// exploits; the rest is obsolete; io_uring bypasses seccomp).
const ALWAYS_BLOCKED: &[&str] = &[
    "_sysctl",
    "add_key",
    "create_module",
    "get_kernel_syms",
    "io_uring_enter",
    "io_uring_register",
    "io_uring_setup",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "nfsservctl",
    "pivot_root",
    "query_module",
    "request_key",
    "swapoff",
    "swapon",
    "sysfs",
    "uselib",
    "userfaultfd",
    "ustat",
    "vm86",
    "vm86old",
];

/// `personality` values allowed: `PER_LINUX`, `UNAME26`, `PER_LINUX32`,
/// `PER_LINUX32 | UNAME26`, and `0xffffffff` (query the current persona).
const PERSONAS: &[u64] = &[0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff];

/// `CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
/// CLONE_NEWNET`: the namespace flags `clone` may not carry without `CAP_SYS_ADMIN`.
const CLONE_NAMESPACE_FLAGS: u64 = 0x7e02_0000;

/// Which `clone` argument holds the flags: s390 swaps the first two.
const CLONE_FLAGS_ARG: usize = if cfg!(target_arch = "s390x") { 1 } else { 0 };

/// Docker's default seccomp profile as an OCI LinuxSeccomp, for a container with Docker's
/// default capabilities ([`DOCKER_DEFAULT_CAPABILITIES`]).
pub fn docker_default_profile() -> LinuxSeccomp {
    let caps: Vec<String> = DOCKER_DEFAULT_CAPABILITIES
        .iter()
        .map(|c| (*c).to_owned())
        .collect();
    docker_default_profile_for(&caps)
}

/// Docker's default profile for a container that holds `caps` (its bounding set, spelled
/// `CAP_SYS_ADMIN` or `SYS_ADMIN`, any case).
///
/// Syscalls the kernel guards by a capability are allowed when that capability is held, as in
/// Docker: `--cap-add SYS_ADMIN` lets `mount`, `umount2`, `unshare`, `setns`, the new mount API
/// and unrestricted `clone`/`clone3` through; `SYS_MODULE` the module syscalls; `SYS_BOOT`
/// `reboot`; `SYS_TIME` the clock setters; `SYS_PTRACE` `kcmp`, `pidfd_getfd`,
/// `process_madvise`; `SYS_RAWIO` `iopl`/`ioperm`; `SYSLOG` `syslog`; `BPF`/`PERFMON` `bpf`
/// and `perf_event_open`; `SYS_NICE` the NUMA policy syscalls; `SYS_PACCT` `acct`;
/// `SYS_CHROOT` `chroot`; `SYS_TTY_CONFIG` `vhangup`; `DAC_READ_SEARCH` `open_by_handle_at`.
pub fn docker_default_profile_for(caps: &[String]) -> LinuxSeccomp {
    let allowed = allowed_syscalls(caps);
    let sys_admin = holds(caps, "CAP_SYS_ADMIN");

    let mut syscalls = vec![rule(
        allowed,
        LinuxSeccompAction::ScmpActAllow,
        None,
        Vec::new(),
    )];
    for persona in PERSONAS {
        syscalls.push(rule(
            ["personality"],
            LinuxSeccompAction::ScmpActAllow,
            None,
            vec![arg(0, LinuxSeccompOperator::ScmpCmpEq, *persona, None)],
        ));
    }
    if !sys_admin {
        syscalls.push(rule(
            ["clone"],
            LinuxSeccompAction::ScmpActAllow,
            None,
            vec![arg(
                CLONE_FLAGS_ARG,
                LinuxSeccompOperator::ScmpCmpMaskedEq,
                CLONE_NAMESPACE_FLAGS,
                Some(0),
            )],
        ));
        syscalls.push(rule(
            ["clone3"],
            LinuxSeccompAction::ScmpActErrno,
            Some(libc::ENOSYS as u32),
            Vec::new(),
        ));
    }

    let mut profile = LinuxSeccomp::default();
    profile
        .set_default_action(LinuxSeccompAction::ScmpActErrno)
        .set_default_errno_ret(Some(libc::EPERM as u32))
        .set_architectures(Some(native_architectures()))
        .set_syscalls(Some(syscalls));
    profile
}

/// Names the profile for `caps` allows unconditionally.
fn allowed_syscalls(caps: &[String]) -> BTreeSet<&'static str> {
    let mut allowed: BTreeSet<&'static str> = [
        FILE_IO,
        FILESYSTEM,
        MEMORY,
        PROCESSES,
        CREDENTIALS,
        SIGNALS,
        TIME,
        EVENTS,
        NETWORK,
        IPC,
        ARCH_SPECIFIC,
    ]
    .into_iter()
    .flatten()
    .copied()
    .collect();
    if kernel_at_least(4, 8) {
        allowed.extend(TRACING_SINCE_4_8);
    }
    for (cap, names) in CAPABILITY_GATED {
        if holds(caps, cap) {
            allowed.extend(*names);
        }
    }
    if holds(caps, "CAP_SYS_ADMIN") {
        allowed.extend(["clone", "clone3"]);
    }
    allowed
}

/// The syscalls [`docker_default_profile_for`]`(caps)` denies outright, sorted: those Docker
/// documents as blocked plus the capability-gated ones `caps` does not open. Not included are
/// the argument-restricted `personality` and `clone`, `clone3` (`ENOSYS`), and syscalls the
/// profile simply does not list (obsolete or unimplemented ones, or ones newer than it).
///
/// For telling a user why a syscall fails with `EPERM` in a container.
pub fn docker_default_blocked_syscalls(caps: &[String]) -> Vec<&'static str> {
    let allowed = allowed_syscalls(caps);
    ALWAYS_BLOCKED
        .iter()
        .chain(CAPABILITY_GATED.iter().flat_map(|(_, names)| names.iter()))
        .copied()
        .filter(|name| !allowed.contains(name))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn holds(caps: &[String], cap: &str) -> bool {
    caps.iter().any(|c| {
        let c = c.to_ascii_uppercase();
        c.strip_prefix("CAP_").unwrap_or(&c) == cap.strip_prefix("CAP_").unwrap_or(cap)
    })
}

/// The native architecture with the compat ABIs its kernel runs, as Docker lists them.
fn native_architectures() -> Vec<Arch> {
    if cfg!(target_arch = "x86_64") {
        vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32]
    } else if cfg!(target_arch = "aarch64") {
        vec![Arch::ScmpArchAarch64, Arch::ScmpArchArm]
    } else if cfg!(target_arch = "s390x") {
        vec![Arch::ScmpArchS390x, Arch::ScmpArchS390]
    } else if cfg!(target_arch = "powerpc64") && cfg!(target_endian = "little") {
        vec![Arch::ScmpArchPpc64le]
    } else if cfg!(target_arch = "riscv64") {
        vec![Arch::ScmpArchRiscv64]
    } else {
        vec![Arch::ScmpArchNative]
    }
}

/// Whether the running kernel is at least `major.minor`; `false` when it cannot be told.
fn kernel_at_least(major: u32, minor: u32) -> bool {
    let Ok(release) = std::fs::read_to_string("/proc/sys/kernel/osrelease") else {
        return false;
    };
    let mut parts = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(ma), Some(mi)) => (ma, mi) >= (major, minor),
        _ => false,
    }
}

fn rule<'a>(
    names: impl IntoIterator<Item = &'a str>,
    action: LinuxSeccompAction,
    errno_ret: Option<u32>,
    args: Vec<LinuxSeccompArg>,
) -> LinuxSyscall {
    let mut syscall = LinuxSyscall::default();
    syscall
        .set_names(names.into_iter().map(str::to_owned).collect())
        .set_action(action)
        .set_errno_ret(errno_ret)
        .set_args((!args.is_empty()).then_some(args));
    syscall
}

fn arg(
    index: usize,
    op: LinuxSeccompOperator,
    value: u64,
    value_two: Option<u64>,
) -> LinuxSeccompArg {
    let builder = LinuxSeccompArgBuilder::default()
        .index(index)
        .op(op)
        .value(value);
    let builder = match value_two {
        Some(v) => builder.value_two(v),
        None => builder,
    };
    builder
        .build()
        .expect("every LinuxSeccompArg field has a default, so building cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(names: &[&str]) -> Vec<String> {
        names.iter().map(|c| (*c).to_owned()).collect()
    }

    fn unconditional(profile: &LinuxSeccomp) -> BTreeSet<String> {
        profile
            .syscalls()
            .iter()
            .flatten()
            .filter(|s| s.action() == LinuxSeccompAction::ScmpActAllow && s.args().is_none())
            .flat_map(|s| s.names().iter().cloned())
            .collect()
    }

    fn default_caps() -> Vec<String> {
        caps(DOCKER_DEFAULT_CAPABILITIES)
    }

    #[test]
    fn lists_have_no_duplicates_and_no_overlap_with_the_blocked() {
        let mut seen = BTreeSet::new();
        for name in [
            FILE_IO,
            FILESYSTEM,
            MEMORY,
            PROCESSES,
            CREDENTIALS,
            SIGNALS,
            TIME,
            EVENTS,
            NETWORK,
            IPC,
            ARCH_SPECIFIC,
            TRACING_SINCE_4_8,
            ALWAYS_BLOCKED,
        ]
        .into_iter()
        .flatten()
        {
            assert!(seen.insert(*name), "{name} is listed twice");
        }
        for (cap, names) in CAPABILITY_GATED {
            for name in *names {
                assert!(
                    !seen.contains(name) || TRACING_SINCE_4_8.contains(name),
                    "{name} gated by {cap} is also listed elsewhere"
                );
            }
        }
    }

    #[test]
    fn default_profile_shape() {
        let p = docker_default_profile();
        assert_eq!(p.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(p.default_errno_ret(), Some(libc::EPERM as u32));
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            p.architectures().as_deref(),
            Some(&[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32][..])
        );
        let allowed = unconditional(&p);
        for name in [
            "read", "getpid", "execve", "openat", "ptrace", "chroot", "socket",
        ] {
            assert!(allowed.contains(name), "{name} should be allowed");
        }
        for name in [
            "mount",
            "umount2",
            "unshare",
            "setns",
            "keyctl",
            "add_key",
            "request_key",
            "kexec_load",
            "kexec_file_load",
            "open_by_handle_at",
            "init_module",
            "finit_module",
            "delete_module",
            "bpf",
            "perf_event_open",
            "clock_settime",
            "clock_adjtime",
            "settimeofday",
            "swapon",
            "swapoff",
            "reboot",
            "userfaultfd",
            "personality",
            "acct",
            "lookup_dcookie",
            "pivot_root",
            "quotactl",
            "syslog",
            "uselib",
            "ustat",
            "sysfs",
            "_sysctl",
            "vm86",
            "vm86old",
            "nfsservctl",
            "create_module",
            "get_kernel_syms",
            "query_module",
            "iopl",
            "ioperm",
            "move_pages",
            "mbind",
            "set_mempolicy",
            "get_mempolicy",
            "name_to_handle_at",
            "fsopen",
            "fsconfig",
            "fsmount",
            "fspick",
            "move_mount",
            "open_tree",
            "mount_setattr",
            "clone",
            "clone3",
            "kcmp",
            "io_uring_setup",
        ] {
            assert!(
                !allowed.contains(name),
                "{name} should not be allowed unconditionally"
            );
        }
    }

    #[test]
    fn blocked_count_for_default_capabilities() {
        let blocked = docker_default_blocked_syscalls(&default_caps());
        assert!(blocked.contains(&"mount") && blocked.contains(&"keyctl"));
        assert!(!blocked.contains(&"chroot") && !blocked.contains(&"ptrace"));
        let with_admin = docker_default_blocked_syscalls(&caps(&["CAP_SYS_ADMIN"]));
        assert!(!with_admin.contains(&"mount") && with_admin.contains(&"keyctl"));
        // Docker documents "around 44"; this count also has the 32-bit and time64 variants,
        // the new mount API and io_uring.
        assert_eq!(blocked.len(), 68, "{blocked:?}");
    }

    #[test]
    fn personality_and_clone_are_argument_restricted() {
        let p = docker_default_profile();
        let rules: Vec<&LinuxSyscall> = p.syscalls().iter().flatten().collect();
        let personas: Vec<u64> = rules
            .iter()
            .filter(|s| s.names() == &["personality"])
            .map(|s| {
                let args = s.args().as_ref().unwrap();
                assert_eq!(args.len(), 1);
                assert_eq!(args[0].op(), LinuxSeccompOperator::ScmpCmpEq);
                assert_eq!(args[0].index(), 0);
                args[0].value()
            })
            .collect();
        assert_eq!(personas, PERSONAS);

        let clone = rules.iter().find(|s| s.names() == &["clone"]).unwrap();
        let a = clone.args().as_ref().unwrap()[0];
        assert_eq!(a.op(), LinuxSeccompOperator::ScmpCmpMaskedEq);
        assert_eq!(
            (a.index(), a.value(), a.value_two()),
            (CLONE_FLAGS_ARG, CLONE_NAMESPACE_FLAGS, Some(0))
        );
        assert_eq!(
            CLONE_NAMESPACE_FLAGS,
            (libc::CLONE_NEWNS
                | libc::CLONE_NEWCGROUP
                | libc::CLONE_NEWUTS
                | libc::CLONE_NEWIPC
                | libc::CLONE_NEWUSER
                | libc::CLONE_NEWPID
                | libc::CLONE_NEWNET) as u64
        );

        let clone3 = rules.iter().find(|s| s.names() == &["clone3"]).unwrap();
        assert_eq!(clone3.action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(clone3.errno_ret(), Some(libc::ENOSYS as u32));
    }

    #[test]
    fn capabilities_open_their_groups() {
        let mut with_admin = default_caps();
        with_admin.push("SYS_ADMIN".into());
        let p = docker_default_profile_for(&with_admin);
        let allowed = unconditional(&p);
        for name in [
            "mount", "umount2", "unshare", "setns", "clone", "clone3", "fsopen",
        ] {
            assert!(allowed.contains(name), "{name} with CAP_SYS_ADMIN");
        }
        assert!(!p
            .syscalls()
            .iter()
            .flatten()
            .any(|s| s.names() == &["clone3"]));
        assert!(!allowed.contains("keyctl") && !allowed.contains("reboot"));

        for (cap, name) in [
            ("CAP_SYS_MODULE", "finit_module"),
            ("cap_sys_boot", "reboot"),
            ("SYS_TIME", "clock_settime"),
            ("CAP_SYS_PTRACE", "kcmp"),
            ("CAP_SYS_RAWIO", "iopl"),
            ("CAP_SYSLOG", "syslog"),
            ("CAP_BPF", "bpf"),
            ("CAP_PERFMON", "perf_event_open"),
            ("CAP_SYS_NICE", "mbind"),
            ("CAP_SYS_PACCT", "acct"),
            ("CAP_DAC_READ_SEARCH", "open_by_handle_at"),
        ] {
            let allowed = unconditional(&docker_default_profile_for(&caps(&[cap])));
            assert!(allowed.contains(name), "{name} with {cap}");
            assert!(!allowed.contains("mount"), "mount with {cap}");
        }
        assert!(!unconditional(&docker_default_profile_for(&[])).contains("chroot"));
    }

    #[test]
    fn profile_compiles_and_serialises_as_oci_json() {
        let p = docker_default_profile();
        let filter = crate::compile(&p).unwrap();
        assert!(!filter.uses_notify());
        assert!(filter.instructions() < 4096);
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(json["defaultErrnoRet"], 1);
    }

    #[test]
    fn kernel_version_parses() {
        assert!(kernel_at_least(3, 0));
        assert!(!kernel_at_least(999, 0));
    }

    mod in_a_child {
        use nix::sys::wait::{waitpid, WaitStatus};
        use nix::unistd::{fork, ForkResult};

        use super::*;
        use crate::harness::{assert_success, in_child, sys};

        /// `mount` of a tmpfs on a path that does not exist: harmless even if it went through.
        fn mount_tmpfs() -> Result<i64, i32> {
            sys(
                libc::SYS_mount,
                [
                    c"none".as_ptr() as u64,
                    c"/nonexistent/berth-seccomp-test".as_ptr() as u64,
                    c"tmpfs".as_ptr() as u64,
                    0,
                    0,
                    0,
                ],
            )
        }

        /// Raw `clone` with `flags` and no new stack (fork-like); the new child exits at once.
        fn raw_clone(flags: u64) -> Result<i64, i32> {
            let rc = sys(
                libc::SYS_clone,
                [flags | libc::SIGCHLD as u64, 0, 0, 0, 0, 0],
            );
            match rc {
                Ok(0) => {
                    // SAFETY: we are the new child; leave without touching the parent's state.
                    unsafe { libc::_exit(0) }
                }
                Ok(pid) => {
                    let _ = waitpid(nix::unistd::Pid::from_raw(pid as i32), None);
                    Ok(pid)
                }
                Err(e) => Err(e),
            }
        }

        #[test]
        fn default_profile_blocks_and_allows_what_docker_does() {
            let f = crate::compile(&docker_default_profile()).unwrap();
            assert_success(in_child(&f, |_| {
                let eperm = Err(libc::EPERM);
                if sys(
                    libc::SYS_unshare,
                    [libc::CLONE_NEWUSER as u64, 0, 0, 0, 0, 0],
                ) != eperm
                {
                    return 1;
                }
                if mount_tmpfs() != eperm {
                    return 2;
                }
                // keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0)
                if sys(libc::SYS_keyctl, [0, (-3i64) as u64, 0, 0, 0, 0]) != eperm {
                    return 3;
                }
                // ADDR_LIMIT_3GB is not one of the allowed personas.
                if sys(libc::SYS_personality, [0x0040000, 0, 0, 0, 0, 0]) != eperm {
                    return 4;
                }
                if !matches!(sys(libc::SYS_getpid, [0; 6]), Ok(pid) if pid > 0) {
                    return 5;
                }
                if sys(libc::SYS_personality, [0xffff_ffff, 0, 0, 0, 0, 0]).is_err() {
                    return 6;
                }
                // SAFETY: this process is single-threaded; the new child exits at once.
                match unsafe { fork() } {
                    Ok(ForkResult::Child) => {
                        // SAFETY: leave the forked child without running anything else.
                        unsafe { libc::_exit(0) }
                    }
                    Ok(ForkResult::Parent { child }) => {
                        if !matches!(waitpid(child, None), Ok(WaitStatus::Exited(_, 0))) {
                            return 7;
                        }
                    }
                    Err(_) => return 7,
                }
                if raw_clone(0).is_err() {
                    return 8;
                }
                if raw_clone(libc::CLONE_NEWUTS as u64) != eperm {
                    return 9;
                }
                if sys(libc::SYS_clone3, [0; 6]) != Err(libc::ENOSYS) {
                    return 10;
                }
                if sys(libc::SYS_io_uring_setup, [1, 0, 0, 0, 0, 0]) != eperm {
                    return 11;
                }
                0
            }));
        }

        #[test]
        fn ordinary_programs_run_under_the_default_profile() {
            let f = crate::compile(&docker_default_profile()).unwrap();
            let script = c"ls -la / >/dev/null && id >/dev/null && cat /proc/self/status | grep -q '^Seccomp:.*2' && sh -c 'exit 7'; test $? -eq 7";
            let status = in_child(&f, |_| {
                let _ = nix::unistd::execv(c"/bin/sh", &[c"sh", c"-c", script]);
                1
            });
            assert_success(status);
        }

        #[test]
        fn cap_sys_admin_lets_mount_and_namespaces_through() {
            if !nix::unistd::geteuid().is_root() {
                eprintln!("skipped: needs root, whose CAP_SYS_ADMIN the kernel checks next");
                return;
            }
            let mut caps: Vec<String> = DOCKER_DEFAULT_CAPABILITIES
                .iter()
                .map(|c| (*c).to_owned())
                .collect();
            caps.push("CAP_SYS_ADMIN".into());
            let f = crate::compile(&docker_default_profile_for(&caps)).unwrap();
            assert_success(in_child(&f, |_| {
                // Past seccomp, the kernel fails on the missing mount point.
                if mount_tmpfs() != Err(libc::ENOENT) {
                    return 1;
                }
                if sys(
                    libc::SYS_unshare,
                    [libc::CLONE_NEWUTS as u64, 0, 0, 0, 0, 0],
                )
                .is_err()
                {
                    return 2;
                }
                if raw_clone(libc::CLONE_NEWUTS as u64).is_err() {
                    return 3;
                }
                // clone3 reaches the kernel, which rejects the null argument.
                if sys(libc::SYS_clone3, [0; 6]) == Err(libc::ENOSYS) {
                    return 4;
                }
                i32::from(
                    sys(libc::SYS_keyctl, [0, (-3i64) as u64, 0, 0, 0, 0]) != Err(libc::EPERM),
                )
            }));
        }
    }
}
