//! Building the container's root filesystem inside its new mount namespace.
//!
//! Order: make the inherited tree a slave (so nothing we do propagates to the host), bind
//! the rootfs onto itself (pivot_root needs a mount point), perform the config's mounts
//! in order — every target resolved inside the rootfs with openat2(RESOLVE_IN_ROOT)
//! through pathrs and mounted via its `/proc/self/fd/N`, so a symlink planted in an image
//! can never aim a mount at the host —, create devices, pivot_root, then mask paths,
//! make paths read-only and remount the root read-only.

use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use nix::mount::MsFlags;
use nix::sys::stat::SFlag;
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType, Mount, Spec};
use pathrs::{InodeType, Root};

use super::leaf::{self, Leaf};
use super::options::{self, Options};
use crate::error::{Error, Result};
use crate::syscall::{Syscall, Target};

/// The state of a rootfs being built.
pub struct Rootfs<'a, S: Syscall> {
    pub sys: &'a S,
    /// The rootfs as a host path (absolute).
    pub path: PathBuf,
    root: Option<Root>,
    /// The container runs in a user namespace it created: mknod is not allowed there.
    pub in_userns: bool,
    pub cgroup: Option<&'a berth_cgroups::Cgroup>,
}

fn fail(op: &str, path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Init(format!("{op} {}: {e}", path.display()))
}

