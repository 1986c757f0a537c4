//! `POST /build` (the classic builder's protocol, what `DOCKER_BUILDKIT=0 docker build`
//! and `berth build` send: the context as a tar body, the options in the query) and
//! `POST /build/prune`.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use axum::extract::{RawQuery, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_build::{BuildOptions, Builder, Cache, Runner};
use berth_image::Reference;
use serde_json::{json, Value};

use crate::api::images::{form_pairs, progress_body_with};
use crate::build::{build_root, EngineServices, StreamOutput};
use crate::daemon::Daemon;
use crate::error::{Error, Result};

type D = State<Arc<Daemon>>;

fn json_map(raw: Option<&String>, what: &str) -> Result<BTreeMap<String, Option<String>>> {
    match raw.filter(|s| !s.is_empty()) {
        None => Ok(BTreeMap::new()),
        Some(s) => serde_json::from_str(s).map_err(|e| Error::Invalid(format!("invalid {what} {s:?}: {e}"))),
    }
}

fn truthy(v: Option<&String>) -> bool {
    v.is_some_and(|v| matches!(v.as_str(), "1" | "true" | "True"))
}

/// The context indexed as it arrives: its chunks go to a blocking thread that parses the
/// tar, keeps the chunks (a build reads files from them while it runs and drops them after:
/// a context never needs a disk; a compressed one is decompressed into an anonymous memory
/// file) and hashes every file's content on the way, so when the last byte is in the
/// context is ready to check the cache against.
async fn receive_context(body: axum::body::Body) -> Result<berth_build::context::Context> {
    use futures_util::StreamExt;
    let (tx, rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(32);
    let indexer = tokio::task::spawn_blocking(move || {
        let mut rx = rx;
        // The memory file only for a compressed context (a plain one stays in its chunks).
        let spool = || {
            nix::sys::memfd::memfd_create(c"berth-build-context", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
                .map(std::fs::File::from)
                .map_err(std::io::Error::from)
        };
        berth_build::context::Context::from_chunks(move || rx.blocking_recv(), spool)
    });
    let mut s = body.into_data_stream();
    while let Some(chunk) = s.next().await {
        let chunk = chunk.map_err(|e| Error::Invalid(format!("read the build context: {e}")))?;
        // The indexer stopped early (a bad tar): its error says why.
        if tx.send(chunk).await.is_err() {
            break;
        }
    }
    drop(tx);
    indexer
        .await
        .map_err(|e| Error::internal("index the build context", e))?
        .map_err(|e| Error::Invalid(format!("build context: {e}")))
}

/// Sets the flag when dropped with the response body: when it was all sent, or when the
/// client went away, which cancels the build at its next step (or kills its RUN: a step
/// that prints nothing would not notice the client leaving otherwise).
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

pub async fn build(State(d): D, RawQuery(raw): RawQuery, req: Request) -> Result<Response> {
    let pairs = form_pairs(raw.as_deref().unwrap_or(""));
    let last = |k: &str| pairs.iter().rev().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    if let Some(remote) = last("remote").filter(|r| !r.is_empty()) {
        return Err(Error::NotImplemented(format!("build from a remote context ({remote}): berth builds from a context sent with the request")));
    }
    let tags = pairs
        .iter()
        .filter(|(k, v)| k == "t" && !v.is_empty())
        .map(|(_, v)| Reference::parse(v).map_err(|e| Error::Invalid(format!("invalid tag {v:?}: {e}"))))
        .collect::<Result<Vec<_>>>()?;
    let labels = json_map(last("labels").as_ref(), "labels")?.into_iter().map(|(k, v)| (k, v.unwrap_or_default())).collect();
    let cancel = Arc::new(AtomicBool::new(false));
    let opts = BuildOptions {
        dockerfile: last("dockerfile").unwrap_or_default(),
        dockerfile_text: None,
        tags,
        build_args: json_map(last("buildargs").as_ref(), "buildargs")?,
        target: last("target"),
        labels,
        no_cache: truthy(last("nocache").as_ref()),
        pull: truthy(last("pull").as_ref()),
        quiet: truthy(last("q").as_ref()),
        network: last("networkmode").filter(|n| !n.is_empty()).unwrap_or_else(|| "default".into()),
        platform: last("platform").filter(|p| !p.is_empty()),
        cancel: cancel.clone(),
    };
    let logins = match req.headers().get("x-registry-config").and_then(|v| v.to_str().ok()) {
        Some(v) => Some(berth_registry::DockerConfig::from_registry_config(v).map_err(|e| Error::Invalid(e.to_string()))?),
        None => None,
    };
    let t0 = std::time::Instant::now();
    let ctx = receive_context(req.into_body()).await?;
    tracing::debug!(received_ms = t0.elapsed().as_secs_f64() * 1e3, entries = ctx.len(), "build context");
    let rt = tokio::runtime::Handle::current();
    let body = progress_body_with(CancelOnDrop(cancel), move |w| {
        let out = StreamOutput::new(w, opts.quiet);
        let root = build_root(&d);
        let result = (|| -> berth_build::Result<()> {
            let cache = Cache::open(&root.join("cache"))?;
            let runner = Runner { runtime: d.config.runtime.clone(), runtime_root: d.runtime_root(), work_dir: root.join("steps"), cgroup_parent: d.cgroup_parent.clone() };
            std::fs::create_dir_all(&runner.work_dir).map_err(|e| berth_build::Error::Invalid(format!("create {}: {e}", runner.work_dir.display())))?;
            let mut ctx = ctx;
            let services = EngineServices { d: d.clone(), rt, logins };
            let b = Builder { store: &d.images, cache: &cache, runner: &runner, services: &services };
            let image = b.build(&mut ctx, &opts, &out)?;
            tracing::debug!(total_ms = t0.elapsed().as_secs_f64() * 1e3, "build done");
            for t in &opts.tags {
                d.events.image("tag", &image.id.to_string(), &berth_image::familiar(t));
            }
            Ok(())
        })();
        if let Err(e) = result {
            tracing::info!("build failed: {e}");
            out.error(&e);
        }
        Ok(())
    });
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// `docker builder prune`: forgets the step cache (the intermediate images stay until an
/// image prune, as with Docker's classic builder).
pub async fn prune(State(d): D) -> Result<Json<Value>> {
    let cache = Cache::open(&build_root(&d).join("cache")).map_err(|e| Error::internal("open build cache", e))?;
    let n = cache.clear().map_err(|e| Error::internal("clear build cache", e))?;
    Ok(Json(json!({"CachesDeleted": (0..n).map(|i| format!("cache-{i}")).collect::<Vec<_>>(), "SpaceReclaimed": 0})))
}
