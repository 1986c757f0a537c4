//! Loading: one `seccomp(2)` call installs a compiled program, with the filter flags the
//! profile asked for. The call touches no heap and no libseccomp state, so it is fit for a
//! forked child right before `execve`.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

use crate::{Error, Filter};

/// The `flags` argument of `seccomp(SECCOMP_SET_MODE_FILTER, ..)` as a profile asks for it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct KernelFlags {
    /// TSYNC, LOG and SPEC_ALLOW as requested, NEW_LISTENER when a rule notifies.
    bits: libc::c_ulong,
    /// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`, which only means something with a listener.
    wait_killable_recv: bool,
}

impl KernelFlags {
    /// Adds an OCI `flags[]` entry.
    pub(crate) fn request(&mut self, name: &str) -> Result<(), Error> {
        match name {
            "SECCOMP_FILTER_FLAG_TSYNC" => self.bits |= libc::SECCOMP_FILTER_FLAG_TSYNC,
            "SECCOMP_FILTER_FLAG_LOG" => self.bits |= libc::SECCOMP_FILTER_FLAG_LOG,
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => self.bits |= libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" => self.wait_killable_recv = true,
            other => return Err(Error::UnknownFlag(other.to_owned())),
        }
        Ok(())
    }

    /// The filter has a `SCMP_ACT_NOTIFY` rule: loading must create a listener fd.
    pub(crate) fn set_new_listener(&mut self) {
        self.bits |= libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
    }

    /// The flags as stored by the cache.
    pub(crate) fn raw(&self) -> (libc::c_ulong, bool) {
        (self.bits, self.wait_killable_recv)
    }

    pub(crate) fn from_raw(bits: libc::c_ulong, wait_killable_recv: bool) -> KernelFlags {
        KernelFlags { bits, wait_killable_recv }
    }

    pub(crate) fn new_listener(&self) -> bool {
        self.bits & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER != 0
    }

    fn tsync(&self) -> bool {
        self.bits & libc::SECCOMP_FILTER_FLAG_TSYNC != 0
    }

    /// The bits passed to the kernel.
    ///
    /// WAIT_KILLABLE_RECV is dropped without a listener (the kernel rejects it alone and it
    /// changes nothing then). TSYNC together with NEW_LISTENER needs TSYNC_ESRCH, because the
    /// return value can carry either the listener fd or the thread that failed to sync.
    pub(crate) fn bits(&self) -> libc::c_ulong {
        let mut bits = self.bits;
        if self.new_listener() {
            if self.wait_killable_recv {
                bits |= libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
            }
            if self.tsync() {
                bits |= libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
            }
        }
        bits
    }
}

