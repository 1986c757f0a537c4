//! Applying a layer archive to a directory, safely against hostile archives.
//!
//! Nothing here ever resolves an entry's path against the host's view of the filesystem:
//! - a path is split into plain components; `..` is refused and a leading `/` dropped;
//! - the parent directory is opened with `openat2(RESOLVE_IN_ROOT)` from a descriptor on
//!   `dest`, so any symlink met on the way (planted by this archive or any other) resolves
//!   as if `dest` were `/` and can never lead out;
//! - the entry itself is created relative to that descriptor and never followed
//!   (`O_NOFOLLOW`, `AT_SYMLINK_NOFOLLOW`), so replacing a symlink never writes through it;
//! - a hard link's target is resolved the same way, so it can only name a file in `dest`.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, openat2, AtFlags, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{
    fchmod, fchmodat, fstatat, futimens, makedev, mkdirat, mknodat, utimensat, FchmodatFlags, Mode,
    SFlag, UtimensatFlags,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchown, fchownat, linkat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags};
use tar::{Archive, EntryType};

use crate::digest::{Digest, DigestingReader};
use crate::error::{Error, Result};
use crate::layer::compression::{decompress, Compression};
use crate::layer::whiteout::{self, Name};

/// What applying a layer found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerStats {
    /// sha256 of the uncompressed archive: the layer's DiffID.
    pub diff_id: Digest,
    pub compression: Compression,
    /// Length of the uncompressed archive.
    pub tar_size: u64,
    pub entries: u64,
    /// Bytes of regular-file content written.
    pub file_bytes: u64,
    pub whiteouts: u64,
}

