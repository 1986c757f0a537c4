//! fork(2) straight into a cgroup2 directory: clone3 with CLONE_INTO_CGROUP (Linux 5.7+).
//!
//! Why: moving a process into a cgroup by writing its pid to `cgroup.procs` write-locks
//! the kernel's global `cgroup_threadgroup_rwsem`, which after a quiet moment waits for
//! an RCU grace period (5-14 ms on the test VM, more than everything else a container
//! start does). A child born in the cgroup takes that lock only for reading. v1
//! hierarchies have no such clone flag; there stage 1 moves itself through `tasks`
//! (see `berth_cgroups::Cgroup::enter_v1_self`).
//!
//! The child is a plain copy of the caller, as with fork (no CLONE_VM, SIGCHLD at exit).
//! glibc's fork wrapper is bypassed: its atfork handlers (none are registered here) do
//! not run and glibc's cached thread id in the child stays the parent's, which nothing
//! in a single-threaded child relies on (glibc's raise and pthread_kill ask the kernel
//! for the thread id; Rust's locks do not use it).

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use nix::unistd::{ForkResult, Pid};

use crate::error::{Error, Result};

/// `struct clone_args` as of Linux 5.7 (the version that added `cgroup`).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Forks; with `cgroup2_dir`, the child starts in that cgroup2 directory. The bool says
/// whether it did: false when there was no directory or the kernel (or a seccomp filter
/// around us) refused clone3, after which a plain fork was made and the caller must
/// place the child itself.
///
/// # Safety
/// As `fork`: the caller must be single-threaded, or the child must only make
/// async-signal-safe calls.
pub unsafe fn fork_into(cgroup2_dir: Option<&Path>) -> Result<(ForkResult, bool)> {
    if let Some(dir) = cgroup2_dir {
        // CLONE_INTO_CGROUP wants a real open file (O_PATH descriptors are refused).
        let fd: OwnedFd = nix::fcntl::open(dir, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| Error::io("open cgroup", dir, e.into()))?;
        let args = CloneArgs {
            flags: CLONE_INTO_CGROUP,
            exit_signal: libc::SIGCHLD as u64,
            cgroup: fd.as_raw_fd() as u64,
            ..CloneArgs::default()
        };
        // SAFETY: clone3 without CLONE_VM duplicates the process like fork: the child
        // continues here on a copy of our memory with its own stack. `args` lives across
        // the call and its size is the one we pass. The caller guarantees what fork needs.
        let rc = unsafe { libc::syscall(libc::SYS_clone3, &args as *const CloneArgs, std::mem::size_of::<CloneArgs>()) };
        match rc {
            0 => return Ok((ForkResult::Child, true)),
            pid if pid > 0 => return Ok((ForkResult::Parent { child: Pid::from_raw(pid as i32) }, true)),
            _ => {
                let e = nix::errno::Errno::last();
                // Old kernels (ENOSYS, E2BIG for the cgroup field) and seccomp profiles
                // that hide clone3 (Docker's answers ENOSYS): fall back to fork.
                if !matches!(e, nix::errno::Errno::ENOSYS | nix::errno::Errno::E2BIG | nix::errno::Errno::EPERM | nix::errno::Errno::EINVAL) {
                    return Err(Error::sys(format!("clone3 into {}", dir.display()), e));
                }
            }
        }
    }
    // SAFETY: the caller guarantees what fork needs.
    let r = unsafe { nix::unistd::fork() }.map_err(|e| Error::sys("fork", e))?;
    Ok((r, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_cgroup_it_is_fork() {
        // SAFETY: the child only calls _exit.
        match unsafe { fork_into(None) }.unwrap() {
            // SAFETY: _exit is async-signal-safe.
            (ForkResult::Child, _) => unsafe { libc::_exit(7) },
            (ForkResult::Parent { child }, placed) => {
                assert!(!placed);
                let st = nix::sys::wait::waitpid(child, None).unwrap();
                assert_eq!(st, nix::sys::wait::WaitStatus::Exited(child, 7));
            }
        }
    }
}
