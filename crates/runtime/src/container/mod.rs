//! The lifecycle operations, one file each, on a [`Container`] record.

pub mod create;
pub mod delete;
pub mod exec;
pub mod kill;
pub mod pause;
pub mod start;
pub mod wait;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::state::{State, StateRoot, Status};

pub use create::{create, CreateOptions};
pub use delete::delete;
pub use exec::{exec, ExecOptions};
pub use kill::{kill, parse_signal};
pub use pause::{pause, resume};
pub use start::start;

/// A container as recorded in the state root, with its current status.
#[derive(Debug, Clone)]
pub struct Container {
    pub state: State,
    pub status: Status,
}

impl Container {
    pub fn load(root: &StateRoot, id: &str) -> Result<Container> {
        let state = State::load(root, id)?;
        let status = state.status(root);
        Ok(Container { state, status })
    }

    pub fn id(&self) -> &str {
        &self.state.id
    }

    /// Fails unless the container is in one of `ok`, naming what was attempted.
    pub fn require(&self, ok: &[Status], what: &'static str) -> Result<()> {
        if ok.contains(&self.status) {
            Ok(())
        } else {
            Err(Error::WrongState { id: self.state.id.clone(), status: self.status.to_string(), what })
        }
    }

    /// Pids of every process of the container (the cgroup's, or just init without one).
    pub fn pids(&self) -> Result<Vec<i32>> {
        match &self.state.cgroup {
            Some(cg) => Ok(cg.pids()?),
            None if self.status != Status::Stopped => Ok(vec![self.state.pid]),
            None => Ok(vec![]),
        }
    }
}

/// The path of the start socket, short enough for sockaddr_un (108 bytes): long state
/// roots are reached through the state directory's fd in /proc/self/fd.
pub fn socket_path(dir: &Path, dir_fd: Option<&std::fs::File>) -> PathBuf {
    let full = dir.join(crate::state::START_SOCKET);
    if full.as_os_str().len() < 100 {
        return full;
    }
    match dir_fd {
        Some(f) => {
            use std::os::fd::AsRawFd;
            PathBuf::from(format!("/proc/self/fd/{}/{}", f.as_raw_fd(), crate::state::START_SOCKET))
        }
        None => full,
    }
}
