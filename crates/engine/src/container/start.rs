//! `POST /containers/{id}/start`: mount the root filesystem, write the bundle, hand the
//! container to a new shim, let waiting attach clients connect, then let it run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::clock;
use crate::container::record::Status;
use crate::container::{exit, health, spec, user, Container};
use crate::daemon::Daemon;
use crate::error::{Error, Result};
use crate::shim;

pub async fn start(d: &Arc<Daemon>, c: &Arc<Container>) -> Result<()> {
    let _op = c.op.lock().await;
    start_locked(d, c).await
}

/// Start with the container's operation lock held.
pub async fn start_locked(d: &Arc<Daemon>, c: &Arc<Container>) -> Result<()> {
    match c.status() {
        Status::Running | Status::Paused => return Err(Error::NotModified),
        Status::Removing | Status::Dead => {
            return Err(Error::Conflict(format!(
                "container {} is marked for removal and cannot be started",
                c.id
            )))
        }
        _ => {}
    }
    match launch(d, c).await {
        Ok(()) => Ok(()),
        Err(e) => {
            exit::tear_down(d, c).await;
            let msg = e.to_string();
            let code = exit_code_for(&msg);
            let _ = c.update(|r| {
                r.state.error = msg.clone();
                r.state.exit_code = code;
                if r.state.status != Status::Created {
                    r.state.status = Status::Exited;
                }
                r.state.pid = 0;
            });
            c.notify(|l| {
                l.shim_up = false;
                l.last_exit = code;
            });
            // `run --rm` waits for the removal even when the start failed, as Docker
            // removes such a container.
            if c.record().host_config.auto_remove == Some(true) {
                let (d, c) = (d.clone(), c.clone());
                tokio::spawn(async move {
                    if let Err(e) = crate::container::remove::remove(&d, &c, true, true).await {
                        tracing::warn!(container = %c.id, "auto-remove after failed start: {e}");
                    }
                });
            }
            Err(e)
        }
    }
}

/// Docker's codes for a process that could not be run: 127 not found, 126 not
/// executable, 128 anything else.
fn exit_code_for(msg: &str) -> i64 {
    if msg.contains("executable file not found") || msg.contains("no such file or directory") {
        127
    } else if msg.contains("permission denied") {
        126
    } else {
        128
    }
}

pub fn cgroups_path(d: &Daemon, id: &str) -> String {
    match &d.cgroup_parent {
        Some(p) => format!("{}/{id}", p.trim_end_matches('/')),
        // Relative: beneath the shim's own cgroup in each hierarchy, which is the daemon's.
        None => id.to_owned(),
    }
}

pub fn rootfs(c: &Container) -> PathBuf {
    c.dir.join("merged")
}

/// Mounts the container's root (an overlay of its image's layers and its own upper
/// directory) unless it is already mounted.
pub async fn mount(d: &Arc<Daemon>, c: &Container) -> Result<PathBuf> {
    let target = rootfs(c);
    if is_mount_point(&target) {
        return Ok(target);
    }
    let layers = c.record().layers;
    let store = d.images.clone();
    let dir = c.dir.clone();
    tokio::task::spawn_blocking(move || {
        berth_image::mount_rootfs(store.layers(), &layers, &dir).map(|m| m.keep_mounted())
    })
    .await
    .map_err(|e| Error::internal("mount task", e))?
    .map_err(|e| Error::internal(format!("mount root filesystem of {}", c.id), e))
}

pub fn is_mount_point(p: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else { return false };
    let p = p.to_string_lossy();
    info.lines().any(|l| l.split(' ').nth(4) == Some(&p))
}

/// /etc/hosts, /etc/hostname, /etc/resolv.conf for the container, in its directory.
/// On a user-defined network the resolver is the embedded DNS on the network's gateway
/// (which forwards what it does not know to the daemon's resolvers); elsewhere the
/// host's resolvers are copied, as Docker does.
fn write_etc(c: &Container, r: &crate::container::record::Record, links: &[String]) -> Result<()> {
    let hostname = r.config.hostname.as_deref().unwrap_or("");
    let write = |name: &str, body: String| {
        let p = c.dir.join(name);
        std::fs::write(&p, body).map_err(|e| Error::internal(format!("write {}", p.display()), e))
    };
    write("hostname", format!("{hostname}\n"))?;
    let mut hosts = String::from(LOCALHOST_HOSTS);
    for extra in r.host_config.extra_hosts.iter().flatten() {
        if let Some((name, ip)) = extra.split_once(':') {
            hosts.push_str(&format!("{ip}\t{name}\n"));
        }
    }
    for l in links {
        hosts.push_str(l);
    }
    for ep in &r.net.endpoints {
        hosts.push_str(&format!("{}\t{hostname}\n", ep.ip));
    }
    write("hosts", hosts)?;
    let mut dns = r.host_config.dns.clone().unwrap_or_default();
    if let Some(ep) = r.net.endpoints.iter().find(|e| e.network_name != berth_network::DEFAULT_NETWORK) {
        dns.insert(0, ep.gateway.to_string());
    }
    write("resolv.conf", resolv_conf(dns, r.host_config.dns_search.as_deref().unwrap_or_default()))
}

