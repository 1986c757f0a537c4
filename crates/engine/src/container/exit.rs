//! What happens when a container's process ends: the shim says so (or left its exit file
//! while the daemon was down), the daemon reads the OOM counter, deletes the runtime's
//! container, unmounts the root, records the exit, and applies the restart policy or
//! `--rm`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bollard_stubs::models::RestartPolicyNameEnum;

use crate::clock;
use crate::container::record::Status;
use crate::container::{remove, start, Container};
use crate::daemon::Daemon;
use crate::{runtime, shim};

/// Watches a running container's shim until the process exits.
pub fn monitor(d: Arc<Daemon>, c: Arc<Container>) {
    tokio::spawn(async move {
        let (code, finished) = match shim::wait(&c.state_dir).await {
            Ok(code) => (code, shim::exit_file(&c.state_dir).and_then(|(_, f)| f)),
            // The shim is gone without telling: its exit file, else it died with the
            // process unknown (killed): Docker reports 255 then... we report 137.
            Err(e) => match shim::exit_file(&c.state_dir) {
                Some((code, f)) => (code, f),
                None => {
                    tracing::warn!(container = %c.id, "shim lost: {e}");
                    let _ = runtime::kill(&d, &c.id, "KILL").await;
                    (137, None)
                }
            },
        };
        on_exit(&d, &c, code, finished).await;
    });
}

/// Reads whether the kernel's OOM killer struck the container's cgroup.
fn oom_killed(d: &Daemon, c: &Container) -> bool {
    let path = start::cgroups_path(d, &c.id);
    // The runtime resolved a relative path beneath the shim's cgroup, the daemon's own.
    berth_cgroups::Cgroup::resolve(Some(&path), &c.id, false)
        .and_then(|cg| cg.events_oom())
        .map(|e| e.oom_kill > 0)
        .unwrap_or(false)
}

/// Undoes what start set up: the runtime's container, the root mount, the shim's state.
/// Keeps going on errors (each is logged): a half-torn-down container must not block the
/// next start.
pub async fn tear_down(d: &Daemon, c: &Container) {
    // The runtime keeps a directory per container under its root: none, nothing to delete
    // (saves an exec on the way to removal, which tears down again).
    let known = d.runtime_root().join(&c.id).exists();
    if !known {
    } else if let Err(e) = runtime::delete(d, &c.id).await {
        if !e.to_string().contains("does not exist") && !e.to_string().contains("not exist") {
            tracing::debug!(container = %c.id, "runtime delete: {e}");
        }
    }
    crate::network::setup::detach(d, c).await;
    let root = start::rootfs(c);
    if start::is_mount_point(&root) {
        if let Err(e) = nix::mount::umount2(&root, nix::mount::MntFlags::empty()) {
            tracing::warn!(container = %c.id, "unmount {}: {e}; detaching", root.display());
            let _ = nix::mount::umount2(&root, nix::mount::MntFlags::MNT_DETACH);
        }
    }
    let _ = std::fs::remove_dir_all(&c.state_dir);
    let volumes: Vec<String> = c.record().volume_mounts.iter().filter_map(|m| m.volume.clone()).collect();
    crate::volume::mount::release(d, &c.id, &volumes);
}

