//! `docker cp` and `docker export`, the daemon's side: stat a path of a container
//! (`HEAD /containers/{id}/archive`), read it as a tar (`GET …/archive`), extract a tar
//! into it (`PUT …/archive`) and write the whole root filesystem as a tar
//! (`GET /containers/{id}/export`).
//!
//! Every function takes the container's mounted root directory and paths as the container
//! sees them. The root may belong to a running container that can plant symlinks at will,
//! so nothing here ever joins a container path onto the root and opens the result on the
//! host:
//! - a path is cleaned lexically first (`/a/../b` is `/b`, as Docker does), then its
//!   directories are opened with `openat2(RESOLVE_IN_ROOT)` from a descriptor on the root,
//!   so any symlink on the way (absolute, relative, `..`) resolves with the root as `/`;
//! - the last component is then looked at, created or opened relative to that directory
//!   descriptor without following it (`AT_SYMLINK_NOFOLLOW`, `O_NOFOLLOW`), and walking a
//!   tree goes down with `openat(O_NOFOLLOW)` from descriptor to descriptor;
//! - metadata of nodes that cannot be opened for writing (devices, fifos) is changed
//!   through an `O_PATH` descriptor of the very inode just created, never by a name a
//!   container could swap for a symlink in between.
//!
//! Extraction is written here rather than with `berth_image::apply_layer`, which has the
//! same confinement: a layer applier turns `.wh.` names into whiteouts (deleting files),
//! which would be wrong for a user's copy, and `docker cp` needs its own overwrite rules.

use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use nix::errno::Errno;
use nix::fcntl::{openat, openat2, readlinkat, AtFlags, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{
    fchmod, fstat, fstatat, futimens, makedev, mkdirat, mknodat, utimensat, FileStat, Mode, SFlag,
    UtimensatFlags,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchown, fchownat, linkat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags};
use serde::Serialize;
use tar::{Archive, Builder, EntryType, Header};

/// Why an archive operation failed; every variant names what it was working on.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("no such file or directory: {path}")]
    NotFound { path: String },

    #[error("not a directory: {path}")]
    NotADirectory { path: String },

    #[error("refuse archive entry {entry:?}: {reason}")]
    UnsafeEntry { entry: String, reason: &'static str },

    #[error("cannot overwrite {existing} {path:?} with {new}")]
    Overwrite {
        path: String,
        existing: &'static str,
        new: &'static str,
    },

    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: String,
        #[source]
        source: io::Error,
    },
}

type Result<T> = std::result::Result<T, ArchiveError>;

fn io_err(op: &'static str, path: impl Into<String>) -> impl FnOnce(Errno) -> ArchiveError {
    let path = path.into();
    move |e| ArchiveError::Io {
        op,
        path,
        source: e.into(),
    }
}

/// What `HEAD …/archive` reports about a path, in the `X-Docker-Container-Path-Stat`
/// header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathStat {
    pub name: String,
    pub size: i64,
    /// Go's `os.FileMode` bits: the docker CLI tells directories from files with them.
    pub mode: u32,
    /// RFC 3339 with nanoseconds.
    pub mtime: String,
    /// For a symlink, where it leads, fully resolved inside the container (absolute).
    #[serde(rename = "linkTarget")]
    pub link_target: String,
}

impl PathStat {
    /// The header's value: the JSON, base64 encoded (standard alphabet, padded).
    pub fn header_value(&self) -> String {
        // A struct of strings and integers always serializes.
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::STANDARD.encode(json)
    }
}

// Go's os.FileMode type bits.
const GO_DIR: u32 = 1 << 31;
const GO_SYMLINK: u32 = 1 << 27;
const GO_DEVICE: u32 = 1 << 26;
const GO_NAMED_PIPE: u32 = 1 << 25;
const GO_SOCKET: u32 = 1 << 24;
const GO_SETUID: u32 = 1 << 23;
const GO_SETGID: u32 = 1 << 22;
const GO_CHAR_DEVICE: u32 = 1 << 21;
const GO_STICKY: u32 = 1 << 20;

/// A Unix `st_mode` as Go's `os.FileMode`.
fn go_mode(st_mode: u32) -> u32 {
    let mut m = st_mode & 0o777;
    m |= match st_mode & libc::S_IFMT {
        libc::S_IFDIR => GO_DIR,
        libc::S_IFLNK => GO_SYMLINK,
        libc::S_IFIFO => GO_NAMED_PIPE,
        libc::S_IFSOCK => GO_SOCKET,
        libc::S_IFBLK => GO_DEVICE,
        libc::S_IFCHR => GO_DEVICE | GO_CHAR_DEVICE,
        _ => 0,
    };
    if st_mode & libc::S_ISUID != 0 {
        m |= GO_SETUID;
    }
    if st_mode & libc::S_ISGID != 0 {
        m |= GO_SETGID;
    }
    if st_mode & libc::S_ISVTX != 0 {
        m |= GO_STICKY;
    }
    m
}

fn kind(st: &FileStat) -> u32 {
    st.st_mode & libc::S_IFMT
}

fn mtime_of(st: &FileStat) -> SystemTime {
    if st.st_mtime >= 0 {
        UNIX_EPOCH + Duration::new(st.st_mtime as u64, st.st_mtime_nsec as u32)
    } else {
        UNIX_EPOCH
    }
}

/// A container path, cleaned lexically as Go's `filepath.Clean` of an absolute path does:
/// empty and `.` components dropped, `..` taking one back (never above `/`).
struct CleanPath {
    comps: Vec<OsString>,
    /// Ends in `/.`: the directory's contents rather than the directory.
    contents: bool,
    /// Ends in `/`: must be a directory.
    dir_only: bool,
}

impl CleanPath {
    fn parse(path: &str) -> CleanPath {
        let contents = path == "." || path.ends_with("/.");
        let dir_only = path.ends_with('/');
        let mut comps: Vec<OsString> = Vec::new();
        for c in path.split('/') {
            match c {
                "" | "." => {}
                ".." => {
                    comps.pop();
                }
                c => comps.push(c.into()),
            }
        }
        CleanPath {
            comps,
            contents,
            dir_only,
        }
    }

    fn of(comps: &[OsString]) -> PathBuf {
        let p: PathBuf = comps.iter().collect();
        if p.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            p
        }
    }

    /// The path of the directory holding the last component (`.` for the root).
    fn parent(&self) -> PathBuf {
        Self::of(&self.comps[..self.comps.len().saturating_sub(1)])
    }

    fn name(&self) -> Option<&OsStr> {
        self.comps.last().map(OsString::as_os_str)
    }
}

fn resolve_how(flags: OFlag) -> OpenHow {
    OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS)
}