/// Unpacks a layer (tar, gzip or zstd, sniffed) into `dest`, which must exist.
pub fn apply_layer(stream: impl Read, dest: &Path) -> Result<LayerStats> {
    let root = open_root(dest)?;
    // Buffered: tar reads 512-byte headers, which would otherwise be a syscall each for
    // an uncompressed layer read from a file.
    let stream = io::BufReader::with_capacity(COPY_BUF, stream);
    let (compression, tar) = decompress(stream).map_err(|source| Error::ReadArchive { source })?;
    // One buffer for every file's content: larger writes than io::copy's 8 KiB, and no
    // allocation per entry.
    let mut buf = vec![0u8; COPY_BUF];
    let mut archive = Archive::new(DigestingReader::new(tar));
    let mut stats = LayerStats {
        diff_id: Digest::of(b""),
        compression,
        tar_size: 0,
        entries: 0,
        file_bytes: 0,
        whiteouts: 0,
    };
    // Directory times are set last: creating their children would bump them again.
    let mut dir_times: Vec<(PathBuf, u64)> = Vec::new();
    for entry in archive
        .entries()
        .map_err(|source| Error::ReadArchive { source })?
    {
        let mut entry = entry.map_err(|source| Error::ReadArchive { source })?;
        let raw = entry
            .path()
            .map_err(|source| Error::ReadArchive { source })?
            .into_owned();
        let comps = components(&raw)?;
        let fail = |source: io::Error| Error::ApplyEntry {
            entry: raw.clone(),
            source,
        };
        stats.entries += 1;
        let Some((name, parents)) = comps.split_last() else {
            // "./": the layer's root directory itself.
            if entry.header().entry_type() == EntryType::Directory {
                apply_meta_fd(&root, &Meta::of(&mut entry).map_err(fail)?).map_err(fail)?;
                dir_times.push((PathBuf::new(), entry.header().mtime().unwrap_or(0)));
            }
            continue;
        };
        let parent = open_parent(&root, parents).map_err(fail)?;
        match whiteout::classify(name) {
            Name::Opaque => {
                whiteout::make_opaque(&parent).map_err(fail)?;
                stats.whiteouts += 1;
                continue;
            }
            Name::Whiteout(target) => {
                if target.is_empty() || target == "." || target == ".." {
                    return Err(Error::UnsafeEntry {
                        entry: raw,
                        reason: "whiteout names no file",
                    });
                }
                remove_existing(&parent, target, false).map_err(fail)?;
                whiteout::create(&parent, target).map_err(fail)?;
                stats.whiteouts += 1;
                continue;
            }
            Name::Plain => {}
        }
        let kind = entry.header().entry_type();
        match kind {
            EntryType::Directory => {
                remove_existing(&parent, name, true).map_err(fail)?;
                match mkdirat(&parent, *name, Mode::from_bits_truncate(0o700)) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(fail(e.into())),
                }
                let dir = openat(
                    &parent,
                    *name,
                    OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|e| fail(e.into()))?;
                apply_meta_fd(&dir, &Meta::of(&mut entry).map_err(fail)?).map_err(fail)?;
                dir_times.push((comps.iter().collect(), entry.header().mtime().unwrap_or(0)));
            }
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                let meta = Meta::of(&mut entry).map_err(fail)?;
                remove_existing(&parent, name, false).map_err(fail)?;
                let fd = openat(
                    &parent,
                    *name,
                    OFlag::O_CREAT
                        | OFlag::O_EXCL
                        | OFlag::O_WRONLY
                        | OFlag::O_NOFOLLOW
                        | OFlag::O_CLOEXEC,
                    Mode::from_bits_truncate(0o600),
                )
                .map_err(|e| fail(e.into()))?;
                let mut file = File::from(fd);
                stats.file_bytes += copy_with(&mut buf, &mut entry, &mut file).map_err(fail)?;
                apply_meta_fd(&file, &meta).map_err(fail)?;
                crate::store::atomic::start_writeback(&file);
            }
            EntryType::Symlink => {
                let meta = Meta::of(&mut entry).map_err(fail)?;
                // The target is stored, never resolved here: it is data for whoever reads
                // the link later, inside the container's root.
                let target = link_name(&mut entry, &raw)?;
                remove_existing(&parent, name, false).map_err(fail)?;
                symlinkat(&target, &parent, *name).map_err(|e| fail(e.into()))?;
                apply_meta_at(&parent, name, &meta, true).map_err(fail)?;
            }
            EntryType::Link => {
                let target = link_name(&mut entry, &raw)?;
                let tcomps = components(&target).map_err(|_| Error::UnsafeEntry {
                    entry: raw.clone(),
                    reason: "hard link target contains \"..\"",
                })?;
                let Some((tname, tparents)) = tcomps.split_last() else {
                    return Err(Error::UnsafeEntry {
                        entry: raw,
                        reason: "hard link to the layer root",
                    });
                };
                let tparent = open_dir_in_root(&root, &tparents.iter().collect::<PathBuf>())
                    .map_err(|e| fail(e.into()))?;
                remove_existing(&parent, name, false).map_err(fail)?;
                // No AT_SYMLINK_FOLLOW: a link to a symlink links the symlink itself.
                linkat(&tparent, *tname, &parent, *name, AtFlags::empty())
                    .map_err(|e| fail(e.into()))?;
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                let meta = Meta::of(&mut entry).map_err(fail)?;
                let sflag = match kind {
                    EntryType::Char => SFlag::S_IFCHR,
                    EntryType::Block => SFlag::S_IFBLK,
                    _ => SFlag::S_IFIFO,
                };
                let h = entry.header();
                let dev = makedev(
                    h.device_major().map_err(fail)?.unwrap_or(0).into(),
                    h.device_minor().map_err(fail)?.unwrap_or(0).into(),
                );
                remove_existing(&parent, name, false).map_err(fail)?;
                mknodat(&parent, *name, sflag, Mode::from_bits_truncate(0o600), dev)
                    .map_err(|e| fail(e.into()))?;
                apply_meta_at(&parent, name, &meta, false).map_err(fail)?;
            }
            // A pax global header carries defaults we do not use (tar itself applies them).
            EntryType::XGlobalHeader => stats.entries -= 1,
            _ => {
                return Err(Error::UnsafeEntry {
                    entry: raw,
                    reason: "unsupported entry type",
                })
            }
        }
    }
    for (path, mtime) in dir_times.iter().rev() {
        let fail = |source: io::Error| Error::ApplyEntry {
            entry: path.clone(),
            source,
        };
        let dir = open_dir_in_root(&root, path).map_err(|e| fail(e.into()))?;
        let t = TimeSpec::new(*mtime as i64, 0);
        futimens(&dir, &t, &t).map_err(|e| fail(e.into()))?;
    }
    // Hash the end-of-archive blocks and any padding too: the DiffID covers every byte.
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(|source| Error::ReadArchive { source })?;
    let (diff_id, tar_size) = rest.finish();
    stats.diff_id = diff_id;
    stats.tar_size = tar_size;
    Ok(stats)
}

