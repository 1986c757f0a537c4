//! A container's OCI runtime config: Docker's secure defaults (from the runtime crate)
//! with the create request's options mapped onto them.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use bollard_stubs::models::{HostConfig, MountType};
use serde_json::{json, Value};

use crate::container::record::Record;
use crate::container::user::User;
use crate::error::{Error, Result};

/// Where `--init` puts the init inside the container (Docker's path).
pub const INIT_IN_CONTAINER: &str = "/sbin/docker-init";

pub struct Inputs<'a> {
    pub record: &'a Record,
    pub rootfs: &'a Path,
    pub user: &'a User,
    /// Directory with the container's `hosts`, `hostname`, `resolv.conf`.
    pub etc: &'a Path,
    pub cgroups_path: String,
    pub init_path: &'a Path,
    /// A path to a network namespace to join (`container:` mode).
    pub join_netns: Option<String>,
}

/// Capability names as the runtime wants them (`CAP_` prefix, upper case).
fn cap_name(c: &str) -> String {
    let c = c.to_ascii_uppercase();
    if c.starts_with("CAP_") { c } else { format!("CAP_{c}") }
}

/// Every capability the daemon itself may hold: `--privileged` means all of them, and a
/// capability outside the daemon's bounding set cannot be granted (capset fails), as on
/// hosts that drop CAP_SYS_RESOURCE.
pub fn all_caps() -> Vec<String> {
    let bounding = caps::read(None, caps::CapSet::Bounding).unwrap_or_else(|_| caps::all());
    let mut v: Vec<String> = bounding.iter().map(|c| c.to_string()).collect();
    v.sort();
    v
}

/// Docker's default set, plus `--cap-add`, minus `--cap-drop` (`ALL` in either).
pub fn capabilities(h: &HostConfig) -> Vec<String> {
    if h.privileged == Some(true) {
        return all_caps();
    }
    let add: Vec<String> = h.cap_add.iter().flatten().map(|c| cap_name(c)).collect();
    let drop: Vec<String> = h.cap_drop.iter().flatten().map(|c| cap_name(c)).collect();
    let mut caps: Vec<String> = if drop.iter().any(|c| c == "CAP_ALL") {
        Vec::new()
    } else {
        berth_runtime::defaults::DEFAULT_CAPS.iter().map(|s| s.to_string()).collect()
    };
    caps.retain(|c| !drop.contains(c));
    if add.iter().any(|c| c == "CAP_ALL") {
        return all_caps();
    }
    for c in add {
        if !caps.contains(&c) {
            caps.push(c);
        }
    }
    caps
}

fn security_opts(h: &HostConfig) -> (Option<String>, bool) {
    let mut seccomp = None;
    let mut nnp = false;
    for o in h.security_opt.iter().flatten() {
        let (k, v) = o.split_once(['=', ':']).unwrap_or((o.as_str(), ""));
        match k {
            "seccomp" => seccomp = Some(v.to_owned()),
            "no-new-privileges" => nnp = v.is_empty() || v == "true",
            _ => {}
        }
    }
    (seccomp, nnp)
}

/// A seccomp profile in Docker's format (`archMap`, `names`, `includes`/`excludes` by
/// capability) turned into the OCI form for the capabilities the container has.
pub fn docker_profile_to_oci(profile: &Value, caps: &[String]) -> Result<Value> {
    let obj = profile
        .as_object()
        .ok_or_else(|| Error::Invalid("seccomp profile: not a JSON object".into()))?;
    let default_action = obj
        .get("defaultAction")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::Invalid("seccomp profile: defaultAction is missing".into()))?;
    let mut archs: Vec<Value> = obj.get("architectures").and_then(Value::as_array).cloned().unwrap_or_default();
    for m in obj.get("archMap").and_then(Value::as_array).into_iter().flatten() {
        archs.extend(m.get("architecture").cloned());
        archs.extend(m.get("subArchitectures").and_then(Value::as_array).cloned().unwrap_or_default());
    }
    let has_caps = |cond: Option<&Value>| -> Option<bool> {
        let list = cond?.get("caps")?.as_array()?;
        Some(list.iter().filter_map(Value::as_str).all(|c| caps.iter().any(|h| h == c)))
    };
    let mut syscalls = Vec::new();
    for s in obj.get("syscalls").and_then(Value::as_array).into_iter().flatten() {
        if has_caps(s.get("includes")) == Some(false) {
            continue;
        }
        if has_caps(s.get("excludes")) == Some(true) {
            continue;
        }
        let mut names: Vec<Value> = s.get("names").and_then(Value::as_array).cloned().unwrap_or_default();
        names.extend(s.get("name").cloned());
        let mut out = json!({"names": names, "action": s.get("action").cloned().unwrap_or(json!("SCMP_ACT_ALLOW"))});
        for k in ["args", "errnoRet"] {
            if let Some(v) = s.get(k).filter(|v| !v.is_null()) {
                out[k] = v.clone();
            }
        }
        syscalls.push(out);
    }
    let mut out = json!({"defaultAction": default_action, "syscalls": syscalls});
    if !archs.is_empty() {
        out["architectures"] = Value::Array(archs);
    }
    if let Some(e) = obj.get("defaultErrnoRet") {
        out["defaultErrnoRet"] = e.clone();
    }
    Ok(out)
}

