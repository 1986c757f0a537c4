//! Terminals: a pty made inside the container's devpts, its master handed to whoever
//! asked through `--console-socket` (as runc does, with `SCM_RIGHTS`).

use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use nix::fcntl::{open, OFlag};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use nix::sys::stat::Mode;

use crate::error::{Error, Result, SysContext};

/// A pty pair; `slave_path` is its name as seen inside the container (`/dev/pts/N`).
#[derive(Debug)]
pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
    pub slave_path: String,
}

/// Opens a new pty through `ptmx` (the container's `/dev/pts/ptmx`, so the slave lives in
/// the container's devpts instance, not the host's).
pub fn open_pty(ptmx: &Path) -> Result<Pty> {
    let master = open(ptmx, OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC, Mode::empty())
        .sys(|| format!("open {}", ptmx.display()))?;
    let mut n: libc::c_uint = 0;
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCGPTN writes one c_uint through the pointer we pass; TIOCSPTLCK reads one c_int.
    unsafe {
        if libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) < 0 {
            return Err(Error::sys("unlock pty", nix::errno::Errno::last()));
        }
        if libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN, &mut n) < 0 {
            return Err(Error::sys("get pty number", nix::errno::Errno::last()));
        }
    }
    let dir = ptmx.parent().unwrap_or(Path::new("/dev/pts"));
    let host_slave = dir.join(n.to_string());
    let slave = open(&host_slave, OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC, Mode::empty())
        .sys(|| format!("open {}", host_slave.display()))?;
    Ok(Pty { master, slave, slave_path: format!("/dev/pts/{n}") })
}

/// Sets the window size of a terminal.
pub fn set_size(fd: BorrowedFd<'_>, height: u32, width: u32) -> Result<()> {
    let ws = libc::winsize { ws_row: height as u16, ws_col: width as u16, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCSWINSZ reads one winsize struct from the pointer.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) } < 0 {
        return Err(Error::sys("set terminal size", nix::errno::Errno::last()));
    }
    Ok(())
}

/// Sends `fd` over a connected unix socket with SCM_RIGHTS, with `name` as the payload.
pub fn send_fd(sock: RawFd, fd: RawFd, name: &str) -> Result<()> {
    let fds = [fd];
    let iov = [IoSlice::new(name.as_bytes())];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    sendmsg::<()>(sock, &iov, &cmsg, MsgFlags::empty(), None).sys(|| "send terminal to console socket".into())?;
    Ok(())
}

/// Receives one fd sent with SCM_RIGHTS (for `run -t` without a console socket).
pub fn recv_fd(sock: RawFd) -> Result<OwnedFd> {
    let mut buf = [0u8; 4096];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = nix::sys::socket::recvmsg::<()>(sock, &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)
        .sys(|| "receive terminal".into())?;
    for c in msg.cmsgs().sys(|| "read control message".into())? {
        if let nix::sys::socket::ControlMessageOwned::ScmRights(fds) = c {
            if let Some(&fd) = fds.first() {
                // SAFETY: the kernel just installed this fd in our table for us; we own it.
                return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    Err(Error::Init("no terminal received".into()))
}

/// Makes the pty slave the process's stdio and controlling terminal.
pub fn attach_stdio(slave: RawFd) -> Result<()> {
    for target in 0..3 {
        // SAFETY: dup2 on two fd numbers; the slave stays open, the target is replaced.
        if unsafe { libc::dup2(slave, target) } < 0 {
            return Err(Error::sys(format!("dup2 terminal to fd {target}"), nix::errno::Errno::last()));
        }
    }
    // SAFETY: TIOCSCTTY takes an int argument (0: don't steal from another session).
    if unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) } < 0 {
        return Err(Error::sys("set controlling terminal", nix::errno::Errno::last()));
    }
    Ok(())
}