/// The /etc/hosts every container starts from.
pub const LOCALHOST_HOSTS: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

/// A container's /etc/resolv.conf: the host's, with `dns` (if any) instead of its
/// nameservers and `search` (if any) instead of its search list. The host's loopback
/// resolvers are always dropped: they mean nothing in another network namespace.
pub fn resolv_conf(dns: Vec<String>, search: &[String]) -> String {
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let mut out = String::new();
    for l in host.lines() {
        let t = l.trim();
        if t.starts_with("nameserver") && (!dns.is_empty() || t.contains(" 127.") || t.ends_with(" ::1")) {
            continue;
        }
        if t.starts_with("search") && !search.is_empty() {
            continue;
        }
        out.push_str(l);
        out.push('\n');
    }
    for n in dns {
        out.push_str(&format!("nameserver {n}\n"));
    }
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    out
}

/// Mounts the container's volumes that have driver options and copies the image's
/// content into empty ones (unless `nocopy`), before the runtime mounts them.
async fn prepare_volumes(d: &Arc<Daemon>, c: &Container, r: &crate::container::record::Record, root: &Path) -> Result<()> {
    if r.volume_mounts.is_empty() {
        return Ok(());
    }
    let d2 = d.clone();
    let mounts = r.volume_mounts.clone();
    let root = root.to_path_buf();
    let id = c.id.clone();
    tokio::task::spawn_blocking(move || {
        for m in &mounts {
            let Some(name) = &m.volume else { continue };
            let v = d2.volumes.get(name).map_err(|_| {
                Error::NotFound(format!("error while mounting volume '{}': volume {name} is gone", m.destination))
            })?;
            crate::volume::mount::mount(&d2.volumes, &v)?;
            let attrs = HashMap::from([
                ("container".to_owned(), id.clone()),
                ("destination".to_owned(), m.destination.clone()),
                ("read/write".to_owned(), m.rw.to_string()),
            ]);
            d2.events.volume("mount", name, "local", attrs);
            if !m.nocopy {
                crate::volume::copy_up::copy_up(&root, &m.destination, &m.source)?;
            }
        }
        Ok::<_, Error>(())
    })
    .await
    .map_err(|e| Error::internal("prepare volumes", e))?
}