fn open_root(root: &Path) -> Result<OwnedFd> {
    openat(
        nix::fcntl::AT_FDCWD,
        root,
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(io_err("open container root", root.display().to_string()))
}

/// Opens the directory `rel` of the container, symlinks resolved inside the root. Missing
/// is [`ArchiveError::NotFound`], not a directory [`ArchiveError::NotADirectory`].
fn open_dir(root: &OwnedFd, rel: &Path, shown: &str) -> Result<OwnedFd> {
    openat2(root, rel, resolve_how(OFlag::O_DIRECTORY | OFlag::O_RDONLY)).map_err(|e| match e {
        Errno::ENOENT => ArchiveError::NotFound {
            path: shown.to_owned(),
        },
        Errno::ENOTDIR => ArchiveError::NotADirectory {
            path: shown.to_owned(),
        },
        e => io_err("open", shown)(e),
    })
}

/// The directory holding a path's last component and the lstat of that component: the
/// path itself as the container sees it, a symlink as a symlink.
fn lookup(root: &OwnedFd, clean: &CleanPath, shown: &str) -> Result<(OwnedFd, FileStat)> {
    let parent = open_dir(root, &clean.parent(), shown).map_err(|e| match e {
        // A file where a directory was expected on the way: the path does not exist.
        ArchiveError::NotADirectory { path } => ArchiveError::NotFound { path },
        e => e,
    })?;
    let st = match clean.name() {
        Some(name) => fstatat(&parent, name, AtFlags::AT_SYMLINK_NOFOLLOW),
        None => fstat(&parent),
    }
    .map_err(|e| match e {
        Errno::ENOENT => ArchiveError::NotFound {
            path: shown.to_owned(),
        },
        e => io_err("stat", shown)(e),
    })?;
    Ok((parent, st))
}

/// The path a descriptor's file has on the host, as the kernel names it.
fn fd_path(fd: &impl AsRawFd) -> io::Result<PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// The container path (absolute) of a descriptor opened inside the root.
fn container_path(root: &OwnedFd, fd: &impl AsRawFd) -> io::Result<PathBuf> {
    let root_path = fd_path(root)?;
    let path = fd_path(fd)?;
    let rel = path
        .strip_prefix(&root_path)
        .map_err(|_| io::Error::other("resolved outside the container root"))?;
    Ok(Path::new("/").join(rel))
}

/// Where the symlink `name` in `parent` leads inside the container, as Docker reports it
/// (fully resolved, absolute). A dangling link gives its target taken lexically.
fn link_target(root: &OwnedFd, parent: &OwnedFd, clean: &CleanPath, shown: &str) -> Result<String> {
    let full = CleanPath::of(&clean.comps);
    if let Ok(fd) = openat2(root, &full, resolve_how(OFlag::O_PATH)) {
        if let Ok(p) = container_path(root, &fd) {
            return Ok(p.to_string_lossy().into_owned());
        }
    }
    let name = clean.name().unwrap_or(OsStr::new("."));
    let target = readlinkat(parent, name).map_err(io_err("read link", shown))?;
    let base = container_path(root, parent).unwrap_or_else(|_| PathBuf::from("/"));
    let clean = CleanPath::parse(&base.join(&target).to_string_lossy());
    Ok(Path::new("/")
        .join(clean.comps.iter().collect::<PathBuf>())
        .to_string_lossy()
        .into_owned())
}

fn path_stat(name: &str, st: &FileStat, link_target: String) -> PathStat {
    PathStat {
        name: name.to_owned(),
        size: st.st_size,
        mode: go_mode(st.st_mode),
        mtime: crate::clock::rfc3339_nanos(mtime_of(st)),
        link_target,
    }
}

fn display_name(clean: &CleanPath) -> String {
    clean
        .name()
        .map_or_else(|| "/".to_owned(), |n| n.to_string_lossy().into_owned())
}

/// Stats `path` inside the container (`HEAD /containers/{id}/archive?path=`). A symlink is
/// reported as itself, with `link_target` set.
pub fn stat(root: &Path, path: &str) -> Result<PathStat> {
    let rootfd = open_root(root)?;
    let clean = CleanPath::parse(path);
    let (parent, st) = lookup(&rootfd, &clean, path)?;
    // `file/` names a directory, as in a shell (a link may still lead to one).
    if (clean.dir_only || clean.contents) && !matches!(kind(&st), libc::S_IFDIR | libc::S_IFLNK) {
        return Err(ArchiveError::NotADirectory {
            path: path.to_owned(),
        });
    }
    let target = if kind(&st) == libc::S_IFLNK {
        link_target(&rootfd, &parent, &clean, path)?
    } else {
        String::new()
    };
    Ok(path_stat(&display_name(&clean), &st, target))
}

/// Writes `path` as a tar to `out` (`GET /containers/{id}/archive?path=`), returning its
/// stat. Entry names are relative to the path's parent (`/etc/hosts` gives `hosts`,
/// `/data` gives `data/`, `data/…`); a path ending in `/.` gives the directory's contents
/// (`./`, then its children by their own names). With `follow_link`, a symlink at the end
/// of the path is archived as what it leads to, under the link's name.
pub fn get(root: &Path, path: &str, out: impl Write, follow_link: bool) -> Result<PathStat> {
    let rootfd = open_root(root)?;
    let mut clean = CleanPath::parse(path);
    let name = display_name(&clean);
    let (mut parent, mut st) = lookup(&rootfd, &clean, path)?;
    let mut target = String::new();
    let mut followed = false;
    if kind(&st) == libc::S_IFLNK {
        target = link_target(&rootfd, &parent, &clean, path)?;
    }
    // What the caller asked about, as `stat` reports it (a link as itself).
    let stat = path_stat(&name, &st, target.clone());
    // `/link/` and `/link/.` name the directory the link leads to, as in a shell.
    if kind(&st) == libc::S_IFLNK && (follow_link || clean.contents || clean.dir_only) {
        let resolved = CleanPath::parse(&target);
        (parent, st) = lookup(&rootfd, &resolved, path)?;
        clean.comps = resolved.comps;
        followed = true;
    }
    if (clean.contents || clean.dir_only) && kind(&st) != libc::S_IFDIR {
        return Err(ArchiveError::NotADirectory {
            path: path.to_owned(),
        });
    }
    let mut w = TarWriter::new(out);
    let res = (|| -> std::result::Result<(), WalkError> {
        let here = |e: io::Error| (PathBuf::from("."), e);
        if clean.contents || (clean.comps.is_empty() && !followed) {
            // The directory itself as `./`, then its children by their own names.
            let dir = match clean.name() {
                Some(last) => open_child_dir(&parent, last).map_err(here)?,
                None => parent.try_clone().map_err(here)?,
            };
            let st = fstat(&dir).map_err(|e| here(e.into()))?;
            w.header_only(&st, Path::new("./"), EntryType::Directory)?;
            w.dir(&dir, Path::new(""))
        } else if let Some(last) = clean.name() {
            // Named as asked: a followed link's content goes under the link's name.
            w.entry(&parent, last, Path::new(&name), true)
        } else {
            // A link to the root itself, followed.
            let st = fstat(&parent).map_err(|e| here(e.into()))?;
            w.header_only(&st, Path::new(&format!("{name}/")), EntryType::Directory)?;
            w.dir(&parent, Path::new(&name))
        }
    })();
    res.map_err(|(entry, source)| ArchiveError::Io {
        op: "archive",
        path: format!("{path} (entry {})", entry.display()),
        source,
    })?;
    w.finish().map_err(|source| ArchiveError::Io {
        op: "write archive of",
        path: path.to_owned(),
        source,
    })?;
    Ok(stat)
}

/// Writes the container's whole root filesystem as a tar (`GET /containers/{id}/export`),
/// entries named from the root without a leading `/` or `./`.
pub fn export(root: &Path, out: impl Write) -> Result<()> {
    let rootfd = open_root(root)?;
    let mut w = TarWriter::new(out);
    w.dir(&rootfd, Path::new(""))
        .map_err(|(p, source)| ArchiveError::Io {
            op: "export",
            path: Path::new("/").join(p).to_string_lossy().into_owned(),
            source,
        })?;
    w.finish().map_err(|source| ArchiveError::Io {
        op: "write export of",
        path: root.display().to_string(),
        source,
    })
}

fn open_child_dir(parent: &OwnedFd, name: &OsStr) -> io::Result<OwnedFd> {
    Ok(openat(
        parent,
        name,
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?)
}

/// The names in a directory, sorted (so an archive of the same tree is the same bytes).
fn read_names(dir: &OwnedFd) -> io::Result<Vec<OsString>> {
    // A fresh open of the directory: its own offset, whoever else reads `dir`.
    let mut d = nix::dir::Dir::openat(
        dir,
        ".",
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let mut names = Vec::new();
    for e in d.iter() {
        let e = e?;
        let n = e.file_name().to_bytes();
        if n != b"." && n != b".." {
            names.push(OsString::from_vec(n.to_vec()));
        }
    }
    names.sort();
    Ok(names)
}

type WalkError = (PathBuf, io::Error);

/// Writes entries, walking directories descriptor by descriptor without following links.
struct TarWriter<W: Write> {
    builder: Builder<W>,
    /// (device, inode) → archive name of the first entry of a file with several links.
    links: std::collections::HashMap<(u64, u64), PathBuf>,
}

impl<W: Write> TarWriter<W> {
    fn new(out: W) -> Self {
        let mut builder = Builder::new(out);
        builder.mode(tar::HeaderMode::Complete);
        TarWriter {
            builder,
            links: std::collections::HashMap::new(),
        }
    }

    fn finish(self) -> io::Result<()> {
        let mut out = self.builder.into_inner()?;
        out.flush()
    }

    fn dir(&mut self, dir: &OwnedFd, rel: &Path) -> std::result::Result<(), WalkError> {
        let names = read_names(dir).map_err(|e| (rel.to_owned(), e))?;
        for name in names {
            let arc = rel.join(&name);
            self.entry(dir, &name, &arc, true)?;
        }
        Ok(())
    }

    /// Writes the entry `name` of `parent` as `arc`, and with `recurse` a directory's
    /// contents after it.
    fn entry(
        &mut self,
        parent: &OwnedFd,
        name: &OsStr,
        arc: &Path,
        recurse: bool,
    ) -> std::result::Result<(), WalkError> {
        let err = |e: io::Error| (arc.to_owned(), e);
        let st = fstatat(parent, name, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(|e| err(e.into()))?;
        match kind(&st) {
            libc::S_IFDIR => {
                let dir = open_child_dir(parent, name).map_err(err)?;
                let st = fstat(&dir).map_err(|e| err(e.into()))?;
                let mut dname = arc.as_os_str().to_owned();
                dname.push("/");
                self.header_only(&st, Path::new(&dname), EntryType::Directory)?;
                if recurse {
                    self.dir(&dir, arc)?;
                }
                Ok(())
            }
            libc::S_IFREG => {
                // O_NONBLOCK: should a fifo have replaced the file since the stat, the
                // open must not hang waiting for a writer (and the fstat below skips it).
                let fd = openat(
                    parent,
                    name,
                    OFlag::O_RDONLY
                        | OFlag::O_NOFOLLOW
                        | OFlag::O_NOCTTY
                        | OFlag::O_NONBLOCK
                        | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|e| err(e.into()))?;
                let st = fstat(&fd).map_err(|e| err(e.into()))?;
                if kind(&st) != libc::S_IFREG {
                    return Ok(());
                }
                if st.st_nlink > 1 {
                    let key = (st.st_dev, st.st_ino);
                    if let Some(first) = self.links.get(&key).cloned() {
                        let mut h = header(&st);
                        h.set_entry_type(EntryType::Link);
                        h.set_size(0);
                        return self.builder.append_link(&mut h, arc, first).map_err(err);
                    }
                    self.links.insert(key, arc.to_owned());
                }
                let mut h = header(&st);
                h.set_entry_type(EntryType::Regular);
                h.set_size(st.st_size as u64);
                let file = File::from(fd);
                // File capabilities travel, as Docker's archives carry them (the one
                // extended attribute they do): `ping` must still work after an export.
                if let Some(cap) = get_capability(&file).map_err(err)? {
                    self.builder
                        .append_pax_extensions([(PAX_CAPABILITY, cap.as_slice())])
                        .map_err(err)?;
                }
                // Exactly the size in the header, even if the file changes meanwhile: a
                // running container may write to it, and a short or long entry would
                // corrupt every entry after it.
                let data = Exact {
                    inner: file,
                    left: st.st_size as u64,
                };
                self.builder.append_data(&mut h, arc, data).map_err(err)
            }
            libc::S_IFLNK => {
                let target = readlinkat(parent, name).map_err(|e| err(e.into()))?;
                let mut h = header(&st);
                h.set_entry_type(EntryType::Symlink);
                self.builder.append_link(&mut h, arc, target).map_err(err)
            }
            libc::S_IFCHR | libc::S_IFBLK | libc::S_IFIFO => {
                let t = match kind(&st) {
                    libc::S_IFCHR => EntryType::Char,
                    libc::S_IFBLK => EntryType::Block,
                    _ => EntryType::Fifo,
                };
                self.header_only(&st, arc, t)
            }
            // Sockets are not content: Docker leaves them out too.
            _ => Ok(()),
        }
    }

    fn header_only(
        &mut self,
        st: &FileStat,
        arc: &Path,
        t: EntryType,
    ) -> std::result::Result<(), WalkError> {
        let err = |e: io::Error| (arc.to_owned(), e);
        let mut h = header(st);
        h.set_entry_type(t);
        if matches!(t, EntryType::Char | EntryType::Block) {
            let rdev = st.st_rdev;
            h.set_device_major(libc::major(rdev)).map_err(err)?;
            h.set_device_minor(libc::minor(rdev)).map_err(err)?;
        }
        self.builder
            .append_data(&mut h, arc, io::empty())
            .map_err(err)
    }
}

/// A GNU header (numbers too large for octal fields are written in base-256) with owner,
/// permissions and modification time.
fn header(st: &FileStat) -> Header {
    let mut h = Header::new_gnu();
    h.set_uid(st.st_uid.into());
    h.set_gid(st.st_gid.into());
    h.set_mode(st.st_mode & 0o7777);
    h.set_mtime(st.st_mtime.max(0) as u64);
    h.set_size(0);
    h
}

/// Reads exactly `left` bytes: the file's, then zeros if it shrank.
struct Exact {
    inner: File,
    left: u64,
}

impl Read for Exact {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let max = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let n = match self.inner.read(&mut buf[..max])? {
            0 => {
                buf[..max].fill(0);
                max
            }
            n => n,
        };
        self.left -= n as u64;
        Ok(n)
    }
}

/// Extracts `tar` into the existing directory `dest_dir` of the container
/// (`PUT /containers/{id}/archive?path=`).
///
/// With `no_overwrite_dir_non_dir`, an entry may not replace a directory with a
/// non-directory or the reverse (Docker's `noOverwriteDirNonDir`, which the CLI sets).
/// Owners are the archive's in both cases of `copy_uid_gid`, as Docker's daemon does
/// without a user to map to: with `docker cp -a` and a container whose config names a
/// `User`, Docker chowns everything to that user, which needs the container's config;
/// the daemon resolves the user and calls [`put_with_owner`] instead.
pub fn put(
    root: &Path,
    dest_dir: &str,
    tar: impl Read,
    no_overwrite_dir_non_dir: bool,
    copy_uid_gid: bool,
) -> Result<()> {
    let _ = copy_uid_gid;
    put_with_owner(root, dest_dir, tar, no_overwrite_dir_non_dir, None)
}

/// As [`put`]; with `owner`, every extracted entry is owned by that (uid, gid) instead of
/// the archive's.
pub fn put_with_owner(
    root: &Path,
    dest_dir: &str,
    tar: impl Read,
    no_overwrite_dir_non_dir: bool,
    owner: Option<(u32, u32)>,
) -> Result<()> {
    let rootfd = open_root(root)?;
    let clean = CleanPath::parse(dest_dir);
    let dest = open_dir(&rootfd, &CleanPath::of(&clean.comps), dest_dir)?;
    // Where the destination really is, symlinks resolved once: entries' directories are
    // resolved from it (inside the root) rather than through dest_dir's links again.
    let dest_path = container_path(&rootfd, &dest).map_err(|source| ArchiveError::Io {
        op: "resolve",
        path: dest_dir.to_owned(),
        source,
    })?;
    let dest_rel = CleanPath::parse(&dest_path.to_string_lossy());
    let mut x = Extractor {
        root: rootfd,
        dest,
        dest_comps: dest_rel.comps,
        no_overwrite: no_overwrite_dir_non_dir,
        owner,
        dir_times: Vec::new(),
        buf: vec![0; 256 << 10],
    };
    let mut archive = Archive::new(io::BufReader::with_capacity(256 << 10, tar));
    let read_err = |source| ArchiveError::Io {
        op: "read archive for",
        path: dest_dir.to_owned(),
        source,
    };
    for entry in archive.entries().map_err(read_err)? {
        let mut entry = entry.map_err(read_err)?;
        x.entry(&mut entry)?;
    }
    x.finish_dir_times()
}

/// Ownership, permissions and modification time of an archive entry.
struct Meta {
    uid: u32,
    gid: u32,
    mode: u32,
    mtime: i64,
    /// `security.capability` of a regular file.
    capability: Option<Vec<u8>>,
}

const PAX_CAPABILITY: &str = "SCHILY.xattr.security.capability";

/// The file's `security.capability`, if it has one.
fn get_capability(file: &File) -> io::Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; 64];
    // SAFETY: the descriptor is open, the name is NUL-terminated and the buffer is live
    // for its length.
    let n = unsafe {
        libc::fgetxattr(
            file.as_raw_fd(),
            c"security.capability".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            // None set, or a filesystem without extended attributes.
            Some(libc::ENODATA) | Some(libc::ENOTSUP) => Ok(None),
            _ => Err(e),
        };
    }
    buf.truncate(n as usize);
    Ok(Some(buf))
}

struct Extractor {
    root: OwnedFd,
    dest: OwnedFd,
    /// The destination's components from the container's `/`.
    dest_comps: Vec<OsString>,
    no_overwrite: bool,
    owner: Option<(u32, u32)>,
    /// Directories' times, set last: creating their children would bump them again.
    dir_times: Vec<(PathBuf, i64)>,
    buf: Vec<u8>,
}

/// The plain components of an entry's name (`.` dropped); `..` and absolute names refused.
fn entry_components(raw: &[u8], what: &str) -> Result<Vec<OsString>> {
    let unsafe_entry = |reason| ArchiveError::UnsafeEntry {
        entry: what.to_owned(),
        reason,
    };
    let path = Path::new(OsStr::from_bytes(raw));
    let mut out = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n.to_owned()),
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => {
                return Err(unsafe_entry("absolute path"));
            }
            Component::ParentDir => return Err(unsafe_entry("path contains \"..\"")),
        }
    }
    Ok(out)
}

