//! `create`: from a bundle to a container whose init waits for `start`.

use std::fs;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use nix::sys::signal::Signal;
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, Pid};
use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType, Spec};

use crate::capabilities::Masks;
use crate::error::{Error, Result};
use crate::init::{self, InitConfig};
use crate::namespaces::Plan;
use crate::state::{self, State, StateRoot};
use crate::sync::{Channel, Msg};

/// runc's `create` flags.
#[derive(Debug, Default, Clone)]
pub struct CreateOptions {
    pub id: String,
    pub bundle: PathBuf,
    pub console_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    pub systemd_cgroup: bool,
}

/// Loads and checks `config.json` of a bundle. Capabilities this runtime does not know
/// (newer than its table) are dropped with a warning, as runc does, rather than making
/// the whole config unreadable.
pub fn load_spec(bundle: &Path) -> Result<Spec> {
    let path = bundle.join("config.json");
    let data = fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
    let mut v: serde_json::Value = serde_json::from_slice(&data).map_err(|e| Error::Config { path: path.clone(), msg: e.to_string() })?;
    if let Some(caps) = v.pointer_mut("/process/capabilities").and_then(|c| c.as_object_mut()) {
        for (set, list) in caps.iter_mut() {
            if let Some(arr) = list.as_array_mut() {
                arr.retain(|c| {
                    let known = c.as_str().is_some_and(|n| crate::capabilities::number(n).is_ok());
                    if !known {
                        eprintln!("warning: ignoring unknown capability {c} in process.capabilities.{set}");
                    }
                    known
                });
            }
        }
    }
    serde_json::from_value(v).map_err(|e| Error::Config { path, msg: e.to_string() })
}

