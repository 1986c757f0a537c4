//! Leaving the daemon: fork, new session, child subreaper, readiness pipe.
//!
//! The process berthd spawned waits on the readiness pipe and exits 0 once the child
//! reports "created", or prints the child's one-line error and exits 1. The child lives
//! on in its own session, reparented to init, so it survives the daemon.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;

use crate::sys;

/// The child's end of the readiness pipe.
pub struct Readiness {
    pipe: File,
}

impl Readiness {
    /// Tells the waiting parent that the container is created and the socket listening.
    pub fn ready(mut self) {
        let _ = self.pipe.write_all(b"ok\n");
    }

    /// Tells the waiting parent why start-up failed; it prints this as one line.
    pub fn fail(mut self, message: &str) {
        let line: String = message
            .chars()
            .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
            .collect();
        let _ = self.pipe.write_all(format!("error {line}\n").as_bytes());
    }
}

/// Closes every fd above stderr that the daemon let us inherit (one without
/// close-on-exec would otherwise live as long as the container, in the shim and, through
/// `runtime create`, in the container itself). Best effort: close_range(2) needs 5.9.
pub fn close_inherited_fds() {
    // SAFETY: close_range takes no pointers; nothing in this process owns an fd above 2
    // yet (this runs first thing in main).
    unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
}

/// Forks. Returns in the child only; the parent exits with the child's verdict.
///
/// Must be called while the process is single-threaded (it is: the shim never starts a
/// thread), since only the calling thread survives fork.
pub fn daemonize() -> io::Result<Readiness> {
    let (mut read, write) = sys::pipe()?;
    // SAFETY: the process is single-threaded here, so the child's copy of the heap and of
    // every lock is consistent.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::other(format!(
            "fork: {}",
            io::Error::last_os_error()
        )));
    }
    if pid > 0 {
        drop(write);
        let mut verdict = Vec::new();
        let _ = read.read_to_end(&mut verdict);
        // Reap the child if it died (it normally lives on after we exit).
        let _ = sys::reap(pid);
        let verdict = String::from_utf8_lossy(&verdict);
        if verdict.starts_with("ok\n") {
            std::process::exit(0);
        }
        let message = verdict
            .strip_prefix("error ")
            .map(str::trim_end)
            .filter(|m| !m.is_empty())
            .unwrap_or("berth-shim: the shim exited before the container was created");
        let _ = writeln!(io::stderr(), "{message}");
        std::process::exit(1);
    }
    drop(read);
    become_daemon()?;
    Ok(Readiness { pipe: write })
}

fn become_daemon() -> io::Result<()> {
    // SAFETY: setsid and prctl take no pointers; chdir gets a NUL-terminated literal.
    unsafe {
        // A session of our own: no terminal, no signals for the daemon's process group.
        if libc::setsid() < 0 {
            return Err(io::Error::other(format!(
                "setsid: {}",
                io::Error::last_os_error()
            )));
        }
        // The container init becomes our child when `runtime create` exits, so we can
        // wait(2) for it.
        if libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0 {
            return Err(io::Error::other(format!(
                "prctl PR_SET_CHILD_SUBREAPER: {}",
                io::Error::last_os_error()
            )));
        }
        // Don't pin the daemon's working directory (it might be a mount point).
        libc::chdir(c"/".as_ptr());
        // A write to a gone attach client must be an EPIPE, not our death (std already
        // ignores it at start-up; be explicit, this is load-bearing).
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    // Our stdio is the daemon's: its stderr pipe would never reach EOF while we hold it.
    let null = sys::dev_null().map_err(|e| io::Error::other(format!("open /dev/null: {e}")))?;
    for fd in 0..3 {
        // SAFETY: dup2 onto the standard descriptors, from a valid open fd.
        if unsafe { libc::dup2(null.as_raw_fd(), fd) } < 0 {
            return Err(io::Error::other(format!(
                "redirect stdio to /dev/null: {}",
                io::Error::last_os_error()
            )));
        }
    }
    Ok(())
}
