//! The daemon's side of `berth-shim`, the per-container supervisor (its protocol is
//! documented in crates/shim): spawning one, and the requests of its control socket.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use crate::error::{Error, Result};

/// How a shim is started for one container.
#[derive(Debug, Clone)]
pub struct Spawn<'a> {
    pub shim: &'a Path,
    pub id: &'a str,
    pub bundle: &'a Path,
    pub state: &'a Path,
    pub runtime: &'a Path,
    pub runtime_root: &'a Path,
    pub log: Option<(&'a Path, u64, u32)>,
    pub tty: bool,
    pub stdin: bool,
    pub stdin_once: bool,
}

/// The socket a shim listens on.
pub fn socket(state: &Path) -> PathBuf {
    state.join("shim.sock")
}

/// Starts a shim; returns once the container is created (the shim has daemonized and
/// listens) or with the runtime's error.
pub async fn spawn(s: &Spawn<'_>) -> Result<()> {
    let mut cmd = tokio::process::Command::new(s.shim);
    cmd.arg("--id")
        .arg(s.id)
        .arg("--bundle")
        .arg(s.bundle)
        .arg("--state")
        .arg(s.state)
        .arg("--runtime")
        .arg(s.runtime)
        .arg("--runtime-root")
        .arg(s.runtime_root);
    if let Some((log, size, files)) = s.log {
        cmd.arg("--log")
            .arg(log)
            .arg("--log-max-size")
            .arg(size.to_string())
            .arg("--log-max-files")
            .arg(files.to_string());
    }
    if s.tty {
        cmd.arg("--tty");
    }
    if s.stdin {
        cmd.arg("--stdin");
    }
    if s.stdin_once {
        cmd.arg("--stdin-once");
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let out = cmd
        .output()
        .await
        .map_err(|e| Error::internal(format!("spawn {}", s.shim.display()), e))?;
    if out.status.success() {
        return Ok(());
    }
    let msg = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    Err(Error::Internal(if msg.is_empty() {
        format!("container {}: shim failed with {}", s.id, out.status)
    } else {
        msg
    }))
}

pub async fn connect(state: &Path) -> Result<UnixStream> {
    let path = socket(state);
    UnixStream::connect(&path)
        .await
        .map_err(|e| Error::internal(format!("connect to shim {}", path.display()), e))
}

/// Sends one request line and reads one reply line.
pub async fn request(state: &Path, line: &str) -> Result<String> {
    let mut s = connect(state).await?;
    s.write_all(format!("{line}\n").as_bytes())
        .await
        .map_err(|e| Error::internal("write to shim", e))?;
    let mut reader = BufReader::new(s);
    let mut reply = String::new();
    reader
        .read_line(&mut reply)
        .await
        .map_err(|e| Error::internal("read from shim", e))?;
    let reply = reply.trim_end().to_owned();
    match reply.strip_prefix("error ") {
        Some(msg) => Err(Error::Internal(msg.to_owned())),
        None if reply.is_empty() => Err(Error::Internal("shim closed the connection".into())),
        None => Ok(reply),
    }
}

/// Opens an attach stream: after `ok`, the socket carries the container's output
/// (multiplexed unless tty) and takes its input.
pub async fn attach(state: &Path, stdin: bool, stdout: bool, stderr: bool) -> Result<UnixStream> {
    let mut s = connect(state).await?;
    let line = format!("attach {} {} {}\n", stdin as u8, stdout as u8, stderr as u8);
    s.write_all(line.as_bytes())
        .await
        .map_err(|e| Error::internal("write to shim", e))?;
    // Read the reply byte by byte: the stream's data follows it directly.
    let mut reply = Vec::new();
    loop {
        let mut b = [0u8; 1];
        let n = s
            .read(&mut b)
            .await
            .map_err(|e| Error::internal("read from shim", e))?;
        if n == 0 {
            return Err(Error::Internal("shim closed the attach connection".into()));
        }
        if b[0] == b'\n' {
            break;
        }
        reply.push(b[0]);
    }
    let reply = String::from_utf8_lossy(&reply);
    if reply == "ok" {
        Ok(s)
    } else {
        Err(Error::Internal(
            reply.strip_prefix("error ").unwrap_or(&reply).to_owned(),
        ))
    }
}

/// Waits for the container's exit: its Docker exit code.
pub async fn wait(state: &Path) -> Result<i64> {
    let reply = request(state, "wait").await?;
    parse_exit(&reply)
}

pub fn parse_exit(reply: &str) -> Result<i64> {
    reply
        .strip_prefix("exit ")
        .and_then(|c| c.trim().parse().ok())
        .ok_or_else(|| Error::Internal(format!("shim: unexpected reply {reply:?}")))
}

/// The exit code a shim left in its state directory, if the container has exited.
pub fn exit_file(state: &Path) -> Option<(i64, Option<String>)> {
    let text = std::fs::read_to_string(state.join("exit")).ok()?;
    let mut lines = text.lines();
    let code = lines.next()?.trim().parse().ok()?;
    Some((code, lines.next().map(str::to_owned)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_replies() {
        assert_eq!(parse_exit("exit 137").unwrap(), 137);
        assert!(parse_exit("pid 3").is_err());
    }
}