/// Undoes a half-made container when create fails: kills what was forked, removes the
/// cgroup and the state directory. Every step is tried even if one fails.
struct Cleanup {
    dir: PathBuf,
    pids: Vec<i32>,
    cgroup: Option<berth_cgroups::Cgroup>,
    armed: bool,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        for &p in &self.pids {
            let _ = nix::sys::signal::kill(Pid::from_raw(p), Signal::SIGKILL);
            let _ = waitpid(Pid::from_raw(p), None);
        }
        if let Some(cg) = &self.cgroup {
            if let Err(e) = cg.destroy() {
                eprintln!("warning: cleanup after failed create: {e}");
            }
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn write_id_map(pid: i32, file: &str, maps: &[LinuxIdMapping]) -> Result<()> {
    let mut s = String::new();
    for m in maps {
        s.push_str(&format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()));
    }
    let path = format!("/proc/{pid}/{file}");
    fs::write(&path, s).map_err(|e| Error::io("write id map", path, e))
}

fn listen(path: &Path) -> Result<OwnedFd> {
    let l = std::os::unix::net::UnixListener::bind(path).map_err(|e| Error::io("listen on", path, e))?;
    Ok(OwnedFd::from(l))
}

/// Creates the container. On success its init is alive and waits for `start`.
pub fn create(root: &StateRoot, o: &CreateOptions) -> Result<State> {
    crate::timing::mark("create: begin");
    state::validate_id(&o.id)?;
    // Paths the caller gave are relative to its working directory, which create changes
    // (into the bundle, for relative bind sources) before it uses them.
    let cwd = std::env::current_dir().map_err(|e| Error::io("get working directory", ".", e))?;
    let mut owned = o.clone();
    owned.pid_file = o.pid_file.as_ref().map(|p| cwd.join(p));
    owned.console_socket = o.console_socket.as_ref().map(|p| cwd.join(p));
    let o = &owned;
    let bundle = fs::canonicalize(&o.bundle).map_err(|e| Error::io("open bundle", &o.bundle, e))?;
    let spec = load_spec(&bundle)?;
    let root_path = spec.root().as_ref().map(|r| r.path().clone()).unwrap_or_else(|| PathBuf::from("rootfs"));
    let rootfs = fs::canonicalize(bundle.join(&root_path)).map_err(|e| Error::io("open rootfs", bundle.join(&root_path), e))?;
    // A config without a process may be created (the spec allows it); `start` then fails.
    let no_process = spec.process().is_none();
    let mut spec = spec;
    if no_process {
        let mut p = oci_spec::runtime::Process::default();
        p.set_args(Some(vec![String::new()]));
        p.set_rlimits(None);
        spec.set_process(Some(p));
    }
    let process = spec.process().as_ref().expect("set above");
    if !no_process && process.args().as_ref().is_none_or(|a| a.is_empty() || a[0].is_empty()) {
        return Err(Error::InvalidConfig("process.args must not be empty".into()));
    }
    let linux = spec.linux().as_ref();
    let plan = Plan::from_config(linux.and_then(|l| l.namespaces().as_deref()).unwrap_or_default())?;
    if process.terminal().unwrap_or(false) && o.console_socket.is_none() {
        return Err(Error::InvalidConfig("process.terminal is set: --console-socket is required".into()));
    }
    validate_sysctls(linux.and_then(|l| l.sysctl().as_ref()), &plan)?;
    // Made beside the seccomp, state and cgroup work below, joined before the fork.
    let netns = (plan.creates(LinuxNamespaceType::Network) && !plan.has(LinuxNamespaceType::User)).then(crate::namespaces::spawn_netns);
    let caps = Masks::from_config(process.capabilities().as_ref())?;
    // Compiled once per profile and kept in the state root (see berth_seccomp's cache).
    let seccomp_cache = root.path().join(".seccomp-cache");
    let seccomp = linux
        .and_then(|l| l.seccomp().as_ref())
        .map(|s| berth_seccomp::compile_cached(s, &seccomp_cache))
        .transpose()?;

    crate::timing::mark("create: config loaded, seccomp compiled");
    let dir = root.dir(&o.id);
    match fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(Error::Exists(o.id.clone())),
        Err(e) => return Err(Error::io("create state directory", &dir, e)),
    }
    let cgroup = berth_cgroups::Cgroup::resolve(
        linux.and_then(|l| l.cgroups_path().as_ref()).map(|p| p.to_string_lossy().into_owned()).as_deref(),
        &o.id,
        o.systemd_cgroup,
    );
    let mut guard = Cleanup { dir: dir.clone(), pids: vec![], cgroup: None, armed: true };
    let cgroup = match cgroup {
        Ok(cg) => cg,
        Err(e) => return Err(e.into()),
    };
    // Without a user namespace the v1 directories and the limits are made after the
    // fork, while stage 1 and the init make the namespaces and the rootfs; the init joins
    // them once they are ready (`InitConfig::late_v1`). With one, stage 1 must join
    // before it enters the user namespace, so everything is made first.
    let late_v1 = !plan.has(LinuxNamespaceType::User);
    guard.cgroup = Some(cgroup.clone());
    cgroup.create_v2()?;
    let resources = linux.and_then(|l| l.resources().as_ref());
    let setup = || -> Result<()> {
        cgroup.create_v1()?;
        if let Some(r) = resources {
            // pids.max waits until stage 1 is gone (below): stage 1 forks the init inside
            // the cgroup, which a limit of 1 would refuse.
            let mut early = with_default_devices(r, linux.and_then(|l| l.devices().as_deref()).unwrap_or_default());
            early.set_pids(None);
            cgroup.apply(&early)?;
        }
        Ok(())
    };
    if !late_v1 {
        setup()?;
    }