fn type_name(mode: u32) -> &'static str {
    if mode & libc::S_IFMT == libc::S_IFDIR {
        "directory"
    } else {
        "non-directory"
    }
}

impl Extractor {
    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<()> {
        let raw = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let comps = entry_components(&raw, &shown)?;
        let t = match entry.header().entry_type() {
            // Old archivers mark directories only by the trailing slash (Go's reader
            // makes them directories too).
            EntryType::Regular | EntryType::Continuous if raw.ends_with(b"/") => {
                EntryType::Directory
            }
            t => t,
        };
        let fail = |op: &'static str| {
            let shown = shown.clone();
            move |source: io::Error| ArchiveError::Io {
                op,
                path: shown,
                source,
            }
        };
        let meta = {
            let h = entry.header();
            let (uid, gid) = match self.owner {
                Some(o) => o,
                None => (
                    h.uid()
                        .ok()
                        .and_then(|u| u32::try_from(u).ok())
                        .unwrap_or(0),
                    h.gid()
                        .ok()
                        .and_then(|g| u32::try_from(g).ok())
                        .unwrap_or(0),
                ),
            };
            Meta {
                uid,
                gid,
                mode: h.mode().map_err(fail("read header of"))? & 0o7777,
                mtime: h.mtime().unwrap_or(0).min(i64::MAX as u64) as i64,
                capability: None,
            }
        };
        let Some((name, parents)) = comps.split_last() else {
            // `./`: the destination itself, as `docker cp dir/. c:/dest` sends it.
            if t == EntryType::Directory {
                apply_meta_fd(&self.dest, &meta).map_err(fail("set metadata of"))?;
                self.dir_times
                    .push((CleanPath::of(&self.dest_comps), meta.mtime));
            }
            return Ok(());
        };
        let mut rel: Vec<OsString> = self.dest_comps.clone();
        rel.extend(parents.iter().cloned());
        let parent = self.open_parent(&rel, &shown)?;
        match t {
            EntryType::Directory => {
                self.make_room(&parent, name, true, &shown)?;
                match mkdirat(&parent, name.as_os_str(), Mode::from_bits_truncate(0o700)) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(fail("create directory")(e.into())),
                }
                let dir = open_child_dir(&parent, name).map_err(fail("open directory"))?;
                apply_meta_fd(&dir, &meta).map_err(fail("set metadata of"))?;
                rel.push(name.clone());
                self.dir_times.push((CleanPath::of(&rel), meta.mtime));
            }
            EntryType::Regular | EntryType::Continuous => {
                let mut meta = meta;
                if let Some(exts) = entry.pax_extensions().map_err(fail("read header of"))? {
                    for ext in exts {
                        let ext = ext.map_err(fail("read header of"))?;
                        if ext.key_bytes() == PAX_CAPABILITY.as_bytes() {
                            meta.capability = Some(ext.value_bytes().to_vec());
                        }
                    }
                }
                self.make_room(&parent, name, false, &shown)?;
                let fd = openat(
                    &parent,
                    name.as_os_str(),
                    OFlag::O_CREAT
                        | OFlag::O_EXCL
                        | OFlag::O_WRONLY
                        | OFlag::O_NOFOLLOW
                        | OFlag::O_CLOEXEC,
                    Mode::from_bits_truncate(0o600),
                )
                .map_err(|e| fail("create")(e.into()))?;
                let mut file = File::from(fd);
                copy_with(&mut self.buf, entry, &mut file).map_err(fail("write"))?;
                apply_meta_fd(&file, &meta).map_err(fail("set metadata of"))?;
            }
            EntryType::Symlink => {
                // The target is data for the container, never resolved here.
                let target = link_name(entry, &shown)?;
                self.make_room(&parent, name, false, &shown)?;
                symlinkat(target.as_os_str(), &parent, name.as_os_str())
                    .map_err(|e| fail("create symlink")(e.into()))?;
                fchownat(
                    &parent,
                    name.as_os_str(),
                    Some(Uid::from_raw(meta.uid)),
                    Some(Gid::from_raw(meta.gid)),
                    AtFlags::AT_SYMLINK_NOFOLLOW,
                )
                .map_err(|e| fail("chown")(e.into()))?;
                let ts = TimeSpec::new(meta.mtime, 0);
                utimensat(
                    &parent,
                    name.as_os_str(),
                    &ts,
                    &ts,
                    UtimensatFlags::NoFollowSymlink,
                )
                .map_err(|e| fail("set times of")(e.into()))?;
            }
            EntryType::Link => {
                let target = link_name(entry, &shown)?;
                let tcomps = entry_components(target.as_os_str().as_bytes(), &shown)?;
                let Some((tname, tparents)) = tcomps.split_last() else {
                    return Err(ArchiveError::UnsafeEntry {
                        entry: shown,
                        reason: "hard link to the destination itself",
                    });
                };
                // The target must be a file this extraction can reach by plain names:
                // beneath the destination, no symlink on the way.
                let how = OpenHow::new()
                    .flags(OFlag::O_DIRECTORY | OFlag::O_PATH | OFlag::O_CLOEXEC)
                    .resolve(
                        ResolveFlag::RESOLVE_BENEATH
                            | ResolveFlag::RESOLVE_NO_SYMLINKS
                            | ResolveFlag::RESOLVE_NO_MAGICLINKS,
                    );
                let tparent =
                    openat2(&self.dest, &CleanPath::of(tparents), how).map_err(|e| match e {
                        Errno::ELOOP | Errno::EXDEV => ArchiveError::UnsafeEntry {
                            entry: shown.clone(),
                            reason: "hard link target is not inside the extraction",
                        },
                        e => fail("resolve hard link target of")(e.into()),
                    })?;
                self.make_room(&parent, name, false, &shown)?;
                // No AT_SYMLINK_FOLLOW: a link to a symlink links the symlink itself.
                linkat(
                    &tparent,
                    tname.as_os_str(),
                    &parent,
                    name.as_os_str(),
                    AtFlags::empty(),
                )
                .map_err(|e| fail("create hard link")(e.into()))?;
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                let sflag = match t {
                    EntryType::Char => SFlag::S_IFCHR,
                    EntryType::Block => SFlag::S_IFBLK,
                    _ => SFlag::S_IFIFO,
                };
                let h = entry.header();
                let dev = makedev(
                    h.device_major().ok().flatten().unwrap_or(0).into(),
                    h.device_minor().ok().flatten().unwrap_or(0).into(),
                );
                self.make_room(&parent, name, false, &shown)?;
                mknodat(
                    &parent,
                    name.as_os_str(),
                    sflag,
                    Mode::from_bits_truncate(0o600),
                    dev,
                )
                .map_err(|e| fail("create node")(e.into()))?;
                apply_meta_node(&parent, name, sflag, &meta).map_err(fail("set metadata of"))?;
            }
            // Defaults for later entries, which the tar crate applies itself.
            EntryType::XGlobalHeader => {}
            _ => {
                return Err(ArchiveError::UnsafeEntry {
                    entry: shown,
                    reason: "unsupported entry type",
                })
            }
        }
        Ok(())
    }

    /// Opens the entry's directory (container components from `/`), creating missing ones
    /// (archives may omit them). Every lookup starts again from the root with
    /// `RESOLVE_IN_ROOT`, so a symlink anywhere, planted by this archive or by the
    /// container, resolves inside the root.
    fn open_parent(&self, rel: &[OsString], shown: &str) -> Result<OwnedFd> {
        let how = resolve_how(OFlag::O_DIRECTORY | OFlag::O_RDONLY);
        let fail = |e: Errno| io_err("open directory for", shown)(e);
        match openat2(&self.root, &CleanPath::of(rel), how) {
            Ok(fd) => return Ok(fd),
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(fail(e)),
        }
        let mut cur = openat2(&self.root, ".", how).map_err(fail)?;
        for i in 0..rel.len() {
            let prefix = CleanPath::of(&rel[..=i]);
            cur = match openat2(&self.root, &prefix, how) {
                Ok(fd) => fd,
                Err(Errno::ENOENT) => {
                    // EEXIST here is a dangling symlink: refused rather than followed (to
                    // create its target would be to guess what the container meant).
                    mkdirat(&cur, rel[i].as_os_str(), Mode::from_bits_truncate(0o755)).map_err(
                        |e| match e {
                            Errno::EEXIST => ArchiveError::UnsafeEntry {
                                entry: shown.to_owned(),
                                reason: "a directory on its path is a dangling symlink",
                            },
                            e => fail(e),
                        },
                    )?;
                    let dir = openat2(&self.root, &prefix, how).map_err(fail)?;
                    // Implied directories are 0755 whatever the daemon's umask, owned by
                    // the entries' owner when one is imposed.
                    fchmod(&dir, Mode::from_bits_truncate(0o755)).map_err(fail)?;
                    if let Some((u, g)) = self.owner {
                        fchown(&dir, Some(Uid::from_raw(u)), Some(Gid::from_raw(g)))
                            .map_err(fail)?;
                    }
                    dir
                }
                Err(e) => return Err(fail(e)),
            };
        }
        Ok(cur)
    }

    /// Makes room for a new entry `name` in `parent`: a directory stays when a directory
    /// comes (its other children are kept, as tar does); anything else is replaced, unless
    /// that would swap a directory for a non-directory or the reverse and the caller
    /// forbade it.
    fn make_room(&self, parent: &OwnedFd, name: &OsStr, new_dir: bool, shown: &str) -> Result<()> {
        let st = match fstatat(parent, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Err(Errno::ENOENT) => return Ok(()),
            Err(e) => return Err(io_err("stat", shown)(e)),
            Ok(st) => st,
        };
        let is_dir = kind(&st) == libc::S_IFDIR;
        if is_dir && new_dir {
            return Ok(());
        }
        if self.no_overwrite && is_dir != new_dir {
            return Err(ArchiveError::Overwrite {
                path: shown.to_owned(),
                existing: type_name(st.st_mode),
                new: if new_dir {
                    "directory"
                } else {
                    "non-directory"
                },
            });
        }
        if is_dir {
            remove_tree(parent, name).map_err(|source| ArchiveError::Io {
                op: "remove",
                path: shown.to_owned(),
                source,
            })
        } else {
            unlinkat(parent, name, UnlinkatFlags::NoRemoveDir).map_err(io_err("remove", shown))
        }
    }

    fn finish_dir_times(&self) -> Result<()> {
        for (path, mtime) in self.dir_times.iter().rev() {
            let shown = Path::new("/").join(path).to_string_lossy().into_owned();
            let dir = openat2(
                &self.root,
                path,
                resolve_how(OFlag::O_DIRECTORY | OFlag::O_RDONLY),
            )
            .map_err(io_err("open directory", shown.clone()))?;
            let ts = TimeSpec::new(*mtime, 0);
            futimens(&dir, &ts, &ts).map_err(io_err("set times of", shown))?;
        }
        Ok(())
    }
}

