//! `run -t` without a console socket: the runtime itself holds the pty master and copies
//! between it and its own stdin/stdout (in raw mode when stdin is a terminal).

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use nix::sys::termios::{self, SetArg};

pub struct Proxy {
    listener: UnixListener,
    path: PathBuf,
}

pub struct Attached {
    master: OwnedFd,
}

impl Proxy {
    pub fn listen(dir: &Path, id: &str) -> std::io::Result<Proxy> {
        let path = dir.join(format!(".console-{id}-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path)?;
        Ok(Proxy { listener, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn accept(self) -> Result<Attached, Box<dyn std::error::Error>> {
        let (conn, _) = self.listener.accept()?;
        let master = berth_runtime::console::recv_fd(conn.as_raw_fd())?;
        let _ = std::fs::remove_file(&self.path);
        Ok(Attached { master })
    }
}

impl Attached {
    /// Copies until the container's process exits; returns its exit code.
    pub fn run_until_exit(self, pid: i32) -> i32 {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).ok();
        if let Some(t) = &saved {
            let mut raw = t.clone();
            termios::cfmakeraw(&mut raw);
            let _ = termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
        }
        let m = self.master.as_raw_fd();
        let mut buf = [0u8; 8192];
        let mut stdin_open = true;
        loop {
            let mut fds = [
                libc::pollfd { fd: m, events: libc::POLLIN, revents: 0 },
                libc::pollfd { fd: if stdin_open { 0 } else { -1 }, events: libc::POLLIN, revents: 0 },
            ];
            // SAFETY: two valid pollfd structs.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, 100) };
            if n > 0 && fds[0].revents != 0 {
                // SAFETY: reading into a buffer we own, of its length.
                let r = unsafe { libc::read(m, buf.as_mut_ptr().cast(), buf.len()) };
                if r <= 0 {
                    break;
                }
                // SAFETY: writing r bytes from our buffer.
                unsafe { libc::write(1, buf.as_ptr().cast(), r as usize) };
            }
            if n > 0 && fds[1].revents != 0 {
                // SAFETY: as above.
                let r = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
                if r <= 0 {
                    stdin_open = false;
                } else {
                    // SAFETY: as above.
                    unsafe { libc::write(m, buf.as_ptr().cast(), r as usize) };
                }
            }
            if !berth_runtime::state::pid_start_time(pid).is_some_and(|(_, z)| !z) {
                break;
            }
        }
        if let Some(t) = &saved {
            let _ = termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, t);
        }
        berth_runtime::container::wait::wait_forwarding(pid)
    }
}