    crate::timing::mark("create: cgroup2 made (v1: now, or beside the init)");
    let dir_file = fs::File::open(&dir).map_err(|e| Error::io("open", &dir, e))?;
    let start_listener = listen(&super::socket_path(&dir, Some(&dir_file)))?;
    let console = match (&o.console_socket, process.terminal().unwrap_or(false)) {
        (Some(p), true) => Some(UnixStream::connect(p).map_err(|e| Error::io("connect to console socket", p, e))?),
        _ => None,
    };
    // Bind sources are opened here, as the caller: inside a user namespace the container's
    // root may not be able to reach them. Relative sources are relative to the bundle.
    std::env::set_current_dir(&bundle).map_err(|e| Error::io("chdir", &bundle, e))?;
    let in_userns = plan.creates(LinuxNamespaceType::User);
    let bind_sources = spec
        .mounts()
        .iter()
        .flatten()
        .map(|m| {
            use crate::init::rootfs::BindSource;
            if !BindSource::wanted(m) {
                return Ok(None);
            }
            // An id-mapped mount: the mount's own maps, else the container's.
            let opts = crate::init::options::parse(m.options().as_deref().unwrap_or_default());
            if opts.idmap || m.uid_mappings().is_some() {
                let uids = m.uid_mappings().clone().or_else(|| linux.and_then(|l| l.uid_mappings().clone())).unwrap_or_default();
                let gids = m.gid_mappings().clone().or_else(|| linux.and_then(|l| l.gid_mappings().clone())).unwrap_or_default();
                if uids.is_empty() || gids.is_empty() {
                    return Err(Error::InvalidConfig(format!("id-mapped mount {} has no uid/gid mappings", m.destination().display())));
                }
                let userns = crate::namespaces::userns_with_maps(&uids, &gids)?;
                return BindSource::open_idmapped(m, true, Some(&userns)).map(Some);
            }
            BindSource::open(m, in_userns).map(Some)
        })
        .collect::<Result<Vec<_>>>()?;
    let netns = match netns.map(|t| t.join()) {
        None => None,
        Some(Ok(r)) => Some(r?),
        Some(Err(_)) => return Err(Error::Init("the thread making the network namespace panicked".into())),
    };
    let cfg = InitConfig {
        id: o.id.clone(),
        spec: spec.clone(),
        rootfs: rootfs.clone(),
        plan: plan.clone(),
        caps,
        seccomp,
        cgroup: Some(cgroup.clone()),
        console,
        start_listener,
        no_pivot: o.no_pivot,
        no_new_keyring: o.no_new_keyring,
        preserve_fds: o.preserve_fds,
        bind_sources,
        no_process,
        netns,
        late_v1,
    };
    let (parent, child) = Channel::pair()?;
    // SAFETY: the runtime is single-threaded here (the network namespace's thread was
    // joined above), so the child may run arbitrary code.
    let (forked, in_cgroup2) = unsafe { crate::fork_into::fork_into(cgroup.unified_dir()) }?;
    let stage1 = match forked {
        ForkResult::Child => {
            drop(parent);
            init::stage1(&child, &cfg)
        }
        ForkResult::Parent { child: pid } => pid.as_raw(),
    };
    drop(child);
    drop(cfg);
    guard.pids.push(stage1);

    crate::timing::mark("create: forked stage 1");
    if late_v1 {
        // No user namespace: stage 1 needs nothing from us, so the v1 cgroups are made
        // while it makes the namespaces and forks the init, which waits for them.
        setup()?;
        if let Err(e) = parent.send(&Msg::CgroupReady) {
            // Stage 1 or the init is gone: its own report says why.
            return Err(match parent.recv() {
                Ok(Msg::Error(m)) => Error::Init(m),
                _ => e,
            });
        }
    } else {
        parent.expect(Msg::UsernsReady)?;
        if plan.creates(LinuxNamespaceType::User) {
            let l = linux.expect("a user namespace implies a linux section");
            // gid_map first is not required when we are root on the host; uid_map first, as runc.
            write_id_map(stage1, "uid_map", l.uid_mappings().as_deref().unwrap_or_default())?;
            write_id_map(stage1, "gid_map", l.gid_mappings().as_deref().unwrap_or_default())?;
        }
        parent.send(&Msg::Go)?;
    }
    let pid = match parent.recv()? {
        Msg::InitPid(p) => p,
        Msg::Error(e) => return Err(Error::Init(e)),
        m => return Err(Error::Init(format!("unexpected {m:?}"))),
    };
    guard.pids.insert(0, pid);
    // Stage 1 was born in the cgroup2 directory; the v1 ones are joined by stage 1 before
    // it forks the init or, without a user namespace, by the init itself once `setup`
    // made them, above (the fast paths, see `fork_into` and `Cgroup::enter_v1_self`).
    // Where clone3 was refused, the init is moved into cgroup2 here, a move that waits
    // for an RCU grace period, while the init builds the rootfs on another CPU. The
    // init only enters its cgroup namespace and runs the user's hooks after this.
    crate::timing::mark("create: got init pid");
    if !in_cgroup2 {
        cgroup.add_pid_v2(pid)?;
    }
    let _ = waitpid(Pid::from_raw(stage1), None);
    guard.pids.retain(|&p| p != stage1);
    if let Some(p) = resources.and_then(|r| r.pids().clone()) {
        let mut only = oci_spec::runtime::LinuxResources::default();
        only.set_pids(Some(p));
        cgroup.apply(&only)?;
    }

