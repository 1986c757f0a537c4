//! Test harness: running a loaded filter in a forked child, raw syscalls, and the agent side
//! of the `listenerPath` protocol.
//!
//! The test binary is multithreaded, so the child only loads the filter, makes raw syscalls
//! and leaves with `_exit`; its exit code reports the outcome.

use std::io::{IoSliceMut, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::panic::{catch_unwind, AssertUnwindSafe};

use nix::errno::Errno;
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult};

use crate::Filter;

/// Exit code of a child whose `Filter::load` failed.
pub(crate) const LOAD_FAILED: i32 = 100;
/// Exit code of a child whose body panicked.
const PANICKED: i32 = 101;

/// Forks; the child loads `filter` and exits with what `body` returns (0 for success). The
/// parent waits and returns how the child ended.
pub(crate) fn in_child(filter: &Filter, body: impl FnOnce(Option<OwnedFd>) -> i32) -> WaitStatus {
    // SAFETY: the child only loads the filter (no allocation), runs `body`, which the tests keep
    // to raw syscalls, and leaves with `_exit`, so no lock another thread held at fork matters.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            let code = catch_unwind(AssertUnwindSafe(|| {
                if !nix::unistd::geteuid().is_root()
                    && sys(
                        libc::SYS_prctl,
                        [libc::PR_SET_NO_NEW_PRIVS as u64, 1, 0, 0, 0, 0],
                    )
                    .is_err()
                {
                    return LOAD_FAILED;
                }
                match filter.load() {
                    Ok(fd) => body(fd),
                    Err(_) => LOAD_FAILED,
                }
            }))
            .unwrap_or(PANICKED);
            // SAFETY: `_exit` ends the child without running the harness's atexit handlers or
            // destructors, which belong to the parent.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => waitpid(child, None).expect("waitpid"),
    }
}

/// Asserts the child exited with 0; the code says which check failed otherwise.
#[track_caller]
pub(crate) fn assert_success(status: WaitStatus) {
    match status {
        WaitStatus::Exited(_, 0) => {}
        WaitStatus::Exited(_, LOAD_FAILED) => panic!("the child could not load the filter"),
        other => panic!("child failed: {other:?}"),
    }
}

/// A raw syscall: the return value, or the errno.
pub(crate) fn sys(nr: libc::c_long, a: [u64; 6]) -> Result<i64, i32> {
    // SAFETY: the tests pass integers, null, or pointers to static C strings and live locals;
    // the syscalls they make touch no memory the test does not own.
    let rc = unsafe {
        libc::syscall(
            nr,
            a[0] as libc::c_long,
            a[1] as libc::c_long,
            a[2] as libc::c_long,
            a[3] as libc::c_long,
            a[4] as libc::c_long,
            a[5] as libc::c_long,
        )
    };
    if rc == -1 {
        Err(Errno::last_raw())
    } else {
        Ok(rc)
    }
}

/// Accepts one connection on `listener`: the body sent and the fds attached to it.
pub(crate) fn receive(listener: &UnixListener) -> (Vec<u8>, Vec<OwnedFd>) {
    let (mut conn, _) = listener.accept().unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut cmsg = nix::cmsg_space!([RawFd; 4]);
    let mut iov = [IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::empty(),
    )
    .unwrap();
    let mut fds = Vec::new();
    for c in msg.cmsgs().unwrap() {
        if let ControlMessageOwned::ScmRights(raw) = c {
            // SAFETY: SCM_RIGHTS hands us new fds that nothing else owns.
            fds.extend(
                raw.into_iter()
                    .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
            );
        }
    }
    let n = msg.bytes;
    let mut body = buf[..n].to_vec();
    conn.read_to_end(&mut body).unwrap();
    (body, fds)
}
