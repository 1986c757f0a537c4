//! /containers/{id}/archive (HEAD stat, GET a tar, PUT a tar: `docker cp`) and
//! /containers/{id}/export, on the container's root: the live mount of a running
//! container, or one mounted for the request and unmounted after it.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::images::{body_from_writer, spool};
use super::{flag, Query};
use crate::container::archive::{self, ArchiveError};
use crate::container::{start, Container};
use crate::daemon::Daemon;
use crate::error::{Error, Result};

type D = State<Arc<Daemon>>;

/// A root to work in; unmounted on drop when it was mounted for this request.
struct Root {
    path: PathBuf,
    temporary: bool,
}

impl Drop for Root {
    fn drop(&mut self) {
        if self.temporary {
            let _ = nix::mount::umount2(&self.path, nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

async fn root(d: &Arc<Daemon>, c: &Container) -> Result<Root> {
    let live = start::rootfs(c);
    if start::is_mount_point(&live) {
        return Ok(Root { path: live, temporary: false });
    }
    let path = start::mount(d, c).await?;
    // The container may have been started meanwhile and now uses this mount.
    Ok(Root { path, temporary: !c.status().is_running() })
}

/// Where `path` of the container really is: a path at or below one of its volume or
/// bind mount destinations lives in that mount's host directory (the merged root only
/// has an empty mount point there), so the operation runs with that directory as its
/// root and the rest of the path, still resolved inside it. Matching is lexical, on the
/// cleaned path, the way Docker's daemon matches mount points.
fn locate(d: &Daemon, c: &Container, root: &std::path::Path, path: &str) -> Result<(PathBuf, String)> {
    let mut comps: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                comps.pop();
            }
            p => comps.push(p),
        }
    }
    let r = c.record();
    let mut mounts: Vec<(String, PathBuf, Option<String>)> =
        r.volume_mounts.iter().map(|m| (m.destination.clone(), m.source.clone(), m.volume.clone())).collect();
    for b in r.host_config.binds.iter().flatten() {
        if let Ok(s) = crate::volume::resolve::parse_bind(b) {
            if s.is_host() {
                mounts.push((s.destination, s.source.unwrap_or_default().into(), None));
            }
        }
    }
    for m in r.host_config.mounts.iter().flatten() {
        if m.typ == Some(bollard_stubs::models::MountType::BIND) {
            mounts.push((m.target.clone().unwrap_or_default(), m.source.clone().unwrap_or_default().into(), None));
        }
    }
    let mut best: Option<(usize, PathBuf, Option<String>)> = None;
    for (dst, src, vol) in mounts {
        let dc: Vec<&str> = dst.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
        if comps.len() >= dc.len() && comps[..dc.len()] == dc[..] && best.as_ref().is_none_or(|b| dc.len() > b.0) {
            best = Some((dc.len(), src, vol));
        }
    }
    let Some((n, src, vol)) = best else { return Ok((root.to_path_buf(), path.to_owned())) };
    if let Some(name) = vol {
        let v = d.volumes.get(&name)?;
        if !v.options.is_empty() && !start::is_mount_point(&src) {
            return Err(Error::Conflict(format!(
                "volume {name} has driver options and is only mounted while a container using it runs: start the container to copy into or out of it"
            )));
        }
    }
    let mut rest = format!("/{}", comps[n..].join("/"));
    // `docker cp` gives meaning to a trailing `/` and `/.`: keep them.
    if path.ends_with("/.") {
        rest.push_str(if rest == "/" { "." } else { "/." });
    } else if path.ends_with('/') && rest != "/" {
        rest.push('/');
    }
    Ok((src, rest))
}

fn map<'a>(c: &'a Container, path: &str) -> impl Fn(ArchiveError) -> Error + 'a {
    let path = path.to_owned();
    move |e| match e {
        ArchiveError::NotFound { .. } => Error::NotFound(format!("Could not find the file {path} in container {}", c.name())),
        ArchiveError::NotADirectory { .. } | ArchiveError::UnsafeEntry { .. } | ArchiveError::Overwrite { .. } => Error::Invalid(e.to_string()),
        e => Error::Internal(e.to_string()),
    }
}