/// Size of the read buffer and of the writes of file content while unpacking.
const COPY_BUF: usize = 256 << 10;

/// `io::copy` through the caller's buffer.
pub(crate) fn copy_with(
    buf: &mut [u8],
    r: &mut impl Read,
    w: &mut impl io::Write,
) -> io::Result<u64> {
    let mut total = 0;
    loop {
        let n = match r.read(buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        w.write_all(&buf[..n])?;
        total += n as u64;
    }
}

fn open_root(dest: &Path) -> Result<OwnedFd> {
    openat(
        nix::fcntl::AT_FDCWD,
        dest,
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::OpenDest {
        path: dest.to_owned(),
        source: e.into(),
    })
}

/// The plain components of an entry's path: `/` and `.` dropped, `..` refused (even one
/// that would stay inside: an archive that needs it is not one a builder writes).
fn components(path: &Path) -> Result<Vec<&OsStr>> {
    let mut out = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => {
                return Err(Error::UnsafeEntry {
                    entry: path.to_owned(),
                    reason: "path contains \"..\"",
                })
            }
        }
    }
    Ok(out)
}

fn link_name<R: Read>(entry: &mut tar::Entry<'_, R>, raw: &Path) -> Result<PathBuf> {
    match entry.link_name() {
        Ok(Some(t)) if !t.as_os_str().is_empty() => Ok(t.into_owned()),
        Ok(_) => Err(Error::UnsafeEntry {
            entry: raw.to_owned(),
            reason: "link without a target",
        }),
        Err(source) => Err(Error::ReadArchive { source }),
    }
}

/// Opens a directory of the layer, resolving every symlink as if `root` were `/`.
fn open_dir_in_root(root: &OwnedFd, rel: &Path) -> nix::Result<OwnedFd> {
    let how = OpenHow::new()
        .flags(OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    openat2(root, rel, how)
}

/// Opens the entry's parent, creating missing directories (archives may omit them).
fn open_parent(root: &OwnedFd, parents: &[&OsStr]) -> io::Result<OwnedFd> {
    let full: PathBuf = parents.iter().collect();
    match open_dir_in_root(root, &full) {
        Ok(fd) => return Ok(fd),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(e.into()),
    }
    // Each prefix is resolved from the root again, so a symlink anywhere stays confined.
    let mut cur = open_dir_in_root(root, Path::new(""))?;
    let mut prefix = PathBuf::new();
    for c in parents {
        prefix.push(c);
        cur = match open_dir_in_root(root, &prefix) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => {
                // EEXIST here means a dangling symlink: refuse rather than follow it.
                mkdirat(&cur, *c, Mode::from_bits_truncate(0o755))?;
                let dir = open_dir_in_root(root, &prefix)?;
                // Implied directories are 0755 like Docker's, whatever our umask is.
                fchmod(&dir, Mode::from_bits_truncate(0o755))?;
                dir
            }
            Err(e) => return Err(e.into()),
        };
    }
    Ok(cur)
}

/// Makes room for a new entry. A directory is kept when a directory replaces it (its
/// children stay, as tar does); otherwise it must be empty.
fn remove_existing(parent: &OwnedFd, name: &OsStr, keep_dir: bool) -> io::Result<()> {
    match fstatat(parent, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Err(Errno::ENOENT) => Ok(()),
        Err(e) => Err(e.into()),
        Ok(st)
            if SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFDIR =>
        {
            if keep_dir {
                Ok(())
            } else {
                Ok(unlinkat(parent, name, UnlinkatFlags::RemoveDir)?)
            }
        }
        Ok(_) => Ok(unlinkat(parent, name, UnlinkatFlags::NoRemoveDir)?),
    }
}

/// Ownership, permissions, times and extended attributes of an entry.
struct Meta {
    uid: u32,
    gid: u32,
    mode: u32,
    mtime: u64,
    xattrs: Vec<(CString, Vec<u8>)>,
}

