//! Receiving the container's pty master from the runtime (`--console-socket`).
//!
//! The runtime connects to a unix socket we listen on and sends the master fd with
//! SCM_RIGHTS (the message payload is the pty's name, which we ignore). `create` blocks
//! until it has sent it, so the socket is served while `create` runs.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use crate::control;

pub struct ConsoleSocket {
    path: PathBuf,
    listener: UnixListener,
}

impl ConsoleSocket {
    pub fn listen(path: &Path) -> io::Result<ConsoleSocket> {
        Ok(ConsoleSocket {
            path: path.to_owned(),
            listener: control::bind_private(path)?,
        })
    }

    pub fn fd(&self) -> i32 {
        self.listener.as_raw_fd()
    }

    /// A pending connection, if any (the listener is non-blocking).
    pub fn accept(&self) -> io::Result<Option<UnixStream>> {
        match self.listener.accept() {
            Ok((conn, _)) => Ok(Some(conn)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Receives one fd sent with SCM_RIGHTS on `conn` (blocking). `Ok(None)`: the peer
/// closed without sending one.
pub fn recv_fd(conn: &UnixStream) -> io::Result<Option<File>> {
    let mut payload = [0u8; 512];
    // Room for exactly one fd; a peer sending more gets MSG_CTRUNC and the extra fds are
    // not installed (the kernel drops them).
    const SPACE: usize = 64;
    let mut control = [0u64; SPACE / 8]; // u64: cmsghdr alignment
    let mut iov = libc::iovec {
        iov_base: payload.as_mut_ptr().cast(),
        iov_len: payload.len(),
    };
    // SAFETY: a zeroed msghdr is valid; we point it at our buffers, which outlive the
    // recvmsg call. CMSG_* walk only within the control buffer the kernel filled.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = SPACE;
        let n = loop {
            let n = libc::recvmsg(conn.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC);
            if n >= 0 {
                break n;
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        };
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let fd: libc::c_int = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                // The kernel installed this fd for us: we own it.
                return Ok(Some(File::from_raw_fd(fd)));
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
        if n == 0 {
            return Ok(None);
        }
        Err(io::Error::other("message without a file descriptor"))
    }
}
