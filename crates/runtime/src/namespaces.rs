//! Linux namespaces: which to create, which to join by path, and in what order.
//!
//! Order matters: the user namespace comes first (joining it changes what we may do with
//! the others), the mount namespace last among the joins (joining it changes our root, so
//! paths given for later joins would be resolved in the wrong tree).

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType};

use crate::error::{Error, Result};

/// The namespaces of a container, split into those to join and those to create.
#[derive(Debug, Clone)]
pub struct Plan {
    pub join: Vec<(LinuxNamespaceType, PathBuf)>,
    pub create: CloneFlags,
}

impl Default for Plan {
    fn default() -> Self {
        Plan { join: Vec::new(), create: CloneFlags::empty() }
    }
}

pub fn clone_flag(t: LinuxNamespaceType) -> CloneFlags {
    match t {
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        // CLONE_NEWTIME has no CloneFlags constant in nix.
        LinuxNamespaceType::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
    }
}

/// The name of a namespace under /proc/<pid>/ns/.
pub fn proc_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mnt",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "net",
        LinuxNamespaceType::Time => "time",
    }
}

/// Every namespace kind, in the order joins must happen.
pub const JOIN_ORDER: [LinuxNamespaceType; 8] = [
    LinuxNamespaceType::User,
    LinuxNamespaceType::Ipc,
    LinuxNamespaceType::Uts,
    LinuxNamespaceType::Network,
    LinuxNamespaceType::Pid,
    LinuxNamespaceType::Cgroup,
    LinuxNamespaceType::Time,
    LinuxNamespaceType::Mount,
];

impl Plan {
    pub fn from_config(namespaces: &[LinuxNamespace]) -> Result<Plan> {
        let mut plan = Plan::default();
        let mut seen = Vec::new();
        for ns in namespaces {
            if seen.contains(&ns.typ()) {
                return Err(Error::InvalidConfig(format!("namespace {} is listed twice", proc_name(ns.typ()))));
            }
            seen.push(ns.typ());
            match ns.path() {
                Some(p) if !p.as_os_str().is_empty() => plan.join.push((ns.typ(), p.clone())),
                _ => plan.create |= clone_flag(ns.typ()),
            }
        }
        plan.join.sort_by_key(|(t, _)| JOIN_ORDER.iter().position(|o| o == t));
        Ok(plan)
    }

    pub fn has(&self, t: LinuxNamespaceType) -> bool {
        self.create.contains(clone_flag(t)) || self.join.iter().any(|(j, _)| *j == t)
    }

    pub fn creates(&self, t: LinuxNamespaceType) -> bool {
        self.create.contains(clone_flag(t))
    }

    pub fn joined_path(&self, t: LinuxNamespaceType) -> Option<&Path> {
        self.join.iter().find(|(j, _)| *j == t).map(|(_, p)| p.as_path())
    }
}

/// Joins the namespace at `path`, checking that it is of the kind the config said.
pub fn join(t: LinuxNamespaceType, path: &Path) -> Result<()> {
    let f = std::fs::File::open(path).map_err(|e| Error::io("open namespace", path, e))?;
    nix::sched::setns(f.as_fd(), clone_flag(t)).map_err(|e| Error::sys(format!("setns {} {}", proc_name(t), path.display()), e))
}

/// A network namespace made ahead, on a thread of its own, while `create` does its other
/// work: creating one takes 0.5-0.6 ms on the test VM (the most expensive namespace by
/// far), which this takes off the path to the container's init. Only for containers
/// without a user namespace: the namespace belongs to the user namespace of whoever made
/// it, and a container's own user namespace does not exist yet. Stage 1 joins it with
/// setns instead of unsharing a new one, which is the same namespace to the container.
/// The thread has ended when `join` returns, so the caller is single-threaded again
/// before it forks.
pub fn spawn_netns() -> std::thread::JoinHandle<Result<std::os::fd::OwnedFd>> {
    std::thread::spawn(|| {
        // unshare(CLONE_NEWNET) is allowed in a multi-threaded process and applies to the
        // calling thread only; the descriptor keeps the namespace alive after it exits.
        nix::sched::unshare(CloneFlags::CLONE_NEWNET).map_err(|e| Error::sys("unshare network namespace", e))?;
        let p = Path::new("/proc/thread-self/ns/net");
        let f = std::fs::File::open(p).map_err(|e| Error::io("open namespace", p, e))?;
        Ok(std::os::fd::OwnedFd::from(f))
    })
}

