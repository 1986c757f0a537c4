//! /images/... and /commit over the image store. Names may contain `/` (`quay.io/a/b`),
//! so `/images/{name}/json` and friends are routed by their last segment.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_image::{familiar, familiar_name, Filter, ImageRow, ListOptions, Reference};
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{json, Value};

use super::{filters, flag, Query};
use crate::daemon::Daemon;
use crate::error::{Error, Result};

type D = State<Arc<Daemon>>;

/// A `Write` whose bytes become a response body.
struct ChannelWriter(tokio::sync::mpsc::Sender<Bytes>);

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Bytes::copy_from_slice(buf))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `f` writing into the response body.
pub fn body_from_writer<F>(f: F) -> Body
where
    F: FnOnce(&mut dyn Write) -> Result<()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    tokio::task::spawn_blocking(move || {
        let mut w = std::io::BufWriter::with_capacity(256 * 1024, ChannelWriter(tx));
        if let Err(e) = f(&mut w).and_then(|_| w.flush().map_err(|e| Error::internal("write", e))) {
            tracing::warn!("streamed response: {e}");
        }
    });
    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, std::io::Error>(b), rx))
    }))
}

/// The request body spooled to a temp file in the data root (the store reads archives
/// synchronously; the file also bounds memory for large archives).
pub async fn spool(d: &Daemon, body: Body) -> Result<std::fs::File> {
    let dir = d.config.data_root.join("tmp");
    std::fs::create_dir_all(&dir).map_err(|e| Error::internal(format!("create {}", dir.display()), e))?;
    let f = tempfile::tempfile_in(&dir).map_err(|e| Error::internal("create temp file", e))?;
    let mut out = tokio::fs::File::from_std(f.try_clone().map_err(|e| Error::internal("dup", e))?);
    let mut s = body.into_data_stream();
    use tokio::io::AsyncWriteExt;
    while let Some(chunk) = s.next().await {
        let chunk = chunk.map_err(|e| Error::Invalid(format!("read request body: {e}")))?;
        out.write_all(&chunk).await.map_err(|e| Error::internal("spool body", e))?;
    }
    out.flush().await.map_err(|e| Error::internal("spool body", e))?;
    let mut f = f;
    std::io::Seek::rewind(&mut f).map_err(|e| Error::internal("rewind", e))?;
    Ok(f)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| Error::internal("image task", e))?
}

fn not_found(name: &str) -> impl Fn(berth_image::Error) -> Error + '_ {
    move |e| match e {
        berth_image::Error::ImageNotFound { .. } => Error::NotFound(format!("No such image: {name}")),
        e => e.into(),
    }
}

/// One API summary per image, all its tags together (the store lists one row per tag).
pub fn summaries(d: &Daemon, all: bool, f: &HashMap<String, Vec<String>>) -> Result<Vec<Value>> {
    let mut fl: Vec<Filter> = Vec::new();
    for v in f.get("dangling").into_iter().flatten() {
        fl.push(Filter::Dangling(v == "true" || v == "1"));
    }
    for l in f.get("label").into_iter().flatten() {
        fl.push(match l.split_once('=') {
            Some((k, v)) => Filter::Label { key: k.into(), value: Some(v.into()) },
            None => Filter::Label { key: l.clone(), value: None },
        });
    }
    for r in f.get("reference").into_iter().flatten() {
        fl.push(Filter::Reference(r.clone()));
    }
    let rows: Vec<ImageRow> = d.images.list(&ListOptions { all, filters: fl })?;
    let used: HashMap<String, i64> = d.all().iter().fold(HashMap::new(), |mut m, c| {
        *m.entry(c.record().image_id).or_default() += 1;
        m
    });
    Ok(berth_image::summaries(rows)
        .into_iter()
        .map(|s| {
            let id = s.id.to_string();
            json!({
                "Id": id, "ParentId": "", "RepoTags": s.repo_tags, "RepoDigests": s.repo_digests,
                "Created": s.created_unix.unwrap_or(0), "Size": s.size, "SharedSize": -1,
                "VirtualSize": s.size, "Labels": s.labels, "Containers": used.get(&id).copied().unwrap_or(0),
            })
        })
        .collect())
}