    let (pid_start_time, _) = state::pid_start_time(pid).ok_or_else(|| Error::Init("the container's init exited".into()))?;
    let st = State {
        id: o.id.clone(),
        pid,
        pid_start_time,
        bundle: bundle.clone(),
        rootfs,
        created: state::now_rfc3339(),
        owner: String::new(),
        annotations: spec.annotations().clone().unwrap_or_default(),
        cgroup: Some(cgroup.clone()),
        config: spec.clone(),
    };
    crate::timing::mark("create: init joined the cgroup");
    parent.expect(Msg::MountsDone)?;
    let hook_state = serde_json::to_vec(&st.to_oci_json(crate::state::Status::Creating)).expect("json");
    let created_state = serde_json::to_string(&st.to_oci_json(crate::state::Status::Created)).expect("json");
    let hooks = spec.hooks().as_ref();
    crate::hooks::run_all(hooks.and_then(|h| h.create_runtime().as_ref()), &hook_state)?;
    // The deprecated prestart hooks get "created": runtime-spec 1.0 ran them at start, and
    // the runtime-tools validation suite checks for that status.
    #[allow(deprecated)]
    crate::hooks::run_all(hooks.and_then(|h| h.prestart().as_ref()), created_state.as_bytes())?;
    parent.send(&Msg::States { creating: String::from_utf8_lossy(&hook_state).into_owned(), created: created_state })?;
    crate::timing::mark("create: init mounted, hooks ran");
    parent.expect(Msg::Created)?;

    st.save(root)?;
    if let Some(pf) = &o.pid_file {
        write_pid_file(pf, pid)?;
    }
    crate::timing::mark("create: created, state saved");
    guard.armed = false;
    drop(guard);
    Ok(st)
}

/// The device rules the cgroup gets: the config's, then (as runc does) access to the
/// devices every container has and to those the config creates, and mknod of any node
/// (the node still has to be allowed to be opened). Without these a "deny all" rule would
/// keep init from creating /dev/null.
fn with_default_devices(r: &oci_spec::runtime::LinuxResources, devices: &[oci_spec::runtime::LinuxDevice]) -> oci_spec::runtime::LinuxResources {
    use oci_spec::runtime::{LinuxDeviceCgroupBuilder, LinuxDeviceType};
    let rule = |typ, major: Option<i64>, minor: Option<i64>, access: &str| {
        let mut b = LinuxDeviceCgroupBuilder::default().allow(true).typ(typ).access(access);
        if let Some(m) = major {
            b = b.major(m);
        }
        if let Some(m) = minor {
            b = b.minor(m);
        }
        b.build().expect("device rule")
    };
    let mut rules = r.devices().clone().unwrap_or_default();
    if rules.is_empty() {
        return r.clone();
    }
    rules.push(rule(LinuxDeviceType::C, None, None, "m"));
    rules.push(rule(LinuxDeviceType::B, None, None, "m"));
    for (maj, min) in [(1, Some(3)), (1, Some(5)), (1, Some(7)), (1, Some(8)), (1, Some(9)), (5, Some(0)), (5, Some(1)), (5, Some(2)), (136, None), (10, Some(200))] {
        rules.push(rule(LinuxDeviceType::C, Some(maj), min, "rwm"));
    }
    for d in devices {
        rules.push(rule(d.typ(), Some(d.major()), Some(d.minor()), "rwm"));
    }
    let mut out = r.clone();
    out.set_devices(Some(rules));
    out
}

/// A sysctl may only be set when it is namespaced and the container has its own namespace
/// of that kind: otherwise the write would change the host.
fn validate_sysctls(sysctl: Option<&std::collections::HashMap<String, String>>, plan: &Plan) -> Result<()> {
    const IPC: [&str; 8] = [
        "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
    ];
    let own = |t: LinuxNamespaceType| {
        plan.creates(t)
            || plan.joined_path(t).is_some_and(|p| {
                crate::namespaces::ns_inode(p) != crate::namespaces::ns_inode(Path::new(&format!("/proc/1/ns/{}", crate::namespaces::proc_name(t))))
            })
    };
    for key in sysctl.into_iter().flatten().map(|(k, _)| k) {
        let ok = if IPC.contains(&key.as_str()) || key.starts_with("fs.mqueue.") {
            own(LinuxNamespaceType::Ipc)
        } else if key.starts_with("net.") {
            own(LinuxNamespaceType::Network)
        } else if key == "kernel.domainname" {
            own(LinuxNamespaceType::Uts)
        } else if key == "kernel.hostname" {
            return Err(Error::InvalidConfig("sysctl kernel.hostname: set the hostname with the \"hostname\" field".into()));
        } else {
            false
        };
        if !ok {
            return Err(Error::InvalidConfig(format!("sysctl {key} is not in a namespace of the container's own: it would change the host")));
        }
    }
    Ok(())
}

/// Writes a pid file atomically (readers never see it half-written).
pub fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, pid.to_string()).map_err(|e| Error::io("write pid file", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| Error::io("rename pid file", path, e))
}
