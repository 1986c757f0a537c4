//! The last steps before `execve`: user, groups, capabilities, no_new_privs, seccomp.
//!
//! Seccomp goes last when no_new_privs is set (the filter may forbid what comes before
//! it); without no_new_privs the kernel only lets a process holding CAP_SYS_ADMIN load a
//! filter, so it is loaded before the capabilities are dropped.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Uid};
use oci_spec::runtime::Process;

use crate::capabilities::{self, Masks};
use crate::error::{Error, Result};

pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Everything the final step needs, computed before fork where possible.
pub struct Finalize<'a> {
    pub process: &'a Process,
    pub caps: Option<Masks>,
    pub seccomp: Option<&'a berth_seccomp::Filter>,
    /// Where to send a seccomp notify fd, with the state JSON to send along.
    pub seccomp_listener: Option<(PathBuf, Vec<u8>)>,
    pub preserve_fds: u32,
    pub personality: Option<&'a oci_spec::runtime::LinuxPersonality>,
}

/// Finds `arg0` the way execvp would, in the container's PATH.
pub fn lookup(arg0: &str, env: &[String]) -> Result<PathBuf> {
    if arg0.is_empty() {
        return Err(Error::InvalidConfig("process.args is empty".into()));
    }
    if arg0.contains('/') {
        return if executable(Path::new(arg0)) {
            Ok(PathBuf::from(arg0))
        } else {
            // Worded as runc (and Go) word it, lower case: engines tell "not found"
            // (127) from "not executable" (126) by this text.
            let reason = nix::errno::Errno::last().desc().to_lowercase();
            Err(Error::Init(format!("exec {arg0:?}: stat {arg0}: {reason}")))
        };
    }
    let path = env.iter().find_map(|e| e.strip_prefix("PATH=")).unwrap_or(DEFAULT_PATH);
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let cand = Path::new(dir).join(arg0);
        if executable(&cand) {
            return Ok(cand);
        }
    }
    Err(Error::Init(format!("exec {arg0:?}: executable file not found in $PATH")))
}

fn executable(p: &Path) -> bool {
    let Ok(c) = CString::new(p.as_os_str().as_bytes()) else { return false };
    // SAFETY: a valid C string; access only reads it.
    let ok = unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0;
    ok && std::fs::metadata(p).is_ok_and(|m| m.is_file())
}

fn apply_user(p: &Process) -> Result<()> {
    let u = p.user();
    let setgroups_allowed = std::fs::read_to_string("/proc/self/setgroups").map_or(true, |s| s.trim() != "deny");
    if setgroups_allowed {
        let gids: Vec<Gid> = u.additional_gids().iter().flatten().map(|g| Gid::from_raw(*g)).collect();
        nix::unistd::setgroups(&gids).map_err(|e| Error::sys("setgroups", e))?;
    }
    let gid = Gid::from_raw(u.gid());
    nix::unistd::setresgid(gid, gid, gid).map_err(|e| Error::sys(format!("setgid {}", u.gid()), e))?;
    let uid = Uid::from_raw(u.uid());
    nix::unistd::setresuid(uid, uid, uid).map_err(|e| Error::sys(format!("setuid {}", u.uid()), e))?;
    if let Some(m) = u.umask() {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(m));
    }
    Ok(())
}

fn load_seccomp(f: &Finalize<'_>) -> Result<()> {
    let Some(filter) = f.seccomp else { return Ok(()) };
    if let Some(fd) = filter.load()? {
        if let Some((path, state)) = &f.seccomp_listener {
            use std::os::fd::AsFd;
            berth_seccomp::send_to_listener(path, fd.as_fd(), state)?;
        }
    }
    Ok(())
}