fn path_param(q: &std::collections::HashMap<String, String>) -> Result<String> {
    q.get("path").cloned().filter(|p| !p.is_empty()).ok_or_else(|| Error::Invalid("path is required".into()))
}

pub async fn head(State(d): D, Path(id): Path<String>, q: Query) -> Result<Response> {
    let c = d.lookup(&id)?;
    let path = path_param(&q)?;
    let r = root(&d, &c).await?;
    let (rp, p) = locate(&d, &c, &r.path, &path)?;
    let st = tokio::task::spawn_blocking(move || archive::stat(&rp, &p))
        .await
        .map_err(|e| Error::internal("stat", e))?
        .map_err(map(&c, &path))?;
    drop(r);
    let mut resp = StatusCode::OK.into_response();
    resp.headers_mut().insert(
        "X-Docker-Container-Path-Stat",
        HeaderValue::from_str(&st.header_value()).map_err(|e| Error::internal("stat header", e))?,
    );
    Ok(resp)
}

pub async fn get(State(d): D, Path(id): Path<String>, q: Query) -> Result<Response> {
    let c = d.lookup(&id)?;
    let path = path_param(&q)?;
    let r = root(&d, &c).await?;
    let (base, inner) = locate(&d, &c, &r.path, &path)?;
    let st = {
        let (rp, p) = (base.clone(), inner.clone());
        tokio::task::spawn_blocking(move || archive::stat(&rp, &p))
            .await
            .map_err(|e| Error::internal("stat", e))?
            .map_err(map(&c, &path))?
    };
    let follow = flag(&q, "followLink") || flag(&q, "follow_link");
    let body = body_from_writer(move |w| {
        let _r = r;
        archive::get(&base, &inner, w, follow).map(drop).map_err(|e| Error::Internal(e.to_string()))
    });
    let mut resp = ([(header::CONTENT_TYPE, "application/x-tar")], body).into_response();
    if let Ok(v) = HeaderValue::from_str(&st.header_value()) {
        resp.headers_mut().insert("X-Docker-Container-Path-Stat", v);
    }
    Ok(resp)
}

pub async fn put(State(d): D, Path(id): Path<String>, q: Query, req: Request) -> Result<Response> {
    let c = d.lookup(&id)?;
    let path = path_param(&q)?;
    let no_overwrite = flag(&q, "noOverwriteDirNonDir");
    let copy_owner = flag(&q, "copyUIDGID");
    let file = spool(&d, req.into_body()).await?;
    let r = root(&d, &c).await?;
    let owner = if copy_owner {
        let spec = c.record().config.user.unwrap_or_default();
        if spec.is_empty() {
            None
        } else {
            let u = crate::container::user::resolve(&r.path, &spec, &[])?;
            Some((u.uid, u.gid))
        }
    } else {
        None
    };
    let (rp, p) = locate(&d, &c, &r.path, &path)?;
    tokio::task::spawn_blocking(move || archive::put_with_owner(&rp, &p, file, no_overwrite, owner))
        .await
        .map_err(|e| Error::internal("extract", e))?
        .map_err(map(&c, &path))?;
    drop(r);
    Ok(StatusCode::OK.into_response())
}

pub async fn export(State(d): D, Path(id): Path<String>) -> Result<Response> {
    let c = d.lookup(&id)?;
    let r = root(&d, &c).await?;
    let body = body_from_writer(move |w| {
        let r = r;
        archive::export(&r.path, w).map_err(|e| Error::Internal(e.to_string()))
    });
    let r = c.record();
    let mut attrs = std::collections::HashMap::new();
    attrs.insert("name".to_owned(), r.name);
    d.events.container("export", &c.id, &r.image, attrs);
    Ok(([(header::CONTENT_TYPE, "application/x-tar")], body).into_response())
}