/// Removes the directory `name` of `parent` and everything in it, by descriptors, never
/// following a link and never descending into another filesystem (a volume mounted
/// there would otherwise be emptied before its mount point refused to go).
fn remove_tree(parent: &OwnedFd, name: &OsStr) -> io::Result<()> {
    let dev = fstat(parent)?.st_dev;
    let dir = open_child_dir(parent, name)?;
    if fstat(&dir)?.st_dev != dev {
        return Err(io::Error::other("it is a mount point"));
    }
    for child in read_names(&dir)? {
        let st = fstatat(&dir, child.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW)?;
        if kind(&st) == libc::S_IFDIR {
            remove_tree(&dir, &child)?;
        } else {
            unlinkat(&dir, child.as_os_str(), UnlinkatFlags::NoRemoveDir)?;
        }
    }
    Ok(unlinkat(parent, name, UnlinkatFlags::RemoveDir)?)
}

fn link_name<R: Read>(entry: &tar::Entry<'_, R>, shown: &str) -> Result<PathBuf> {
    match entry.link_name_bytes() {
        Some(t) if !t.is_empty() => Ok(PathBuf::from(OsStr::from_bytes(&t))),
        _ => Err(ArchiveError::UnsafeEntry {
            entry: shown.to_owned(),
            reason: "link without a target",
        }),
    }
}

