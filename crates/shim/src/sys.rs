//! Thin safe wrappers over the few system calls std does not offer.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// A close-on-exec pipe: (read end, write end).
pub fn pipe() -> io::Result<(File, File)> {
    let mut fds = [-1; 2];
    // SAFETY: pipe2 writes two fds into the array we pass.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: both fds were just created for us and are owned by nothing else.
    Ok(unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) })
}

pub fn set_nonblocking(fd: &impl AsRawFd) -> io::Result<()> {
    let fd = fd.as_raw_fd();
    // SAFETY: F_GETFL/F_SETFL on a valid fd touch only its status flags.
    unsafe {
        let flags = check(libc::fcntl(fd, libc::F_GETFL))?;
        check(libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK))?;
    }
    Ok(())
}

/// poll(2); `Ok(0)` on timeout, `Err` with `Interrupted` when a signal came in.
pub fn poll(fds: &mut [libc::pollfd], timeout_ms: libc::c_int) -> io::Result<usize> {
    // SAFETY: the pointer and length describe the caller's initialized pollfd slice.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    check(n).map(|n| n as usize)
}

pub fn pollfd(fd: RawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

/// A child that has changed state: pid and its wait status.
#[derive(Debug, Clone, Copy)]
pub struct Reaped {
    pub pid: libc::pid_t,
    pub status: libc::c_int,
}

/// Reaps one exited child (`pid` -1: any), without blocking.
pub fn reap(pid: libc::pid_t) -> Option<Reaped> {
    let mut status = 0;
    // SAFETY: waitpid writes the status through a valid pointer.
    let got = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    (got > 0).then_some(Reaped { pid: got, status })
}

/// Sets a terminal's window size (TIOCSWINSZ).
pub fn set_window_size(fd: &impl AsRawFd, rows: u16, cols: u16) -> io::Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize from the pointer, which outlives the call.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) })?;
    Ok(())
}

pub fn dev_null() -> io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
}
