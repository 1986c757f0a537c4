//! The system calls that change the container's mount tree, behind a trait so that the
//! order of mounts, pivot and remounts can be unit-tested without root ([`Recorder`]).

use std::cell::RefCell;
use std::ffi::CString;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::MsFlags;

/// Where a mount goes: the path the kernel is given (usually `/proc/self/fd/N` of a
/// handle resolved inside the rootfs, so a symlink in the image can't redirect it) and
/// the path inside the container it stands for (for messages and for [`Recorder`]).
#[derive(Debug, Clone)]
pub struct Target {
    pub kernel_path: PathBuf,
    pub container_path: PathBuf,
}

impl Target {
    pub fn plain(p: impl Into<PathBuf>) -> Self {
        let p = p.into();
        Target { kernel_path: p.clone(), container_path: p }
    }
}

/// One call, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Mount { source: Option<String>, target: PathBuf, fstype: Option<String>, flags: MsFlags, data: Option<String> },
    Umount { target: PathBuf, flags: i32 },
    PivotRoot { new_root: PathBuf },
    Chroot { path: PathBuf },
    Chdir { path: PathBuf },
}

pub trait Syscall {
    fn mount(&self, source: Option<&str>, target: &Target, fstype: Option<&str>, flags: MsFlags, data: Option<&str>) -> nix::Result<()>;
    fn umount(&self, target: &Path, flags: i32) -> nix::Result<()>;
    /// `pivot_root(new_root, new_root)`: the old root ends up stacked on the new one.
    fn pivot_root(&self, new_root: &Path) -> nix::Result<()>;
    fn chroot(&self, path: &Path) -> nix::Result<()>;
    fn chdir(&self, path: &Path) -> nix::Result<()>;
}

fn cstr(s: &str) -> nix::Result<CString> {
    CString::new(s).map_err(|_| Errno::EINVAL)
}

fn cpath(p: &Path) -> nix::Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(p.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)
}

/// The real kernel.
#[derive(Debug, Default)]
pub struct Linux;

impl Syscall for Linux {
    fn mount(&self, source: Option<&str>, target: &Target, fstype: Option<&str>, flags: MsFlags, data: Option<&str>) -> nix::Result<()> {
        let source = source.map(cstr).transpose()?;
        let fstype = fstype.map(cstr).transpose()?;
        let data = data.map(cstr).transpose()?;
        let target = cpath(&target.kernel_path)?;
        // SAFETY: every pointer is a valid NUL-terminated string or null, alive for the call.
        let rc = unsafe {
            libc::mount(
                source.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
                target.as_ptr(),
                fstype.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
                flags.bits(),
                data.as_ref().map_or(std::ptr::null(), |s| s.as_ptr().cast()),
            )
        };
        Errno::result(rc).map(drop)
    }

    fn umount(&self, target: &Path, flags: i32) -> nix::Result<()> {
        let t = cpath(target)?;
        // SAFETY: a valid C string for the duration of the call.
        Errno::result(unsafe { libc::umount2(t.as_ptr(), flags) }).map(drop)
    }

    fn pivot_root(&self, new_root: &Path) -> nix::Result<()> {
        let p = cpath(new_root)?;
        // SAFETY: pivot_root takes two C strings; glibc has no wrapper, so the raw syscall.
        Errno::result(unsafe { libc::syscall(libc::SYS_pivot_root, p.as_ptr(), p.as_ptr()) }).map(drop)
    }

    fn chroot(&self, path: &Path) -> nix::Result<()> {
        nix::unistd::chroot(path)
    }

    fn chdir(&self, path: &Path) -> nix::Result<()> {
        nix::unistd::chdir(path)
    }
}

/// A fake that records each call and succeeds.
#[derive(Debug, Default)]
pub struct Recorder {
    pub calls: RefCell<Vec<Call>>,
}

impl Syscall for Recorder {
    fn mount(&self, source: Option<&str>, target: &Target, fstype: Option<&str>, flags: MsFlags, data: Option<&str>) -> nix::Result<()> {
        self.calls.borrow_mut().push(Call::Mount {
            source: source.map(str::to_string),
            target: target.container_path.clone(),
            fstype: fstype.map(str::to_string),
            flags,
            data: data.map(str::to_string),
        });
        Ok(())
    }
    fn umount(&self, target: &Path, flags: i32) -> nix::Result<()> {
        self.calls.borrow_mut().push(Call::Umount { target: target.to_path_buf(), flags });
        Ok(())
    }
    fn pivot_root(&self, new_root: &Path) -> nix::Result<()> {
        self.calls.borrow_mut().push(Call::PivotRoot { new_root: new_root.to_path_buf() });
        Ok(())
    }
    fn chroot(&self, path: &Path) -> nix::Result<()> {
        self.calls.borrow_mut().push(Call::Chroot { path: path.to_path_buf() });
        Ok(())
    }
    fn chdir(&self, path: &Path) -> nix::Result<()> {
        self.calls.borrow_mut().push(Call::Chdir { path: path.to_path_buf() });
        Ok(())
    }
}
