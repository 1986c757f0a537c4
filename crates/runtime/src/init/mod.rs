//! What runs in the forked processes, between `fork` and `execve`.
//!
//! - [`stage1`]: moves itself into the v1 cgroups (with a user namespace; without one the
//!   init does, once the parent made them), joins or creates the user namespace,
//!   lets the parent write its id maps (and place the init in the cgroup2 one), joins the other namespaces by path, unshares the new
//!   ones and forks the init (a new pid or time namespace only applies to children).
//! - [`stage2`]: the container's init: builds the rootfs, lets the parent run the
//!   createRuntime hooks, runs createContainer hooks, pivots, reports "created" and waits
//!   for `start` on its listening socket; then startContainer hooks and `execve`.
//!
//! Both only report to the parent through the [`Channel`] and exit: they never return.

mod leaf;
pub mod options;
pub mod process;
pub mod rootfs;
pub mod scheduling;

use std::convert::Infallible;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use nix::sched::CloneFlags;
use nix::unistd::{ForkResult, Gid, Uid};
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::capabilities::Masks;
use crate::error::{Error, Result};
use crate::namespaces::{self, Plan};
use crate::sync::{Channel, Msg};
use crate::syscall::Linux;

/// Everything the container's processes need, prepared by `create` before it forks.
pub struct InitConfig {
    pub id: String,
    pub spec: Spec,
    pub rootfs: PathBuf,
    pub plan: Plan,
    pub caps: Option<Masks>,
    pub seccomp: Option<berth_seccomp::Filter>,
    pub cgroup: Option<berth_cgroups::Cgroup>,
    /// Connected `--console-socket`, when process.terminal is set.
    pub console: Option<UnixStream>,
    /// The socket `start` connects to.
    pub start_listener: OwnedFd,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// Per mount of the config: its bind source, opened before fork.
    pub bind_sources: Vec<Option<rootfs::BindSource>>,
    /// The config had no process: the container can be created, but not started.
    pub no_process: bool,
    /// The new network namespace, made ahead by `create` (see `namespaces::spawn_netns`).
    pub netns: Option<OwnedFd>,
    /// The init, not stage 1, moves itself into the v1 cgroups, once the parent says
    /// they are ready (`Msg::CgroupReady`): the parent makes them while the init builds
    /// the rootfs. Only without a user namespace (inside one, the init may not write the
    /// host's cgroup files).
    pub late_v1: bool,
}

fn exit(code: i32) -> ! {
    // SAFETY: _exit ends the forked process without running the parent's atexit handlers
    // or flushing its stdio buffers a second time.
    unsafe { libc::_exit(code) }
}

fn report(chan: &Channel, e: &Error) -> ! {
    let _ = chan.send(&Msg::Error(e.to_string()));
    exit(1)
}

/// Stage 1 (see the module docs). Never returns.
pub fn stage1(chan: &Channel, cfg: &InitConfig) -> ! {
    match stage1_inner(chan, cfg) {
        Ok(()) => exit(0),
        Err(e) => report(chan, &e),
    }
}

