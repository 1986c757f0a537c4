//! The copy driver, for hosts without overlayfs (some nested containers, old kernels):
//! the layers are copied bottom-up into one directory, whiteouts applied as they are met.
//! Slow and space-hungry, but the same on-disk layer format serves both drivers.
//!
//! The destination is built only by this code, and every directory is checked to be a
//! real directory (not a symlink from a lower layer) before anything is created in it.

use std::collections::HashMap;
use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{lchown, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::sys::stat::{mknod, Mode, SFlag};
use nix::sys::stat::{utimensat, UtimensatFlags};
use nix::sys::time::TimeSpec;

use crate::layer::{whiteout, xattr};

/// Copies `layers` (bottom first) into `dest`, which must exist.
pub(crate) fn build(layers: &[PathBuf], dest: &Path) -> io::Result<()> {
    for layer in layers {
        // Hard links are per layer: a link's target is in the same layer.
        let mut links = HashMap::new();
        merge_dir(layer, dest, &mut links)?;
    }
    Ok(())
}

fn merge_dir(src: &Path, dst: &Path, links: &mut HashMap<(u64, u64), PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(src).map_err(|e| at(src, e))? {
        let entry = entry.map_err(|e| at(src, e))?;
        let from = entry.path();
        merge_entry(&entry, dst, links).map_err(|e| at(&from, e))?;
    }
    Ok(())
}

/// Names the file an error happened on: a bare errno from a tree copy is useless.
fn at(path: &Path, e: io::Error) -> io::Error {
    // Already named by a deeper call.
    if e.get_ref().is_some() {
        return e;
    }
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

fn merge_entry(
    entry: &fs::DirEntry,
    dst: &Path,
    links: &mut HashMap<(u64, u64), PathBuf>,
) -> io::Result<()> {
    let from = entry.path();
    let to = dst.join(entry.file_name());
    let meta = fs::symlink_metadata(&from)?;
    if whiteout::is_whiteout(&meta) {
        return remove_any(&to);
    }
    if meta.is_dir() {
        let keep =
            !whiteout::is_opaque(&from)? && fs::symlink_metadata(&to).is_ok_and(|m| m.is_dir());
        if !keep {
            remove_any(&to)?;
            fs::create_dir(&to)?;
        }
        merge_dir(&from, &to, links)?;
        return copy_meta(&meta, &from, &to, true);
    }
    remove_any(&to)?;
    if meta.nlink() > 1 {
        if let Some(first) = links.get(&(meta.dev(), meta.ino())) {
            return fs::hard_link(first, &to);
        }
        links.insert((meta.dev(), meta.ino()), to.clone());
    }
    let ft = meta.file_type();
    if ft.is_symlink() {
        std::os::unix::fs::symlink(fs::read_link(&from)?, &to)?;
    } else if ft.is_file() {
        fs::copy(&from, &to)?;
    } else {
        let kind = if ft.is_char_device() {
            SFlag::S_IFCHR
        } else if ft.is_block_device() {
            SFlag::S_IFBLK
        } else if ft.is_fifo() {
            SFlag::S_IFIFO
        } else {
            // Sockets are not layer content; nothing to copy.
            return Ok(());
        };
        mknod(&to, kind, Mode::from_bits_truncate(0o600), meta.rdev())?;
    }
    copy_meta(&meta, &from, &to, !ft.is_symlink())?;
    Ok(())
}

fn copy_meta(meta: &fs::Metadata, from: &Path, to: &Path, chmod: bool) -> io::Result<()> {
    lchown(to, Some(meta.uid()), Some(meta.gid()))?;
    if chmod {
        fs::set_permissions(to, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    }
    // After chown, which drops security.capability.
    copy_xattrs(from, to)?;
    let at = TimeSpec::new(meta.atime(), meta.atime_nsec());
    let mt = TimeSpec::new(meta.mtime(), meta.mtime_nsec());
    utimensat(
        nix::fcntl::AT_FDCWD,
        to,
        &at,
        &mt,
        UtimensatFlags::NoFollowSymlink,
    )?;
    Ok(())
}

/// Copies extended attributes (file capabilities above all), except overlay's own, which
/// describe layering this driver has already resolved.
fn copy_xattrs(from: &Path, to: &Path) -> io::Result<()> {
    let to_c = CString::new(to.as_os_str().as_bytes())?;
    for (name, value) in xattr::read_all(from)? {
        // SAFETY: NUL-terminated path and name; value is live for its length.
        let rc = unsafe {
            libc::lsetxattr(
                to_c.as_ptr(),
                name.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

fn remove_any(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
    }
}
