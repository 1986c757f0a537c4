//! Copy-up: the first time an empty volume is mounted over a directory that has content
//! in the image, that content (files, directories, symlinks, devices and fifos, with
//! owners, modes and times) is copied into the volume, as Docker does. The image side
//! is opened inside the root filesystem (`RESOLVE_IN_ROOT`) and walked descriptor by
//! descriptor with `O_NOFOLLOW`: a symlink is copied as a symlink, never followed, so a
//! hostile image cannot make the daemon read or write outside the rootfs and volume.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use nix::fcntl::{openat, readlinkat, AtFlags, OFlag};
use nix::sys::stat::{fchmod, fstatat, mkdirat, mknodat, utimensat, FileStat, Mode, SFlag, UtimensatFlags};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchownat, Gid, Uid};

use crate::error::{Error, Result};

/// Whether the volume directory `dir` has no entries.
pub fn is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(false)
}

/// Copies the image's `ctr_path` (resolved inside `rootfs`) into `dst` when `dst` is
/// empty; a path the image does not have, or that is not a directory, copies nothing.
pub fn copy_up(rootfs: &Path, ctr_path: &str, dst: &Path) -> Result<()> {
    if !is_empty(dst) {
        return Ok(());
    }
    let err = |e: io::Error| Error::internal(format!("copy image content of {ctr_path} into volume"), e);
    let root = crate::in_root::open_root(rootfs).map_err(err)?;
    let src = match crate::in_root::open(&root, Path::new(ctr_path), OFlag::O_DIRECTORY | OFlag::O_RDONLY, Mode::empty()) {
        Ok(f) => OwnedFd::from(f),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => return Ok(()),
        Err(e) => return Err(err(e)),
    };
    let dst = nix::fcntl::open(dst, OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| err(e.into()))?;
    copy_dir(&src, &dst).map_err(err)?;
    // The volume's top takes the owner and mode of the directory it covers.
    let st = nix::sys::stat::fstat(&src).map_err(|e| err(e.into()))?;
    set_attrs(&dst, None, &st).map_err(err)?;
    Ok(())
}

fn names(dir: &OwnedFd) -> io::Result<Vec<OsString>> {
    let mut d = nix::dir::Dir::openat(dir, ".", OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())?;
    let mut out = Vec::new();
    for e in d.iter() {
        let n = e?.file_name().to_bytes().to_vec();
        if n != b"." && n != b".." {
            out.push(OsString::from_vec(n));
        }
    }
    Ok(out)
}