/// pathrs errors say what failed at the top and why in their sources: show both.
fn chain(e: &pathrs::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// The fast way to a missing mount point whose parent exists (see [`leaf`]): `None`
/// sends the caller to pathrs (no parent, a dangling symlink to follow, or any failure,
/// which pathrs then reports with its context).
fn create_leaf(root: &Root, r: &Path, file: bool) -> Option<pathrs::Handle> {
    let l = Leaf::of(root, r)?;
    if l.is_symlink() {
        return None;
    }
    let made = if file { l.create_file(0o644) } else { l.mkdir(0o755) };
    leaf::ok_if_exists(made).ok()?;
    l.open().ok()
}

/// Lexically removes "." and ".." from a path relative to the rootfs (".." stops at it).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}

/// pathrs reports an existing path as an OS error with EEXIST.
fn exists(e: &pathrs::error::Error) -> bool {
    matches!(e.kind(), pathrs::error::ErrorKind::OsError(Some(libc::EEXIST)))
}

/// Strips the leading "/" and refuses nothing: pathrs keeps ".." inside the root.
fn rel(p: &Path) -> PathBuf {
    p.components().filter(|c| !matches!(c, Component::RootDir)).collect()
}

impl<'a, S: Syscall> Rootfs<'a, S> {
    pub fn new(sys: &'a S, path: PathBuf) -> Self {
        Rootfs { sys, path, root: None, in_userns: false, cgroup: None }
    }

    fn root(&self) -> Result<&Root> {
        self.root.as_ref().ok_or_else(|| Error::Init("rootfs is not prepared".into()))
    }

    /// Step 1: propagation of the inherited tree and the rootfs bind mount.
    ///
    /// The inherited tree always becomes a recursive slave first: host mounts still
    /// reach the container, nothing flows back, and the rootfs can be bind-mounted (an
    /// "unbindable" tree could not be). rootfsPropagation applies to the container's
    /// own root after pivot_root ([`finalize`]).
    pub fn prepare(&mut self, propagation: Option<&str>) -> Result<()> {
        if let Some(p) = propagation.filter(|p| !p.is_empty()) {
            options::propagation(p).ok_or_else(|| Error::InvalidConfig(format!("unknown rootfsPropagation {p:?}")))?;
        }
        self.sys
            .mount(None, &Target::plain("/"), None, MsFlags::MS_SLAVE | MsFlags::MS_REC, None)
            .map_err(|e| fail("make / ", Path::new("/"), e))?;
        self.make_parent_private()?;
        let t = Target::plain(&self.path);
        let src = self.path.to_string_lossy().into_owned();
        self.sys
            .mount(Some(&src), &t, Some("bind"), MsFlags::MS_BIND | MsFlags::MS_REC, None)
            .map_err(|e| fail("bind mount rootfs", &self.path, e))?;
        self.root = Some(Root::open(&self.path).map_err(|e| fail("open rootfs", &self.path, chain(&e)))?);
        Ok(())
    }

    /// pivot_root refuses a new root whose parent mount is shared: make that mount private.
    fn make_parent_private(&self) -> Result<()> {
        let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else { return Ok(()) };
        let mut best: Option<(&str, bool)> = None;
        for line in info.lines() {
            let f: Vec<&str> = line.split(' ').collect();
            let (Some(mp), Some(opt_end)) = (f.get(4), f.iter().position(|x| *x == "-")) else { continue };
            if self.path.starts_with(mp) && best.is_none_or(|(b, _)| mp.len() >= b.len()) {
                let shared = f[6..opt_end].iter().any(|o| o.starts_with("shared:"));
                best = Some((mp, shared));
            }
        }
        if let Some((mp, true)) = best {
            self.sys
                .mount(None, &Target::plain(mp), None, MsFlags::MS_PRIVATE, None)
                .map_err(|e| fail("make private", Path::new(mp), e))?;
        }
        Ok(())
    }

    /// Resolves (creating as needed) a mount target inside the rootfs.
    fn target(&self, dest: &Path, file: bool) -> Result<(pathrs::Handle, Target)> {
        let root = self.root()?;
        let r = rel(dest);
        let handle = match leaf::resolve(root, &r) {
            Ok(h) => h,
            Err(_) => match create_leaf(root, &r, file) {
                Some(h) => h,
                None => self.create_target(dest, &self.follow_dangling(r), file)?,
            },
        };
        let t = Target {
            kernel_path: PathBuf::from(format!("/proc/self/fd/{}", handle.as_fd().as_raw_fd())),
            container_path: dest.to_path_buf(),
        };
        Ok((handle, t))
    }

    /// A mount point that is a dangling symlink in the image is created where the link
    /// points, inside the rootfs (as runc and crun do), instead of failing.
    fn follow_dangling(&self, mut r: PathBuf) -> PathBuf {
        let Ok(root) = self.root() else { return r };
        for _ in 0..40 {
            let Ok(link) = root.readlink(&r) else { break };
            let next = if link.is_absolute() { rel(&link) } else { r.parent().unwrap_or(Path::new("")).join(link) };
            r = normalize(&next);
        }
        r
    }

    fn create_target(&self, dest: &Path, r: &Path, file: bool) -> Result<pathrs::Handle> {
        let root = self.root()?;
        let perm = std::fs::Permissions::from_mode(0o755);
        Ok(match () {
            () if file => {
                if let Some(parent) = r.parent().filter(|p| !p.as_os_str().is_empty()) {
                    root.mkdir_all(parent, &perm).map_err(|e| fail("create mount point", dest, chain(&e)))?;
                }
                match root.create(r, &InodeType::File(std::fs::Permissions::from_mode(0o644))) {
                    Ok(()) => {}
                    Err(e) if exists(&e) => {}
                    Err(e) => return Err(fail("create mount point", dest, chain(&e))),
                }
                root.resolve(r).map_err(|e| fail("resolve mount point", dest, chain(&e)))?
            }
            () => root.mkdir_all(r, &perm).map_err(|e| fail("create mount point", dest, chain(&e)))?,
        })
    }

    /// A handle on what is mounted at `t` now. The handle `target` returned points at the
    /// directory *under* a mount made through it, so remounts and propagation changes
    /// must go through a fresh resolution.
    fn mounted(&self, t: &Target) -> Result<(pathrs::Handle, Target)> {
        let handle = leaf::resolve(self.root()?, &rel(&t.container_path)).map_err(|e| fail("resolve", &t.container_path, e))?;
        let t = Target {
            kernel_path: PathBuf::from(format!("/proc/self/fd/{}", handle.as_fd().as_raw_fd())),
            container_path: t.container_path.clone(),
        };
        Ok((handle, t))
    }

    /// Step 2: one mount of the config. `source` is the bind source opened by the parent
    /// (O_PATH) before any namespace was entered, so a source the container's user may not
    /// reach still mounts, and is the same file the parent checked.
    pub fn mount(&self, m: &Mount, source: Option<&BindSource>) -> Result<()> {
        let dest = m.destination();
        if !dest.is_absolute() {
            return Err(Error::InvalidConfig(format!("mount destination {} is not absolute", dest.display())));
        }
        let opts = options::parse(m.options().as_deref().unwrap_or_default());
        let typ = m.typ().as_deref().unwrap_or("");
        let bind = opts.is_bind() || typ == "bind" || typ == "rbind";
        if typ == "cgroup" || typ == "cgroup2" {
            return self.mount_cgroup(m, &opts);
        }
        if bind {
            let owned;
            let b = match source {
                Some(b) => b,
                None => {
                    owned = BindSource::open(m, false)?;
                    &owned
                }
            };
            let (_h, t) = self.target(dest, !b.is_dir)?;
            let mut flags = MsFlags::MS_BIND;
            if opts.flags.contains(MsFlags::MS_REC) || typ == "rbind" {
                flags |= MsFlags::MS_REC;
            }
            match &b.tree {
                Some(tree) => move_mount(tree, &t).map_err(|e| fail("bind mount", dest, format!("{} ({e})", b.path.display())))?,
                None => self
                    .sys
                    .mount(Some(&b.path.to_string_lossy()), &t, Some("bind"), flags, None)
                    .map_err(|e| fail("bind mount", dest, format!("{} ({e})", b.path.display())))?,
            }
            let (_m, t) = self.mounted(&t)?;
            if !opts.remount_flags().is_empty() {
                self.remount_bind(&t, opts.remount_flags())?;
            }
            return self.after_mount(&t, &opts);
        }
        let (_h, t) = self.target(dest, false)?;
        let src = m.source().as_ref().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| typ.to_string());
        let data = opts.data_string();
        let flags = opts.flags - MsFlags::MS_REC;
        match self.sys.mount(Some(&src), &t, Some(typ), flags, data.as_deref()) {
            Ok(()) => {}
            // A user namespace without its own network (sysfs) or ipc (mqueue) namespace may
            // not mount a fresh instance: fall back to binding the host's, read-only as asked.
            Err(nix::errno::Errno::EPERM | nix::errno::Errno::EBUSY) if typ == "sysfs" || typ == "mqueue" => {
                let host = if typ == "sysfs" { "/sys" } else { "/dev/mqueue" };
                self.sys
                    .mount(Some(host), &t, Some("bind"), MsFlags::MS_BIND | MsFlags::MS_REC, None)
                    .map_err(|e| fail("bind mount", dest, format!("{host} ({e})")))?;
                let (_m, t) = self.mounted(&t)?;
                self.remount_bind(&t, flags)?;
            }
            Err(e) => return Err(fail(&format!("mount {typ}"), dest, e)),
        }
        if opts.propagation.is_empty() && opts.recursive_set == 0 && opts.recursive_clear == 0 {
            return Ok(());
        }
        let (_m, t) = self.mounted(&t)?;
        self.after_mount(&t, &opts)
    }

    fn after_mount(&self, t: &Target, opts: &Options) -> Result<()> {
        for p in &opts.propagation {
            self.sys
                .mount(None, t, None, *p, None)
                .map_err(|e| fail("set propagation of", &t.container_path, e))?;
        }
        if opts.recursive_set != 0 || opts.recursive_clear != 0 {
            mount_setattr(t, opts.recursive_set, opts.recursive_clear)?;
        }
        Ok(())
    }

    /// Remounts a bind mount with `flags`, keeping the flags the kernel locked on it (a
    /// mount inherited into a user namespace keeps its nosuid/nodev/noexec/ro: asking to
    /// drop them fails with EPERM).
    pub fn remount_bind(&self, t: &Target, flags: MsFlags) -> Result<()> {
        let base = MsFlags::MS_BIND | MsFlags::MS_REMOUNT;
        match self.sys.mount(None, t, None, base | flags, None) {
            Ok(()) => Ok(()),
            Err(nix::errno::Errno::EPERM) => {
                let locked = locked_flags(&t.kernel_path);
                self.sys
                    .mount(None, t, None, base | flags | locked, None)
                    .map_err(|e| fail("remount", &t.container_path, e))
            }
            Err(e) => Err(fail("remount", &t.container_path, e)),
        }
    }

    /// The `cgroup` mount: the container's own cgroup of every hierarchy.
    fn mount_cgroup(&self, m: &Mount, opts: &Options) -> Result<()> {
        let dest = m.destination();
        let flags = opts.flags - (MsFlags::MS_BIND | MsFlags::MS_REC);
        let Some(cg) = self.cgroup else {
            return Ok(());
        };
        let (_h, t) = self.target(dest, false)?;
        let mounts = cg.container_mounts();
        let unified_only = mounts.len() == 1 && mounts[0].subdir.is_empty();
        if unified_only {
            let src = mounts[0].host_dir.to_string_lossy().into_owned();
            // A bind of the container's own cgroup2 directory: the same tree a fresh cgroup2
            // mount shows inside its cgroup namespace, without needing that namespace yet
            // (init enters it only after the parent has moved it into the cgroup).
            self.sys
                .mount(Some(&src), &t, Some("bind"), MsFlags::MS_BIND | MsFlags::MS_REC, None)
                .map_err(|e| fail("bind mount cgroup", dest, e))?;
            let (_m, t) = self.mounted(&t)?;
            self.remount_bind(&t, flags)?;
            return Ok(());
        }
        // v1 (and hybrid): a tmpfs holding one bind mount per hierarchy, like the host's layout.
        self.sys
            .mount(Some("tmpfs"), &t, Some("tmpfs"), flags - MsFlags::MS_RDONLY, Some("mode=755"))
            .map_err(|e| fail("mount cgroup tmpfs", dest, e))?;
        for cm in &mounts {
            let sub = dest.join(&cm.subdir);
            let (_hs, ts) = self.target(&sub, false)?;
            let src = cm.host_dir.to_string_lossy().into_owned();
            self.sys
                .mount(Some(&src), &ts, Some("bind"), MsFlags::MS_BIND | MsFlags::MS_REC, None)
                .map_err(|e| fail("bind mount cgroup", &sub, format!("{src} ({e})")))?;
            let (_m, ts) = self.mounted(&ts)?;
            self.remount_bind(&ts, flags)?;
            for link in cm.aliases.iter().filter(|a| **a != cm.subdir) {
                let lp = rel(&dest.join(link));
                self.symlink(&lp, Path::new(&cm.subdir))?;
            }
        }
        if flags.contains(MsFlags::MS_RDONLY) {
            let (_m, t) = self.mounted(&t)?;
            self.sys
                .mount(None, &t, None, MsFlags::MS_REMOUNT | flags, Some("mode=755"))
                .map_err(|e| fail("remount cgroup tmpfs read-only", dest, e))?;
        }
        Ok(())
    }

    /// Creates a directory inside the rootfs if it is missing.
    pub fn ensure_dir(&self, p: &Path) -> Result<()> {
        let root = self.root()?;
        if leaf::resolve(root, &rel(p)).is_err() && create_leaf(root, &rel(p), false).is_none() {
            root.mkdir_all(rel(p), &std::fs::Permissions::from_mode(0o755)).map_err(|e| fail("create", p, chain(&e)))?;
        }
        Ok(())
    }

    /// A symlink `link` (relative to the root) → `target`; an existing name is kept.
    fn symlink(&self, link: &Path, target: &Path) -> Result<()> {
        let root = self.root()?;
        if let Some(l) = Leaf::of(root, link) {
            return leaf::ok_if_exists(l.symlink(target)).map_err(|e| fail("symlink", link, e));
        }
        match root.create(link, &InodeType::Symlink(target.into())) {
            Ok(()) => Ok(()),
            Err(e) if exists(&e) => Ok(()),
            Err(e) => Err(fail("symlink", link, chain(&e))),
        }
    }

    /// Step 3: device nodes (when /dev is ours, not the host's bind-mounted).
    pub fn create_devices(&self, devices: &[LinuxDevice]) -> Result<()> {
        for d in default_devices().iter().chain(devices) {
            self.create_device(d)?;
        }
        let root = self.root()?;
        for (link, target) in [
            ("dev/fd", "/proc/self/fd"),
            ("dev/stdin", "/proc/self/fd/0"),
            ("dev/stdout", "/proc/self/fd/1"),
            ("dev/stderr", "/proc/self/fd/2"),
            ("dev/core", "/proc/kcore"),
        ] {
            self.symlink(Path::new(link), Path::new(target))?;
        }
        // /dev/ptmx points into the container's own devpts instance when it has one.
        if leaf::resolve(root, Path::new("dev/pts/ptmx")).is_ok() {
            match Leaf::of(root, Path::new("dev/ptmx")) {
                Some(l) => {
                    let _ = l.unlink();
                    l.symlink(Path::new("pts/ptmx")).map_err(|e| fail("symlink", Path::new("/dev/ptmx"), e))?;
                }
                None => {
                    let _ = root.remove_file("dev/ptmx");
                    root.create("dev/ptmx", &InodeType::Symlink("pts/ptmx".into()))
                        .map_err(|e| fail("symlink", Path::new("/dev/ptmx"), chain(&e)))?;
                }
            }
        }
        Ok(())
    }

    fn create_device(&self, d: &LinuxDevice) -> Result<()> {
        let root = self.root()?;
        let r = rel(d.path());
        let leaf = match Leaf::of(root, &r) {
            Some(l) => Some(l),
            None => {
                if let Some(parent) = r.parent().filter(|p| !p.as_os_str().is_empty()) {
                    root.mkdir_all(parent, &std::fs::Permissions::from_mode(0o755))
                        .map_err(|e| fail("create device directory", d.path(), chain(&e)))?;
                }
                Leaf::of(root, &r)
            }
        };
        match &leaf {
            Some(l) => {
                let _ = l.unlink();
            }
            None => {
                let _ = root.remove_file(&r);
            }
        }
        let mode = d.file_mode().unwrap_or(0o666) & 0o7777;
        let perm = std::fs::Permissions::from_mode(mode);
        let dev = libc::makedev(d.major() as u32, d.minor() as u32);
        if self.in_userns {
            // mknod is refused in a user namespace: bind the host's node over an empty file.
            let (_h, t) = self.target(d.path(), true)?;
            return self
                .sys
                .mount(Some(&d.path().to_string_lossy()), &t, Some("bind"), MsFlags::MS_BIND, None)
                .map_err(|e| fail("bind mount device", d.path(), e));
        }
        let (kind, inode) = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => (SFlag::S_IFCHR, InodeType::CharacterDevice(perm, dev)),
            LinuxDeviceType::B => (SFlag::S_IFBLK, InodeType::BlockDevice(perm, dev)),
            LinuxDeviceType::P => (SFlag::S_IFIFO, InodeType::Fifo(perm)),
            LinuxDeviceType::A => return Err(Error::InvalidConfig(format!("device {} has type \"a\"", d.path().display()))),
        };
        let h = match &leaf {
            Some(l) => {
                l.mknod(kind, mode, dev).map_err(|e| fail("mknod", d.path(), e))?;
                l.open().map_err(|e| fail("resolve device", d.path(), e))?
            }
            None => {
                root.create(&r, &inode).map_err(|e| fail("mknod", d.path(), chain(&e)))?;
                root.resolve_nofollow(&r).map_err(|e| fail("resolve device", d.path(), chain(&e)))?
            }
        };
        let (uid, gid) = (d.uid().unwrap_or(0), d.gid().unwrap_or(0));
        if uid != 0 || gid != 0 {
            let c = std::ffi::CString::new("").expect("empty");
            // SAFETY: fchownat on an O_PATH fd with AT_EMPTY_PATH and an empty C string.
            let rc = unsafe { libc::fchownat(h.as_fd().as_raw_fd(), c.as_ptr(), uid, gid, libc::AT_EMPTY_PATH) };
            if rc < 0 {
                return Err(fail("chown device", d.path(), std::io::Error::last_os_error()));
            }
        }
        Ok(())
    }

    /// Mounts the pty slave (a host path, before pivot) over /dev/console.
    pub fn bind_console(&self, slave_host_path: &Path) -> Result<()> {
        let (_h, t) = self.target(Path::new("/dev/console"), true)?;
        self.sys
            .mount(Some(&slave_host_path.to_string_lossy()), &t, Some("bind"), MsFlags::MS_BIND, None)
            .map_err(|e| fail("bind mount console", Path::new("/dev/console"), e))
    }

    /// Step 4: pivot_root(".", ".") with the old root detached afterwards; with
    /// `no_pivot`, move the rootfs over / and chroot (for ramdisk roots).
    pub fn pivot(&mut self, no_pivot: bool) -> Result<()> {
        self.root = None;
        let sys = self.sys;
        sys.chdir(&self.path).map_err(|e| fail("chdir", &self.path, e))?;
        if no_pivot {
            sys.mount(Some(&self.path.to_string_lossy()), &Target::plain("/"), None, MsFlags::MS_MOVE, None)
                .map_err(|e| fail("move rootfs to", Path::new("/"), e))?;
            sys.chroot(Path::new(".")).map_err(|e| fail("chroot", &self.path, e))?;
        } else {
            sys.pivot_root(Path::new(".")).map_err(|e| fail("pivot_root", &self.path, e))?;
            // The old root now sits on top of "."; make it a slave so detaching it cannot
            // propagate an unmount to the host, then drop it.
            sys.mount(None, &Target::plain("."), None, MsFlags::MS_SLAVE | MsFlags::MS_REC, None)
                .map_err(|e| fail("make old root slave", Path::new("/"), e))?;
            sys.umount(Path::new("."), libc::MNT_DETACH).map_err(|e| fail("unmount old root", Path::new("/"), e))?;
        }
        sys.chdir(Path::new("/")).map_err(|e| fail("chdir", Path::new("/"), e))
    }
}

