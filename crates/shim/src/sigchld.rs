//! SIGCHLD as a readable pipe (the self-pipe trick), so that poll(2) sees children exit.
//!
//! Not signalfd: that needs SIGCHLD blocked, and the signal mask is inherited across
//! fork and exec. std's `Command` happens to reset it for the runtime, but a container
//! init started with SIGCHLD blocked would never learn of its children, so we'd rather
//! not depend on every spawn path getting that right.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, IntoRawFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};

use crate::sys;

/// The write end, for the handler (a signal handler can only reach statics).
static WRITE_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_sigchld(_: libc::c_int) {
    // SAFETY: errno is thread-local; saving and restoring it keeps the interrupted code's
    // errno intact, as a signal handler must.
    let errno = unsafe { *libc::__errno_location() };
    let fd = WRITE_FD.load(Ordering::Relaxed);
    let byte = 0u8;
    // SAFETY: write(2) is async-signal-safe; the pipe is non-blocking, so a full pipe
    // (a wake-up already pending) just fails with EAGAIN.
    unsafe {
        libc::write(fd, (&byte as *const u8).cast(), 1);
        *libc::__errno_location() = errno;
    }
}

/// The read end: readable after a SIGCHLD.
pub struct Sigchld {
    read: File,
}

/// Installs the handler; call once.
pub fn install() -> io::Result<Sigchld> {
    let (read, write) = sys::pipe()?;
    sys::set_nonblocking(&read)?;
    sys::set_nonblocking(&write)?;
    // The write end lives as long as the process.
    WRITE_FD.store(write.into_raw_fd(), Ordering::Relaxed);
    // SAFETY: a zeroed sigaction is valid; we fill in a handler that only does
    // async-signal-safe work and pass valid pointers.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigchld as *const () as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART | libc::SA_NOCLDSTOP;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(libc::SIGCHLD, &action, std::ptr::null_mut()) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(Sigchld { read })
}

impl Sigchld {
    /// Empties the pipe (call before reaping, so no wake-up is lost).
    pub fn clear(&self) {
        let mut buf = [0u8; 64];
        while matches!((&self.read).read(&mut buf), Ok(n) if n > 0) {}
    }

    pub fn fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }
}