fn cstr(n: &OsStr) -> io::Result<CString> {
    CString::new(n.as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// Owner, mode and times of `st` onto `dir`'s `name` (or `dir` itself), links untouched.
fn set_attrs(dir: &OwnedFd, name: Option<&CStr>, st: &FileStat) -> io::Result<()> {
    let kind = SFlag::from_bits_truncate(st.st_mode & libc::S_IFMT);
    let times = (TimeSpec::new(st.st_atime, st.st_atime_nsec), TimeSpec::new(st.st_mtime, st.st_mtime_nsec));
    let target: &CStr = name.unwrap_or(c".");
    fchownat(dir, target, Some(Uid::from_raw(st.st_uid)), Some(Gid::from_raw(st.st_gid)), AtFlags::AT_SYMLINK_NOFOLLOW)?;
    if kind != SFlag::S_IFLNK {
        // chmod after chown: chown clears set-id bits.
        let fd = openat(dir, target, OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())?;
        let proc_path = format!("/proc/self/fd/{}", fd.as_raw_fd());
        // fchmod does not work on O_PATH descriptors; the magic link names exactly this inode.
        std::fs::set_permissions(proc_path, std::os::unix::fs::PermissionsExt::from_mode(st.st_mode & 0o7777))?;
    }
    utimensat(dir, target, &times.0, &times.1, UtimensatFlags::NoFollowSymlink)?;
    Ok(())
}

fn copy_dir(src: &OwnedFd, dst: &OwnedFd) -> io::Result<()> {
    for name in names(src)? {
        let c = cstr(&name)?;
        let st = fstatat(src, c.as_c_str(), AtFlags::AT_SYMLINK_NOFOLLOW)?;
        let kind = SFlag::from_bits_truncate(st.st_mode & libc::S_IFMT);
        let nofollow = OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        match kind {
            SFlag::S_IFDIR => {
                mkdirat(dst, c.as_c_str(), Mode::from_bits_truncate(0o700))?;
                let s = openat(src, c.as_c_str(), OFlag::O_DIRECTORY | OFlag::O_RDONLY | nofollow, Mode::empty())?;
                let d = openat(dst, c.as_c_str(), OFlag::O_DIRECTORY | OFlag::O_RDONLY | nofollow, Mode::empty())?;
                copy_dir(&s, &d)?;
            }
            SFlag::S_IFREG => {
                let s = openat(src, c.as_c_str(), OFlag::O_RDONLY | nofollow, Mode::empty())?;
                let d = openat(dst, c.as_c_str(), OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | nofollow, Mode::from_bits_truncate(0o600))?;
                let (mut s, mut d) = (File::from(s), File::from(d));
                io::copy(&mut s, &mut d)?;
                // Mode set through the open file as well: exactly the inode just written.
                fchmod(d.as_fd(), Mode::from_bits_truncate(0o600))?;
            }
            SFlag::S_IFLNK => {
                let target = readlinkat(src, c.as_c_str())?;
                nix::unistd::symlinkat(target.as_os_str(), dst, c.as_c_str())?;
            }
            SFlag::S_IFCHR | SFlag::S_IFBLK | SFlag::S_IFIFO => {
                mknodat(dst, c.as_c_str(), kind, Mode::from_bits_truncate(0o600), st.st_rdev)?;
            }
            // Sockets are not content.
            _ => continue,
        }
        set_attrs(dst, Some(c.as_c_str()), &st)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn copies_tree_and_keeps_hostile_links_as_links() {
        let t = tempfile::tempdir().unwrap();
        let rootfs = t.path().join("rootfs");
        let outside = t.path().join("outside");
        std::fs::create_dir_all(rootfs.join("etc/sub")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret"), "host secret").unwrap();
        std::fs::write(rootfs.join("etc/a.conf"), "a").unwrap();
        std::fs::set_permissions(rootfs.join("etc/a.conf"), std::fs::Permissions::from_mode(0o640)).unwrap();
        std::fs::write(rootfs.join("etc/sub/b"), "bb").unwrap();
        // Points at the host, absolute and relative: must be copied as links, not read.
        std::os::unix::fs::symlink(&outside, rootfs.join("etc/evil")).unwrap();
        std::os::unix::fs::symlink("../../outside/secret", rootfs.join("etc/evil2")).unwrap();
        // The mount point itself a link out of the root: resolved inside the root.
        std::os::unix::fs::symlink(&outside, rootfs.join("vol")).unwrap();
        let vol = t.path().join("vol");
        std::fs::create_dir(&vol).unwrap();
        copy_up(&rootfs, "/etc", &vol).unwrap();
        assert_eq!(std::fs::read_to_string(vol.join("a.conf")).unwrap(), "a");
        assert_eq!(std::fs::metadata(vol.join("a.conf")).unwrap().mode() & 0o777, 0o640);
        assert_eq!(std::fs::read_to_string(vol.join("sub/b")).unwrap(), "bb");
        assert_eq!(std::fs::read_link(vol.join("evil")).unwrap(), outside);
        assert!(std::fs::symlink_metadata(vol.join("evil")).unwrap().file_type().is_symlink());
        assert!(std::fs::symlink_metadata(vol.join("evil2")).unwrap().file_type().is_symlink());

        // A volume that has content is left alone.
        std::fs::write(rootfs.join("etc/new"), "n").unwrap();
        copy_up(&rootfs, "/etc", &vol).unwrap();
        assert!(!vol.join("new").exists());

        // `/vol` -> host dir: resolved as `/<host path>` inside the root, which is absent.
        let vol2 = t.path().join("vol2");
        std::fs::create_dir(&vol2).unwrap();
        copy_up(&rootfs, "/vol", &vol2).unwrap();
        assert!(is_empty(&vol2), "followed a link out of the root");
    }
}