fn copy_with(buf: &mut [u8], r: &mut impl Read, w: &mut impl Write) -> io::Result<u64> {
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

fn apply_meta_fd(fd: &impl AsFd, meta: &Meta) -> io::Result<()> {
    // chown clears set-id bits, so it comes before chmod.
    fchown(
        fd,
        Some(Uid::from_raw(meta.uid)),
        Some(Gid::from_raw(meta.gid)),
    )?;
    fchmod(fd, Mode::from_bits_truncate(meta.mode))?;
    if let Some(cap) = &meta.capability {
        // After chown, which clears capabilities.
        // SAFETY: the descriptor is open, the name is NUL-terminated and the value is live
        // for its length.
        let rc = unsafe {
            libc::fsetxattr(
                fd.as_fd().as_raw_fd(),
                c"security.capability".as_ptr(),
                cap.as_ptr().cast(),
                cap.len(),
                0,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    let ts = TimeSpec::new(meta.mtime, 0);
    futimens(fd, &ts, &ts)?;
    Ok(())
}

/// Metadata of a device or fifo just created as `name` in `parent`. Such a node cannot be
/// opened for fchmod without side effects (a device's open, a fifo's wait), and chmod by
/// name follows symlinks, which a running container could swap in. So: an `O_PATH`
/// descriptor of the inode itself (`O_NOFOLLOW`: a symlink would be opened as itself,
/// and then refused by its type), chown through it with `AT_EMPTY_PATH`, chmod through its
/// `/proc/self/fd` entry, which names that inode and nothing else.
fn apply_meta_node(parent: &OwnedFd, name: &OsStr, sflag: SFlag, meta: &Meta) -> io::Result<()> {
    let fd = openat(
        parent,
        name,
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let st = fstat(&fd)?;
    if st.st_mode & libc::S_IFMT != sflag.bits() {
        return Err(io::Error::other("node was replaced while being created"));
    }
    fchownat(
        &fd,
        "",
        Some(Uid::from_raw(meta.uid)),
        Some(Gid::from_raw(meta.gid)),
        AtFlags::AT_EMPTY_PATH,
    )?;
    let proc = CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd()))?;
    // SAFETY: a NUL-terminated path; chmod reads nothing else.
    if unsafe { libc::chmod(proc.as_ptr(), meta.mode) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let ts = TimeSpec::new(meta.mtime, 0);
    utimensat(
        nix::fcntl::AT_FDCWD,
        proc.as_c_str(),
        &ts,
        &ts,
        UtimensatFlags::FollowSymlink,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};

    fn is_root() -> bool {
        nix::unistd::geteuid().is_root()
    }

    /// A container root under a temp dir (the dir's other children are "the host").
    fn rootfs() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::write(root.join("etc/hosts"), b"container hosts\n").unwrap();
        fs::create_dir_all(root.join("data/sub")).unwrap();
        fs::write(root.join("data/a"), b"aaa").unwrap();
        fs::write(root.join("data/sub/b"), b"bb").unwrap();
        (dir, root)
    }

    /// (name, type) of every entry, plus the content of regular files.
    fn entries(tar: &[u8]) -> Vec<(String, EntryType, Vec<u8>)> {
        let mut a = Archive::new(tar);
        a.entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
                let t = e.header().entry_type();
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                (name, t, data)
            })
            .collect()
    }

    fn names(tar: &[u8]) -> Vec<String> {
        entries(tar).into_iter().map(|(n, _, _)| n).collect()
    }

    struct Raw<'a> {
        name: &'a [u8],
        kind: EntryType,
        data: &'a [u8],
        link: &'a [u8],
        mode: u32,
        uid: u64,
        gid: u64,
        mtime: u64,
    }

    impl Default for Raw<'_> {
        fn default() -> Self {
            Raw {
                name: b"",
                kind: EntryType::Regular,
                data: b"",
                link: b"",
                mode: 0o644,
                uid: 0,
                gid: 0,
                mtime: 1_000_000,
            }
        }
    }

    /// An archive written byte for byte: names the tar crate would refuse to write
    /// (`..`, absolute) are what a hostile client sends.
    fn raw_tar(entries: &[Raw<'_>]) -> Vec<u8> {
        let mut b = Builder::new(Vec::new());
        for e in entries {
            let mut h = Header::new_gnu();
            {
                let old = h.as_old_mut();
                old.name[..e.name.len()].copy_from_slice(e.name);
                old.linkname[..e.link.len()].copy_from_slice(e.link);
            }
            h.set_entry_type(e.kind);
            h.set_size(e.data.len() as u64);
            h.set_mode(e.mode);
            h.set_uid(e.uid);
            h.set_gid(e.gid);
            h.set_mtime(e.mtime);
            h.set_cksum();
            b.append(&h, e.data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn file<'a>(name: &'a str, data: &'a [u8]) -> Raw<'a> {
        Raw {
            name: name.as_bytes(),
            data,
            ..Raw::default()
        }
    }

    fn link<'a>(name: &'a str, kind: EntryType, target: &'a str) -> Raw<'a> {
        Raw {
            name: name.as_bytes(),
            kind,
            link: target.as_bytes(),
            mode: 0o777,
            ..Raw::default()
        }
    }

    /// A name no other test or run uses, for paths that must not appear on the host.
    fn unique(what: &str) -> String {
        format!("berth-archive-test-{what}-{}", std::process::id())
    }

    #[test]
    fn go_mode_bits() {
        assert_eq!(go_mode(libc::S_IFREG | 0o644), 0o644);
        assert_eq!(go_mode(libc::S_IFDIR | 0o755), (1 << 31) | 0o755);
        assert_eq!(go_mode(libc::S_IFLNK | 0o777), (1 << 27) | 0o777);
        assert_eq!(go_mode(libc::S_IFIFO | 0o600), (1 << 25) | 0o600);
        assert_eq!(go_mode(libc::S_IFSOCK | 0o600), (1 << 24) | 0o600);
        assert_eq!(go_mode(libc::S_IFBLK | 0o600), (1 << 26) | 0o600);
        assert_eq!(
            go_mode(libc::S_IFCHR | 0o666),
            (1 << 26) | (1 << 21) | 0o666
        );
        assert_eq!(go_mode(libc::S_IFREG | 0o4755), (1 << 23) | 0o755);
        assert_eq!(go_mode(libc::S_IFREG | 0o2755), (1 << 22) | 0o755);
        assert_eq!(
            go_mode(libc::S_IFDIR | 0o1777),
            (1 << 31) | (1 << 20) | 0o777
        );
    }

    #[test]
    fn stat_of_file_dir_symlink_and_missing() {
        let (_dir, root) = rootfs();
        fs::set_permissions(root.join("etc/hosts"), fs::Permissions::from_mode(0o640)).unwrap();
        symlink("/etc", root.join("link")).unwrap();
        symlink("../../../../../../etc/hosts", root.join("data/rel")).unwrap();
        symlink("/nowhere/x", root.join("dangling")).unwrap();

        let f = stat(&root, "/etc/hosts").unwrap();
        assert_eq!(f.name, "hosts");
        assert_eq!(f.size, 16);
        assert_eq!(f.mode, 0o640);
        assert_eq!(f.link_target, "");
        assert!(
            f.mtime.ends_with('Z') && f.mtime.contains('.'),
            "{}",
            f.mtime
        );

        let d = stat(&root, "/data/").unwrap();
        assert_eq!(d.name, "data");
        assert_eq!(d.mode, GO_DIR | 0o755);
        // `..` is lexical, as Docker cleans paths.
        assert_eq!(stat(&root, "/data/sub/../a").unwrap().name, "a");

        let l = stat(&root, "/link").unwrap();
        assert_eq!(l.mode, GO_SYMLINK | 0o777);
        assert_eq!(l.link_target, "/etc");
        // A relative link climbing above the root resolves as the container sees it.
        assert_eq!(stat(&root, "data/rel").unwrap().link_target, "/etc/hosts");
        assert_eq!(stat(&root, "/dangling").unwrap().link_target, "/nowhere/x");
        // Through a link: the file it leads to inside the root.
        assert_eq!(stat(&root, "/link/hosts").unwrap().size, 16);

        assert_eq!(stat(&root, "/").unwrap().mode & GO_DIR, GO_DIR);
        assert!(matches!(
            stat(&root, "/etc/hosts/").unwrap_err(),
            ArchiveError::NotADirectory { .. }
        ));
        let err = stat(&root, "/nope").unwrap_err();
        assert!(
            matches!(err, ArchiveError::NotFound { ref path } if path == "/nope"),
            "{err}"
        );
        assert!(matches!(
            stat(&root, "/etc/hosts/x").unwrap_err(),
            ArchiveError::NotFound { .. }
        ));

        let json = base64::engine::general_purpose::STANDARD
            .decode(l.header_value())
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["name"], "link");
        assert_eq!(v["mode"], GO_SYMLINK | 0o777);
        assert_eq!(v["linkTarget"], "/etc");
        assert!(v["size"].is_i64() && v["mtime"].is_string(), "{v}");
    }

    #[test]
    fn get_of_a_file_and_of_a_directory() {
        let (_dir, root) = rootfs();
        let mut out = Vec::new();
        let st = get(&root, "/etc/hosts", &mut out, false).unwrap();
        assert_eq!(st.name, "hosts");
        let e = entries(&out);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].0, "hosts");
        assert_eq!(e[0].1, EntryType::Regular);
        assert_eq!(e[0].2, b"container hosts\n");

        let mut out = Vec::new();
        let st = get(&root, "/data", &mut out, false).unwrap();
        assert_eq!(st.mode & GO_DIR, GO_DIR);
        assert_eq!(names(&out), ["data/", "data/a", "data/sub/", "data/sub/b"]);
        assert_eq!(entries(&out)[3].2, b"bb");

        let mut out = Vec::new();
        get(&root, "/data/.", &mut out, false).unwrap();
        assert_eq!(names(&out), ["./", "a", "sub/", "sub/b"]);

        assert!(matches!(
            get(&root, "/missing", Vec::new(), false).unwrap_err(),
            ArchiveError::NotFound { .. }
        ));
        assert!(matches!(
            get(&root, "/etc/hosts/.", Vec::new(), false).unwrap_err(),
            ArchiveError::NotADirectory { .. }
        ));
    }

    #[test]
    fn get_through_symlinks_stays_inside_the_root() {
        let (_dir, root) = rootfs();
        symlink("/etc", root.join("link")).unwrap();
        symlink("../../../../../../../../etc", root.join("data/up")).unwrap();

        for path in ["/link/hosts", "/data/up/hosts", "/data/../../../etc/hosts"] {
            let mut out = Vec::new();
            get(&root, path, &mut out, false).unwrap();
            let e = entries(&out);
            assert_eq!(e[0].0, "hosts", "{path}");
            assert_eq!(e[0].2, b"container hosts\n", "{path} read the host's file");
        }

        // Not followed: the link itself.
        let mut out = Vec::new();
        let st = get(&root, "/link", &mut out, false).unwrap();
        assert_eq!(st.link_target, "/etc");
        let e = entries(&out);
        assert_eq!((e[0].0.as_str(), e[0].1), ("link", EntryType::Symlink));
        let mut a = Archive::new(&out[..]);
        let first = a.entries().unwrap().next().unwrap().unwrap();
        assert_eq!(first.link_name().unwrap().unwrap(), Path::new("/etc"));

        // Followed: the container's /etc, under the link's name.
        let mut out = Vec::new();
        let st = get(&root, "/link", &mut out, true).unwrap();
        assert_eq!(st.mode, GO_SYMLINK | 0o777, "the stat is the link's own");
        assert_eq!(names(&out), ["link/", "link/hosts"]);
        assert_eq!(entries(&out)[1].2, b"container hosts\n");
        let mut out = Vec::new();
        get(&root, "/link/.", &mut out, false).unwrap();
        assert_eq!(names(&out), ["./", "hosts"]);

        // A link to the root, followed: the container's root under the link's name, and
        // the link inside it as a link.
        symlink("../..", root.join("data/top")).unwrap();
        let mut out = Vec::new();
        get(&root, "/data/top", &mut out, true).unwrap();
        let e = entries(&out);
        assert_eq!(e[0].0, "top/");
        assert!(e
            .iter()
            .any(|(n, t, _)| n == "top/data/top" && *t == EntryType::Symlink));
        assert!(e
            .iter()
            .any(|(n, _, d)| n == "top/etc/hosts" && d == b"container hosts\n"));
    }

    #[test]
    fn put_keeps_modes_owners_times_and_links() {
        if !is_root() {
            eprintln!("skipped: needs root");
            return;
        }
        let (_dir, root) = rootfs();
        let tar = raw_tar(&[
            Raw {
                name: b"app/",
                kind: EntryType::Directory,
                mode: 0o750,
                uid: 1000,
                gid: 1001,
                mtime: 1000,
                ..Raw::default()
            },
            Raw {
                name: b"app/run",
                data: b"#!/bin/sh\n",
                mode: 0o4755,
                uid: 7,
                gid: 8,
                mtime: 2000,
                ..Raw::default()
            },
            link("app/l", EntryType::Symlink, "/etc/hosts"),
            link("app/h", EntryType::Link, "app/run"),
            Raw {
                name: b"app/fifo",
                kind: EntryType::Fifo,
                mode: 0o620,
                uid: 5,
                gid: 6,
                ..Raw::default()
            },
            file("./deep/er/f", b"implied dirs"),
            Raw {
                name: b"olddir/",
                mode: 0o711,
                ..Raw::default()
            },
        ]);
        put(&root, "/data", &tar[..], true, false).unwrap();
        let app = root.join("data/app");
        let m = fs::symlink_metadata(&app).unwrap();
        assert!(m.is_dir());
        assert_eq!(
            (m.mode() & 0o7777, m.uid(), m.gid(), m.mtime()),
            (0o750, 1000, 1001, 1000)
        );
        let m = fs::metadata(app.join("run")).unwrap();
        assert_eq!(
            (m.mode() & 0o7777, m.uid(), m.gid(), m.mtime()),
            (0o4755, 7, 8, 2000)
        );
        assert_eq!(m.nlink(), 2);
        assert_eq!(fs::read(app.join("h")).unwrap(), b"#!/bin/sh\n");
        assert_eq!(
            fs::read_link(app.join("l")).unwrap(),
            Path::new("/etc/hosts")
        );
        let m = fs::symlink_metadata(app.join("fifo")).unwrap();
        assert!(std::os::unix::fs::FileTypeExt::is_fifo(&m.file_type()));
        assert_eq!((m.mode() & 0o7777, m.uid(), m.gid()), (0o620, 5, 6));
        assert_eq!(
            fs::read(root.join("data/deep/er/f")).unwrap(),
            b"implied dirs"
        );
        assert_eq!(
            fs::metadata(root.join("data/deep")).unwrap().mode() & 0o7777,
            0o755
        );
        let m = fs::metadata(root.join("data/olddir")).unwrap();
        assert!(m.is_dir() && m.mode() & 0o7777 == 0o711);
        // Existing files stay; round trip through get gives the same tree.
        assert_eq!(fs::read(root.join("data/a")).unwrap(), b"aaa");
        let mut out = Vec::new();
        get(&root, "/data/app", &mut out, false).unwrap();
        assert_eq!(
            names(&out),
            ["app/", "app/fifo", "app/h", "app/l", "app/run"]
        );
        let e = entries(&out);
        // The second name of a file is a hard link to the first one written (`h`).
        assert_eq!((e[2].1, e[4].1), (EntryType::Regular, EntryType::Link));

        // An imposed owner (docker cp -a with a container user).
        let tar = raw_tar(&[file("owned", b"x")]);
        put_with_owner(&root, "/", &tar[..], true, Some((33, 34))).unwrap();
        let m = fs::metadata(root.join("owned")).unwrap();
        assert_eq!((m.uid(), m.gid()), (33, 34));
    }

    #[test]
    fn put_refuses_dotdot_and_absolute_names() {
        let (dir, root) = rootfs();
        let outside = dir.path().join("x");
        let tar = raw_tar(&[file("../x", b"pwn")]);
        let err = put(&root, "/", &tar[..], true, false).unwrap_err();
        assert!(
            matches!(err, ArchiveError::UnsafeEntry { ref entry, .. } if entry == "../x"),
            "{err}"
        );
        assert!(err.to_string().contains("\"../x\""), "{err}");
        assert!(!outside.exists());

        let tar = raw_tar(&[file("data/../../x", b"pwn")]);
        assert!(matches!(
            put(&root, "/data", &tar[..], true, false).unwrap_err(),
            ArchiveError::UnsafeEntry { .. }
        ));
        assert!(!outside.exists());

        let abs = format!("/tmp/{}", unique("abs"));
        let tar = raw_tar(&[file(&abs, b"pwn")]);
        let err = put(&root, "/", &tar[..], true, false).unwrap_err();
        assert!(
            matches!(err, ArchiveError::UnsafeEntry { ref entry, reason } if entry == &abs && reason == "absolute path"),
            "{err}"
        );
        assert!(!Path::new(&abs).exists());
    }

    #[test]
    fn put_through_a_planted_symlink_lands_inside_the_root() {
        if !is_root() {
            eprintln!("skipped: needs root");
            return;
        }
        let (dir, root) = rootfs();
        let pwned = unique("pwned");
        let tmp_name = unique("tmp");
        let evil_file = format!("evil/etc/{pwned}");
        let up_file = format!("up/{tmp_name}");
        let tar = raw_tar(&[
            link("evil", EntryType::Symlink, "/"),
            file(&evil_file, b"pwn"),
            link("up", EntryType::Symlink, "../../../../../../../../tmp"),
            file(&up_file, b"pwn"),
        ]);
        fs::create_dir(root.join("tmp")).unwrap();
        put(&root, "/data", &tar[..], true, false).unwrap();
        assert!(
            !Path::new("/etc").join(&pwned).exists(),
            "wrote the host's /etc"
        );
        assert!(
            !Path::new("/tmp").join(&tmp_name).exists(),
            "wrote the host's /tmp"
        );
        assert_eq!(fs::read(root.join("etc").join(&pwned)).unwrap(), b"pwn");
        assert_eq!(fs::read(root.join("tmp").join(&tmp_name)).unwrap(), b"pwn");

        // Through a link to a directory the container lacks (but the host has): refused.
        let tar = raw_tar(&[
            link("dang", EntryType::Symlink, "/var/tmp"),
            file(&format!("dang/{tmp_name}"), b"pwn"),
        ]);
        let err = put(&root, "/", &tar[..], true, false).unwrap_err();
        assert!(matches!(err, ArchiveError::UnsafeEntry { .. }), "{err}");
        assert!(!Path::new("/var/tmp").join(&tmp_name).exists());
        assert!(!root.join("var").exists());

        // A hard link may not reach out of the extraction, by `..` or through a link.
        let tar = raw_tar(&[link("h", EntryType::Link, "../../etc/hosts")]);
        assert!(matches!(
            put(&root, "/data", &tar[..], true, false).unwrap_err(),
            ArchiveError::UnsafeEntry { .. }
        ));
        let tar = raw_tar(&[link("h", EntryType::Link, "evil/etc/hosts")]);
        let err = put(&root, "/data", &tar[..], true, false).unwrap_err();
        assert!(matches!(err, ArchiveError::UnsafeEntry { .. }), "{err}");
        assert!(!root.join("data/h").exists());
        assert!(!dir.path().join("h").exists());
    }

    #[test]
    fn put_into_a_destination_symlink_resolves_inside_the_root() {
        if !is_root() {
            eprintln!("skipped: needs root");
            return;
        }
        let (_dir, root) = rootfs();
        symlink("/", root.join("toroot")).unwrap();
        symlink("../../../../../../../../etc", root.join("data/etc-up")).unwrap();
        let name = unique("dest");
        let tar = raw_tar(&[file(&name, b"inside")]);
        put(&root, "/toroot", &tar[..], true, false).unwrap();
        assert_eq!(fs::read(root.join(&name)).unwrap(), b"inside");
        assert!(!Path::new("/").join(&name).exists());
        put(&root, "/data/etc-up", &tar[..], true, false).unwrap();
        assert_eq!(fs::read(root.join("etc").join(&name)).unwrap(), b"inside");
        assert!(!Path::new("/etc").join(&name).exists());
    }

    #[test]
    fn put_destination_and_overwrite_rules() {
        if !is_root() {
            eprintln!("skipped: needs root");
            return;
        }
        let (_dir, root) = rootfs();
        let tar = raw_tar(&[file("f", b"x")]);
        assert!(matches!(
            put(&root, "/etc/hosts", &tar[..], true, false).unwrap_err(),
            ArchiveError::NotADirectory { .. }
        ));
        assert!(matches!(
            put(&root, "/nope", &tar[..], true, false).unwrap_err(),
            ArchiveError::NotFound { .. }
        ));

        // A file over a directory: refused when asked, else the directory goes.
        let tar = raw_tar(&[file("sub", b"now a file")]);
        let err = put(&root, "/data", &tar[..], true, false).unwrap_err();
        assert!(matches!(err, ArchiveError::Overwrite { .. }), "{err}");
        assert!(root.join("data/sub/b").exists());
        put(&root, "/data", &tar[..], false, false).unwrap();
        assert_eq!(fs::read(root.join("data/sub")).unwrap(), b"now a file");

        // A directory over a file, likewise; a file over a file is replaced.
        let tar = raw_tar(&[Raw {
            name: b"a/",
            kind: EntryType::Directory,
            mode: 0o755,
            ..Raw::default()
        }]);
        assert!(matches!(
            put(&root, "/data", &tar[..], true, false).unwrap_err(),
            ArchiveError::Overwrite { .. }
        ));
        put(&root, "/data", &tar[..], false, false).unwrap();
        assert!(root.join("data/a").is_dir());
        let tar = raw_tar(&[file("etc/hosts", b"new")]);
        put(&root, "/", &tar[..], true, false).unwrap();
        assert_eq!(fs::read(root.join("etc/hosts")).unwrap(), b"new");
    }

    #[test]
    fn file_capabilities_round_trip() {
        if !is_root() {
            eprintln!("skipped: needs root");
            return;
        }
        let (_dir, root) = rootfs();
        // VFS_CAP_REVISION_2 with CAP_NET_BIND_SERVICE permitted.
        let mut cap = Vec::new();
        for word in [0x0200_0000u32, 1 << 10, 0, 0, 0] {
            cap.extend_from_slice(&word.to_le_bytes());
        }
        fs::write(root.join("data/ping"), b"\x7fELF").unwrap();
        let f = File::open(root.join("data/ping")).unwrap();
        // SAFETY: open descriptor, NUL-terminated name, live value.
        let rc = unsafe {
            libc::fsetxattr(
                f.as_raw_fd(),
                c"security.capability".as_ptr(),
                cap.as_ptr().cast(),
                cap.len(),
                0,
            )
        };
        assert_eq!(rc, 0, "{}", io::Error::last_os_error());
        let mut out = Vec::new();
        get(&root, "/data/ping", &mut out, false).unwrap();
        fs::create_dir(root.join("copy")).unwrap();
        put(&root, "/copy", &out[..], true, false).unwrap();
        let copy = File::open(root.join("copy/ping")).unwrap();
        assert_eq!(get_capability(&copy).unwrap(), Some(cap));
        assert_eq!(
            get_capability(&File::open(root.join("data/a")).unwrap()).unwrap(),
            None
        );
    }

    #[test]
    fn export_lists_every_file() {
        let (_dir, root) = rootfs();
        symlink("/etc", root.join("link")).unwrap();
        fs::hard_link(root.join("data/a"), root.join("data/a2")).unwrap();
        let mut out = Vec::new();
        export(&root, &mut out).unwrap();
        let e = entries(&out);
        let got: Vec<(&str, EntryType)> = e.iter().map(|(n, t, _)| (n.as_str(), *t)).collect();
        assert_eq!(
            got,
            [
                ("data/", EntryType::Directory),
                ("data/a", EntryType::Regular),
                ("data/a2", EntryType::Link),
                ("data/sub/", EntryType::Directory),
                ("data/sub/b", EntryType::Regular),
                ("etc/", EntryType::Directory),
                ("etc/hosts", EntryType::Regular),
                ("link", EntryType::Symlink),
            ]
        );
        assert_eq!(e[6].2, b"container hosts\n");
    }
}
