//! /_ping, /version, /info, /events, /system/df, and honest answers for what other
//! subsystems will serve (build).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{json, Value};

use super::{filters, Query, API_VERSION, MIN_API_VERSION};
use crate::clock;
use crate::container::record::Status;
use crate::daemon::Daemon;
use crate::error::{Error, Result};

pub async fn ping() -> Response {
    let mut h = HeaderMap::new();
    h.insert("Api-Version", HeaderValue::from_static(API_VERSION));
    h.insert("OSType", HeaderValue::from_static("linux"));
    h.insert("Docker-Experimental", HeaderValue::from_static("false"));
    h.insert("Builder-Version", HeaderValue::from_static("1"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, no-store, must-revalidate"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    (StatusCode::OK, h, "OK").into_response()
}

fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_owned()
}

pub async fn version() -> Json<Value> {
    let v = env!("CARGO_PKG_VERSION");
    Json(json!({
        "Platform": {"Name": "berth"},
        "Components": [{"Name": "Engine", "Version": v, "Details": {"ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION, "Os": "linux", "Arch": "amd64"}}],
        "Version": v,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "",
        "GoVersion": "none (rust)",
        "Os": "linux",
        "Arch": std::env::consts::ARCH.replace("x86_64", "amd64").replace("aarch64", "arm64"),
        "KernelVersion": kernel(),
        "BuildTime": "",
    }))
}

pub async fn info(State(d): State<Arc<Daemon>>) -> Json<Value> {
    let all = d.all();
    let count = |s: Status| all.iter().filter(|c| c.status() == s).count();
    let images = d.images.images().list().map(|m| m.len()).unwrap_or(0);
    let layout = match berth_cgroups::layout() {
        Ok(berth_cgroups::Layout::Unified) => "2",
        _ => "1",
    };
    let mem = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_total: u64 = mem
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |k| k * 1024);
    let hostname = nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default();
    Json(json!({
        "ID": "berth",
        "Containers": all.len(),
        "ContainersRunning": count(Status::Running),
        "ContainersPaused": count(Status::Paused),
        "ContainersStopped": all.len() - count(Status::Running) - count(Status::Paused),
        "Images": images,
        "Driver": "overlay2",
        "DriverStatus": [["Backing Filesystem", "extfs"]],
        "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "none"], "Log": ["json-file", "local", "none"]},
        "MemoryLimit": true, "SwapLimit": true, "CpuCfsPeriod": true, "CpuCfsQuota": true,
        "CPUShares": true, "CPUSet": true, "PidsLimit": true, "OomKillDisable": true,
        "IPv4Forwarding": true, "Debug": false, "NFd": 0, "NGoroutines": 0,
        "SystemTime": clock::now_rfc3339(),
        "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": layout,
        "NEventsListener": 0,
        "KernelVersion": kernel(),
        "OperatingSystem": "linux", "OSVersion": "", "OSType": "linux",
        "Architecture": std::env::consts::ARCH,
        "NCPU": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "MemTotal": mem_total,
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {"IndexConfigs": {}, "InsecureRegistryCIDRs": [], "Mirrors": []},
        "DockerRootDir": d.config.data_root,
        "Name": hostname,
        "Labels": [],
        "ExperimentalBuild": false,
        "ServerVersion": env!("CARGO_PKG_VERSION"),
        "Runtimes": {"berth": {"path": d.config.runtime}},
        "DefaultRuntime": "berth",
        "LiveRestoreEnabled": true,
        "Isolation": "",
        "InitBinary": d.config.init_path,
        "SecurityOptions": ["name=seccomp,profile=builtin"],
        "Warnings": [],
    }))
}

pub async fn events(State(d): State<Arc<Daemon>>, q: Query) -> Result<Response> {
    let f = filters(&q)?;
    let since = q.get("since").and_then(|s| clock::parse_api_time(s));
    let until = q.get("until").and_then(|s| clock::parse_api_time(s));
    let (past, rx) = d.events.since(since.unwrap_or(i128::MAX));
    let past: Vec<_> = if since.is_some() { past } else { Vec::new() };
    let f2 = f.clone();
    let encode = |e: &crate::events::Event| {
        let mut line = serde_json::to_vec(e).unwrap_or_default();
        line.push(b'\n');
        Bytes::from(line)
    };
    let head = futures_util::stream::iter(
        past.into_iter()
            .filter(move |e| crate::events::matches(e, &f) && until.is_none_or(|u| e.time_nano <= u))
            .map(move |e| Ok::<_, std::io::Error>(encode(&e)))
            .collect::<Vec<_>>(),
    );
    let now = clock::unix_nanos(std::time::SystemTime::now());
    let body: Body = if until.is_some_and(|u| u <= now) {
        Body::from_stream(head)
    } else {
        let live = futures_util::stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(e) => return Some((e, rx)),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => return None,
                }
            }
        })
        .take_while(move |e| futures_util::future::ready(until.is_none_or(|u| e.time_nano <= u)))
        .filter(move |e| futures_util::future::ready(crate::events::matches(e, &f2)))
        .map(move |e| Ok::<_, std::io::Error>(encode(&e)));
        let live: std::pin::Pin<Box<dyn futures_util::Stream<Item = std::io::Result<Bytes>> + Send>> = match until {
            Some(u) => {
                let deadline = tokio::time::Instant::now() + std::time::Duration::from_nanos((u - now).max(0) as u64);
                Box::pin(live.take_until(tokio::time::sleep_until(deadline)))
            }
            None => Box::pin(live),
        };
        Body::from_stream(head.chain(live))
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

pub async fn df(State(d): State<Arc<Daemon>>) -> Result<Json<Value>> {
    let images = d.images.clone();
    let du = tokio::task::spawn_blocking(move || images.disk_usage())
        .await
        .map_err(|e| Error::internal("df task", e))??;
    let containers: Vec<Value> = d
        .all()
        .iter()
        .map(|c| {
            let r = c.record();
            crate::container::list::summary(&r, Some(crate::container::list::sizes(&d, &r)))
        })
        .collect();
    let imgs = super::images::summaries(&d, true, &Default::default())?;
    Ok(Json(json!({
        "LayersSize": du.size,
        "Images": imgs,
        "Containers": containers,
        "Volumes": volume_usage(&d),
        "BuildCache": [],
    })))
}

pub async fn not_found(req: axum::extract::Request) -> Error {
    Error::NotFound(format!("page not found: {} {}", req.method(), req.uri().path()))
}

/// Volumes with Docker's `UsageData` (bytes, and how many containers use each).
fn volume_usage(d: &Daemon) -> Vec<Value> {
    d.volumes
        .all()
        .iter()
        .map(|v| {
            let mut j = v.to_json(&d.volumes.root);
            j["UsageData"] = json!({
                "Size": crate::volume::list::du(&d.volumes.data_dir(&v.name)),
                "RefCount": crate::volume::in_use(d, &v.name).len(),
            });
            j
        })
        .collect()
}
