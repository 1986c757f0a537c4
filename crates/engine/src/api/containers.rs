//! /containers/...: each handler parses Docker's parameters and calls the operation in
//! `crate::container`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bollard_stubs::models::{ContainerCreateBody, ContainerUpdateBody};
use bytes::Bytes;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{filters, flag, hijack, Query};
use crate::container::{self, attach as att, list as clist, logs as clogs, record::Status};
use crate::daemon::Daemon;
use crate::error::{Error, Result};

type D = State<Arc<Daemon>>;

pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return serde_json::from_slice(b"{}").map_err(|e| Error::Invalid(e.to_string()));
    }
    serde_json::from_slice(body).map_err(|e| Error::Invalid(format!("invalid JSON body: {e}")))
}

fn ok_status(s: StatusCode) -> Response {
    s.into_response()
}

pub async fn create(State(d): D, q: Query, body: Bytes) -> Result<Response> {
    let body: ContainerCreateBody = parse_json(&body)?;
    let name = q.get("name").cloned();
    let networks = crate::network::plan(&d, &body).await?;
    let d2 = d.clone();
    let (id, warnings) = tokio::task::spawn_blocking(move || container::create::create(&d2, name.as_deref(), body, networks))
        .await
        .map_err(|e| Error::internal("create task", e))??;
    Ok((StatusCode::CREATED, Json(json!({"Id": id, "Warnings": warnings}))).into_response())
}

pub async fn list(State(d): D, q: Query) -> Result<Json<Value>> {
    let limit = q.get("limit").and_then(|l| l.parse::<i64>().ok()).filter(|l| *l > 0).map(|l| l as usize);
    let o = clist::ListOptions { all: flag(&q, "all"), limit, size: flag(&q, "size"), filters: filters(&q)? };
    let d2 = d.clone();
    let v = tokio::task::spawn_blocking(move || clist::list(&d2, &o)).await.map_err(|e| Error::internal("list", e))?;
    Ok(Json(Value::Array(v)))
}

pub async fn inspect(State(d): D, Path(id): Path<String>, q: Query) -> Result<Json<Value>> {
    let c = d.lookup(&id)?;
    Ok(Json(container::inspect::inspect(&d, &c, flag(&q, "size"))))
}

pub async fn remove(State(d): D, Path(id): Path<String>, q: Query) -> Result<Response> {
    let c = d.lookup(&id)?;
    container::remove::remove(&d, &c, flag(&q, "force"), flag(&q, "v")).await?;
    Ok(ok_status(StatusCode::NO_CONTENT))
}

pub async fn start(State(d): D, Path(id): Path<String>) -> Result<Response> {
    let c = d.lookup(&id)?;
    container::start::start(&d, &c).await?;
    Ok(ok_status(StatusCode::NO_CONTENT))
}

fn timeout(q: &std::collections::HashMap<String, String>) -> Result<Option<i64>> {
    q.get("t")
        .or_else(|| q.get("timeout"))
        .map(|t| t.parse().map_err(|_| Error::Invalid(format!("invalid timeout {t:?}"))))
        .transpose()
}

pub async fn stop(State(d): D, Path(id): Path<String>, q: Query) -> Result<Response> {
    let c = d.lookup(&id)?;
    container::stop::stop(&d, &c, timeout(&q)?, q.get("signal").cloned()).await?;
    Ok(ok_status(StatusCode::NO_CONTENT))
}

pub async fn restart(State(d): D, Path(id): Path<String>, q: Query) -> Result<Response> {
    let c = d.lookup(&id)?;
    container::stop::restart(&d, &c, timeout(&q)?, q.get("signal").cloned()).await?;
    Ok(ok_status(StatusCode::NO_CONTENT))
}

pub async fn kill(State(d): D, Path(id): Path<String>, q: Query) -> Result<Response> {
    let c = d.lookup(&id)?;
    container::stop::kill(&d, &c, q.get("signal").cloned()).await?;
    Ok(ok_status(StatusCode::NO_CONTENT))
}

pub async fn pause(State(d): D, Path(id): Path<String>) -> Result<Response> {
    let c = d.lookup(&id)?;
    container::stop::pause(&d, &c, true).await?;
    Ok(ok_status(StatusCode::NO_CONTENT))
}

pub async fn unpause(State(d): D, Path(id): Path<String>) -> Result<Response> {
    let c = d.lookup(&id)?;
    container::stop::pause(&d, &c, false).await?;
    Ok(ok_status(StatusCode::NO_CONTENT))
}

