//! stop, kill, restart, pause and unpause: signals through the runtime, and waiting for
//! the exit the shim reports.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::container::record::Status;
use crate::container::{start, Container};
use crate::daemon::Daemon;
use crate::error::{Error, Result};
use crate::runtime;

/// Waits until the container has exited more times than `seen`, or `timeout` passes.
pub async fn wait_exit(c: &Container, seen: u64, timeout: Option<Duration>) -> bool {
    let mut rx = c.subscribe();
    let fut = rx.wait_for(|l| l.exits > seen);
    match timeout {
        Some(t) => matches!(tokio::time::timeout(t, fut).await, Ok(Ok(_))),
        None => fut.await.is_ok(),
    }
}

pub async fn stop(d: &Arc<Daemon>, c: &Arc<Container>, timeout: Option<i64>, signal: Option<String>) -> Result<()> {
    let _op = c.op.lock().await;
    stop_locked(d, c, timeout, signal).await
}

pub async fn stop_locked(
    d: &Arc<Daemon>,
    c: &Arc<Container>,
    timeout: Option<i64>,
    signal: Option<String>,
) -> Result<()> {
    let r = c.record();
    if r.state.status == Status::Restarting {
        c.update(|r| {
            r.state.manually_stopped = true;
            r.state.status = Status::Exited;
        })?;
        return Ok(());
    }
    if !r.state.status.is_running() {
        return Err(Error::NotModified);
    }
    c.update(|r| r.state.manually_stopped = true)?;
    let seen = c.lifecycle().exits;
    let signal = signal
        .filter(|s| !s.is_empty())
        .or_else(|| r.config.stop_signal.clone().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "SIGTERM".into());
    let timeout = timeout.or(r.config.stop_timeout).unwrap_or(10);
    let mut attrs = HashMap::new();
    attrs.insert("name".to_owned(), r.name.clone());
    attrs.insert("signal".to_owned(), signal.clone());
    d.events.container("kill", &c.id, &r.image, attrs);
    if let Err(e) = runtime::kill(d, &c.id, &signal).await {
        tracing::debug!(container = %c.id, "stop signal: {e}");
    }
    if r.state.status == Status::Paused {
        // A frozen process cannot act on the signal until it is thawed.
        let _ = runtime::pause(d, &c.id, false).await;
    }
    let graceful = timeout >= 0 && wait_exit(c, seen, Some(Duration::from_secs(timeout as u64))).await;
    if !graceful {
        runtime::kill(d, &c.id, "KILL").await.ok();
        if !wait_exit(c, seen, Some(Duration::from_secs(30))).await {
            return Err(Error::Internal(format!(
                "container {}: did not exit within 30 seconds of SIGKILL",
                c.id
            )));
        }
    }
    let mut attrs = HashMap::new();
    attrs.insert("name".to_owned(), r.name.clone());
    d.events.container("stop", &c.id, &r.image, attrs);
    Ok(())
}

pub async fn kill(d: &Arc<Daemon>, c: &Arc<Container>, signal: Option<String>) -> Result<()> {
    let _op = c.op.lock().await;
    let r = c.record();
    if !r.state.status.is_running() {
        return Err(Error::Conflict(format!("Cannot kill container: {}: container {} is not running", c.id, c.id)));
    }
    let signal = signal.filter(|s| !s.is_empty()).unwrap_or_else(|| "KILL".into());
    let fatal = matches!(signal.trim_start_matches("SIG"), "KILL" | "9");
    if fatal {
        c.update(|r| r.state.manually_stopped = true)?;
    }
    let seen = c.lifecycle().exits;
    runtime::kill(d, &c.id, &signal).await?;
    let mut attrs = HashMap::new();
    attrs.insert("name".to_owned(), r.name.clone());
    attrs.insert("signal".to_owned(), signal.clone());
    d.events.container("kill", &c.id, &r.image, attrs);
    if fatal {
        wait_exit(c, seen, Some(Duration::from_secs(30))).await;
    }
    Ok(())
}

pub async fn restart(d: &Arc<Daemon>, c: &Arc<Container>, timeout: Option<i64>, signal: Option<String>) -> Result<()> {
    let _op = c.op.lock().await;
    match stop_locked(d, c, timeout, signal).await {
        Ok(()) | Err(Error::NotModified) => {}
        Err(e) => return Err(e),
    }
    start::start_locked(d, c).await?;
    let r = c.record();
    let mut attrs = HashMap::new();
    attrs.insert("name".to_owned(), r.name);
    d.events.container("restart", &c.id, &r.image, attrs);
    Ok(())
}

pub async fn pause(d: &Arc<Daemon>, c: &Arc<Container>, pause: bool) -> Result<()> {
    let _op = c.op.lock().await;
    let st = c.status();
    if pause {
        match st {
            Status::Running => {}
            Status::Paused => return Err(Error::Conflict(format!("container {} is already paused", c.id))),
            _ => return Err(Error::Conflict(format!("container {} is not running", c.id))),
        }
        runtime::pause(d, &c.id, true).await?;
        c.update(|r| r.state.status = Status::Paused)?;
    } else {
        if st != Status::Paused {
            return Err(Error::Conflict(format!("container {} is not paused", c.id)));
        }
        runtime::pause(d, &c.id, false).await?;
        c.update(|r| r.state.status = Status::Running)?;
    }
    let r = c.record();
    let mut attrs = HashMap::new();
    attrs.insert("name".to_owned(), r.name);
    d.events.container(if pause { "pause" } else { "unpause" }, &c.id, &r.image, attrs);
    Ok(())
}
