//! `exec`: runs another process inside a running container: it joins the init's
//! namespaces (user first, mount last) and cgroup, then takes the same privileges path
//! as the init (user, capabilities, seccomp of the container's config).

use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, Pid};
use oci_spec::runtime::{LinuxNamespaceType, Process};

use crate::capabilities::Masks;
use crate::container::Container;
use crate::error::{Error, Result};
use crate::init::{self, process as fin};
use crate::namespaces::{self, Plan, JOIN_ORDER};
use crate::state::{StateRoot, Status};
use crate::sync::{Channel, Msg};

#[derive(Debug, Clone)]
pub struct ExecOptions {
    pub process: Process,
    pub console_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub detach: bool,
    pub preserve_fds: u32,
}

/// The namespaces of `pid` that differ from ours, to join in order.
fn namespaces_of(pid: i32) -> Plan {
    let mut plan = Plan::default();
    for t in JOIN_ORDER {
        let name = namespaces::proc_name(t);
        let theirs = PathBuf::from(format!("/proc/{pid}/ns/{name}"));
        let ours = PathBuf::from(format!("/proc/self/ns/{name}"));
        match (namespaces::ns_inode(&theirs), namespaces::ns_inode(&ours)) {
            (Some(a), Some(b)) if a != b => plan.join.push((t, theirs)),
            _ => {}
        }
    }
    plan
}

/// Runs the process; returns its exit code, or 0 once it started when detached.
pub fn exec(root: &StateRoot, id: &str, o: &ExecOptions) -> Result<i32> {
    let c = Container::load(root, id)?;
    c.require(&[Status::Running, Status::Created], "cannot exec in a container that is not running")?;
    let p = &o.process;
    let terminal = p.terminal().unwrap_or(false);
    if terminal && o.console_socket.is_none() {
        return Err(Error::InvalidConfig("--tty needs --console-socket".into()));
    }
    if p.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(Error::InvalidConfig("no command given".into()));
    }
    let caps = Masks::from_config(p.capabilities().as_ref())?;
    let linux = c.state.config.linux().as_ref();
    // Compiled once per profile and kept in the state root (see berth_seccomp's cache).
    let seccomp_cache = root.path().join(".seccomp-cache");
    let seccomp = linux
        .and_then(|l| l.seccomp().as_ref())
        .map(|s| berth_seccomp::compile_cached(s, &seccomp_cache))
        .transpose()?;
    let console = match &o.console_socket {
        Some(path) if terminal => Some(UnixStream::connect(path).map_err(|e| Error::io("connect to console socket", path, e))?),
        _ => None,
    };
    let plan = namespaces_of(c.state.pid);
    if !o.detach {
        super::wait::become_subreaper();
    }
    let (parent, child) = Channel::pair()?;
    // SAFETY: single-threaded, see create.
    let (forked, in_cgroup2) = unsafe { crate::fork_into::fork_into(c.state.cgroup.as_ref().and_then(|cg| cg.unified_dir())) }?;
    let stage1 = match forked {
        ForkResult::Child => {
            drop(parent);
            let r = (|| -> Result<()> {
                // As in create's stage 1: the fast self-move into the v1 hierarchies first.
                if let Some(cg) = &c.state.cgroup {
                    cg.enter_v1_self()?;
                }
                init::enter_user_namespace(&child, &plan)?;
                for (t, path) in &plan.join {
                    if *t != LinuxNamespaceType::User {
                        namespaces::join(*t, path)?;
                    }
                }
                // As in create: the exec'd child waits until its pid was sent.
                let (hold_r, hold_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| Error::sys("pipe", e))?;
                // SAFETY: single-threaded.
                match unsafe { nix::unistd::fork() }.map_err(|e| Error::sys("fork", e))? {
                    ForkResult::Child => {
                        drop(hold_w);
                        let mut b = [0u8; 1];
                        let _ = nix::unistd::read(&hold_r, &mut b);
                        drop(hold_r);
                        let e = exec_child(&child, p, caps, seccomp.as_ref(), console.as_ref(), o.preserve_fds);
                        let _ = child.send(&Msg::Error(e.to_string()));
                        // SAFETY: leave the forked child without running parent cleanup.
                        unsafe { libc::_exit(127) }
                    }
                    ForkResult::Parent { child: pid } => {
                        let r = child.send(&Msg::InitPid(pid.as_raw()));
                        drop(hold_w);
                        r
                    }
                }
            })();
            if let Err(e) = r {
                let _ = child.send(&Msg::Error(e.to_string()));
            }
            // SAFETY: as above.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child: pid } => pid.as_raw(),
    };
    drop(child);
    let result = (|| -> Result<i32> {
        parent.expect(Msg::UsernsReady)?;
        if let Some(cg) = c.state.cgroup.as_ref().filter(|_| !in_cgroup2) {
            cg.add_pid_v2(stage1)?;
        }
        parent.send(&Msg::Go)?;
        let pid = match parent.recv()? {
            Msg::InitPid(p) => p,
            Msg::Error(e) => return Err(Error::Init(e)),
            m => return Err(Error::Init(format!("unexpected {m:?}"))),
        };
        let _ = waitpid(Pid::from_raw(stage1), None);
        parent.expect(Msg::Ready)?;
        // The channel closes at a successful execve; a message means it failed.
        match parent.recv() {
            Ok(Msg::Error(e)) => return Err(Error::Init(e)),
            Ok(m) => return Err(Error::Init(format!("unexpected {m:?}"))),
            Err(_) => {}
        }
        if let Some(pf) = &o.pid_file {
            super::create::write_pid_file(pf, pid)?;
        }
        Ok(pid)
    })();
    let pid = match result {
        Ok(pid) => pid,
        Err(e) => {
            let _ = waitpid(Pid::from_raw(stage1), None);
            return Err(e);
        }
    };
    if o.detach {
        return Ok(0);
    }
    Ok(super::wait::wait_forwarding(pid))
}

fn exec_child(
    chan: &Channel,
    p: &Process,
    caps: Option<Masks>,
    seccomp: Option<&berth_seccomp::Filter>,
    console: Option<&UnixStream>,
    preserve_fds: u32,
) -> Error {
    let r = (|| -> Result<Error> {
        nix::unistd::setsid().map_err(|e| Error::sys("setsid", e))?;
        if p.terminal().unwrap_or(false) {
            use std::os::fd::AsRawFd;
            let pty = crate::console::open_pty(std::path::Path::new("/dev/pts/ptmx"))?;
            if let Some(size) = p.console_size() {
                crate::console::set_size(std::os::fd::AsFd::as_fd(&pty.master), size.height() as u32, size.width() as u32)?;
            }
            if let Some(sock) = console {
                crate::console::send_fd(sock.as_raw_fd(), pty.master.as_raw_fd(), &pty.slave_path)?;
            }
            crate::console::attach_stdio(pty.slave.as_raw_fd())?;
        }
        if let Some(limits) = p.rlimits() {
            crate::rlimits::apply(limits)?;
        }
        if let Some(adj) = p.oom_score_adj() {
            let _ = std::fs::write("/proc/self/oom_score_adj", adj.to_string());
        }
        let env = p.env().clone().unwrap_or_default();
        let arg0 = p.args().as_ref().and_then(|a| a.first()).cloned().unwrap_or_default();
        let program = fin::lookup(&arg0, &env)?;
        chan.send(&Msg::Ready)?;
        let f = fin::Finalize { process: p, caps, seccomp, seccomp_listener: None, preserve_fds, personality: None };
        Ok(fin::finalize_and_exec(&f, &program))
    })();
    match r {
        Ok(e) | Err(e) => e,
    }
}
