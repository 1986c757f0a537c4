//! Reading a file's extended attributes, for the copy driver and for exporting a
//! container's changes: both carry file capabilities and ACLs along but must leave out
//! overlay's own attributes, which describe layering that the result no longer has.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Overlay's private namespace: whiteouts, opaque markers, copy-up origins.
const OVERLAY_PREFIX: &[u8] = b"trusted.overlay.";

/// The extended attributes of `path` (never followed), sorted by name so that whatever
/// writes them out is deterministic, without overlay's own.
pub(crate) fn read_all(path: &Path) -> io::Result<Vec<(CString, Vec<u8>)>> {
    let path_c = CString::new(path.as_os_str().as_bytes())?;
    let names = xattr_call(|buf, len| {
        // SAFETY: NUL-terminated path; buf is null with len 0 (size query) or live for len.
        unsafe { libc::llistxattr(path_c.as_ptr(), buf.cast(), len) }
    })?;
    let mut out = Vec::new();
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        if name.starts_with(OVERLAY_PREFIX) {
            continue;
        }
        let name = CString::new(name)?;
        let value = xattr_call(|buf, len| {
            // SAFETY: NUL-terminated path and name; buf as above.
            unsafe { libc::lgetxattr(path_c.as_ptr(), name.as_ptr(), buf.cast(), len) }
        })?;
        out.push((name, value));
    }
    out.sort();
    Ok(out)
}

/// Runs a size-query-then-fetch xattr call, retrying if the value grew in between.
fn xattr_call(mut call: impl FnMut(*mut u8, usize) -> isize) -> io::Result<Vec<u8>> {
    loop {
        let size = call(std::ptr::null_mut(), 0);
        if size < 0 {
            let e = io::Error::last_os_error();
            // Filesystems without xattr support simply have none.
            return if e.raw_os_error() == Some(libc::ENOTSUP) {
                Ok(Vec::new())
            } else {
                Err(e)
            };
        }
        let mut buf = vec![0u8; size as usize];
        let n = call(buf.as_mut_ptr(), buf.len());
        if n >= 0 {
            buf.truncate(n as usize);
            return Ok(buf);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::ERANGE) {
            return Err(e);
        }
    }
}