/// Answers at once with the headers; the body (`{"StatusCode": N}`) follows when the
/// awaited condition arrives, so a client can wait before it starts the container.
pub async fn wait(State(d): D, Path(id): Path<String>, q: Query) -> Result<Response> {
    let c = d.lookup(&id)?;
    let condition = q.get("condition").cloned().unwrap_or_else(|| "not-running".into());
    let life = c.lifecycle();
    let mut rx = c.subscribe();
    let result: std::pin::Pin<Box<dyn std::future::Future<Output = i64> + Send>> = match condition.as_str() {
        "not-running" | "" => {
            if !life.running && c.status() != Status::Restarting {
                let code = c.record().state.exit_code;
                Box::pin(async move { code })
            } else {
                let seen = life.exits;
                Box::pin(async move { rx.wait_for(|l| l.exits > seen).await.map(|l| l.last_exit).unwrap_or(0) })
            }
        }
        "next-exit" => {
            let seen = life.exits;
            Box::pin(async move { rx.wait_for(|l| l.exits > seen || l.removed).await.map(|l| l.last_exit).unwrap_or(0) })
        }
        "removed" => {
            let c2 = c.clone();
            Box::pin(async move {
                let code = rx.wait_for(|l| l.removed).await.map(|l| l.last_exit);
                code.unwrap_or_else(|_| c2.record().state.exit_code)
            })
        }
        other => return Err(Error::Invalid(format!("invalid condition: {other:?}"))),
    };
    let c2 = c.clone();
    let body = futures_util::stream::once(async move {
        let code = result.await;
        // A failed start was already reported by the start request; the waiter only
        // gets the code (docker prints a non-null Error as a second message).
        let _ = &c2;
        let v = json!({"StatusCode": code, "Error": null});
        Ok::<_, std::io::Error>(Bytes::from(format!("{v}\n")))
    });
    Ok(([(header::CONTENT_TYPE, "application/json")], Body::from_stream(body)).into_response())
}

pub async fn rename(State(d): D, Path(id): Path<String>, q: Query) -> Result<Response> {
    let c = d.lookup(&id)?;
    let new = container::names::validate(q.get("name").map(String::as_str).unwrap_or(""))?;
    let old = c.name();
    if old == new {
        return Err(Error::Conflict("Renaming a container with the same name as its current name".into()));
    }
    d.reserve_name(&new, &c.id)?;
    // The name is the first DNS name of each endpoint (the rest are aliases and the id).
    let renamed = c.update(|r| {
        r.name = new.clone();
        for ep in &mut r.net.endpoints {
            if let Some(first) = ep.dns_names.first_mut() {
                *first = new.clone();
            }
        }
        r.net.endpoints.clone()
    });
    let endpoints = match renamed {
        Ok(eps) => eps,
        Err(e) => {
            d.release_name(&new, &c.id);
            return Err(e);
        }
    };
    d.release_name(&old, &c.id);
    for ep in &endpoints {
        d.networks.set_dns_names(&c.id, ep);
    }
    let mut attrs = std::collections::HashMap::new();
    attrs.insert("name".to_owned(), new);
    attrs.insert("oldName".to_owned(), format!("/{old}"));
    d.events.container("rename", &c.id, &c.record().image, attrs);
    Ok(ok_status(StatusCode::NO_CONTENT))
}

pub async fn update(State(d): D, Path(id): Path<String>, body: Bytes) -> Result<Json<Value>> {
    let c = d.lookup(&id)?;
    let u: ContainerUpdateBody = parse_json(&body)?;
    let _op = c.op.lock().await;
    let next = c.update(|r| {
        let h = &mut r.host_config;
        macro_rules! set { ($($f:ident),*) => { $( if u.$f.is_some() { h.$f = u.$f.clone(); } )* } }
        set!(cpu_shares, memory, blkio_weight, cpu_period, cpu_quota, cpuset_cpus, cpuset_mems, memory_reservation, memory_swap, nano_cpus, pids_limit);
        if u.restart_policy.is_some() {
            h.restart_policy = u.restart_policy.clone();
        }
        h.clone()
    })?;
    if c.status().is_running() {
        let mut res = json!({});
        container::spec::resources(&next, &mut res);
        let file = c.state_dir.join("update.json");
        std::fs::write(&file, res.to_string()).map_err(|e| Error::internal(format!("write {}", file.display()), e))?;
        let file_s = file.to_string_lossy().into_owned();
        crate::runtime::run(&d, &["update", "--resources", &file_s, &c.id]).await?;
        let _ = std::fs::remove_file(&file);
    }
    Ok(Json(json!({"Warnings": []})))
}