pub async fn list(State(d): D, q: Query) -> Result<Json<Value>> {
    let f = filters(&q)?;
    let all = flag(&q, "all");
    let d2 = d.clone();
    Ok(Json(Value::Array(blocking(move || summaries(&d2, all, &f)).await?)))
}

fn progress(lines: Vec<Value>) -> Response {
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// POST /images/create: `fromSrc=-` imports the body; `fromImage` pulls from a registry.
pub async fn create(State(d): D, q: Query, req: Request) -> Result<Response> {
    if let Some(src) = q.get("fromSrc") {
        if src != "-" {
            return Err(Error::NotImplemented(format!("import from {src}: only `-` (the request body) is supported")));
        }
        let repo = q.get("repo").cloned().filter(|r| !r.is_empty());
        let tag = q.get("tag").cloned().filter(|t| !t.is_empty());
        let reference = match repo {
            Some(r) => Some(Reference::parse(&match tag { Some(t) => format!("{r}:{t}"), None => r }).map_err(|e| Error::Invalid(e.to_string()))?),
            None => None,
        };
        let file = spool(&d, req.into_body()).await?;
        let d2 = d.clone();
        let id = blocking(move || Ok(d2.images.import_rootfs_tar_as(file, reference.as_ref())?)).await?;
        d.events.image("import", &id.to_string(), &id.to_string());
        return Ok(progress(vec![json!({"status": id.to_string()})]));
    }
    let name = q.get("fromImage").cloned().unwrap_or_default();
    let tag = q.get("tag").cloned().unwrap_or_default();
    let full = if tag.is_empty() {
        name.clone()
    } else if tag.starts_with("sha256:") {
        format!("{name}@{tag}")
    } else {
        format!("{name}:{tag}")
    };
    let reference = Reference::parse(&full).map_err(|e| Error::Invalid(e.to_string()))?;
    let platform = match q.get("platform").filter(|p| !p.is_empty()) {
        Some(p) => berth_image::Platform::parse(p)
            .ok_or_else(|| Error::Invalid(format!("invalid platform {p:?}: expected os/arch[/variant]")))?,
        None => berth_image::Platform::default(),
    };
    let credentials = registry_auth(req.headers())?;
    let opts = crate::registry::options(&d.config);
    let body = progress_body(move |w| {
        let p = crate::registry::JsonProgress::new(w);
        let tag_id = reference.tag().map_or_else(|| reference.digest().map_or_else(String::new, |d| d.to_string()), str::to_owned);
        p.line(json!({"status": format!("Pulling from {}", familiar_path(&reference)), "id": tag_id}));
        let pull = berth_registry::PullOptions { platform, credentials };
        match berth_registry::pull(&opts, &d.images, &reference, &pull, &p) {
            Ok(done) => {
                p.status(&format!("Digest: {}", done.digest));
                let shown = familiar(&reference);
                if done.up_to_date {
                    p.status(&format!("Status: Image is up to date for {shown}"));
                } else {
                    p.status(&format!("Status: Downloaded newer image for {shown}"));
                }
                d.events.image("pull", &done.id.to_string(), &shown);
            }
            Err(e) => p.error(&e.to_string()),
        }
        Ok(())
    });
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// `library/busybox` for Docker Hub images, the repository path otherwise, as docker's
/// "Pulling from" line names it.
fn familiar_path(r: &Reference) -> String {
    r.path().to_owned()
}

/// The `X-Registry-Auth` header's credentials, if any.
fn registry_auth(h: &axum::http::HeaderMap) -> Result<Option<berth_registry::Credentials>> {
    match h.get("x-registry-auth").and_then(|v| v.to_str().ok()) {
        Some(v) => berth_registry::Credentials::from_registry_auth(v).map_err(|e| Error::Invalid(e.to_string())),
        None => Ok(None),
    }
}

/// Runs `f` writing Docker progress messages into the response body as they come.
pub(crate) fn progress_body<F>(f: F) -> Body
where
    F: FnOnce(&mut (dyn Write + Send)) -> Result<()> + Send + 'static,
{
    progress_body_with((), f)
}

/// [`progress_body`] whose body holds `guard` until it is dropped: when it was all sent,
/// or when the client went away (a build's [`Drop`] guard cancels it then).
pub(crate) fn progress_body_with<G, F>(guard: G, f: F) -> Body
where
    G: Send + 'static,
    F: FnOnce(&mut (dyn Write + Send)) -> Result<()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(64);
    tokio::task::spawn_blocking(move || {
        let mut w = ChannelWriter(tx);
        if let Err(e) = f(&mut w) {
            tracing::warn!("progress stream: {e}");
        }
    });
    Body::from_stream(futures_util::stream::unfold((rx, guard), |(mut rx, guard)| async move {
        rx.recv().await.map(|b| (Ok::<_, std::io::Error>(b), (rx, guard)))
    }))
}

/// POST /auth: checks the credentials against the registry, as `docker login` asks.
pub async fn auth(State(d): D, body: axum::body::Bytes) -> Result<Response> {
    let v: Value = serde_json::from_slice(&body).map_err(|e| Error::Invalid(format!("auth request: {e}")))?;
    let get = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let server = crate::registry::server_host(&get("serveraddress"));
    let creds = berth_registry::Credentials::new(&get("username"), &get("password"));
    let opts = crate::registry::options(&d.config);
    let s2 = server.clone();
    let result = blocking(move || Ok(berth_registry::login(&opts, &s2, &creds))).await?;
    match result {
        Ok(()) => Ok(Json(json!({"Status": "Login Succeeded", "IdentityToken": ""})).into_response()),
        Err(e @ berth_registry::Error::Unauthorized { .. }) => {
            Ok((StatusCode::UNAUTHORIZED, Json(json!({"message": e.to_string()}))).into_response())
        }
        Err(e) => Err(Error::Internal(e.to_string())),
    }
}

pub async fn load(State(d): D, q: Query, req: Request) -> Result<Response> {
    let quiet = flag(&q, "quiet");
    let file = spool(&d, req.into_body()).await?;
    let d2 = d.clone();
    let images = blocking(move || Ok(d2.images.load(file)?)).await?;
    let mut lines = Vec::new();
    for image in images {
        if image.names.is_empty() {
            lines.push(json!({"stream": format!("Loaded image ID: {}\n", image.id)}));
        }
        for n in &image.names {
            lines.push(json!({"stream": format!("Loaded image: {}\n", familiar(n))}));
            d.events.image("load", &image.id.to_string(), &familiar(n));
        }
    }
    if quiet {
        lines.retain(|_| true);
    }
    Ok(progress(lines))
}

fn save_response(d: Arc<Daemon>, names: Vec<String>) -> Result<Response> {
    let refs = names
        .iter()
        .map(|n| Reference::parse(n).map_err(|e| Error::Invalid(e.to_string())))
        .collect::<Result<Vec<_>>>()?;
    for n in &names {
        d.images.resolve(n).map_err(not_found(n))?;
    }
    let body = body_from_writer(move |w| Ok(d.images.save(&refs, w, berth_image::Format::DockerArchive)?));
    Ok(([(header::CONTENT_TYPE, "application/x-tar")], body).into_response())
}

pub async fn get_many(State(d): D, axum::extract::RawQuery(raw): axum::extract::RawQuery) -> Result<Response> {
    let names: Vec<String> = form_pairs(raw.as_deref().unwrap_or(""))
        .into_iter()
        .filter(|(k, _)| k == "names")
        .map(|(_, v)| v)
        .collect();
    if names.is_empty() {
        return Err(Error::Invalid("no image names given".into()));
    }
    save_response(d, names)
}

/// `a=1&a=2`: repeated keys kept (the map extractor keeps one).
pub(crate) fn form_pairs(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = (b[i] == b'%' && i + 2 < b.len())
            .then(|| std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()))
            .flatten();
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
                continue;
            }
            (b'+', _) => out.push(b' '),
            (c, _) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub async fn prune(State(d): D, q: Query) -> Result<Json<Value>> {
    let f = filters(&q)?;
    let all = f.get("dangling").is_some_and(|v| v.iter().any(|x| x == "false" || x == "0"));
    let d2 = d.clone();
    let removal = blocking(move || Ok(d2.images.prune(all)?)).await?;
    Ok(Json(json!({"ImagesDeleted": deleted(&removal), "SpaceReclaimed": removal.reclaimed})))
}