/// A bind mount's source, checked by the runtime's parent process before any namespace
/// was entered. For a container with a user namespace it is also cloned there as a
/// detached mount tree (open_tree), because the container's root may not be allowed to
/// reach the source path; init attaches the tree with move_mount.
#[derive(Debug)]
pub struct BindSource {
    pub path: PathBuf,
    pub is_dir: bool,
    pub tree: Option<std::os::fd::OwnedFd>,
}

impl BindSource {
    /// Checks the source of `m` (relative sources are relative to the bundle, the
    /// runtime's working directory then) and, with `detach`, clones it.
    pub fn open(m: &Mount, detach: bool) -> Result<BindSource> {
        BindSource::open_idmapped(m, detach, None)
    }

    /// As [`open`](Self::open); with `idmap` (a user namespace fd), the detached tree is
    /// made an id-mapped mount through that namespace's maps (mount_setattr MOUNT_ATTR_IDMAP).
    pub fn open_idmapped(m: &Mount, detach: bool, idmap: Option<&std::os::fd::OwnedFd>) -> Result<BindSource> {
        let detach = detach || idmap.is_some();
        let src = m.source().as_deref().ok_or_else(|| Error::InvalidConfig(format!("bind mount {} has no source", m.destination().display())))?;
        let path = if src.is_absolute() { src.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(src) };
        let is_dir = std::fs::metadata(&path).map_err(|e| Error::io("bind mount source", &path, e))?.is_dir();
        let tree = if detach {
            let recursive = m.typ().as_deref() == Some("rbind")
                || options::parse(m.options().as_deref().unwrap_or_default()).flags.contains(MsFlags::MS_REC);
            let tree = open_tree(&path, recursive)?;
            if let Some(userns) = idmap {
                let opts = options::parse(m.options().as_deref().unwrap_or_default());
                set_idmap(&tree, userns, opts.idmap_recursive).map_err(|e| Error::io("make id-mapped mount of", &path, e))?;
            }
            Some(tree)
        } else {
            None
        };
        Ok(BindSource { path, is_dir, tree })
    }