pub async fn resize(State(d): D, Path(id): Path<String>, q: Query) -> Result<Response> {
    let c = d.lookup(&id)?;
    if !c.lifecycle().shim_up {
        return Err(Error::Conflict(format!("Container {} is not running", c.id)));
    }
    let h = q.get("h").cloned().unwrap_or_default();
    let w = q.get("w").cloned().unwrap_or_default();
    crate::shim::request(&c.state_dir, &format!("resize {h} {w}")).await?;
    Ok(ok_status(StatusCode::OK))
}

/// Copies client → shim (watching for the detach keys) and shim → client until either
/// side is done.
async fn relay(client: hijack::Upgraded, shim: tokio::net::UnixStream, detach: Vec<u8>, stdin: bool) {
    let (mut cr, mut cw) = tokio::io::split(client);
    let (mut sr, mut sw) = shim.into_split();
    let out = async {
        let _ = tokio::io::copy(&mut sr, &mut cw).await;
        let _ = cw.shutdown().await;
    };
    let inp = async {
        if !stdin {
            return std::future::pending::<()>().await;
        }
        let mut m = att::DetachMatcher::new(detach);
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => {
                    let _ = sw.shutdown().await;
                    return std::future::pending::<()>().await;
                }
                Ok(n) => n,
            };
            let (fwd, detached) = m.feed(&buf[..n]);
            if !fwd.is_empty() && sw.write_all(&fwd).await.is_err() {
                return;
            }
            if detached {
                return;
            }
        }
    };
    tokio::select! { _ = out => {}, _ = inp => {} }
}

pub async fn attach(State(d): D, Path(id): Path<String>, q: Query, req: Request) -> Result<Response> {
    let c = d.lookup(&id)?;
    let (stdin, stdout, stderr) = (flag(&q, "stdin"), flag(&q, "stdout"), flag(&q, "stderr"));
    let detach = att::parse_detach_keys(q.get("detachKeys").map(String::as_str).filter(|s| !s.is_empty()).unwrap_or("ctrl-p,ctrl-q"))?;
    let tty = c.record().config.tty == Some(true);
    if !flag(&q, "stream") && !flag(&q, "logs") {
        return Err(Error::Invalid("at least one of stream or logs must be set".into()));
    }
    if matches!(c.status(), Status::Exited | Status::Dead) && !hijack::wants_upgrade(&req) {
        return Err(Error::Conflict("You cannot attach to a stopped container, start it first".into()));
    }
    // Register as a waiting attacher now, before the client's start request can arrive.
    let shim_fut = {
        let c = c.clone();
        async move { att::open(&c, stdin, stdout, stderr).await }
    };
    let pending = tokio::spawn(shim_fut);
    if hijack::wants_upgrade(&req) {
        Ok(hijack::upgrade(req, tty, move |client| async move {
            match pending.await {
                Ok(Ok(shim)) => relay(client, shim, detach, stdin).await,
                Ok(Err(e)) => tracing::debug!("attach: {e}"),
                Err(e) => tracing::debug!("attach task: {e}"),
            }
        }))
    } else {
        let shim = pending.await.map_err(|e| Error::internal("attach", e))??;
        let stream = tokio_util_stream(shim);
        Ok(([(header::CONTENT_TYPE, if tty { hijack::RAW_STREAM } else { hijack::MULTIPLEXED_STREAM })], Body::from_stream(stream)).into_response())
    }
}

fn tokio_util_stream(mut s: tokio::net::UnixStream) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> {
    futures_util::stream::poll_fn(move |cx| {
        let mut buf = [0u8; 16384];
        let mut rb = tokio::io::ReadBuf::new(&mut buf);
        match tokio::io::AsyncRead::poll_read(std::pin::Pin::new(&mut s), cx, &mut rb) {
            std::task::Poll::Ready(Ok(())) if rb.filled().is_empty() => std::task::Poll::Ready(None),
            std::task::Poll::Ready(Ok(())) => std::task::Poll::Ready(Some(Ok(Bytes::copy_from_slice(rb.filled())))),
            std::task::Poll::Ready(Err(e)) => std::task::Poll::Ready(Some(Err(e))),
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    })
}

pub async fn logs(State(d): D, Path(id): Path<String>, q: Query) -> Result<Response> {
    let c = d.lookup(&id)?;
    let r = c.record();
    if r.host_config.log_config.as_ref().and_then(|l| l.typ.as_deref()) == Some("none") {
        return Err(Error::Invalid("configured logging driver does not support reading".into()));
    }
    let tail = match q.get("tail").map(String::as_str) {
        None | Some("") | Some("all") => None,
        Some(n) => Some(n.parse::<usize>().map_err(|_| Error::Invalid(format!("invalid tail {n:?}")))?),
    };
    let o = clogs::Options {
        stdout: flag(&q, "stdout"),
        stderr: flag(&q, "stderr"),
        follow: flag(&q, "follow"),
        since: q.get("since").and_then(|s| crate::clock::parse_api_time(s)).filter(|s| *s > 0),
        until: q.get("until").and_then(|s| crate::clock::parse_api_time(s)).filter(|s| *s > 0),
        tail,
        timestamps: flag(&q, "timestamps"),
        tty: r.config.tty == Some(true),
    };
    if !o.stdout && !o.stderr {
        return Err(Error::Invalid("Bad parameters: you must choose at least one stream".into()));
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(64);
    let path = container::start::log_path(&c);
    let life = c.subscribe();
    let tty = o.tty;
    tokio::task::spawn_blocking(move || clogs::stream(path, o, tx, life));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (Ok::<_, std::io::Error>(b), rx)) });
    Ok(([(header::CONTENT_TYPE, if tty { hijack::RAW_STREAM } else { hijack::MULTIPLEXED_STREAM })], Body::from_stream(stream)).into_response())
}