fn deleted(r: &berth_image::Removal) -> Value {
    let mut v: Vec<Value> = r
        .untagged
        .iter()
        .map(|u| json!({"Untagged": Reference::parse(u).map_or_else(|_| u.clone(), |r| familiar(&r))}))
        .collect();
    v.extend(r.deleted.iter().map(|id| json!({"Deleted": id.to_string()})));
    if v.is_empty() {
        Value::Null
    } else {
        Value::Array(v)
    }
}

pub async fn search() -> Error {
    Error::NotImplemented("search: not supported (the distribution API registries speak has no search; Docker Hub's search API is not implemented)".into())
}

/// GET /images/{name}/json | /history | /get
pub async fn by_name_get(State(d): D, Path(rest): Path<String>) -> Result<Response> {
    let (name, what) = rest.rsplit_once('/').ok_or_else(|| Error::NotFound(format!("page not found: /images/{rest}")))?;
    let name = name.to_owned();
    match what {
        "json" => {
            let d2 = d.clone();
            let n = name.clone();
            let mut v = blocking(move || d2.images.inspect(&n).map_err(not_found(&n))).await?;
            let id = v["Id"].as_str().unwrap_or("").to_owned();
            let used = d.all().iter().filter(|c| c.record().image_id == id).count();
            v["Containers"] = json!(used);
            Ok(Json(v).into_response())
        }
        "history" => {
            let d2 = d.clone();
            let n = name.clone();
            let rows = blocking(move || d2.images.history(&n).map_err(not_found(&n))).await?;
            let v: Vec<Value> = rows
                .into_iter()
                .map(|r| json!({"Id": r.id.map_or_else(|| "<missing>".to_owned(), |i| i.to_string()), "Created": r.created_unix.unwrap_or(0), "CreatedBy": r.created_by, "Tags": null, "Size": r.size, "Comment": r.comment}))
                .collect();
            Ok(Json(Value::Array(v)).into_response())
        }
        "get" => save_response(d, vec![name]),
        _ => Err(Error::NotFound(format!("page not found: /images/{rest}"))),
    }
}

