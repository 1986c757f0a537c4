//! Whiteouts: how a layer says "delete this from the layers below".
//!
//! In the archive (OCI image spec, from AUFS): an entry `dir/.wh.name` deletes `dir/name`,
//! and `dir/.wh..wh..opq` hides everything below `dir` from lower layers. On disk they
//! become what overlayfs reads: a 0:0 character device named `name`, and the xattr
//! `trusted.overlay.opaque=y` on `dir`. The copy driver reads the same on-disk form, so
//! every layer directory has one representation whatever driver mounts it.

use std::ffi::{CStr, OsStr};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::OsStrExt;
use std::{io, path::Path};

use nix::sys::stat::{mknodat, Mode, SFlag};

pub const PREFIX: &str = ".wh.";
pub const OPAQUE: &str = ".wh..wh..opq";
pub const OPAQUE_XATTR: &CStr = c"trusted.overlay.opaque";

/// What an archive entry's file name means.
#[derive(Debug, PartialEq, Eq)]
pub enum Name<'a> {
    Plain,
    /// `.wh..wh..opq`: the parent directory becomes opaque.
    Opaque,
    /// `.wh.<name>`: `<name>` is deleted.
    Whiteout(&'a OsStr),
}

pub fn classify(name: &OsStr) -> Name<'_> {
    let b = name.as_bytes();
    if b == OPAQUE.as_bytes() {
        Name::Opaque
    } else if let Some(rest) = b.strip_prefix(PREFIX.as_bytes()) {
        Name::Whiteout(OsStr::from_bytes(rest))
    } else {
        Name::Plain
    }
}

/// Creates the overlay whiteout for `name` in `dir`.
pub fn create(dir: impl AsFd, name: &OsStr) -> io::Result<()> {
    mknodat(dir, name, SFlag::S_IFCHR, Mode::empty(), 0)?;
    Ok(())
}

/// Marks the directory open as `dir` opaque.
pub fn make_opaque(dir: impl AsFd) -> io::Result<()> {
    // SAFETY: the fd is valid for the call, name and value point to live buffers of the
    // given lengths.
    let rc = unsafe {
        libc::fsetxattr(
            dir.as_fd().as_raw_fd(),
            OPAQUE_XATTR.as_ptr(),
            b"y".as_ptr().cast(),
            1,
            0,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Whether the file with this metadata is an overlay whiteout (char device 0:0).
pub fn is_whiteout(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    meta.file_type().is_char_device() && meta.rdev() == 0
}

/// Whether the directory at `path` is marked opaque.
pub fn is_opaque(path: &Path) -> io::Result<bool> {
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())?;
    let mut buf = [0u8; 4];
    // SAFETY: both strings are NUL-terminated and live; `buf` is writable for its length.
    let n = unsafe {
        libc::lgetxattr(
            c.as_ptr(),
            OPAQUE_XATTR.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n >= 0 {
        return Ok(&buf[..n as usize] == b"y");
    }
    match io::Error::last_os_error() {
        e if e.raw_os_error() == Some(libc::ENODATA) => Ok(false),
        e => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_names() {
        assert_eq!(classify(OsStr::new("file")), Name::Plain);
        assert_eq!(classify(OsStr::new(".wh..wh..opq")), Name::Opaque);
        assert_eq!(
            classify(OsStr::new(".wh.file")),
            Name::Whiteout(OsStr::new("file"))
        );
        assert_eq!(classify(OsStr::new(".wh.")), Name::Whiteout(OsStr::new("")));
        assert_eq!(classify(OsStr::new(".whfile")), Name::Plain);
    }
}