pub async fn top(State(d): D, Path(id): Path<String>, q: Query) -> Result<Json<Value>> {
    let c = d.lookup(&id)?;
    Ok(Json(container::top::top(&d, &c, q.get("ps_args").map(String::as_str).unwrap_or("")).await?))
}

pub async fn stats(State(d): D, Path(id): Path<String>, q: Query) -> Result<Response> {
    let c = d.lookup(&id)?;
    let stream = q.get("stream").is_none_or(|s| s == "1" || s == "true");
    let one_shot = flag(&q, "one-shot");
    if !stream {
        let d2 = d.clone();
        let c2 = c.clone();
        let first = tokio::task::spawn_blocking(move || container::stats::sample(&d2, &c2)).await.map_err(|e| Error::internal("stats", e))?;
        if one_shot {
            return Ok(Json(first).into_response());
        }
        // Docker's non-streamed answer carries two samples a second apart, so the CPU
        // percentage means something.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut second = container::stats::sample(&d, &c);
        second["precpu_stats"] = first["cpu_stats"].clone();
        second["preread"] = first["read"].clone();
        return Ok(Json(second).into_response());
    }
    let s = futures_util::stream::unfold((d, c, None::<Value>, true), |(d, c, prev, first)| async move {
        if !first {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        if c.lifecycle().removed {
            return None;
        }
        let mut v = container::stats::sample(&d, &c);
        if let Some(p) = &prev {
            v["precpu_stats"] = p["cpu_stats"].clone();
            v["preread"] = p["read"].clone();
        }
        let line = Bytes::from(format!("{v}\n"));
        Some((Ok::<_, std::io::Error>(line), (d, c, Some(v), false)))
    });
    Ok(([(header::CONTENT_TYPE, "application/json")], Body::from_stream(s)).into_response())
}

pub async fn changes(State(d): D, Path(id): Path<String>) -> Result<Json<Value>> {
    let c = d.lookup(&id)?;
    let r = c.record();
    let upper = c.dir.join("upper");
    let lowers: Vec<std::path::PathBuf> = r.layers.iter().rev().map(|l| d.images.layers().diff_path(l)).collect();
    let list = tokio::task::spawn_blocking(move || {
        let refs: Vec<&std::path::Path> = lowers.iter().map(|p| p.as_path()).collect();
        berth_image::changes(&refs, &upper)
    })
    .await
    .map_err(|e| Error::internal("changes", e))??;
    let v: Vec<Value> = list
        .iter()
        .map(|ch| {
            let kind = match ch.kind.letter() {
                'C' => 0,
                'A' => 1,
                _ => 2,
            };
            json!({"Path": ch.path, "Kind": kind})
        })
        .collect();
    Ok(Json(if v.is_empty() { Value::Null } else { Value::Array(v) }))
}

pub async fn prune(State(d): D, q: Query) -> Result<Json<Value>> {
    let f = filters(&q)?;
    let labels = f.get("label").cloned().unwrap_or_default();
    let removed = container::remove::prune(&d, |c| {
        let l = c.record().config.labels.unwrap_or_default();
        !labels.iter().all(|want| match want.split_once('=') {
            Some((k, v)) => l.get(k).map(String::as_str) == Some(v),
            None => l.contains_key(want),
        })
    })
    .await;
    Ok(Json(json!({"ContainersDeleted": if removed.is_empty() { Value::Null } else { json!(removed) }, "SpaceReclaimed": 0})))
}