/// POST /images/{name}/tag | /push
pub async fn by_name_post(State(d): D, Path(rest): Path<String>, q: Query, headers: axum::http::HeaderMap) -> Result<Response> {
    let (name, what) = rest.rsplit_once('/').ok_or_else(|| Error::NotFound(format!("page not found: /images/{rest}")))?;
    let name = name.to_owned();
    match what {
        "tag" => {
            let repo = q.get("repo").cloned().unwrap_or_default();
            let tag = q.get("tag").cloned().filter(|t| !t.is_empty()).unwrap_or_else(|| "latest".into());
            let target = Reference::parse(&format!("{repo}:{tag}")).map_err(|e| Error::Invalid(e.to_string()))?;
            let d2 = d.clone();
            let n = name.clone();
            let t2 = target.clone();
            blocking(move || d2.images.tag(&n, &t2).map_err(not_found(&n)).map(drop)).await?;
            d.events.image("tag", &name, &familiar(&target));
            Ok(StatusCode::CREATED.into_response())
        }
        "push" => {
            let tag = q.get("tag").cloned().filter(|t| !t.is_empty());
            let last = name.rsplit('/').next().unwrap_or(&name);
            let named_tag = last.contains(':') || name.contains('@');
            let full = match &tag {
                Some(t) => format!("{name}:{t}"),
                None => name.clone(),
            };
            let reference = Reference::parse(&full).map_err(|e| Error::Invalid(e.to_string()))?;
            // No tag at all: every tag of the repository, as the Engine API defines it
            // (`docker push --all-tags`).
            let d2 = d.clone();
            let (r2, all) = (reference.clone(), tag.is_none() && !named_tag);
            let targets: Vec<(Reference, berth_image::Digest)> = blocking(move || {
                let refs: Vec<Reference> = if all {
                    let mut v: Vec<Reference> = d2.images.images().list()?.keys().filter_map(|k| Reference::parse(k).ok()).filter(|r| r.name() == r2.name() && r.tag().is_some() && r.digest().is_none()).collect();
                    v.sort_by(|a, b| a.tag().cmp(&b.tag()));
                    v
                } else {
                    vec![r2]
                };
                let mut out = Vec::new();
                for r in refs {
                    if let Some(img) = d2.images.image(&r)? {
                        out.push((r, img.id.0));
                    }
                }
                Ok(out)
            })
            .await?;
            if targets.is_empty() {
                return Err(Error::NotFound(format!("An image does not exist locally with the tag: {}", familiar_name(&reference))));
            }
            let credentials = registry_auth(&headers)?;
            let opts = crate::registry::options(&d.config);
            let body = progress_body(move |w| {
                let mut p = crate::registry::JsonProgress::new(w);
                p.status(&format!("The push refers to repository [{}]", reference.name()));
                for (target, config) in targets {
                    p.hidden = Some(config);
                    let push = berth_registry::PushOptions { credentials: credentials.clone(), chunk_size: None };
                    match berth_registry::push(&opts, &d.images, &target, &push, &p) {
                        Ok(done) => {
                            let tag = done.tag.clone().unwrap_or_default();
                            p.status(&format!("{tag}: digest: {} size: {}", done.digest, done.size));
                            p.line(json!({"progressDetail": {}, "aux": {"Tag": tag, "Digest": done.digest.to_string(), "Size": done.size}}));
                            d.events.image("push", &familiar(&target), &familiar(&target));
                        }
                        Err(e) => {
                            p.error(&e.to_string());
                            break;
                        }
                    }
                }
                Ok(())
            });
            Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
        }
        _ => Err(Error::NotFound(format!("page not found: /images/{rest}"))),
    }
}