fn stage1_inner(chan: &Channel, cfg: &InitConfig) -> Result<()> {
    // First, while still the host's root in the host's namespaces: moving ourselves is
    // the kernel's fast path, and the init forked below inherits the cgroup.
    if let Some(cg) = cfg.cgroup.as_ref().filter(|_| !cfg.late_v1) {
        cg.enter_v1_self()?;
    }
    if !cfg.late_v1 {
        // With a user namespace (the only case without `late_v1`): the parent writes its
        // id maps meanwhile. Without one there is nothing to wait for.
        enter_user_namespace(chan, &cfg.plan)?;
    }
    for (t, p) in &cfg.plan.join {
        if *t != LinuxNamespaceType::User {
            namespaces::join(*t, p)?;
        }
    }
    // The cgroup namespace is unshared by init itself, once the parent has moved it into
    // the container's cgroup (see `create`): its root is the cgroup it is in at that moment.
    let mut create = cfg.plan.create - CloneFlags::CLONE_NEWUSER - CloneFlags::CLONE_NEWCGROUP;
    if let Some(fd) = &cfg.netns {
        nix::sched::setns(fd, CloneFlags::CLONE_NEWNET).map_err(|e| Error::sys("setns network namespace", e))?;
        create -= CloneFlags::CLONE_NEWNET;
    }
    if !create.is_empty() {
        nix::sched::unshare(create).map_err(|e| Error::sys(format!("unshare {create:?}"), e))?;
    }
    if cfg.plan.creates(LinuxNamespaceType::Time) {
        write_time_offsets(&cfg.spec)?;
    }
    // Stage 1 and init share the channel: init must not speak before stage 1 has sent
    // the init's pid, or the parent would read init's first message where it expects
    // the pid. A pipe closed by stage 1 after sending holds init back until then.
    let (hold_r, hold_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| Error::sys("pipe", e))?;
    // SAFETY: the runtime is single-threaded (it never starts threads before forking), so
    // the child may run arbitrary code.
    match unsafe { nix::unistd::fork() }.map_err(|e| Error::sys("fork init", e))? {
        ForkResult::Child => {
            drop(hold_w);
            let mut b = [0u8; 1];
            let _ = nix::unistd::read(&hold_r, &mut b);
            drop(hold_r);
            stage2(chan, cfg)
        }
        ForkResult::Parent { child } => {
            let r = chan.send(&Msg::InitPid(child.as_raw()));
            drop(hold_w);
            r
        }
    }
}

/// Joins or creates the user namespace and waits until the parent wrote the id maps and
/// placed us (exec) in the cgroup2 hierarchy; then becomes root of the namespace.
pub fn enter_user_namespace(chan: &Channel, plan: &Plan) -> Result<()> {
    if let Some(p) = plan.joined_path(LinuxNamespaceType::User) {
        namespaces::join(LinuxNamespaceType::User, p)?;
    } else if plan.creates(LinuxNamespaceType::User) {
        nix::sched::unshare(CloneFlags::CLONE_NEWUSER).map_err(|e| Error::sys("unshare user namespace", e))?;
    }
    chan.send(&Msg::UsernsReady)?;
    chan.expect(Msg::Go)?;
    if plan.has(LinuxNamespaceType::User) {
        // Uid 0 may be unmapped (a config that maps only other ids): then stay as we are.
        let _ = nix::unistd::setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0));
        let _ = nix::unistd::setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0));
    }
    Ok(())
}

fn write_time_offsets(spec: &Spec) -> Result<()> {
    let Some(offsets) = spec.linux().as_ref().and_then(|l| l.time_offsets().clone()) else { return Ok(()) };
    let mut s = String::new();
    for (clock, off) in offsets {
        s.push_str(&format!("{clock} {} {}\n", off.secs().unwrap_or(0), off.nanosecs().unwrap_or(0)));
    }
    std::fs::write("/proc/self/timens_offsets", s).map_err(|e| Error::io("write", "/proc/self/timens_offsets", e))
}

/// Stage 2, the container's init. Never returns.
pub fn stage2(chan: &Channel, cfg: &InitConfig) -> ! {
    match init_main(chan, cfg) {
        Ok(never) => match never {},
        Err(e) => report(chan, &e),
    }
}

extern "C" fn exit_on_signal(sig: libc::c_int) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(128 + sig) }
}