fn set_label(p: &Process) -> Result<()> {
    if let Some(profile) = p.apparmor_profile().as_deref().filter(|s| !s.is_empty()) {
        let enabled = std::fs::read_to_string("/sys/module/apparmor/parameters/enabled").is_ok_and(|s| s.starts_with('Y'));
        if !enabled {
            return Err(Error::Init(format!("apparmor profile {profile:?} requested but AppArmor is not enabled on this host")));
        }
        let attr = if Path::new("/proc/self/attr/apparmor/exec").exists() { "/proc/self/attr/apparmor/exec" } else { "/proc/self/attr/exec" };
        std::fs::write(attr, format!("exec {profile}")).map_err(|e| Error::io("set apparmor profile", attr, e))?;
    }
    if let Some(label) = p.selinux_label().as_deref().filter(|s| !s.is_empty()) {
        if !Path::new("/sys/fs/selinux/enforce").exists() {
            return Err(Error::Init(format!("selinux label {label:?} requested but SELinux is not enabled on this host")));
        }
        std::fs::write("/proc/self/attr/exec", label).map_err(|e| Error::io("set selinux label", "/proc/self/attr/exec", e))?;
    }
    Ok(())
}

fn set_io_priority(p: &Process) -> Result<()> {
    let Some(io) = p.io_priority() else { return Ok(()) };
    use oci_spec::runtime::IOPriorityClass;
    let class = match io.class() {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    let value = (class << 13) | (io.priority() as i64 & 0x1fff);
    // SAFETY: ioprio_set takes three integers (IOPRIO_WHO_PROCESS = 1, pid 0 = self).
    if unsafe { libc::syscall(libc::SYS_ioprio_set, 1, 0, value) } < 0 {
        return Err(Error::sys("ioprio_set", nix::errno::Errno::last()));
    }
    Ok(())
}

/// Becomes the user's process. Returns only on error.
pub fn finalize_and_exec(f: &Finalize<'_>, program: &Path) -> Error {
    match finalize(f) {
        Ok(()) => exec(f.process, program),
        Err(e) => e,
    }
}

fn finalize(f: &Finalize<'_>) -> Result<()> {
    let p = f.process;
    set_label(p)?;
    set_io_priority(p)?;
    super::scheduling::apply_scheduler(p)?;
    super::scheduling::apply_personality(f.personality)?;
    let nnp = p.no_new_privileges().unwrap_or(false);
    if nnp {
        // SAFETY: prctl with integer arguments only.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } < 0 {
            return Err(Error::sys("set no_new_privs", nix::errno::Errno::last()));
        }
    }
    if let Some(m) = &f.caps {
        // Keep the permitted set across the uid change; capset below decides what remains.
        // SAFETY: prctl with integer arguments only.
        unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) };
        capabilities::drop_bounding(m.bounding)?;
    }
    if !nnp {
        load_seccomp(f)?;
    }
    apply_user(p)?;
    if let Some(m) = &f.caps {
        capabilities::apply(m)?;
    }
    let cwd = p.cwd();
    nix::unistd::chdir(cwd).map_err(|e| Error::sys(format!("chdir {}", cwd.display()), e))?;
    super::scheduling::apply_cpu_affinity(p)?;
    close_extra_fds(f.preserve_fds);
    if nnp {
        load_seccomp(f)?;
    }
    Ok(())
}

/// Marks every fd above stdio and the preserved ones close-on-exec.
pub fn close_extra_fds(preserve: u32) {
    let first = 3 + preserve;
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets flags on fds.
    unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) };
}

/// The home directory of `uid` in the container's /etc/passwd, or "/".
fn home_of(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() >= 6 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[5].to_string())
            })
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "/".to_string())
}

fn exec(p: &Process, program: &Path) -> Error {
    let cstr = |s: &str| CString::new(s).unwrap_or_default();
    let args: Vec<CString> = p.args().iter().flatten().map(|a| cstr(a)).collect();
    let mut env: Vec<CString> = p.env().iter().flatten().map(|e| cstr(e)).collect();
    // Programs expect HOME; like runc, fill it in from the container's passwd when unset.
    if !p.env().iter().flatten().any(|e| e.starts_with("HOME=")) {
        env.push(cstr(&format!("HOME={}", home_of(p.user().uid()))));
    }
    let prog = CString::new(program.as_os_str().as_bytes()).unwrap_or_default();
    match nix::unistd::execve(&prog, &args, &env) {
        Err(e) => Error::sys(format!("exec {}", program.display()), e),
        Ok(never) => match never {},
    }
}
