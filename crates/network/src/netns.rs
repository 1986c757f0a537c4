//! Network namespaces as files: berthd makes a container's namespace before the runtime
//! runs (so the veth is in place when the process starts, and `container:` peers and a
//! restarted daemon can find it), keeps it alive with a bind mount of nsfs on
//! `<exec-root>/netns/<id>`, and enters it for the netlink calls that must be made inside.

use std::fs::File;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};

use crate::error::{NetworkError, Result};

/// Makes a new, empty network namespace and pins it at `path`.
///
/// `unshare(CLONE_NEWNET)` acts on the calling thread only, so it runs on a thread of its
/// own that ends right after: no thread of the daemon's pools is left in the container's
/// namespace.
pub fn create(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(NetworkError::io("create", dir))?;
    }
    File::create(path).map_err(NetworkError::io("create", path))?;
    let p = path.to_owned();
    let res = std::thread::spawn(move || -> Result<()> {
        unshare(CloneFlags::CLONE_NEWNET)
            .map_err(|source| NetworkError::Namespace { op: "unshare net for", path: p.clone(), source })?;
        mount(
            Some("/proc/thread-self/ns/net"),
            &p,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|source| NetworkError::Namespace { op: "bind mount netns on", path: p.clone(), source })
    })
    .join()
    .expect("the netns thread does not panic");
    if res.is_err() {
        let _ = std::fs::remove_file(path);
    }
    res
}

/// Unpins and removes a namespace file; a missing one is not an error. The namespace
/// itself (and the veth ends inside it) goes when its last process and pin are gone.
pub fn remove(path: &Path) -> Result<()> {
    match umount2(path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => {}
        Err(source) => {
            return Err(NetworkError::Namespace { op: "unmount netns", path: path.to_owned(), source })
        }
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(NetworkError::io("remove", path)(e)),
        _ => Ok(()),
    }
}

/// Runs `f` on a fresh thread that has joined the namespace at `path`, and returns its
/// result. A netlink socket opened in `f` stays bound to that namespace after the thread
/// ends, which is how the daemon configures interfaces inside a container.
pub fn run_in<T: Send + 'static>(path: &Path, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let ns = File::open(path).map_err(NetworkError::io("open netns", path))?;
    let p: PathBuf = path.to_owned();
    std::thread::spawn(move || -> Result<T> {
        setns(ns.as_fd(), CloneFlags::CLONE_NEWNET)
            .map_err(|source| NetworkError::Namespace { op: "setns", path: p, source })?;
        Ok(f())
    })
    .join()
    .expect("the netns thread does not panic")
}

/// Whether `path` is a pinned network namespace (not just the empty file left when a
/// pin was lost, e.g. after a reboot wiped the mounts but not the directory).
pub fn is_pinned(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(m) = std::fs::metadata(path) else { return false };
    let Ok(parent) = std::fs::metadata(path.parent().unwrap_or(Path::new("/"))) else { return false };
    m.dev() != parent.dev()
}
