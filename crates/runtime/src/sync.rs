//! The channel between the runtime's parent process and the processes it forks.
//!
//! A `SOCK_SEQPACKET` socketpair keeps message boundaries, so each message is one
//! `send`/`recv` of a small JSON value. When the child fails it sends [`Msg::Error`] with
//! a readable description and exits: the parent turns that into the error the user sees.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::sys::socket::{recv, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub enum Msg {
    /// Stage 1 has joined or created the user namespace: place it in the cgroup and
    /// write its id maps.
    UsernsReady,
    /// The parent has done so.
    Go,
    /// Stage 1 forked the init; its pid in the parent's pid namespace.
    InitPid(i32),
    /// The parent made the v1 cgroups and applied the limits: init moves itself in
    /// (containers without a user namespace, see `create`).
    CgroupReady,
    /// Init mounted everything and waits for the createRuntime/prestart hooks.
    MountsDone,
    /// The hooks ran; the container's state JSON for the hooks init runs itself:
    /// createContainer sees "creating", startContainer "created".
    States { creating: String, created: String },
    /// Init is ready and waits for `start`.
    Created,
    /// Exec child: the process is about to execve.
    Ready,
    Error(String),
}

/// One end of the channel.
#[derive(Debug)]
pub struct Channel {
    fd: OwnedFd,
}

impl Channel {
    /// A connected pair; both ends are close-on-exec.
    pub fn pair() -> Result<(Channel, Channel)> {
        let (a, b) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
            .map_err(|e| Error::sys("socketpair", e))?;
        Ok((Channel { fd: a }, Channel { fd: b }))
    }

    pub fn send(&self, msg: &Msg) -> Result<()> {
        let data = serde_json::to_vec(msg).expect("sync messages serialize");
        send(self.fd.as_raw_fd(), &data, MsgFlags::MSG_NOSIGNAL).map_err(|e| Error::sys("send sync message", e))?;
        Ok(())
    }

    /// The next message; a closed channel (the child died) is an error.
    pub fn recv(&self) -> Result<Msg> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Ok(0) => return Err(Error::Init("the container process exited before it was ready".into())),
                Ok(n) => {
                    return serde_json::from_slice(&buf[..n])
                        .map_err(|e| Error::Init(format!("bad sync message: {e}")));
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(Error::sys("receive sync message", e)),
            }
        }
    }

    /// Receives `want`, turning an [`Msg::Error`] into an error.
    pub fn expect(&self, want: Msg) -> Result<()> {
        match self.recv()? {
            m if m == want => Ok(()),
            Msg::Error(e) => Err(Error::Init(e)),
            other => Err(Error::Init(format!("expected {want:?}, got {other:?}"))),
        }
    }

    pub fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
