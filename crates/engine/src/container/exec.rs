//! `docker exec`: an exec instance is created with its config, then started: the
//! runtime's `exec` runs the process in the container (from the container's own process
//! config, with the exec's args, env, user and cwd), its stdio relayed to the client.

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard_stubs::models::ExecConfig;
use serde_json::Value;

use crate::container::{start, user, Container};
use crate::daemon::Daemon;
use crate::error::{Error, Result};

#[derive(Debug, Default)]
pub struct ExecState {
    pub running: bool,
    pub exit_code: Option<i64>,
    pub pid: i64,
    pub started: bool,
}

#[derive(Debug)]
pub struct Exec {
    pub id: String,
    pub container_id: String,
    pub config: ExecConfig,
    pub state: Mutex<ExecState>,
    /// The pty master of a tty exec, for resize.
    pub console: Mutex<Option<OwnedFd>>,
}

impl Exec {
    pub fn is_running(&self) -> bool {
        self.state.lock().expect("exec lock").running
    }
}

pub fn create(d: &Daemon, c: &Container, config: ExecConfig) -> Result<String> {
    if !c.status().is_running() {
        return Err(Error::Conflict(format!("container {} is not running", c.id)));
    }
    if c.status() == crate::container::record::Status::Paused {
        return Err(Error::Conflict(format!(
            "container {} is paused, unpause the container before exec",
            c.id
        )));
    }
    if config.cmd.as_ref().is_none_or(|c| c.is_empty()) {
        return Err(Error::Invalid("No exec command specified".into()));
    }
    let id = super::new_id();
    d.execs.lock().expect("execs lock").insert(
        id.clone(),
        Arc::new(Exec {
            id: id.clone(),
            container_id: c.id.clone(),
            config,
            state: Mutex::new(ExecState::default()),
            console: Mutex::new(None),
        }),
    );
    let r = c.record();
    let mut attrs = std::collections::HashMap::new();
    attrs.insert("name".to_owned(), r.name.clone());
    let cmd = d.execs.lock().expect("execs lock")[&id].config.cmd.clone().unwrap_or_default().join(" ");
    attrs.insert("execID".to_owned(), id.clone());
    d.events.container(&format!("exec_create: {cmd}"), &c.id, &r.image, attrs);
    Ok(id)
}

pub fn lookup(d: &Daemon, id: &str) -> Result<Arc<Exec>> {
    d.execs
        .lock()
        .expect("execs lock")
        .get(id)
        .cloned()
        .ok_or_else(|| Error::NotFound(format!("No such exec instance: {id}")))
}

/// The process config for the runtime: the container's, with the exec's changes.
pub fn process_json(c: &Container, args: &[String], env: &[String], user_spec: Option<&str>, cwd: Option<&str>, tty: bool, privileged: bool) -> Result<Value> {
    let path = c.dir.join("config.json");
    let bytes = std::fs::read(&path).map_err(|e| Error::internal(format!("read {}", path.display()), e))?;
    let spec: Value = serde_json::from_slice(&bytes).map_err(|e| Error::internal("parse config.json", e))?;
    let mut p = spec["process"].clone();
    p["args"] = serde_json::json!(args);
    p["terminal"] = serde_json::json!(tty);
    p.as_object_mut().map(|o| o.remove("consoleSize"));
    let mut all_env: Vec<String> = p["env"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_owned)).collect();
    for e in env {
        let key = e.split('=').next().unwrap_or(e);
        all_env.retain(|x| x.split('=').next() != Some(key));
        all_env.push(e.clone());
    }
    if tty && !all_env.iter().any(|e| e.starts_with("TERM=")) {
        all_env.push("TERM=xterm".into());
    }
    p["env"] = serde_json::json!(all_env);
    if let Some(u) = user_spec.filter(|u| !u.is_empty()) {
        let u = user::resolve(&start::rootfs(c), u, &[])?;
        p["user"] = serde_json::json!({"uid": u.uid, "gid": u.gid, "additionalGids": u.additional_gids});
    }
    if let Some(w) = cwd.filter(|w| !w.is_empty()) {
        p["cwd"] = serde_json::json!(w);
    }
    if privileged {
        let all = crate::container::spec::all_caps();
        p["capabilities"] = serde_json::json!({"bounding": all, "effective": all, "permitted": all});
    }
    Ok(p)
}

