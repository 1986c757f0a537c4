//! The OCI runtime, for what the daemon does itself: start, kill, delete, pause, resume,
//! update, ps. With berth's own runtime (the default) the lifecycle calls go through
//! `berth-runtime`'s library in this process: no exec of a 6 MB binary on every start
//! and exit (a few ms each, more on a loaded machine). With another runtime
//! (`--runtime /usr/bin/runc`) everything goes through its runc-compatible command line.
//! The shim always runs `create` by the command line: the container's init must not be
//! a child of the daemon.

use std::process::Stdio;

use berth_runtime::StateRoot;

use crate::daemon::Daemon;
use crate::error::{Error, Result};

pub async fn run(d: &Daemon, args: &[&str]) -> Result<Vec<u8>> {
    let out = tokio::process::Command::new(&d.config.runtime)
        .arg("--root")
        .arg(d.runtime_root())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| Error::internal(format!("run {}", d.config.runtime.display()), e))?;
    if out.status.success() {
        return Ok(out.stdout);
    }
    let msg = String::from_utf8_lossy(&out.stderr);
    let msg = msg.trim();
    Err(Error::Internal(if msg.is_empty() {
        format!("{} {}: {}", d.config.runtime.display(), args.join(" "), out.status)
    } else {
        msg.to_owned()
    }))
}

/// Runs a library call on the blocking pool, with the runtime's error as the message.
async fn library<T: Send + 'static>(
    d: &Daemon,
    f: impl FnOnce(&StateRoot) -> berth_runtime::Result<T> + Send + 'static,
) -> Result<T> {
    let path = d.runtime_root();
    tokio::task::spawn_blocking(move || {
        let root = StateRoot::open(&path).map_err(|e| Error::Internal(format!("berth-runtime: {e}")))?;
        f(&root).map_err(|e| Error::Internal(format!("berth-runtime: {e}")))
    })
    .await
    .map_err(|e| Error::internal("runtime task", e))?
}

pub async fn kill(d: &Daemon, id: &str, signal: &str) -> Result<()> {
    if d.config.runtime_in_process {
        let (id, signal) = (id.to_owned(), signal.to_owned());
        return library(d, move |root| {
            let sig = berth_runtime::container::kill::parse_signal(&signal)?;
            berth_runtime::container::kill::kill(root, &id, sig, false)
        })
        .await;
    }
    run(d, &["kill", id, signal]).await.map(drop)
}

pub async fn delete(d: &Daemon, id: &str) -> Result<()> {
    if d.config.runtime_in_process {
        let id = id.to_owned();
        return library(d, move |root| berth_runtime::container::delete::delete(root, &id, true)).await;
    }
    run(d, &["delete", "--force", id]).await.map(drop)
}

pub async fn pause(d: &Daemon, id: &str, pause: bool) -> Result<()> {
    if d.config.runtime_in_process {
        let id = id.to_owned();
        return library(d, move |root| {
            if pause {
                berth_runtime::container::pause::pause(root, &id)
            } else {
                berth_runtime::container::pause::resume(root, &id)
            }
        })
        .await;
    }
    run(d, &[if pause { "pause" } else { "resume" }, id]).await.map(drop)
}

/// Lets a created container run. `None`: the runtime is not ours; ask the shim, which
/// runs `RUNTIME start`.
pub async fn start(d: &Daemon, id: &str) -> Option<Result<()>> {
    if !d.config.runtime_in_process {
        return None;
    }
    let id = id.to_owned();
    Some(library(d, move |root| berth_runtime::container::start::start(root, &id)).await)
}

/// Pids of the container's processes (the runtime reads its cgroup).
pub async fn pids(d: &Daemon, id: &str) -> Result<Vec<i32>> {
    let out = run(d, &["ps", "--format", "json", id]).await?;
    serde_json::from_slice(&out).map_err(|e| Error::internal("parse runtime ps", e))
}
