//! One-name changes inside the rootfs, beside pathrs.
//!
//! pathrs's `mkdir_all`, `create`, `readlink` and `remove_file` re-check procfs on every
//! call (open /proc, statfs, faccessat, readlink of /proc/thread-self/fd/N: about ten
//! syscalls each); a default container makes some 80 such calls, about 1.5 ms of a 10 ms
//! start on the test VM. Most of the rootfs's changes are one new name in a directory
//! that exists (dev/pts, dev/null, dev/fd, sys/fs/cgroup/memory). For those a [`Leaf`]
//! holds the parent, resolved with openat2(RESOLVE_IN_ROOT) through pathrs's
//! `Root::resolve` (a single syscall), and makes the change with an *at syscall on the
//! parent's fd that never follows the final name (mkdirat, mknodat, symlinkat, unlinkat,
//! openat with O_NOFOLLOW). So nothing is resolved outside the root and a name that is a
//! symlink is never followed, as with pathrs. Anything else (a missing parent, a
//! dangling symlink to follow, a final `..`) is left to pathrs.

use std::ffi::OsString;
use std::os::fd::AsFd;
use std::path::{Component, Path};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{Mode, SFlag};
use pathrs::{Handle, Root};

/// A name to create or change in a directory of the rootfs.
pub struct Leaf {
    parent: Handle,
    name: OsString,
}

impl Leaf {
    /// The leaf `r` (relative to the root): `None` when `r` does not end in a plain name
    /// or its parent does not resolve inside the root.
    pub fn of(root: &Root, r: &Path) -> Option<Leaf> {
        let Some(Component::Normal(name)) = r.components().next_back() else { return None };
        let parent = resolve(root, r.parent().unwrap_or(Path::new(""))).ok()?;
        Some(Leaf { parent, name: name.to_owned() })
    }

    /// Whether the name exists as a symlink (a mount point pathrs must follow inside the root).
    pub fn is_symlink(&self) -> bool {
        nix::sys::stat::fstatat(self.parent.as_fd(), self.name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW)
            .is_ok_and(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK)
    }

    pub fn mkdir(&self, mode: u32) -> nix::Result<()> {
        nix::sys::stat::mkdirat(self.parent.as_fd(), self.name.as_os_str(), Mode::from_bits_truncate(mode))
    }

    /// An empty regular file (a mount point for a file); fails with EEXIST if the name exists.
    pub fn create_file(&self, mode: u32) -> nix::Result<()> {
        let flags = OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_WRONLY | OFlag::O_CLOEXEC;
        nix::fcntl::openat(self.parent.as_fd(), self.name.as_os_str(), flags, Mode::from_bits_truncate(mode)).map(drop)
    }

    pub fn mknod(&self, kind: SFlag, perm: u32, dev: libc::dev_t) -> nix::Result<()> {
        nix::sys::stat::mknodat(self.parent.as_fd(), self.name.as_os_str(), kind, Mode::from_bits_truncate(perm), dev)
    }

    pub fn symlink(&self, target: &Path) -> nix::Result<()> {
        nix::unistd::symlinkat(target, self.parent.as_fd(), self.name.as_os_str())
    }

    /// Removes a non-directory name.
    pub fn unlink(&self) -> nix::Result<()> {
        nix::unistd::unlinkat(self.parent.as_fd(), self.name.as_os_str(), nix::unistd::UnlinkatFlags::NoRemoveDir)
    }

    /// An O_PATH handle on the name itself (not what it points to).
    pub fn open(&self) -> nix::Result<Handle> {
        let flags = OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        nix::fcntl::openat(self.parent.as_fd(), self.name.as_os_str(), flags, Mode::empty()).map(Handle::from_fd)
    }
}

/// `r` (relative to the root) as an O_PATH handle, every symlink and `..` in it resolved
/// inside the root: pathrs's `Root::resolve` (the same openat2 RESOLVE_IN_ROOT), minus
/// the procfs walk pathrs makes to describe a path that is missing, the common case for
/// a mount point.
pub fn resolve(root: &Root, r: &Path) -> std::io::Result<Handle> {
    crate::in_root::open(root, r, OFlag::O_PATH, Mode::empty()).map(|f| Handle::from_fd(std::os::fd::OwnedFd::from(f)))
}

/// EEXIST is what a second creation of the same name reports: callers that only need the
/// name to exist treat it as success.
pub fn ok_if_exists(r: nix::Result<()>) -> nix::Result<()> {
    match r {
        Err(Errno::EEXIST) => Ok(()),
        r => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> (tempfile::TempDir, Root) {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("dev")).unwrap();
        let r = Root::open(d.path()).unwrap();
        (d, r)
    }

    #[test]
    fn creates_names_in_an_existing_parent() {
        let (d, root) = root();
        let l = Leaf::of(&root, Path::new("dev/pts")).unwrap();
        l.mkdir(0o755).unwrap();
        assert!(d.path().join("dev/pts").is_dir());
        assert_eq!(ok_if_exists(l.mkdir(0o755)), Ok(()));
        let f = Leaf::of(&root, Path::new("dev/console")).unwrap();
        f.create_file(0o644).unwrap();
        assert!(std::fs::metadata(d.path().join("dev/console")).unwrap().is_file());
        assert_eq!(f.create_file(0o644), Err(Errno::EEXIST));
        Leaf::of(&root, Path::new("dev/fd")).unwrap().symlink(Path::new("/proc/self/fd")).unwrap();
        assert_eq!(std::fs::read_link(d.path().join("dev/fd")).unwrap(), Path::new("/proc/self/fd"));
        assert!(Leaf::of(&root, Path::new("dev/fd")).unwrap().is_symlink());
        assert!(!f.is_symlink());
        f.unlink().unwrap();
        assert!(!d.path().join("dev/console").exists());
    }

    #[test]
    fn a_missing_parent_or_a_final_dotdot_is_left_to_pathrs() {
        let (_d, root) = root();
        assert!(Leaf::of(&root, Path::new("sys/fs/cgroup")).is_none());
        assert!(Leaf::of(&root, Path::new("dev/..")).is_none());
        assert!(Leaf::of(&root, Path::new("top")).is_some());
    }

    #[test]
    fn a_parent_symlink_to_the_host_stays_inside_the_root() {
        let (d, root) = root();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), d.path().join("escape")).unwrap();
        // The parent resolves IN_ROOT: the absolute link target is taken inside the root,
        // where it does not exist.
        assert!(Leaf::of(&root, &Path::new("escape").join("x")).is_none());
        std::os::unix::fs::symlink("/dev", d.path().join("devlink")).unwrap();
        Leaf::of(&root, Path::new("devlink/null")).unwrap().create_file(0o644).unwrap();
        assert!(d.path().join("dev/null").exists());
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_final_symlink_is_never_followed() {
        let (d, root) = root();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path().join("made"), d.path().join("dev/pts")).unwrap();
        let l = Leaf::of(&root, Path::new("dev/pts")).unwrap();
        assert!(l.is_symlink());
        assert_eq!(l.mkdir(0o755), Err(Errno::EEXIST));
        assert_eq!(l.create_file(0o644), Err(Errno::EEXIST));
        assert!(!outside.path().join("made").exists());
        let h = l.open().unwrap();
        let st = nix::sys::stat::fstat(h.as_fd()).unwrap();
        assert_eq!(SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT, SFlag::S_IFLNK);
    }
}
