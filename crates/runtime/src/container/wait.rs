//! Waiting for a process the runtime is the (sub)reaper of, forwarding signals to it,
//! for `run` and `exec` in the foreground.

use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// The signals a foreground `run`/`exec` passes on to the container's process.
const FORWARDED: [Signal; 9] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGCONT,
    Signal::SIGTSTP,
];

/// Makes the runtime the reaper of its orphaned descendants, so the init that stage 1
/// forked becomes our child when stage 1 exits. Call before forking.
pub fn become_subreaper() {
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
}

/// Blocks the forwarded signals and SIGCHLD; returns the previous mask.
pub fn block_signals() -> SigSet {
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(s);
    }
    set.add(Signal::SIGCHLD);
    let mut old = SigSet::empty();
    let _ = nix::sys::signal::pthread_sigmask(nix::sys::signal::SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old));
    old
}

/// Waits for `pid` to exit, forwarding signals to it; returns its exit code as a shell
/// reports it (128+N for a signal). Other children are reaped along the way.
pub fn wait_forwarding(pid: i32) -> i32 {
    block_signals();
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(s);
    }
    set.add(Signal::SIGCHLD);
    loop {
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(p, code)) if p.as_raw() == pid => return code,
                Ok(WaitStatus::Signaled(p, sig, _)) if p.as_raw() == pid => return 128 + sig as i32,
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => continue,
            }
        }
        match set.wait() {
            Ok(Signal::SIGCHLD) => continue,
            Ok(sig) => {
                let _ = nix::sys::signal::kill(Pid::from_raw(pid), sig);
            }
            Err(_) => continue,
        }
    }
}

/// Waits (up to `timeout`) for a process that need not be our child to disappear,
/// with a pidfd so there is no polling of /proc.
pub fn wait_gone(pid: i32, start_time: u64, timeout: std::time::Duration) -> bool {
    // SAFETY: pidfd_open takes a pid and flags.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return !crate::state::pid_is_ours(pid, start_time);
    }
    let fd = fd as libc::c_int;
    let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd.
    let rc = unsafe { libc::poll(&mut pfd, 1, timeout.as_millis() as libc::c_int) };
    // SAFETY: we own fd.
    unsafe { libc::close(fd) };
    rc > 0 || !crate::state::pid_is_ours(pid, start_time)
}
