//! RUN: the command in a container on the OCI runtime (`<runtime> run`), rooted in the
//! step's overlay, in the network namespace its lease names, with Docker's default
//! confinement (capabilities, seccomp, masked paths). Its stdout and stderr share one pipe,
//! so the log keeps their order, and are streamed to the build's output as they come.

use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::options::{NetworkLease, Output, Runner};
use crate::step::root::StepRoot;

/// One RUN's process.
#[derive(Debug)]
pub struct Process {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    /// `USER` as written (`app`, `1000:1000`), resolved against the step's root.
    pub user: String,
    /// Extra OCI mounts (RUN --mount).
    pub mounts: Vec<Value>,
}

/// Files the runtime may have to create as mount points in the step's root. Those the
/// image did not have are taken out of the step's changes afterwards, so a layer never
/// records an empty `/etc/hosts` that was only a place to mount on (Docker keeps them in
/// an init layer for the same reason).
const MOUNT_POINTS: [&str; 6] = ["etc/hosts", "etc/resolv.conf", "etc", "proc", "sys", "dev"];

/// Runs `p` in `root` and unmounts it; returns the command's exit code.
pub fn run(runner: &Runner, root: &mut StepRoot, id: &str, p: &Process, lease: &NetworkLease, out: &dyn Output, cancel: &AtomicBool) -> Result<i32> {
    let user = berth_runtime::user::resolve(root.merged(), &p.user, &[]).map_err(|e| Error::Invalid(e.to_string()))?;
    let args: Vec<&str> = p.args.iter().map(String::as_str).collect();
    let spec = berth_runtime::defaults::docker_default(&args, &[]);
    let mut spec = serde_json::to_value(&spec).map_err(|e| Error::Invalid(format!("runtime config: {e}")))?;
    spec["process"]["env"] = json!(p.env);
    spec["process"]["cwd"] = json!(p.cwd);
    spec["process"]["user"] = json!({"uid": user.uid, "gid": user.gid, "additionalGids": user.additional_gids});
    spec["root"] = json!({"path": root.merged(), "readonly": false});
    spec["hostname"] = json!(id);
    if let Some(parent) = &runner.cgroup_parent {
        spec["linux"]["cgroupsPath"] = json!(format!("{}/{id}", parent.trim_end_matches('/')));
    }

    let dir = root.dir();
    let hosts = dir.join("hosts");
    let resolv = dir.join("resolv.conf");
    write(&hosts, &lease.hosts)?;
    write(&resolv, &lease.resolv_conf)?;
    let mounts = spec["mounts"].as_array_mut().expect("the default config has mounts");
    for (src, dst) in [(&hosts, "/etc/hosts"), (&resolv, "/etc/resolv.conf")] {
        mounts.push(json!({"destination": dst, "type": "bind", "source": src, "options": ["rbind", "rprivate"]}));
    }
    mounts.extend(p.mounts.iter().cloned());
    let namespaces = spec["linux"]["namespaces"].as_array_mut().expect("the default config has namespaces");
    match &lease.netns {
        Some(path) => {
            for ns in namespaces.iter_mut().filter(|n| n["type"] == "network") {
                ns["path"] = json!(path);
            }
        }
        None => namespaces.retain(|n| n["type"] != "network"),
    }
    let config = dir.join("config.json");
    write(&config, &serde_json::to_string(&spec).expect("a JSON value serializes"))?;

    let existed: Vec<bool> = MOUNT_POINTS.iter().map(|m| root.merged().join(m).symlink_metadata().is_ok()).collect();

    let (reader, writer) = std::io::pipe().map_err(Error::io("create pipe for", dir))?;
    let mut child = Command::new(&runner.runtime)
        .arg("--root")
        .arg(&runner.runtime_root)
        .args(["run", "--bundle"])
        .arg(dir)
        .arg(id)
        .stdin(Stdio::null())
        .stdout(writer.try_clone().map_err(Error::io("create pipe for", dir))?)
        .stderr(writer)
        .spawn()
        .map_err(|source| Error::Runtime { path: runner.runtime.clone(), source })?;
    // The pump thread owns the pipe; `out` stays on this thread (it borrows the caller's
    // stream), fed through a channel.
    let (tx, chunks) = mpsc::channel::<Vec<u8>>();
    let pump_thread = std::thread::spawn(move || pump(reader, tx));
    let status = loop {
        match chunks.recv_timeout(Duration::from_millis(100)) {
            Ok(chunk) => out.stream(&String::from_utf8_lossy(&chunk)),
            Err(mpsc::RecvTimeoutError::Disconnected) => break child.wait(),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if cancel.load(Ordering::Relaxed) {
            // The container may not exist yet (the runtime is still creating it): kill
            // until the runtime, which waits for it, is gone.
            for _ in 0..300 {
                let _ = Command::new(&runner.runtime).arg("--root").arg(&runner.runtime_root).args(["kill", id, "KILL"]).stderr(Stdio::null()).status();
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
            let _ = pump_thread.join();
            return Err(Error::Cancelled);
        }
    };
    let _ = pump_thread.join();
    let status = status.map_err(|source| Error::Runtime { path: runner.runtime.clone(), source })?;
    let code = status.code().unwrap_or(128 + std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0));
    root.unmount()?;
    drop_mount_points(root, &existed);
    Ok(code)
}

/// Reads the pipe until every writer closed it, in chunks that end on a line (or a full
/// buffer), so a multi-byte character is not split across two log messages.
fn pump(mut r: impl Read, tx: mpsc::Sender<Vec<u8>>) {
    let mut buf = vec![0u8; 16 << 10];
    let mut pending: Vec<u8> = Vec::new();
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                pending.extend_from_slice(&buf[..n]);
                let cut = match pending.iter().rposition(|&b| b == b'\n') {
                    Some(i) => i + 1,
                    None if pending.len() >= buf.len() => pending.len(),
                    None => continue,
                };
                let rest = pending.split_off(cut);
                if tx.send(std::mem::replace(&mut pending, rest)).is_err() {
                    return;
                }
            }
        }
    }
    if !pending.is_empty() {
        let _ = tx.send(pending);
    }
}

/// Takes the mount points the runtime made (and the image lacked) out of the changes.
fn drop_mount_points(root: &StepRoot, existed: &[bool]) {
    let upper = root.upper();
    for (m, existed) in MOUNT_POINTS.iter().zip(existed) {
        if *existed {
            continue;
        }
        let p = upper.join(m);
        match p.symlink_metadata() {
            // An empty file (hosts, resolv.conf) or an empty directory: a mount point.
            Ok(md) if md.is_file() && md.len() == 0 => {
                let _ = fs::remove_file(&p);
            }
            Ok(md) if md.is_dir() => {
                let _ = fs::remove_dir(&p);
            }
            _ => {}
        }
    }
}

fn write(path: &Path, text: &str) -> Result<()> {
    fs::write(path, text).map_err(Error::io("write", path))
}
