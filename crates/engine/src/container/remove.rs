//! `DELETE /containers/{id}` and `POST /containers/prune`. The record is marked
//! `removing` first, so a daemon killed half-way finishes the job when it starts again.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::container::record::Status;
use crate::container::{exit, start, stop, Container};
use crate::daemon::Daemon;
use crate::error::{Error, Result};
use crate::runtime;

pub async fn remove(d: &Arc<Daemon>, c: &Arc<Container>, force: bool, volumes: bool) -> Result<()> {
    let _op = c.op.lock().await;
    let st = c.status();
    if st.is_running() {
        if !force {
            return Err(Error::Conflict(format!(
                "cannot remove container \"/{}\": container is running: stop the container before removing or force remove",
                c.name()
            )));
        }
        c.update(|r| r.state.manually_stopped = true)?;
        let seen = c.lifecycle().exits;
        let _ = runtime::kill(d, &c.id, "KILL").await;
        if st == Status::Paused {
            let _ = runtime::pause(d, &c.id, false).await;
        }
        stop::wait_exit(c, seen, Some(Duration::from_secs(30))).await;
    }
    if c.lifecycle().removed {
        return Ok(());
    }
    let t0 = std::time::Instant::now();
    c.update(|r| {
        r.state.status = Status::Removing;
        r.remove_volumes = volumes;
    })?;
    exit::tear_down(d, c).await;
    let t_down = t0.elapsed();
    // Gone for clients from here on (`wait?condition=removed` answers now); the record,
    // marked `removing`, is deleted last, so a daemon killed meanwhile finishes the job.
    d.forget(c);
    c.notify(|l| l.removed = true);
    let r = c.record();
    let mut attrs = HashMap::new();
    attrs.insert("name".to_owned(), r.name);
    d.events.container("destroy", &c.id, &r.image, attrs);
    let store = d.images.clone();
    let id = c.id.clone();
    let dir = c.dir.clone();
    let cleaned = tokio::task::spawn_blocking(move || {
        let released = store.release(&id);
        let t_release = t0.elapsed();
        remove_dir(&dir);
        (released, t_release)
    })
    .await
    .map_err(|e| Error::internal("remove container files", e))?;
    if volumes && !r.anonymous_volumes.is_empty() {
        let (d2, anon) = (d.clone(), r.anonymous_volumes.clone());
        let _ = tokio::task::spawn_blocking(move || crate::volume::remove::remove_anonymous(&d2, &anon)).await;
    }
    if let Err(e) = cleaned.0 {
        tracing::warn!(container = %c.id, "release layers: {e}");
    }
    tracing::debug!(container = %c.id, tear_down_ms = t_down.as_secs_f64() * 1e3,
        release_ms = (cleaned.1 - t_down).as_secs_f64() * 1e3,
        remove_dir_ms = (t0.elapsed() - cleaned.1).as_secs_f64() * 1e3, "removed");
    Ok(())
}

/// Removes a container's directory, its root unmounted first, record last: until the
/// record goes, a restarted daemon still knows the container (as `removing`).
pub fn remove_dir(dir: &Path) {
    let merged = dir.join("merged");
    if start::is_mount_point(&merged) {
        let _ = nix::mount::umount2(&merged, nix::mount::MntFlags::MNT_DETACH);
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.file_name().is_some_and(|n| n == crate::container::record::RECORD) {
                continue;
            }
            let r = if p.is_dir() && !p.is_symlink() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
            if let Err(e) = r {
                tracing::warn!("remove {}: {e}", p.display());
            }
        }
    }
    let _ = std::fs::remove_file(dir.join(crate::container::record::RECORD));
    let _ = std::fs::remove_dir(dir);
}

/// Removes every stopped container (matching `until`/`label` filters); returns the ids
/// removed.
pub async fn prune(d: &Arc<Daemon>, keep: impl Fn(&Container) -> bool) -> Vec<String> {
    let mut removed = Vec::new();
    for c in d.all() {
        if c.status().is_running() || c.status() == Status::Restarting || keep(&c) {
            continue;
        }
        if remove(d, &c, false, false).await.is_ok() {
            removed.push(c.id.clone());
        }
    }
    removed
}