/// A started exec process: its stdio (pipes, or the pty master), and the runtime's child.
pub struct Running {
    pub child: tokio::process::Child,
    pub console: Option<OwnedFd>,
    pub process_file: PathBuf,
}

/// Starts `runtime exec` for a process config.
pub async fn spawn(d: &Daemon, c: &Container, tag: &str, process: &Value, stdin: bool) -> Result<Running> {
    let tty = process["terminal"].as_bool() == Some(true);
    let process_file = c.state_dir.join(format!("exec-{tag}.json"));
    std::fs::write(&process_file, serde_json::to_vec(process).unwrap_or_default())
        .map_err(|e| Error::internal(format!("write {}", process_file.display()), e))?;
    let mut cmd = tokio::process::Command::new(&d.config.runtime);
    cmd.arg("--root").arg(d.runtime_root()).arg("exec").arg("--process").arg(&process_file);
    let console_path = c.state_dir.join(format!("exec-{tag}.sock"));
    let listener = if tty {
        let _ = std::fs::remove_file(&console_path);
        let l = std::os::unix::net::UnixListener::bind(&console_path)
            .map_err(|e| Error::internal(format!("bind {}", console_path.display()), e))?;
        cmd.arg("--console-socket").arg(&console_path);
        Some(l)
    } else {
        None
    };
    cmd.arg(&c.id);
    cmd.stdin(if stdin && !tty { Stdio::piped() } else { Stdio::null() });
    cmd.stdout(if tty { Stdio::null() } else { Stdio::piped() });
    cmd.stderr(Stdio::piped());
    cmd.kill_on_drop(false);
    let mut child = cmd.spawn().map_err(|e| Error::internal(format!("run {}", d.config.runtime.display()), e))?;
    let console = match listener {
        Some(l) => {
            let got = tokio::task::spawn_blocking(move || crate::console::receive(&l));
            match tokio::time::timeout(Duration::from_secs(10), got).await {
                Ok(Ok(Ok(fd))) => Some(fd),
                other => {
                    let _ = child.start_kill();
                    let err = child_error(&mut child).await;
                    let _ = std::fs::remove_file(&console_path);
                    return Err(Error::Internal(format!("exec: no terminal from the runtime: {}", err.unwrap_or_else(|| format!("{other:?}")))));
                }
            }
        }
        None => None,
    };
    let _ = std::fs::remove_file(&console_path);
    Ok(Running { child, console, process_file })
}

async fn child_error(child: &mut tokio::process::Child) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut s = String::new();
    child.stderr.as_mut()?.read_to_string(&mut s).await.ok()?;
    Some(s.trim().to_owned())
}

/// Docker's exit code of a finished runtime exec.
pub fn code_of(status: std::process::ExitStatus) -> i64 {
    use std::os::unix::process::ExitStatusExt;
    status.code().map(i64::from).or_else(|| status.signal().map(|s| 128 + i64::from(s))).unwrap_or(255)
}

/// Runs a process to completion in the container, output captured (up to `limit` bytes),
/// killed after `timeout`: healthchecks.
pub async fn run_capture(d: &Daemon, c: &Container, args: &[String], timeout: Duration, limit: usize) -> Result<(i64, String)> {
    use tokio::io::AsyncReadExt;
    let process = process_json(c, args, &[], None, None, false, false)?;
    let tag = &super::new_id()[..12];
    let mut run = spawn(d, c, tag, &process, false).await?;
    let mut out = run.child.stdout.take();
    let mut err = run.child.stderr.take();
    let collect = async {
        let mut buf = Vec::new();
        let mut ebuf = Vec::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_end(&mut buf).await;
        }
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_end(&mut ebuf).await;
        }
        buf.extend(ebuf);
        let status = run.child.wait().await;
        (buf, status)
    };
    let result = tokio::time::timeout(timeout, collect).await;
    let _ = std::fs::remove_file(&run.process_file);
    match result {
        Ok((mut buf, status)) => {
            buf.truncate(limit);
            let code = status.map(code_of).unwrap_or(255);
            Ok((code, String::from_utf8_lossy(&buf).into_owned()))
        }
        Err(_) => Ok((-1, format!("Health check exceeded timeout ({}s)", timeout.as_secs()))),
    }
}