fn bind(dst: &str, src: &Path, ro: bool) -> Value {
    let mut opts = vec!["rbind", "rprivate"];
    if ro {
        opts.push("ro");
    }
    json!({"destination": dst, "type": "bind", "source": src, "options": opts})
}

fn device(host: &str, ctr: &str, perms: &str) -> Result<(Value, Value)> {
    let meta = std::fs::metadata(host)
        .map_err(|e| Error::Invalid(format!("error gathering device information while adding custom device \"{host}\": {e}")))?;
    let ft = meta.file_type();
    let kind = if ft.is_char_device() {
        "c"
    } else if ft.is_block_device() {
        "b"
    } else {
        return Err(Error::Invalid(format!("{host} is not a device node")));
    };
    let rdev = meta.rdev();
    let (major, minor) = (libc::major(rdev), libc::minor(rdev));
    let dev = json!({"path": ctr, "type": kind, "major": major, "minor": minor,
                     "fileMode": meta.mode() & 0o777, "uid": 0, "gid": 0});
    let rule = json!({"allow": true, "type": kind, "major": major, "minor": minor, "access": perms});
    Ok((dev, rule))
}

/// Every device node of the host, for `--privileged` (as Docker gives them), except the
/// ones the runtime makes per container (pts, shm, mqueue) and the std* links.
fn host_devices(dir: &Path, out: &mut Vec<Value>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        let Ok(meta) = std::fs::symlink_metadata(&p) else { continue };
        let ft = meta.file_type();
        if ft.is_dir() {
            if !matches!(e.file_name().to_str(), Some("pts" | "shm" | "mqueue" | "fd")) {
                host_devices(&p, out);
            }
            continue;
        }
        let kind = if ft.is_char_device() {
            "c"
        } else if ft.is_block_device() {
            "b"
        } else {
            continue;
        };
        if p == Path::new("/dev/ptmx") || p == Path::new("/dev/console") {
            continue;
        }
        let rdev = meta.rdev();
        out.push(json!({"path": p, "type": kind, "major": libc::major(rdev), "minor": libc::minor(rdev),
                        "fileMode": meta.mode() & 0o777, "uid": meta.uid(), "gid": meta.gid()}));
    }
}