    /// Whether `m` is a bind mount (by type or by option).
    pub fn wanted(m: &Mount) -> bool {
        let typ = m.typ().as_deref().unwrap_or("");
        typ == "bind" || typ == "rbind" || options::parse(m.options().as_deref().unwrap_or_default()).is_bind()
    }
}

/// open_tree(OPEN_TREE_CLONE): a detached copy of the mount at `path`.
fn open_tree(path: &Path, recursive: bool) -> Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| Error::InvalidConfig("nul in path".into()))?;
    let mut flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: open_tree reads a C string and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, c.as_ptr(), flags) };
    if fd < 0 {
        return Err(Error::io("open_tree", path, std::io::Error::last_os_error()));
    }
    // SAFETY: the kernel returned a new fd that we now own.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// mount_setattr(MOUNT_ATTR_IDMAP) on a detached tree.
fn set_idmap(tree: &std::os::fd::OwnedFd, userns: &std::os::fd::OwnedFd, recursive: bool) -> std::io::Result<()> {
    const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
    let attr = MountAttr { attr_set: MOUNT_ATTR_IDMAP, attr_clr: 0, propagation: 0, userns_fd: userns.as_raw_fd() as u64 };
    let empty = std::ffi::CString::new("").expect("empty");
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: a valid fd, an empty C string and a mount_attr struct of the size we pass.
    let rc = unsafe {
        libc::syscall(libc::SYS_mount_setattr, tree.as_raw_fd(), empty.as_ptr(), flags, &attr as *const MountAttr, std::mem::size_of::<MountAttr>())
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// move_mount(2) of a detached tree onto `t`.
fn move_mount(tree: &std::os::fd::OwnedFd, t: &Target) -> std::io::Result<()> {
    const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
    // The target is a /proc/self/fd/N magic link: without T_SYMLINKS move_mount would not
    // follow it and fail with EINVAL on the link itself.
    const MOVE_MOUNT_T_SYMLINKS: libc::c_uint = 0x10;
    let empty = std::ffi::CString::new("").expect("empty");
    let to = std::ffi::CString::new(t.kernel_path.as_os_str().as_encoded_bytes()).map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: two valid C strings and fds; move_mount returns 0 or -1.
    let rc = unsafe {
        libc::syscall(libc::SYS_move_mount, tree.as_raw_fd(), empty.as_ptr(), libc::AT_FDCWD, to.as_ptr(), MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS)
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The flags statvfs reports that the kernel locks on a mount.
fn locked_flags(path: &Path) -> MsFlags {
    let Ok(st) = nix::sys::statvfs::statvfs(path) else { return MsFlags::empty() };
    use nix::sys::statvfs::FsFlags;
    let f = st.flags();
    let mut m = MsFlags::empty();
    for (fs, ms) in [
        (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(fs) {
            m |= ms;
        }
    }
    m
}

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// mount_setattr(2) with AT_RECURSIVE: the only way to make a whole subtree read-only.
fn mount_setattr(t: &Target, set: u64, clear: u64) -> Result<()> {
    let attr = MountAttr { attr_set: set, attr_clr: clear, propagation: 0, userns_fd: 0 };
    let path = std::ffi::CString::new(t.kernel_path.to_string_lossy().as_bytes()).map_err(|_| Error::InvalidConfig("nul in path".into()))?;
    // SAFETY: a valid path string and a mount_attr struct of the size we pass.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            path.as_ptr(),
            libc::AT_RECURSIVE as libc::c_uint,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if rc < 0 {
        return Err(fail("mount_setattr", &t.container_path, std::io::Error::last_os_error()));
    }
    Ok(())
}

/// The devices every container gets (the OCI spec's list).
pub fn default_devices() -> Vec<LinuxDevice> {
    use oci_spec::runtime::LinuxDeviceBuilder;
    [("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7), ("/dev/random", 1, 8), ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0)]
        .into_iter()
        .map(|(p, maj, min)| {
            LinuxDeviceBuilder::default()
                .path(p)
                .typ(LinuxDeviceType::C)
                .major(maj)
                .minor(min)
                .file_mode(0o666u32)
                .uid(0u32)
                .gid(0u32)
                .build()
                .expect("static device")
        })
        .collect()
}

/// Step 5 (after pivot): masked paths, read-only paths, read-only root, propagation.
pub fn finalize<S: Syscall>(sys: &S, spec: &Spec, readonly_root: bool) -> Result<()> {
    let linux = spec.linux().as_ref();
    for p in linux.and_then(|l| l.masked_paths().as_ref()).into_iter().flatten() {
        let path = Path::new(p);
        let Ok(meta) = std::fs::symlink_metadata(path) else { continue };
        let t = Target::plain(path);
        let r = if meta.is_dir() {
            sys.mount(Some("tmpfs"), &t, Some("tmpfs"), MsFlags::MS_RDONLY, None)
        } else {
            sys.mount(Some("/dev/null"), &t, Some("bind"), MsFlags::MS_BIND, None)
        };
        r.map_err(|e| fail("mask", path, e))?;
    }
    for p in linux.and_then(|l| l.readonly_paths().as_ref()).into_iter().flatten() {
        let path = Path::new(p);
        if std::fs::symlink_metadata(path).is_err() {
            continue;
        }
        let t = Target::plain(path);
        sys.mount(Some(p), &t, Some("bind"), MsFlags::MS_BIND | MsFlags::MS_REC, None).map_err(|e| fail("bind", path, e))?;
        let base = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_REC;
        if sys.mount(None, &t, None, base, None).is_err() {
            sys.mount(None, &t, None, base | locked_flags(path), None).map_err(|e| fail("make read-only", path, e))?;
        }
    }
    if let Some(p) = linux.and_then(|l| l.rootfs_propagation().as_deref()).filter(|p| !p.is_empty()) {
        let flags = options::propagation(p).ok_or_else(|| Error::InvalidConfig(format!("unknown rootfsPropagation {p:?}")))?;
        sys.mount(None, &Target::plain("/"), None, flags, None).map_err(|e| fail("set propagation of", Path::new("/"), e))?;
    }
    if readonly_root {
        let t = Target::plain("/");
        let base = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        if sys.mount(None, &t, None, base, None).is_err() {
            sys.mount(None, &t, None, base | locked_flags(Path::new("/")), None)
                .map_err(|e| fail("remount read-only", Path::new("/"), e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::{Call, Recorder};

    #[test]
    fn pivot_detaches_the_old_root_after_making_it_a_slave() {
        let rec = Recorder::default();
        let mut r = Rootfs::new(&rec, PathBuf::from("/bundle/rootfs"));
        r.pivot(false).unwrap();
        let calls = rec.calls.borrow();
        assert_eq!(calls[0], Call::Chdir { path: "/bundle/rootfs".into() });
        assert_eq!(calls[1], Call::PivotRoot { new_root: ".".into() });
        assert!(matches!(&calls[2], Call::Mount { flags, .. } if *flags == MsFlags::MS_SLAVE | MsFlags::MS_REC));
        assert_eq!(calls[3], Call::Umount { target: ".".into(), flags: libc::MNT_DETACH });
        assert_eq!(calls[4], Call::Chdir { path: "/".into() });
    }

    #[test]
    fn mounts_resolve_inside_the_rootfs_even_through_an_absolute_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let rootfs = dir.path().join("rootfs");
        std::fs::create_dir_all(rootfs.join("etc")).unwrap();
        // An image's hostile link: /evil -> /etc on the host.
        std::os::unix::fs::symlink("/etc", rootfs.join("evil")).unwrap();
        let rec = Recorder::default();
        let mut r = Rootfs::new(&rec, rootfs.clone());
        r.root = Some(Root::open(&rootfs).unwrap());
        let (h, _t) = r.target(Path::new("/evil/sub"), false).unwrap();
        let real = std::fs::read_link(format!("/proc/self/fd/{}", h.as_fd().as_raw_fd())).unwrap();
        assert_eq!(real, rootfs.join("etc/sub"), "the target escaped the rootfs");
        assert!(!Path::new("/etc/sub").exists());
    }

    #[test]
    fn masked_and_readonly_paths_come_before_the_read_only_root() {
        let spec: Spec = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.0.2",
            "root": {"path": "rootfs"},
            "linux": {"maskedPaths": ["/proc"], "readonlyPaths": ["/sys"]}
        }))
        .unwrap();
        let rec = Recorder::default();
        finalize(&rec, &spec, true).unwrap();
        let calls = rec.calls.borrow();
        let targets: Vec<_> = calls
            .iter()
            .map(|c| match c {
                Call::Mount { target, .. } => target.display().to_string(),
                _ => String::new(),
            })
            .collect();
        assert_eq!(targets, ["/proc", "/sys", "/sys", "/"]);
    }
}