pub async fn on_exit(d: &Arc<Daemon>, c: &Arc<Container>, code: i64, finished: Option<String>) {
    let t0 = std::time::Instant::now();
    let oom = oom_killed(d, c);
    tear_down(d, c).await;
    tracing::debug!(container = %c.id, tear_down_ms = t0.elapsed().as_secs_f64() * 1e3, "exited");
    let finished = finished.unwrap_or_else(clock::now_rfc3339);
    let r = c.record();
    let policy = r.host_config.restart_policy.clone().unwrap_or_default();
    let restart = !r.state.manually_stopped
        && match policy.name {
            Some(RestartPolicyNameEnum::ALWAYS) | Some(RestartPolicyNameEnum::UNLESS_STOPPED) => true,
            Some(RestartPolicyNameEnum::ON_FAILURE) => {
                let max = policy.maximum_retry_count.unwrap_or(0);
                code != 0 && (max == 0 || r.state.restart_count < max)
            }
            _ => false,
        };
    let ran_for = clock::parse_nanos(&r.state.started_at)
        .map(|s| clock::unix_nanos(std::time::SystemTime::now()) - s)
        .unwrap_or(0);
    let saved = c.update(|r| {
        r.state.status = if restart { Status::Restarting } else { Status::Exited };
        r.state.exit_code = code;
        r.state.oom_killed = oom;
        r.state.pid = 0;
        r.state.finished_at = finished.clone();
        if let Some(h) = &mut r.state.health {
            h.status = "unhealthy".into();
        }
        if restart {
            r.state.restart_count += 1;
        }
    });
    if let Err(e) = saved {
        tracing::error!(container = %c.id, "record exit: {e}");
    }
    c.notify(|l| {
        l.exits += 1;
        l.last_exit = code;
        l.running = false;
        l.shim_up = false;
    });
    let mut attrs = HashMap::new();
    attrs.insert("name".to_owned(), r.name.clone());
    if oom {
        d.events.container("oom", &c.id, &r.image, attrs.clone());
    }
    attrs.insert("exitCode".to_owned(), code.to_string());
    d.events.container("die", &c.id, &r.image, attrs);
    if restart {
        // Back off like Docker: 100 ms doubling per quick failure, up to a minute; a run
        // of 10 s or more starts the sequence over.
        let n = if ran_for >= 10_000_000_000 { 0 } else { r.state.restart_count.min(10) };
        let delay = Duration::from_millis(100u64 << n).min(Duration::from_secs(60));
        schedule_restart(d.clone(), c.clone(), delay);
    } else if r.host_config.auto_remove == Some(true) {
        let (d, c) = (d.clone(), c.clone());
        tokio::spawn(async move {
            if let Err(e) = remove::remove(&d, &c, false, true).await {
                tracing::warn!(container = %c.id, "auto-remove: {e}");
            }
        });
    }
}

pub fn schedule_restart(d: Arc<Daemon>, c: Arc<Container>, delay: Duration) {
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let _op = c.op.lock().await;
        let r = c.record();
        if r.state.status != Status::Restarting || r.state.manually_stopped {
            return;
        }
        if let Err(e) = start::start_locked(&d, &c).await {
            tracing::warn!(container = %c.id, "restart: {e}");
            let _ = c.update(|r| r.state.status = Status::Exited);
        }
    });
}

/// A container found by a starting daemon: re-attached to its shim, finished off, or
/// restarted.
pub async fn recover(d: &Arc<Daemon>, c: &Arc<Container>) {
    let r = c.record();
    match r.state.status {
        Status::Removing => {
            let volumes = c.record().remove_volumes;
            if let Err(e) = remove::remove(d, c, true, volumes).await {
                tracing::warn!(container = %c.id, "finish removal: {e}");
            }
        }
        Status::Running | Status::Paused => {
            if shim::request(&c.state_dir, "pid").await.is_ok() {
                c.notify(|l| {
                    l.running = true;
                    l.shim_up = true;
                });
                monitor(d.clone(), c.clone());
                if crate::container::health::configured(&r.config).is_some() {
                    crate::container::health::spawn(d.clone(), c.clone());
                }
            } else {
                let (code, finished) = shim::exit_file(&c.state_dir).unwrap_or_else(|| {
                    tracing::warn!(container = %c.id, "no shim and no exit status: marking as killed");
                    (137, None)
                });
                if shim::exit_file(&c.state_dir).is_none() {
                    let _ = runtime::kill(d, &c.id, "KILL").await;
                }
                on_exit(d, c, code, finished).await;
            }
        }
        Status::Restarting => schedule_restart(d.clone(), c.clone(), Duration::from_millis(100)),
        Status::Created | Status::Exited | Status::Dead => {}
    }
}