/// `-v /host:/ctr[:ro]`, `--mount type=bind|tmpfs`, and the volumes resolved at create
/// (named, anonymous, inherited with `--volumes-from`) as binds of their directories.
fn binds(r: &Record, mounts: &mut Vec<Value>) -> Result<()> {
    let h = &r.host_config;
    for b in h.binds.iter().flatten() {
        let spec = crate::volume::resolve::parse_bind(b)?;
        // Volumes are in `r.volume_mounts`.
        let Some(src) = spec.source.as_deref().filter(|_| spec.is_host()) else { continue };
        if !Path::new(src).exists() {
            return Err(Error::Invalid(format!(
                "invalid mount config: bind source path does not exist: {src}"
            )));
        }
        mounts.push(bind(&spec.destination, Path::new(src), !spec.rw));
    }
    for m in &r.volume_mounts {
        if !m.source.exists() {
            return Err(Error::Invalid(format!(
                "invalid mount config: source path does not exist: {}",
                m.source.display()
            )));
        }
        mounts.push(bind(&m.destination, &m.source, !m.rw));
    }
    for m in h.mounts.iter().flatten() {
        let target = m.target.clone().unwrap_or_default();
        match m.typ {
            Some(MountType::BIND) => {
                let src = m.source.clone().unwrap_or_default();
                if !Path::new(&src).exists() {
                    return Err(Error::Invalid(format!(
                        "invalid mount config for type \"bind\": bind source path does not exist: {src}"
                    )));
                }
                mounts.push(bind(&target, Path::new(&src), m.read_only == Some(true)));
            }
            Some(MountType::TMPFS) => {
                let mut opts = vec!["nosuid".to_owned(), "nodev".to_owned()];
                if let Some(t) = &m.tmpfs_options {
                    if let Some(s) = t.size_bytes.filter(|s| *s > 0) {
                        opts.push(format!("size={s}"));
                    }
                    if let Some(mode) = t.mode.filter(|m| *m > 0) {
                        opts.push(format!("mode={mode:o}"));
                    }
                }
                if m.read_only == Some(true) {
                    opts.push("ro".into());
                }
                mounts.push(json!({"destination": target, "type": "tmpfs", "source": "tmpfs", "options": opts}));
            }
            Some(MountType::VOLUME) => {}
            _ => {
                return Err(Error::NotImplemented(format!(
                    "mount of type {:?} at {target}: only bind, volume and tmpfs mounts are supported",
                    m.typ
                )))
            }
        }
    }
    Ok(())
}

