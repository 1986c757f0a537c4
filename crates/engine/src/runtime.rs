//! Invoking the OCI runtime (berth-runtime, or runc) with runc's command line for what
//! the daemon does itself: kill, delete, pause, resume, update, ps.

use std::process::Stdio;

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

pub async fn kill(d: &Daemon, id: &str, signal: &str) -> Result<()> {
    run(d, &["kill", id, signal]).await.map(drop)
}

/// Pids of the container's processes (the runtime reads its cgroup).
pub async fn pids(d: &Daemon, id: &str) -> Result<Vec<i32>> {
    let out = run(d, &["ps", "--format", "json", id]).await?;
    serde_json::from_slice(&out).map_err(|e| Error::internal("parse runtime ps", e))
}
