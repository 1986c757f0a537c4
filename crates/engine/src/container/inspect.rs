//! `GET /containers/{id}/json`: the record in Docker's inspect shape.

use serde_json::{json, Value};

use crate::container::record::{Record, Status};
use crate::container::{list, start, Container};
use crate::daemon::Daemon;

pub fn inspect(d: &Daemon, c: &Container, size: bool) -> Value {
    let r: Record = c.record();
    let s = &r.state;
    let mut state = json!({
        "Status": s.status.as_str(),
        "Running": s.status.is_running(),
        "Paused": s.status == Status::Paused,
        "Restarting": s.status == Status::Restarting,
        "OOMKilled": s.oom_killed,
        "Dead": s.status == Status::Dead,
        "Pid": s.pid,
        "ExitCode": s.exit_code,
        "Error": s.error,
        "StartedAt": s.started_at,
        "FinishedAt": s.finished_at,
    });
    if let Some(h) = &s.health {
        state["Health"] = json!({"Status": h.status, "FailingStreak": h.failing_streak, "Log": h.log});
    }
    let execs: Vec<String> = d
        .execs
        .lock()
        .expect("execs lock")
        .values()
        .filter(|e| e.container_id == c.id && e.is_running())
        .map(|e| e.id.clone())
        .collect();
    let lower: Vec<String> = r
        .layers
        .iter()
        .rev()
        .map(|l| d.images.layers().diff_path(l).display().to_string())
        .collect();
    let mut config = serde_json::to_value(&r.config).unwrap_or_else(|_| json!({}));
    for k in ["Env", "Cmd", "Entrypoint", "Labels", "Volumes", "OnBuild"] {
        if config.get(k).is_none() {
            config[k] = Value::Null;
        }
    }
    for (k, v) in [("AttachStdin", false), ("AttachStdout", false), ("AttachStderr", false), ("Tty", false), ("OpenStdin", false), ("StdinOnce", false)] {
        if config.get(k).is_none() {
            config[k] = json!(v);
        }
    }
    for k in ["Hostname", "Domainname", "User", "WorkingDir"] {
        if config.get(k).is_none() {
            config[k] = json!("");
        }
    }
    let mut host_config = serde_json::to_value(&r.host_config).unwrap_or_else(|_| json!({}));
    if host_config.get("RestartPolicy").is_none() {
        host_config["RestartPolicy"] = json!({"Name": "no", "MaximumRetryCount": 0});
    }
    if host_config.get("LogConfig").is_none() {
        host_config["LogConfig"] = json!({"Type": "json-file", "Config": {}});
    }
    let mut v = json!({
        "Id": r.id,
        "Created": r.created,
        "Path": r.path,
        "Args": r.args,
        "State": state,
        "Image": r.image_id,
        "ResolvConfPath": c.dir.join("resolv.conf"),
        "HostnamePath": c.dir.join("hostname"),
        "HostsPath": c.dir.join("hosts"),
        "LogPath": start::log_path(c),
        "Name": format!("/{}", r.name),
        "RestartCount": r.state.restart_count,
        "Driver": "overlay2",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": if execs.is_empty() { Value::Null } else { json!(execs) },
        "HostConfig": host_config,
        "GraphDriver": {"Name": "overlay2", "Data": {
            "LowerDir": lower.join(":"),
            "UpperDir": c.dir.join("upper"),
            "MergedDir": c.dir.join("merged"),
            "WorkDir": c.dir.join("work"),
        }},
        "Mounts": crate::volume::mounts_json(&r),
        "Config": config,
        "NetworkSettings": crate::network::inspect::settings(&r),
    });
    if size {
        let (rw, root) = list::sizes(d, &r);
        v["SizeRw"] = json!(rw);
        v["SizeRootFs"] = json!(root);
    }
    v
}
