//! The overlay driver: the layers' diff directories as overlayfs lower layers, the
//! container's own upper and work directories on top.
//!
//! The classic `mount(2)` takes every lower path in one option string limited to a page,
//! which a few dozen layers exhaust. The new mount API (`fsopen`/`fsconfig`) takes one
//! `lowerdir+` per layer (Linux 6.8+), each its own string, so depth is limited only by
//! overlayfs itself (500 layers). Older kernels get `mount(2)` while the options fit.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::mount::{mount, MsFlags};

// From <linux/mount.h>; stable kernel ABI.
const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 4;

fn cstring(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

/// Whether this kernel can mount overlayfs (asking it, which also loads the module).
pub fn supported() -> bool {
    fs_context().is_ok()
}

fn fs_context() -> io::Result<OwnedFd> {
    // SAFETY: a NUL-terminated name and flags; returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_fsopen, c"overlay".as_ptr(), FSOPEN_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fsopen returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Mounts the overlay on `target`. `lowers` are top-most first, as overlayfs wants them.
pub(crate) fn mount_overlay(
    lowers: &[PathBuf],
    upper: &Path,
    work: &Path,
    target: &Path,
) -> io::Result<()> {
    match mount_new_api(lowers, upper, work, target) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) && lowers_unsupported(&e) => {
            mount_legacy(lowers, upper, work, target)
        }
        other => other,
    }
}

/// An overlay that predates `lowerdir+` rejects the key itself, and says so in its log.
fn lowers_unsupported(e: &io::Error) -> bool {
    e.to_string().contains("Unknown parameter 'lowerdir+'")
}

fn mount_new_api(lowers: &[PathBuf], upper: &Path, work: &Path, target: &Path) -> io::Result<()> {
    let fs = fs_context()?;
    for lower in lowers {
        set_string(&fs, c"lowerdir+", lower)?;
    }
    set_string(&fs, c"upperdir", upper)?;
    set_string(&fs, c"workdir", work)?;
    // SAFETY: fs is a live fs context; CMD_CREATE takes no key or value.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<u8>(),
            std::ptr::null::<u8>(),
            0,
        )
    };
    if rc < 0 {
        return Err(with_log(&fs, "create overlay"));
    }
    // SAFETY: fs is a created fs context; returns a new mount fd or -1.
    let mnt = unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, 0) };
    if mnt < 0 {
        return Err(with_log(&fs, "fsmount"));
    }
    // SAFETY: fsmount returned a new descriptor that nothing else owns.
    let mnt = unsafe { OwnedFd::from_raw_fd(mnt as i32) };
    let target = cstring(target)?;
    // SAFETY: mnt is a live detached mount; the paths are NUL-terminated.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            mnt.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn set_string(fs: &OwnedFd, key: &CStr, value: &Path) -> io::Result<()> {
    let v = cstring(value)?;
    // SAFETY: fs is a live fs context; key and value are NUL-terminated.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_SET_STRING,
            key.as_ptr(),
            v.as_ptr(),
            0,
        )
    };
    if rc < 0 {
        return Err(with_log(
            fs,
            &format!("set {} {}", key.to_string_lossy(), value.display()),
        ));
    }
    Ok(())
}

/// The kernel explains fsconfig failures in the context's log, far better than errno.
fn with_log(fs: &OwnedFd, what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    let mut log = String::new();
    let mut buf = [0u8; 512];
    loop {
        // SAFETY: reading into a live buffer of its own length from our descriptor.
        let n = unsafe { libc::read(fs.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        log.push_str("; ");
        log.push_str(String::from_utf8_lossy(&buf[..n as usize]).trim_end());
    }
    io::Error::new(e.kind(), format!("{what}: {e}{log}"))
}

fn mount_legacy(lowers: &[PathBuf], upper: &Path, work: &Path, target: &Path) -> io::Result<()> {
    let lower: Vec<_> = lowers.iter().map(|p| p.display().to_string()).collect();
    let opts = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.join(":"),
        upper.display(),
        work.display()
    );
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as usize;
    if opts.len() >= page {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} layers exceed the mount options limit of this kernel",
                lowers.len()
            ),
        ));
    }
    mount(
        Some("overlay"),
        target,
        Some("overlay"),
        MsFlags::empty(),
        Some(opts.as_str()),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = nix::mount::umount2(self.0, nix::mount::MntFlags::MNT_DETACH);
        }
    }

    /// The fallback for kernels without `lowerdir+`, exercised here on one that has it.
    #[test]
    fn legacy_mount_works_and_refuses_what_does_not_fit() {
        if !nix::unistd::geteuid().is_root() || !supported() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for name in ["top", "bottom", "upper", "work", "merged"] {
            fs::create_dir(d.join(name)).unwrap();
        }
        fs::write(d.join("bottom/f"), b"bottom").unwrap();
        fs::write(d.join("top/f"), b"top").unwrap();
        fs::write(d.join("bottom/g"), b"g").unwrap();
        let lowers = [d.join("top"), d.join("bottom")];
        let merged = d.join("merged");
        mount_legacy(&lowers, &d.join("upper"), &d.join("work"), &merged).unwrap();
        let _guard = Unmount(&merged);
        assert_eq!(fs::read(merged.join("f")).unwrap(), b"top");
        assert_eq!(fs::read(merged.join("g")).unwrap(), b"g");

        let many: Vec<PathBuf> = (0..300).map(|_| d.join("top")).collect();
        let err =
            mount_legacy(&many, &d.join("upper"), &d.join("work"), &d.join("top")).unwrap_err();
        assert!(err.to_string().contains("300 layers"), "{err}");
    }
}