fn init_main(chan: &Channel, cfg: &InitConfig) -> Result<Infallible> {
    let spec = &cfg.spec;
    let process = spec.process().as_ref().ok_or_else(|| Error::InvalidConfig("no process".into()))?;
    nix::unistd::setsid().map_err(|e| Error::sys("setsid", e))?;
    nix::sys::stat::umask(nix::sys::stat::Mode::empty());
    let linux = spec.linux().as_ref();
    let mounts = spec.mounts().clone().unwrap_or_default();
    let mount_ns = cfg.plan.has(LinuxNamespaceType::Mount);
    let sys = Linux;
    let mut rootfs = rootfs::Rootfs::new(&sys, cfg.rootfs.clone());
    rootfs.in_userns = cfg.plan.has(LinuxNamespaceType::User);
    rootfs.cgroup = cfg.cgroup.as_ref();
    // With `late_v1`, the parent is making the v1 cgroups meanwhile: wait for them (and
    // join them) only where they are needed, at a cgroup mount, or else before MountsDone.
    let mut v1_pending = cfg.cgroup.as_ref().filter(|_| cfg.late_v1);
    let join_v1 = |pending: &mut Option<&berth_cgroups::Cgroup>| -> Result<()> {
        if let Some(cg) = pending.take() {
            chan.expect(Msg::CgroupReady)?;
            cg.enter_v1_self()?;
        }
        Ok(())
    };
    if mount_ns {
        rootfs.prepare(linux.and_then(|l| l.rootfs_propagation().as_deref()))?;
        for (i, m) in mounts.iter().enumerate() {
            if matches!(m.typ().as_deref(), Some("cgroup" | "cgroup2")) {
                join_v1(&mut v1_pending)?;
            }
            rootfs.mount(m, cfg.bind_sources.get(i).and_then(Option::as_ref))?;
        }
        let dev_from_host = mounts.iter().any(|m| {
            m.destination() == Path::new("/dev") && options::parse(m.options().as_deref().unwrap_or_default()).is_bind()
        });
        if !dev_from_host {
            rootfs.create_devices(linux.and_then(|l| l.devices().as_deref()).unwrap_or_default())?;
        }
    }
    let terminal = process.terminal().unwrap_or(false);
    let pty = if terminal {
        let ptmx = if mount_ns { cfg.rootfs.join("dev/pts/ptmx") } else { PathBuf::from("/dev/ptmx") };
        let pty = crate::console::open_pty(&ptmx)?;
        if mount_ns {
            rootfs.bind_console(&cfg.rootfs.join(pty.slave_path.trim_start_matches('/')))?;
        }
        if let Some(size) = process.console_size() {
            crate::console::set_size(std::os::fd::AsFd::as_fd(&pty.master), size.height() as u32, size.width() as u32)?;
        }
        let sock = cfg.console.as_ref().ok_or_else(|| Error::InvalidConfig("process.terminal is set but no console socket was given".into()))?;
        crate::console::send_fd(sock.as_raw_fd(), pty.master.as_raw_fd(), &pty.slave_path)?;
        Some(pty.slave)
    } else {
        None
    };
    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        if !cfg.plan.has(LinuxNamespaceType::Uts) {
            return Err(Error::InvalidConfig("hostname is set but the container has no uts namespace".into()));
        }
        nix::unistd::sethostname(h).map_err(|e| Error::sys(format!("sethostname {h}"), e))?;
    }
    if let Some(d) = spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        // SAFETY: a pointer and length of a live byte string.
        if unsafe { libc::setdomainname(d.as_ptr().cast(), d.len()) } < 0 {
            return Err(Error::sys(format!("setdomainname {d}"), nix::errno::Errno::last()));
        }
    }
    for (k, v) in linux.and_then(|l| l.sysctl().as_ref()).into_iter().flatten() {
        let path = Path::new("/proc/sys").join(k.replace('.', "/"));
        std::fs::write(&path, v).map_err(|e| Error::io("write sysctl", path, e))?;
    }
    if let Some(adj) = process.oom_score_adj() {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string())
            .map_err(|e| Error::io("write oom_score_adj", "/proc/self/oom_score_adj", e))?;
    }
    if mount_ns {
        // A cwd missing from the image is created (runc and crun do), owned by root.
        rootfs.ensure_dir(process.cwd())?;
    }
    // At the latest before the parent runs the createRuntime hooks, which may look at
    // our cgroups.
    join_v1(&mut v1_pending)?;
    chan.send(&Msg::MountsDone)?;
    let (creating, state) = match chan.recv()? {
        Msg::States { creating, created } => (creating, created),
        Msg::Error(e) => return Err(Error::Init(e)),
        m => return Err(Error::Init(format!("unexpected {m:?}"))),
    };
    if cfg.plan.creates(LinuxNamespaceType::Cgroup) {
        nix::sched::unshare(CloneFlags::CLONE_NEWCGROUP).map_err(|e| Error::sys("unshare cgroup namespace", e))?;
    }
    let hooks = spec.hooks().as_ref();
    crate::hooks::run_all(hooks.and_then(|h| h.create_container().as_ref()), creating.as_bytes())?;
    if mount_ns {
        rootfs.pivot(cfg.no_pivot)?;
        rootfs::finalize(&sys, spec, spec.root().as_ref().is_some_and(|r| r.readonly().unwrap_or(false)))?;
    } else {
        nix::unistd::chroot(&cfg.rootfs).map_err(|e| Error::sys(format!("chroot {}", cfg.rootfs.display()), e))?;
        nix::unistd::chdir("/").map_err(|e| Error::sys("chdir /", e))?;
    }
    if let Some(limits) = process.rlimits() {
        crate::rlimits::apply(limits)?;
    }
    if !cfg.no_new_keyring {
        join_session_keyring(&cfg.id)?;
    }
    let env = process.env().clone().unwrap_or_default();
    let arg0 = process.args().as_ref().and_then(|a| a.first()).ok_or_else(|| Error::InvalidConfig("process.args is empty".into()))?;
    let program = if cfg.no_process { PathBuf::new() } else { process::lookup(arg0, &env)? };
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT, libc::SIGUSR1, libc::SIGUSR2] {
        // SAFETY: installs an async-signal-safe handler; reset by execve.
        unsafe { libc::signal(sig, exit_on_signal as *const () as libc::sighandler_t) };
    }
    chan.send(&Msg::Created)?;

    // Wait for `start`.
    let conn = loop {
        // SAFETY: accept4 on our listening socket; null address pointers are allowed.
        let fd = unsafe { libc::accept4(cfg.start_listener.as_raw_fd(), std::ptr::null_mut(), std::ptr::null_mut(), libc::SOCK_CLOEXEC) };
        if fd >= 0 {
            // SAFETY: accept4 returned a new fd that we now own.
            break UnixStream::from(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        if nix::errno::Errno::last() != nix::errno::Errno::EINTR {
            exit(1);
        }
    };
    let mut conn = conn;
    let mut byte = [0u8; 1];
    if conn.read(&mut byte).unwrap_or(0) == 0 {
        exit(1);
    }
    let err = (|| -> Result<Error> {
        if cfg.no_process {
            return Ok(Error::InvalidConfig("the config has no process: there is nothing to start".into()));
        }
        crate::hooks::run_all(hooks.and_then(|h| h.start_container().as_ref()), state.as_bytes())?;
        let umask = process.user().umask().unwrap_or(0o022);
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(umask));
        if let Some(slave) = &pty {
            crate::console::attach_stdio(slave.as_raw_fd())?;
        }
        let listener = linux.and_then(|l| l.seccomp().as_ref()).and_then(|s| s.listener_path().clone());
        let f = process::Finalize {
            process,
            caps: cfg.caps,
            seccomp: cfg.seccomp.as_ref(),
            seccomp_listener: listener.map(|p| (p, state.clone().into_bytes())),
            preserve_fds: cfg.preserve_fds,
            personality: linux.and_then(|l| l.personality().as_ref()),
        };
        Ok(process::finalize_and_exec(&f, &program))
    })();
    let e = match err {
        Ok(e) | Err(e) => e,
    };
    let _ = conn.write_all(e.to_string().as_bytes());
    exit(127)
}

fn join_session_keyring(id: &str) -> Result<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    let name = std::ffi::CString::new(format!("_ses.{id}")).map_err(|_| Error::InvalidId(id.into()))?;
    // SAFETY: keyctl(JOIN_SESSION_KEYRING, name) reads one C string.
    let rc = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
    if rc < 0 {
        let e = nix::errno::Errno::last();
        // No keyring support (or a seccomp'd caller): containers still work without one.
        if e != nix::errno::Errno::ENOSYS && e != nix::errno::Errno::EPERM && e != nix::errno::Errno::EACCES {
            return Err(Error::sys("join session keyring", e));
        }
    }
    Ok(())
}