/// The inode of a namespace file (two processes share a namespace when these match).
pub fn ns_inode(path: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| m.ino())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxNamespaceBuilder;

    #[test]
    fn joins_are_ordered_user_first_mount_last() {
        let ns = |t, p: Option<&str>| {
            let mut b = LinuxNamespaceBuilder::default().typ(t);
            if let Some(p) = p {
                b = b.path(p);
            }
            b.build().unwrap()
        };
        let plan = Plan::from_config(&[
            ns(LinuxNamespaceType::Mount, Some("/proc/1/ns/mnt")),
            ns(LinuxNamespaceType::Network, Some("/run/netns/x")),
            ns(LinuxNamespaceType::User, Some("/proc/1/ns/user")),
            ns(LinuxNamespaceType::Pid, None),
        ])
        .unwrap();
        let order: Vec<_> = plan.join.iter().map(|(t, _)| proc_name(*t)).collect();
        assert_eq!(order, ["user", "net", "mnt"]);
        assert!(plan.creates(LinuxNamespaceType::Pid));
        assert!(!plan.creates(LinuxNamespaceType::Network));
    }

    #[test]
    fn a_namespace_listed_twice_is_an_error() {
        let n = LinuxNamespaceBuilder::default().typ(LinuxNamespaceType::Pid).build().unwrap();
        assert!(Plan::from_config(&[n.clone(), n]).is_err());
    }
}

/// A user namespace with the given id maps, held by an fd (for id-mapped mounts): a child
/// unshares it, the parent writes the maps and opens /proc/<child>/ns/user, the child exits.
pub fn userns_with_maps(
    uids: &[oci_spec::runtime::LinuxIdMapping],
    gids: &[oci_spec::runtime::LinuxIdMapping],
) -> Result<std::os::fd::OwnedFd> {
    use nix::unistd::{fork, pipe2, read, write, ForkResult};
    let (ready_r, ready_w) = pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| Error::sys("pipe", e))?;
    let (done_r, done_w) = pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| Error::sys("pipe", e))?;
    // SAFETY: the runtime is single-threaded; the child only makes system calls and exits.
    match unsafe { fork() }.map_err(|e| Error::sys("fork", e))? {
        ForkResult::Child => {
            drop(ready_r);
            drop(done_w);
            let ok = nix::sched::unshare(CloneFlags::CLONE_NEWUSER).is_ok();
            let _ = write(&ready_w, if ok { b"1" } else { b"0" });
            let mut b = [0u8; 1];
            let _ = read(&done_r, &mut b);
            // SAFETY: leave without running the parent's exit handlers.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            drop(ready_w);
            drop(done_r);
            let mut b = [0u8; 1];
            let n = read(&ready_r, &mut b).unwrap_or(0);
            let result = (|| {
                if n != 1 || b[0] != b'1' {
                    return Err(Error::Init("unshare user namespace for an id-mapped mount failed".into()));
                }
                let map = |m: &[oci_spec::runtime::LinuxIdMapping]| {
                    m.iter().map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size())).collect::<String>()
                };
                let pid = child.as_raw();
                std::fs::write(format!("/proc/{pid}/uid_map"), map(uids)).map_err(|e| Error::io("write uid_map", format!("/proc/{pid}/uid_map"), e))?;
                std::fs::write(format!("/proc/{pid}/gid_map"), map(gids)).map_err(|e| Error::io("write gid_map", format!("/proc/{pid}/gid_map"), e))?;
                let f = std::fs::File::open(format!("/proc/{pid}/ns/user")).map_err(|e| Error::io("open", format!("/proc/{pid}/ns/user"), e))?;
                Ok(std::os::fd::OwnedFd::from(f))
            })();
            drop(done_w);
            let _ = nix::sys::wait::waitpid(child, None);
            result
        }
    }
}
