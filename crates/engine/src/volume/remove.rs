//! Removing volumes: `DELETE /volumes/{name}`, `POST /volumes/prune`, and a container's
//! anonymous volumes with `rm -v` / `--rm`. A volume any container's record mounts is
//! refused unless forced, so no container is left pointing at a deleted directory.

use std::collections::HashMap;

use crate::daemon::Daemon;
use crate::error::{Error, Result};
use crate::volume::{in_use, list, mount};

/// Removes volume `name`; in use (by any container, running or not) is a conflict
/// unless `force`, a missing volume is not found unless `force`.
pub fn remove(d: &Daemon, name: &str, force: bool) -> Result<()> {
    let _ops = d.volumes.ops.lock().expect("volume ops lock");
    remove_locked(d, name, force)
}

/// [`remove`] for a caller that holds `d.volumes.ops` already.
pub(crate) fn remove_locked(d: &Daemon, name: &str, force: bool) -> Result<()> {
    let v = match d.volumes.get(name) {
        Ok(v) => v,
        Err(_) if force => return Ok(()),
        Err(e) => return Err(e),
    };
    let users = in_use(d, name);
    if !users.is_empty() && !force {
        return Err(Error::Conflict(format!("remove {name}: volume is in use - [{}]", users.join(", "))));
    }
    if !crate::volume::running_users(d, name).is_empty() {
        return Err(Error::Conflict(format!("remove {name}: volume is in use by a running container - [{}]", users.join(", "))));
    }
    mount::unmount(&d.volumes, &v);
    let dir = d.volumes.root.join(&v.name);
    // Out of sight first (a restart must not load a half-deleted volume), then deleted.
    let trash = d.volumes.root.join(format!(".removing-{}", v.name));
    std::fs::rename(&dir, &trash).map_err(|e| Error::internal(format!("remove {name}"), e))?;
    d.volumes.forget(name);
    if let Err(e) = std::fs::remove_dir_all(&trash) {
        tracing::warn!(volume = name, "delete {}: {e}", trash.display());
    }
    d.events.volume("destroy", name, "local", HashMap::new());
    Ok(())
}

/// `POST /volumes/prune`: unused volumes, only anonymous ones unless `all=true` (Docker
/// 23 and later); returns the names and the bytes freed.
pub fn prune(d: &Daemon, filters: &HashMap<String, Vec<String>>) -> Result<(Vec<String>, u64)> {
    let _ops = d.volumes.ops.lock().expect("volume ops lock");
    let all = filters.get("all").is_some_and(|v| v.iter().any(|x| x == "1" || x == "true"));
    let mut deleted = Vec::new();
    let mut space = 0;
    for v in d.volumes.all() {
        if !all && !v.is_anonymous() {
            continue;
        }
        if !list::labels_match(&v, filters.get("label").map(Vec::as_slice).unwrap_or(&[])) {
            continue;
        }
        if !in_use(d, &v.name).is_empty() {
            continue;
        }
        let size = list::du(&d.volumes.data_dir(&v.name));
        if remove_locked(d, &v.name, false).is_ok() {
            space += size;
            deleted.push(v.name);
        }
    }
    Ok((deleted, space))
}

/// The anonymous volumes of a removed container, unless another container uses one too
/// (through `--volumes-from`).
pub fn remove_anonymous(d: &Daemon, names: &[String]) {
    let _ops = d.volumes.ops.lock().expect("volume ops lock");
    for n in names {
        if in_use(d, n).is_empty() {
            if let Err(e) = remove_locked(d, n, false) {
                tracing::warn!(volume = %n, "remove anonymous volume: {e}");
            }
        }
    }
}