/// Asks the running kernel whether it accepts every requested flag, so that an unsupported
/// one fails at compile time.
///
/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, NULL)` validates `flags` before it reads the
/// program: `EFAULT` means the flags are fine, `EINVAL` that they are not. Anything else
/// (seccomp unavailable, or denied by a filter around us) leaves the answer to the load.
pub(crate) fn probe(flags: &KernelFlags) -> Result<(), Error> {
    use libc::{
        SECCOMP_FILTER_FLAG_LOG as LOG, SECCOMP_FILTER_FLAG_NEW_LISTENER as NEW_LISTENER,
        SECCOMP_FILTER_FLAG_SPEC_ALLOW as SPEC_ALLOW, SECCOMP_FILTER_FLAG_TSYNC as TSYNC,
        SECCOMP_FILTER_FLAG_TSYNC_ESRCH as TSYNC_ESRCH,
        SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV as WAIT_KILLABLE_RECV,
    };
    let mut probes: Vec<(&str, libc::c_ulong)> = Vec::new();
    let bits = flags.bits();
    for (name, bit) in [
        ("SECCOMP_FILTER_FLAG_TSYNC", TSYNC),
        ("SECCOMP_FILTER_FLAG_LOG", LOG),
        ("SECCOMP_FILTER_FLAG_SPEC_ALLOW", SPEC_ALLOW),
        (
            "SECCOMP_FILTER_FLAG_NEW_LISTENER (needed by SCMP_ACT_NOTIFY)",
            NEW_LISTENER,
        ),
    ] {
        if bits & bit != 0 {
            probes.push((name, bit));
        }
    }
    // These two are only valid next to NEW_LISTENER (and TSYNC).
    if flags.wait_killable_recv {
        probes.push((
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
            WAIT_KILLABLE_RECV | NEW_LISTENER,
        ));
    }
    if bits & TSYNC_ESRCH != 0 {
        probes.push((
            "SECCOMP_FILTER_FLAG_TSYNC_ESRCH (needed by TSYNC with SCMP_ACT_NOTIFY)",
            TSYNC | TSYNC_ESRCH | NEW_LISTENER,
        ));
    }
    for (name, bits) in probes {
        // SAFETY: a null program pointer makes the kernel fail with EFAULT (or EINVAL for bad
        // flags) before it installs anything; no memory of ours is read or written.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                bits,
                std::ptr::null::<libc::sock_fprog>(),
            )
        };
        if rc < 0 && Errno::last() == Errno::EINVAL {
            return Err(Error::UnsupportedFlag {
                flag: name.to_owned(),
            });
        }
    }
    Ok(())
}

impl Filter {
    /// Load into the calling thread/process. Returns the notify fd when the profile uses SCMP_ACT_NOTIFY.
    ///
    /// Without `SECCOMP_FILTER_FLAG_TSYNC` only the calling thread is filtered (and whatever it
    /// forks or clones afterwards). The caller must hold `CAP_SYS_ADMIN` or have set
    /// `PR_SET_NO_NEW_PRIVS`; this function sets neither. It does not allocate, so it may run
    /// in a child forked from a multithreaded process. The notify fd is close-on-exec.
    pub fn load(&self) -> Result<Option<OwnedFd>, Error> {
        let prog = libc::sock_fprog {
            // `compile` keeps programs within BPF_MAXINSNS (4096), so this cannot truncate.
            len: self.program.len() as libc::c_ushort,
            filter: self.program.as_ptr().cast_mut(),
        };
        // SAFETY: `prog` points at `len` initialised instructions owned by `self`, alive for the
        // whole call; the kernel only reads and copies them.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                self.flags.bits(),
                &prog as *const libc::sock_fprog,
            )
        };
        if rc < 0 {
            return Err(Error::Load(Errno::last()));
        }
        if self.flags.new_listener() {
            let fd = RawFd::try_from(rc).map_err(|_| Error::Load(Errno::EBADF))?;
            // SAFETY: with NEW_LISTENER the kernel returns a new fd that nothing else owns.
            return Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }));
        }
        if rc > 0 {
            // TSYNC without a listener returns the id of the thread that could not be synced.
            return Err(Error::ThreadSync { tid: rc });
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_bits() {
        let mut f = KernelFlags::default();
        f.request("SECCOMP_FILTER_FLAG_TSYNC").unwrap();
        f.request("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV").unwrap();
        assert_eq!(f.bits(), libc::SECCOMP_FILTER_FLAG_TSYNC);
        f.set_new_listener();
        assert_eq!(
            f.bits(),
            libc::SECCOMP_FILTER_FLAG_TSYNC
                | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER
                | libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH
                | libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
        );
        assert!(matches!(
            f.request("SECCOMP_FILTER_FLAG_X"),
            Err(Error::UnknownFlag(_))
        ));
    }

    #[test]
    fn this_kernel_accepts_every_flag() {
        let mut f = KernelFlags::default();
        for name in [
            "SECCOMP_FILTER_FLAG_TSYNC",
            "SECCOMP_FILTER_FLAG_LOG",
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        ] {
            f.request(name).unwrap();
        }
        f.set_new_listener();
        probe(&f).unwrap();
    }

    mod in_a_child {
        use nix::sys::signal::Signal;
        use nix::sys::wait::WaitStatus;

        use crate::harness::{assert_success, in_child, sys};
        use crate::{compile_json, Filter};

        /// A filter that allows everything but applies `rule` (JSON members) to getppid.
        fn on_getppid(rule: &str) -> Filter {
            compile_json(
                format!(
                    r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["getppid"],{rule}}}]}}"#
                )
                .as_bytes(),
            )
            .unwrap()
        }

        fn getppid(a0: u64, a1: u64) -> Result<i64, i32> {
            sys(libc::SYS_getppid, [a0, a1, 0, 0, 0, 0])
        }

        #[test]
        fn errno_returns_errno_ret() {
            let f = on_getppid(r#""action":"SCMP_ACT_ERRNO","errnoRet":42"#);
            assert_success(in_child(&f, |_| i32::from(getppid(0, 0) != Err(42))));
            let f = on_getppid(r#""action":"SCMP_ACT_ERRNO""#);
            assert_success(in_child(&f, |_| {
                i32::from(getppid(0, 0) != Err(libc::EPERM))
            }));
        }

        #[test]
        fn default_errno_ret_applies_to_the_default_action() {
            let f = compile_json(
                br#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":61,"syscalls":[{"names":[
                    "exit_group","exit","getpid","getppid","write","rt_sigreturn","rt_sigprocmask",
                    "rt_sigaction","sigaltstack","munmap","mmap","futex","brk","madvise"],
                    "action":"SCMP_ACT_ALLOW"}]}"#,
            )
            .unwrap();
            assert_success(in_child(&f, |_| {
                if sys(libc::SYS_gettid, [0; 6]) != Err(61) {
                    return 1;
                }
                i32::from(getppid(0, 0).is_err())
            }));
        }

        #[test]
        fn kill_process_kill_thread_and_trap_end_in_sigsys() {
            for action in [
                "SCMP_ACT_KILL_PROCESS",
                "SCMP_ACT_KILL",
                "SCMP_ACT_KILL_THREAD",
                "SCMP_ACT_TRAP",
            ] {
                let f = on_getppid(&format!(r#""action":"{action}""#));
                let status = in_child(&f, |_| {
                    let _ = getppid(0, 0);
                    0
                });
                assert!(
                    matches!(status, WaitStatus::Signaled(_, Signal::SIGSYS, _)),
                    "{action}: {status:?}"
                );
            }
        }

        #[test]
        fn log_allows() {
            let parent = std::process::id() as i64;
            let f = on_getppid(r#""action":"SCMP_ACT_LOG""#);
            assert_success(in_child(&f, |_| i32::from(getppid(0, 0) != Ok(parent))));
        }

        #[test]
        fn trace_without_a_tracer_fails_with_enosys() {
            let f = on_getppid(r#""action":"SCMP_ACT_TRACE","errnoRet":7"#);
            assert_success(in_child(&f, |_| {
                i32::from(getppid(0, 0) != Err(libc::ENOSYS))
            }));
        }

        #[test]
        fn every_comparison_operator() {
            // (operator, an argument that matches `value` 100, one that does not)
            for (op, hit, miss) in [
                ("NE", 101, 100),
                ("LT", 99, 100),
                ("LE", 100, 101),
                ("EQ", 100, 101),
                ("GE", 100, 99),
                ("GT", 101, 100),
            ] {
                let f = on_getppid(&format!(
                    r#""action":"SCMP_ACT_ERRNO","errnoRet":77,"args":[{{"index":0,"value":100,"op":"SCMP_CMP_{op}"}}]"#
                ));
                let status = in_child(&f, |_| {
                    if getppid(hit, 0) != Err(77) {
                        return 1;
                    }
                    i32::from(getppid(miss, 0).is_err())
                });
                assert!(
                    matches!(status, WaitStatus::Exited(_, 0)),
                    "{op}: {status:?}"
                );
            }
        }

        #[test]
        fn masked_eq_compares_the_masked_argument_with_value_two() {
            let f = on_getppid(
                r#""action":"SCMP_ACT_ERRNO","errnoRet":77,"args":[{"index":0,"value":65280,"valueTwo":9984,"op":"SCMP_CMP_MASKED_EQ"}]"#,
            );
            assert_success(in_child(&f, |_| {
                if getppid(0x27ab, 0) != Err(77) || getppid(0x1_0000_2700, 0) != Err(77) {
                    return 1;
                }
                i32::from(getppid(0x28ab, 0).is_err())
            }));
        }

        #[test]
        fn conditions_on_one_argument_are_ored() {
            let f = on_getppid(
                r#""action":"SCMP_ACT_ERRNO","errnoRet":78,"args":[
                    {"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":0,"value":2,"op":"SCMP_CMP_EQ"}]"#,
            );
            assert_success(in_child(&f, |_| {
                if getppid(1, 0) != Err(78) || getppid(2, 0) != Err(78) {
                    return 1;
                }
                i32::from(getppid(3, 0).is_err())
            }));
        }

        #[test]
        fn conditions_on_different_arguments_are_anded() {
            let f = on_getppid(
                r#""action":"SCMP_ACT_ERRNO","errnoRet":79,"args":[
                    {"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":1,"value":2,"op":"SCMP_CMP_EQ"}]"#,
            );
            assert_success(in_child(&f, |_| {
                if getppid(1, 2) != Err(79) {
                    return 1;
                }
                i32::from(getppid(1, 3).is_err() || getppid(0, 2).is_err())
            }));
        }

        #[test]
        fn filter_flags_load() {
            let f = compile_json(
                br#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_TSYNC",
                    "SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
                    "syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":5}]}"#,
            )
            .unwrap();
            assert_success(in_child(&f, |fd| {
                if fd.is_some() {
                    return 1;
                }
                i32::from(getppid(0, 0) != Err(5))
            }));
        }

        #[test]
        fn other_architectures_do_not_disturb_the_native_one() {
            let other = if cfg!(target_arch = "x86_64") {
                "SCMP_ARCH_X86"
            } else {
                "SCMP_ARCH_ARM"
            };
            let f = compile_json(
                format!(
                    r#"{{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_NATIVE","{other}"],
                        "syscalls":[{{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":6}}]}}"#
                )
                .as_bytes(),
            )
            .unwrap();
            assert_success(in_child(&f, |_| i32::from(getppid(0, 0) != Err(6))));
        }
    }
}