pub async fn remove(State(d): D, Path(name): Path<String>, q: Query) -> Result<Json<Value>> {
    let force = flag(&q, "force");
    // Docker refuses to remove an image a container uses, even stopped, unless forced.
    if !force {
        if let Ok(img) = d.images.resolve(&name) {
            let id = img.id.to_string();
            if let Some(c) = d.all().into_iter().find(|c| c.record().image_id == id) {
                let tags = d.images.images().list().map(|m| m.values().filter(|v| **v == img.manifest_digest).count()).unwrap_or(0);
                if tags <= 1 || !name.contains(':') && name.starts_with(&id[7..11]) {
                    return Err(Error::Conflict(format!(
                        "conflict: unable to remove repository reference \"{name}\" (must force) - container {} is using its referenced image {}",
                        &c.id[..12],
                        &id[7..19]
                    )));
                }
            }
        }
    }
    let d2 = d.clone();
    let n = name.clone();
    let removal = blocking(move || d2.images.remove_image(&n, force).map_err(not_found(&n))).await?;
    for id in &removal.deleted {
        d.events.image("delete", &id.to_string(), &name);
    }
    Ok(Json(deleted(&removal)))
}

pub async fn commit(State(d): D, axum::extract::RawQuery(raw): axum::extract::RawQuery, body: Bytes) -> Result<Response> {
    let pairs = form_pairs(raw.as_deref().unwrap_or(""));
    let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let container = get("container").ok_or_else(|| Error::Invalid("container is required".into()))?;
    let c = d.lookup(&container)?;
    let reference = get("repo").filter(|r| !r.is_empty()).map(|r| match get("tag").filter(|t| !t.is_empty()) {
        Some(t) => format!("{r}:{t}"),
        None => r,
    });
    let config: Option<Value> = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(serde_json::from_slice(&body).map_err(|e| Error::Invalid(format!("invalid config: {e}")))?)
    };
    let req = crate::container::commit::Request {
        reference,
        comment: get("comment"),
        author: get("author"),
        pause: get("pause").is_none_or(|p| p != "0" && p != "false"),
        changes: pairs.iter().filter(|(k, _)| k == "changes").flat_map(|(_, v)| v.lines().map(str::to_owned).collect::<Vec<_>>()).filter(|l| !l.trim().is_empty()).collect(),
        config,
    };
    let id = crate::container::commit::commit(&d, &c, req).await?;
    Ok((StatusCode::CREATED, Json(json!({"Id": id}))).into_response())
}