pub fn build(i: &Inputs<'_>) -> Result<Value> {
    let r = i.record;
    let h = &r.host_config;
    let c = &r.config;
    let privileged = h.privileged == Some(true);
    let caps = capabilities(h);
    let cap_refs: Vec<&str> = caps.iter().map(String::as_str).collect();

    let mut args: Vec<String> = Vec::new();
    if h.init == Some(true) {
        args.extend([INIT_IN_CONTAINER.to_owned(), "--".to_owned()]);
    }
    args.push(r.path.clone());
    args.extend(r.args.iter().cloned());
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut spec = serde_json::to_value(berth_runtime::defaults::docker_default(&arg_refs, &[]))
        .map_err(|e| Error::internal("encode default spec", e))?;

    // Process.
    let tty = c.tty == Some(true);
    let mut env: Vec<String> = c.env.clone().unwrap_or_default();
    let has = |env: &[String], k: &str| env.iter().any(|e| e.split('=').next() == Some(k));
    if !has(&env, "PATH") {
        env.insert(0, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    }
    let hostname = c.hostname.clone().unwrap_or_default();
    if !has(&env, "HOSTNAME") {
        env.insert(1.min(env.len()), format!("HOSTNAME={hostname}"));
    }
    if tty && !has(&env, "TERM") {
        env.push("TERM=xterm".into());
    }
    if !has(&env, "HOME") {
        env.push(format!("HOME={}", if i.user.home.is_empty() { "/" } else { &i.user.home }));
    }
    let p = &mut spec["process"];
    p["terminal"] = json!(tty);
    if tty {
        if let Some(size) = h.console_size.as_ref().filter(|s| s.len() == 2 && s[0] > 0 && s[1] > 0) {
            p["consoleSize"] = json!({"height": size[0], "width": size[1]});
        }
    }
    p["env"] = json!(env);
    let cwd = c.working_dir.clone().filter(|w| !w.is_empty()).unwrap_or_else(|| "/".into());
    p["cwd"] = json!(cwd);
    p["user"] = json!({"uid": i.user.uid, "gid": i.user.gid, "additionalGids": i.user.additional_gids});
    p["capabilities"] = json!({"bounding": cap_refs, "effective": cap_refs, "permitted": cap_refs});
    let (seccomp, nnp) = security_opts(h);
    p["noNewPrivileges"] = json!(nnp);
    p["oomScoreAdj"] = json!(h.oom_score_adj.unwrap_or(0));
    let rlimits: Vec<Value> = h
        .ulimits
        .iter()
        .flatten()
        .map(|u| {
            let name = u.name.clone().unwrap_or_default().to_ascii_uppercase();
            json!({"type": format!("RLIMIT_{name}"), "soft": u.soft.unwrap_or(0), "hard": u.hard.unwrap_or(0)})
        })
        .collect();
    if !rlimits.is_empty() {
        p["rlimits"] = json!(rlimits);
    }

    spec["root"] = json!({"path": i.rootfs, "readonly": h.readonly_rootfs == Some(true)});
    let net_mode = h.network_mode.clone().unwrap_or_default();
    let host_net = net_mode == "host";
    if !host_net {
        spec["hostname"] = json!(hostname);
        if let Some(d) = c.domainname.as_deref().filter(|d| !d.is_empty()) {
            spec["domainname"] = json!(d);
        }
    }

    // Mounts.
    let mut mounts: Vec<Value> = spec["mounts"].as_array().cloned().unwrap_or_default();
    if let Some(shm) = h.shm_size.filter(|s| *s > 0) {
        for m in &mut mounts {
            if m["destination"] == "/dev/shm" {
                m["options"] = json!(["nosuid", "noexec", "nodev", "mode=1777", format!("size={shm}")]);
            }
        }
    }
    if privileged {
        for m in &mut mounts {
            if m["destination"] == "/sys" || m["destination"] == "/sys/fs/cgroup" {
                let opts: Vec<Value> = m["options"].as_array().cloned().unwrap_or_default().into_iter().filter(|o| o != "ro").collect();
                m["options"] = json!(opts);
            }
        }
    }
    for f in ["hosts", "hostname", "resolv.conf"] {
        mounts.push(bind(&format!("/etc/{f}"), &i.etc.join(f), false));
    }
    if h.init == Some(true) {
        mounts.push(bind(INIT_IN_CONTAINER, i.init_path, true));
    }
    for (path, opts) in h.tmpfs.iter().flatten() {
        let mut o: Vec<String> = vec!["nosuid".into(), "nodev".into(), "noexec".into()];
        o.extend(opts.split(',').filter(|s| !s.is_empty()).map(str::to_owned));
        mounts.push(json!({"destination": path, "type": "tmpfs", "source": "tmpfs", "options": o}));
    }
    binds(r, &mut mounts)?;
    // Parents before children (stable, as Docker sorts them): a volume at `/etc` must be
    // mounted before the `/etc/hosts` bind that goes on top of it, not over it.
    mounts.sort_by_key(|m| m["destination"].as_str().map_or(0, |d| d.split('/').filter(|c| !c.is_empty()).count()));
    spec["mounts"] = json!(mounts);

    // Linux.
    let linux = &mut spec["linux"];
    let mut namespaces = vec![json!({"type": "mount"}), json!({"type": "cgroup"})];
    if h.pid_mode.as_deref() != Some("host") {
        namespaces.push(json!({"type": "pid"}));
    }
    if h.ipc_mode.as_deref() != Some("host") {
        namespaces.push(json!({"type": "ipc"}));
    }
    if !host_net {
        namespaces.push(json!({"type": "uts"}));
        match &i.join_netns {
            Some(path) => namespaces.push(json!({"type": "network", "path": path})),
            None => namespaces.push(json!({"type": "network"})),
        }
    }
    linux["namespaces"] = json!(namespaces);
    linux["cgroupsPath"] = json!(i.cgroups_path);
    if let Some(s) = h.sysctls.as_ref().filter(|s| !s.is_empty()) {
        linux["sysctl"] = json!(s);
    }
    if privileged {
        linux.as_object_mut().expect("linux").remove("seccomp");
        linux["maskedPaths"] = json!([]);
        linux["readonlyPaths"] = json!([]);
    } else {
        match seccomp.as_deref() {
            Some("unconfined") => {
                linux.as_object_mut().expect("linux").remove("seccomp");
            }
            Some(profile) if !profile.is_empty() && profile != "builtin" => {
                let v: Value = serde_json::from_str(profile)
                    .map_err(|e| Error::Invalid(format!("decoding seccomp profile failed: {e}")))?;
                linux["seccomp"] = docker_profile_to_oci(&v, &caps)?;
            }
            _ => {
                let profile = berth_seccomp::docker_default_profile_for(&caps);
                linux["seccomp"] = serde_json::to_value(profile).map_err(|e| Error::internal("encode seccomp profile", e))?;
            }
        }
    }

    // Resources.
    let mut res = linux["resources"].take();
    let mut device_rules: Vec<Value> = res["devices"].as_array().cloned().unwrap_or_default();
    let mut devices: Vec<Value> = Vec::new();
    if privileged {
        device_rules = vec![json!({"allow": true, "access": "rwm"})];
    }
    for d in h.devices.iter().flatten() {
        let host = d.path_on_host.clone().unwrap_or_default();
        let ctr = d.path_in_container.clone().filter(|p| !p.is_empty()).unwrap_or_else(|| host.clone());
        let perms = d.cgroup_permissions.clone().filter(|p| !p.is_empty()).unwrap_or_else(|| "rwm".into());
        let (dev, rule) = device(&host, &ctr, &perms)?;
        devices.push(dev);
        device_rules.push(rule);
    }
    if privileged {
        host_devices(Path::new("/dev"), &mut devices);
    }
    if !devices.is_empty() {
        linux["devices"] = json!(devices);
    }
    res["devices"] = json!(device_rules);
    resources(h, &mut res);
    linux["resources"] = res;
    Ok(spec)
}

/// `-m`, `--cpus`, `--pids-limit` and friends into OCI `linux.resources` (also for
/// `docker update`).
pub fn resources(h: &HostConfig, res: &mut Value) {
    let mut memory = serde_json::Map::new();
    if let Some(m) = h.memory.filter(|m| *m > 0) {
        memory.insert("limit".into(), json!(m));
        match h.memory_swap {
            Some(-1) => {
                memory.insert("swap".into(), json!(-1));
            }
            Some(s) if s > 0 => {
                memory.insert("swap".into(), json!(s));
            }
            // Docker's default: as much swap as memory.
            _ => {
                memory.insert("swap".into(), json!(m * 2));
            }
        }
    }
    if let Some(m) = h.memory_reservation.filter(|m| *m > 0) {
        memory.insert("reservation".into(), json!(m));
    }
    if !memory.is_empty() {
        res["memory"] = Value::Object(memory);
    }
    let mut cpu = serde_json::Map::new();
    if let Some(s) = h.cpu_shares.filter(|s| *s > 0) {
        cpu.insert("shares".into(), json!(s));
    }
    if let Some(n) = h.nano_cpus.filter(|n| *n > 0) {
        let period: i64 = 100_000;
        cpu.insert("period".into(), json!(period));
        cpu.insert("quota".into(), json!(n * period / 1_000_000_000));
    } else {
        if let Some(p) = h.cpu_period.filter(|p| *p > 0) {
            cpu.insert("period".into(), json!(p));
        }
        if let Some(q) = h.cpu_quota.filter(|q| *q > 0) {
            cpu.insert("quota".into(), json!(q));
        }
    }
    if let Some(s) = h.cpuset_cpus.as_ref().filter(|s| !s.is_empty()) {
        cpu.insert("cpus".into(), json!(s));
    }
    if let Some(s) = h.cpuset_mems.as_ref().filter(|s| !s.is_empty()) {
        cpu.insert("mems".into(), json!(s));
    }
    if !cpu.is_empty() {
        res["cpu"] = Value::Object(cpu);
    }
    if let Some(p) = h.pids_limit.filter(|p| *p > 0) {
        res["pids"] = json!({"limit": p});
    }
    if let Some(w) = h.blkio_weight.filter(|w| *w > 0) {
        res["blockIO"] = json!({"weight": w});
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_add_drop() {
        let h = HostConfig {
            cap_add: Some(vec!["NET_ADMIN".into()]),
            cap_drop: Some(vec!["chown".into()]),
            ..Default::default()
        };
        let c = capabilities(&h);
        assert!(c.contains(&"CAP_NET_ADMIN".to_owned()));
        assert!(!c.contains(&"CAP_CHOWN".to_owned()));
        let h = HostConfig { cap_drop: Some(vec!["ALL".into()]), cap_add: Some(vec!["KILL".into()]), ..Default::default() };
        assert_eq!(capabilities(&h), vec!["CAP_KILL".to_owned()]);
    }

    #[test]
    fn docker_profile() {
        let p = json!({"defaultAction": "SCMP_ACT_ERRNO", "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                         {"names": ["reboot"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_BOOT"]}}]});
        let o = docker_profile_to_oci(&p, &["CAP_KILL".into()]).unwrap();
        assert_eq!(o["architectures"], json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]));
        assert_eq!(o["syscalls"].as_array().unwrap().len(), 1);
    }
}
