//! Opening paths inside a container's root filesystem as the container would see them:
//! every symlink, `..` and absolute link resolved with the root as `/`
//! (openat2 `RESOLVE_IN_ROOT`), so an image or a container can never point the daemon
//! at a host file. Shared by the engine (copy-up, `cp`), the user resolver, the builder and
//! the init building a rootfs (see `init::leaf`).

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;

/// A descriptor on `root` to resolve paths from.
pub fn open_root(root: &Path) -> std::io::Result<OwnedFd> {
    let fd = nix::fcntl::open(
        root,
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_PATH,
        Mode::empty(),
    )?;
    Ok(fd)
}

/// Opens `rel` (absolute or relative, taken from the container's `/`) beneath `root`.
pub fn open(root: impl AsFd, rel: &Path, flags: OFlag, mode: Mode) -> std::io::Result<File> {
    let rel = rel.strip_prefix("/").unwrap_or(rel);
    let rel = if rel.as_os_str().is_empty() { Path::new(".") } else { rel };
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .mode(mode)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let fd = openat2(root, rel, how)?;
    Ok(File::from(fd))
}

/// Reads a small file of the container (`/etc/passwd`), `None` if it is not there.
pub fn read(root: &Path, rel: &str) -> Option<String> {
    let r = open_root(root).ok()?;
    let mut f = open(&r, Path::new(rel), OFlag::O_RDONLY, Mode::empty()).ok()?;
    let mut s = String::new();
    std::io::Read::read_to_string(&mut f, &mut s).ok()?;
    Some(s)
}