async fn launch(d: &Arc<Daemon>, c: &Arc<Container>) -> Result<()> {
    let t0 = std::time::Instant::now();
    let root = mount(d, c).await?;
    let t_mount = t0.elapsed();
    let r = c.record();
    prepare_volumes(d, c, &r, &root).await?;
    let own_netns = crate::network::setup::attach(d, c).await?;
    let t_net = t0.elapsed();
    let r = c.record();
    let links = crate::network::links::hosts_entries(d, &r)?;
    write_etc(c, &r, &links)?;
    let user = user::resolve(
        &root,
        r.config.user.as_deref().unwrap_or(""),
        r.host_config.group_add.as_deref().unwrap_or(&[]),
    )?;
    let net = r.host_config.network_mode.clone().unwrap_or_default();
    let join_netns = match net.strip_prefix("container:") {
        Some(other) => {
            let o = d.lookup(other)?;
            let pid = o.record().state.pid;
            if !o.status().is_running() || pid <= 0 {
                return Err(Error::Conflict(format!(
                    "cannot join network of a non running container: {other}"
                )));
            }
            // Its pinned namespace if it has one (it outlives a restart of its process).
            Some(o.record().net.netns.map(|p| p.display().to_string()).unwrap_or_else(|| format!("/proc/{pid}/ns/net")))
        }
        None => own_netns.map(|p| p.display().to_string()),
    };
    let inputs = spec::Inputs {
        record: &r,
        rootfs: &root,
        user: &user,
        etc: &c.dir,
        cgroups_path: cgroups_path(d, &c.id),
        init_path: &d.config.init_path,
        join_netns,
    };
    let config = spec::build(&inputs)?;
    let bytes = serde_json::to_vec(&config).map_err(|e| Error::internal("encode config.json", e))?;
    let config_path = c.dir.join("config.json");
    std::fs::write(&config_path, bytes)
        .map_err(|e| Error::internal(format!("write {}", config_path.display()), e))?;

    let _ = std::fs::remove_dir_all(&c.state_dir);
    std::fs::create_dir_all(&c.state_dir)
        .map_err(|e| Error::internal(format!("create {}", c.state_dir.display()), e))?;
    let log = log_target(d, c)?;
    let tty = r.config.tty == Some(true);
    let open_stdin = r.config.open_stdin == Some(true);
    let runtime_root = d.runtime_root();
    shim::spawn(&shim::Spawn {
        shim: &d.config.shim,
        id: &c.id,
        bundle: &c.dir,
        state: &c.state_dir,
        runtime: &d.config.runtime,
        runtime_root: &runtime_root,
        log: log.as_ref().map(|(p, s, n)| (p.as_path(), *s, *n)),
        tty,
        stdin: open_stdin,
        stdin_once: r.config.stdin_once == Some(true),
    })
    .await?;
    let t_shim = t0.elapsed();
    c.notify(|l| l.shim_up = true);
    wait_for_attachers(c).await;
    let t_attach = t0.elapsed();
    match crate::runtime::start(d, &c.id).await {
        Some(r) => r?,
        None => {
            shim::request(&c.state_dir, "start").await?;
        }
    }
    tracing::debug!(
        container = %c.id,
        network = %net,
        mount_ms = t_mount.as_secs_f64() * 1e3,
        network_ms = (t_net - t_mount).as_secs_f64() * 1e3,
        create_ms = (t_shim - t_net).as_secs_f64() * 1e3,
        attach_wait_ms = (t_attach - t_shim).as_secs_f64() * 1e3,
        start_ms = (t0.elapsed() - t_attach).as_secs_f64() * 1e3,
        "started"
    );
    // The runtime's pid file, not a request: a process that has already exited has a
    // shim that is closing down and answers nothing new.
    let pid = std::fs::read_to_string(c.state_dir.join("init.pid"))
        .ok()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(0);
    let has_health = health::configured(&r.config).is_some();
    c.update(|r| {
        r.state.status = Status::Running;
        r.state.pid = pid;
        r.state.started_at = clock::now_rfc3339();
        r.state.error.clear();
        r.state.exit_code = 0;
        r.state.oom_killed = false;
        r.state.manually_stopped = false;
        r.state.health = has_health.then(|| crate::container::record::Health {
            status: "starting".into(),
            failing_streak: 0,
            log: Vec::new(),
        });
    })?;
    c.notify(|l| {
        l.starts += 1;
        l.running = true;
    });
    let mut attrs = std::collections::HashMap::new();
    attrs.insert("name".to_owned(), r.name.clone());
    d.events.container("start", &c.id, &r.image, attrs);
    exit::monitor(d.clone(), c.clone());
    if has_health {
        health::spawn(d.clone(), c.clone());
    }
    Ok(())
}

/// (path, max size, max files) of the json-file log, or none for `--log-driver none`.
fn log_target(d: &Daemon, c: &Container) -> Result<Option<(PathBuf, u64, u32)>> {
    let r = c.record();
    let lc = r.host_config.log_config.clone().unwrap_or_default();
    match lc.typ.as_deref().unwrap_or("") {
        "" | "json-file" | "local" => {}
        "none" => return Ok(None),
        other => {
            return Err(Error::Invalid(format!(
                "logging driver {other} is not supported: use json-file, local or none"
            )))
        }
    }
    let opts = lc.config.unwrap_or_default();
    let size = match opts.get("max-size") {
        Some(s) => crate::config::parse_size(s)?,
        None => d.config.log_max_size,
    };
    let files = match opts.get("max-file") {
        Some(s) => s
            .parse()
            .map_err(|_| Error::Invalid(format!("invalid max-file {s:?}")))?,
        None => d.config.log_max_files,
    };
    Ok(Some((log_path(c), size, files)))
}

pub fn log_path(c: &Container) -> PathBuf {
    c.dir.join(format!("{}-json.log", c.id))
}

/// Attach requests made before start (`docker run` attaches, then starts) connect to
/// the shim before the process may print anything.
async fn wait_for_attachers(c: &Container) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        let notified = c.attach_done.notified();
        if *c.pending_attach.lock().expect("attach lock") == 0 {
            return;
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return;
        }
    }
}