impl Meta {
    fn of<R: Read>(entry: &mut tar::Entry<'_, R>) -> io::Result<Meta> {
        let mut xattrs = Vec::new();
        if let Some(exts) = entry.pax_extensions()? {
            for ext in exts {
                let ext = ext?;
                // Docker and buildkit write xattrs as SCHILY.xattr.<name>, like GNU tar.
                if let Some(name) = ext.key_bytes().strip_prefix(b"SCHILY.xattr.") {
                    let name = CString::new(name)
                        .map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
                    xattrs.push((name, ext.value_bytes().to_vec()));
                }
            }
        }
        let h = entry.header();
        Ok(Meta {
            uid: u32::try_from(h.uid()?)
                .map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?,
            gid: u32::try_from(h.gid()?)
                .map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?,
            mode: h.mode()? & 0o7777,
            mtime: h.mtime()?,
            xattrs,
        })
    }
}

fn apply_meta_fd(fd: &impl AsFd, meta: &Meta) -> io::Result<()> {
    // Order matters: chown clears set-id bits and security.capability, so it comes first.
    fchown(
        fd,
        Some(Uid::from_raw(meta.uid)),
        Some(Gid::from_raw(meta.gid)),
    )?;
    fchmod(fd, Mode::from_bits_truncate(meta.mode))?;
    for (name, value) in &meta.xattrs {
        // SAFETY: the fd is valid for the call; name is NUL-terminated; value is a live
        // buffer of the given length.
        let rc = unsafe {
            libc::fsetxattr(
                fd.as_fd().as_raw_fd(),
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
    let t = TimeSpec::new(meta.mtime as i64, 0);
    futimens(fd, &t, &t)?;
    Ok(())
}

/// For entries that cannot be opened (symlinks, devices, fifos): by name, never followed.
fn apply_meta_at(parent: &OwnedFd, name: &OsStr, meta: &Meta, symlink: bool) -> io::Result<()> {
    fchownat(
        parent,
        name,
        Some(Uid::from_raw(meta.uid)),
        Some(Gid::from_raw(meta.gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )?;
    if !symlink {
        // fchmodat cannot refuse to follow; the name was just created by us as a device
        // or fifo in a directory only this unpack writes to.
        fchmodat(
            parent,
            name,
            Mode::from_bits_truncate(meta.mode),
            FchmodatFlags::FollowSymlink,
        )?;
    }
    if !meta.xattrs.is_empty() {
        // l*xattr on /proc/self/fd/<parent>/<name>: the parent is our own descriptor and the
        // final component is not followed.
        let mut path = format!("/proc/self/fd/{}/", parent.as_raw_fd()).into_bytes();
        path.extend_from_slice(name.as_bytes());
        let path = CString::new(path)?;
        for (xname, value) in &meta.xattrs {
            // SAFETY: path and name are NUL-terminated; value is live for its length.
            let rc = unsafe {
                libc::lsetxattr(
                    path.as_ptr(),
                    xname.as_ptr(),
                    value.as_ptr().cast(),
                    value.len(),
                    0,
                )
            };
            if rc != 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    let t = TimeSpec::new(meta.mtime as i64, 0);
    utimensat(parent, name, &t, &t, UtimensatFlags::NoFollowSymlink)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::fixture::{cap_net_bind, getxattr, Entry, TarFixture};
    use std::fs;
    use std::io::Write;
    use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

    fn is_root() -> bool {
        nix::unistd::geteuid().is_root()
    }

    fn every_kind() -> Vec<u8> {
        let cap = cap_net_bind();
        TarFixture::new()
            .entry(Entry {
                kind: EntryType::Directory,
                path: "etc/",
                mode: 0o750,
                uid: 1000,
                gid: 1001,
                mtime: 1000,
                ..Entry::default()
            })
            .entry(Entry {
                path: "etc/passwd",
                data: b"root:x:0:0\n",
                mode: 0o640,
                uid: 7,
                gid: 8,
                mtime: 2000,
                ..Entry::default()
            })
            .entry(Entry {
                path: "bin/ping",
                data: b"\x7fELF",
                mode: 0o4755,
                xattrs: &[("security.capability", &cap), ("user.note", b"hi")],
                ..Entry::default()
            })
            .symlink("etc/link", "passwd")
            .hardlink("etc/hard", "etc/passwd")
            .entry(Entry {
                kind: EntryType::Char,
                path: "dev/null",
                mode: 0o666,
                dev: (1, 3),
                ..Entry::default()
            })
            .entry(Entry {
                kind: EntryType::Fifo,
                path: "run/fifo",
                mode: 0o600,
                ..Entry::default()
            })
            .file("etc/.wh.gone", b"")
            .dir("opaque/")
            .file("opaque/.wh..wh..opq", b"")
            .finish()
    }

    #[test]
    fn applies_every_entry_kind_with_metadata() {
        if !is_root() {
            eprintln!("skipped: needs root (chown, mknod, trusted xattrs)");
            return;
        }
        let tar = every_kind();
        let dest = tempfile::tempdir().unwrap();
        let d = dest.path();
        let stats = apply_layer(&tar[..], d).unwrap();
        assert_eq!(stats.diff_id, Digest::of(&tar));
        assert_eq!(stats.tar_size, tar.len() as u64);
        assert_eq!(stats.compression, Compression::None);
        assert_eq!(stats.whiteouts, 2);
        assert_eq!(stats.file_bytes, 11 + 4);

        let etc = fs::symlink_metadata(d.join("etc")).unwrap();
        assert_eq!(
            (etc.uid(), etc.gid(), etc.mode() & 0o7777, etc.mtime()),
            (1000, 1001, 0o750, 1000)
        );
        let passwd = fs::symlink_metadata(d.join("etc/passwd")).unwrap();
        assert_eq!(
            (
                passwd.uid(),
                passwd.gid(),
                passwd.mode() & 0o7777,
                passwd.mtime()
            ),
            (7, 8, 0o640, 2000)
        );
        assert_eq!(fs::read(d.join("etc/passwd")).unwrap(), b"root:x:0:0\n");
        let ping = fs::symlink_metadata(d.join("bin/ping")).unwrap();
        assert_eq!(ping.permissions().mode() & 0o7777, 0o4755);
        assert_eq!(
            getxattr(&d.join("bin/ping"), "security.capability").unwrap(),
            cap_net_bind()
        );
        assert_eq!(getxattr(&d.join("bin/ping"), "user.note").unwrap(), b"hi");
        assert_eq!(
            fs::read_link(d.join("etc/link")).unwrap(),
            Path::new("passwd")
        );
        assert_eq!(
            fs::symlink_metadata(d.join("etc/hard")).unwrap().ino(),
            passwd.ino()
        );
        let null = fs::symlink_metadata(d.join("dev/null")).unwrap();
        assert!(null.file_type().is_char_device());
        assert_eq!((null.rdev(), null.mode() & 0o7777), (makedev(1, 3), 0o666));
        assert!(fs::symlink_metadata(d.join("run/fifo"))
            .unwrap()
            .file_type()
            .is_fifo());
        let gone = fs::symlink_metadata(d.join("etc/gone")).unwrap();
        assert!(whiteout::is_whiteout(&gone));
        assert!(!d.join("etc/.wh.gone").exists());
        assert!(whiteout::is_opaque(&d.join("opaque")).unwrap());
        assert!(!d.join("opaque/.wh..wh..opq").exists());
    }

    #[test]
    fn gzip_and_zstd_give_the_same_diff_id() {
        if !is_root() {
            return;
        }
        let tar = every_kind();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(&tar[..], 3).unwrap();
        for (blob, kind) in [(gz, Compression::Gzip), (zst, Compression::Zstd)] {
            let dest = tempfile::tempdir().unwrap();
            let stats = apply_layer(&blob[..], dest.path()).unwrap();
            assert_eq!(
                (stats.compression, &stats.diff_id),
                (kind, &Digest::of(&tar))
            );
            assert_eq!(
                fs::read(dest.path().join("etc/passwd")).unwrap(),
                b"root:x:0:0\n"
            );
        }
    }

    /// An outside directory and a destination; asserts at the end that nothing landed
    /// outside.
    struct Hostile {
        outside: tempfile::TempDir,
        dest: tempfile::TempDir,
    }

    impl Hostile {
        fn new() -> Hostile {
            Hostile {
                outside: tempfile::tempdir().unwrap(),
                dest: tempfile::tempdir().unwrap(),
            }
        }
        fn outside(&self) -> &str {
            self.outside.path().to_str().unwrap()
        }
        fn apply(&self, tar: &[u8]) -> Result<LayerStats> {
            apply_layer(tar, self.dest.path())
        }
        fn assert_outside_untouched(&self) {
            let names: Vec<_> = fs::read_dir(self.outside.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert!(names.is_empty(), "written outside dest: {names:?}");
        }
    }

    #[test]
    fn parent_dir_traversal_is_refused_and_named() {
        let h = Hostile::new();
        let err = h
            .apply(&TarFixture::new().file("../../etc/x", b"pwn").finish())
            .unwrap_err();
        assert!(matches!(err, Error::UnsafeEntry { .. }), "{err}");
        assert!(err.to_string().contains("../../etc/x"), "{err}");
        let err = h
            .apply(&TarFixture::new().file("a/../../x", b"pwn").finish())
            .unwrap_err();
        assert!(err.to_string().contains("a/../../x"), "{err}");
        let err = h
            .apply(
                &TarFixture::new()
                    .symlink("l", "/")
                    .hardlink("h", "../etc/passwd")
                    .finish(),
            )
            .unwrap_err();
        assert!(err.to_string().contains("\"h\""), "{err}");
    }

    #[test]
    fn absolute_paths_land_inside_dest() {
        let h = Hostile::new();
        let abs = format!("{}/x", h.outside());
        h.apply(&TarFixture::new().file(&abs, b"pwn").finish())
            .unwrap();
        h.assert_outside_untouched();
        assert_eq!(
            fs::read(h.dest.path().join(abs.trim_start_matches('/'))).unwrap(),
            b"pwn"
        );
    }

    #[test]
    fn symlinked_parent_does_not_lead_outside() {
        if !is_root() {
            return;
        }
        let h = Hostile::new();
        let tar = TarFixture::new()
            .symlink("evil", h.outside())
            .file("evil/file", b"pwn")
            .finish();
        let err = h.apply(&tar).unwrap_err();
        assert!(err.to_string().contains("evil/file"), "{err}");
        h.assert_outside_untouched();
    }

    #[test]
    fn absolute_symlink_to_root_resolves_to_dest() {
        if !is_root() {
            return;
        }
        let h = Hostile::new();
        let through = format!("abs{}/file", h.outside());
        let tar = TarFixture::new()
            .symlink("abs", "/")
            .file(&through, b"pwn")
            .finish();
        h.apply(&tar).unwrap();
        h.assert_outside_untouched();
        let inside = h
            .dest
            .path()
            .join(h.outside().trim_start_matches('/'))
            .join("file");
        assert_eq!(fs::read(inside).unwrap(), b"pwn");
    }

    #[test]
    fn file_replacing_a_symlink_does_not_write_through_it() {
        if !is_root() {
            return;
        }
        let h = Hostile::new();
        let victim = h.outside.path().join("victim");
        let tar = TarFixture::new()
            .symlink("link", victim.to_str().unwrap())
            .file("link", b"pwn")
            .finish();
        h.apply(&tar).unwrap();
        h.assert_outside_untouched();
        let link = fs::symlink_metadata(h.dest.path().join("link")).unwrap();
        assert!(link.is_file());
    }

    #[test]
    fn hard_links_only_reach_inside_dest() {
        if !is_root() {
            return;
        }
        let h = Hostile::new();
        let err = h
            .apply(&TarFixture::new().hardlink("passwd", "/etc/passwd").finish())
            .unwrap_err();
        assert!(err.to_string().contains("passwd"), "{err}");
        assert!(!h.dest.path().join("passwd").exists());

        let secret = h.outside.path().join("secret");
        fs::write(&secret, b"s3cret").unwrap();
        let via_symlink = TarFixture::new()
            .symlink("sl", h.outside())
            .hardlink("stolen", "sl/secret")
            .finish();
        let err = h.apply(&via_symlink).unwrap_err();
        assert!(err.to_string().contains("stolen"), "{err}");
        assert_eq!(fs::symlink_metadata(&secret).unwrap().nlink(), 1);
        assert!(!h.dest.path().join("stolen").exists());
    }

    #[test]
    fn empty_whiteout_is_refused() {
        let h = Hostile::new();
        let err = h
            .apply(&TarFixture::new().file("dir/.wh.", b"").finish())
            .unwrap_err();
        assert!(matches!(err, Error::UnsafeEntry { .. }), "{err}");
    }
}
