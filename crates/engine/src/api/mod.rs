//! The Docker Engine API over a unix socket: routing (with the `/v1.NN` prefix clients
//! negotiate, stripped before routing), the shared query helpers, and the accept loop.

pub mod archive;
pub mod build;
pub mod containers;
pub mod exec;
pub mod hijack;
pub mod images;
pub mod networks;
pub mod system;
pub mod volumes;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::UnixListener;
use tower::ServiceExt;

use crate::daemon::Daemon;
use crate::error::{Error, Result};

/// The newest API version berthd speaks (what docker 28 negotiates down to) and the
/// oldest it accepts.
pub const API_VERSION: &str = "1.47";
pub const MIN_API_VERSION: &str = "1.24";

pub type Query = axum::extract::Query<HashMap<String, String>>;

/// Docker's booleans in queries: `1`, `true`, `True`.
pub fn flag(q: &HashMap<String, String>, key: &str) -> bool {
    q.get(key).is_some_and(|v| matches!(v.as_str(), "1" | "true" | "True" | "yes"))
}

/// `filters={"status":["exited"],"label":{"a=b":true}}`: both of Docker's shapes.
pub fn filters(q: &HashMap<String, String>) -> Result<HashMap<String, Vec<String>>> {
    let Some(raw) = q.get("filters").filter(|s| !s.is_empty()) else {
        return Ok(HashMap::new());
    };
    let v: serde_json::Value = serde_json::from_str(raw)
        .map_err(|e| Error::Invalid(format!("invalid filters {raw:?}: {e}")))?;
    let mut out = HashMap::new();
    for (k, vals) in v.as_object().into_iter().flatten() {
        let list: Vec<String> = match vals {
            serde_json::Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect(),
            serde_json::Value::Object(o) => o.iter().filter(|(_, on)| on.as_bool() != Some(false)).map(|(k, _)| k.clone()).collect(),
            _ => return Err(Error::Invalid(format!("invalid filter {k}"))),
        };
        out.insert(k.clone(), list);
    }
    Ok(out)
}

pub fn router(d: Arc<Daemon>) -> Router {
    Router::new()
        .route("/_ping", get(system::ping).head(system::ping))
        .route("/version", get(system::version))
        .route("/info", get(system::info))
        .route("/events", get(system::events))
        .route("/system/df", get(system::df))
        .route("/containers/json", get(containers::list))
        .route("/containers/create", post(containers::create))
        .route("/containers/prune", post(containers::prune))
        .route("/containers/{id}/json", get(containers::inspect))
        .route("/containers/{id}", axum::routing::delete(containers::remove))
        .route("/containers/{id}/start", post(containers::start))
        .route("/containers/{id}/stop", post(containers::stop))
        .route("/containers/{id}/restart", post(containers::restart))
        .route("/containers/{id}/kill", post(containers::kill))
        .route("/containers/{id}/wait", post(containers::wait))
        .route("/containers/{id}/pause", post(containers::pause))
        .route("/containers/{id}/unpause", post(containers::unpause))
        .route("/containers/{id}/rename", post(containers::rename))
        .route("/containers/{id}/update", post(containers::update))
        .route("/containers/{id}/resize", post(containers::resize))
        .route("/containers/{id}/attach", post(containers::attach))
        .route("/containers/{id}/logs", get(containers::logs))
        .route("/containers/{id}/top", get(containers::top))
        .route("/containers/{id}/stats", get(containers::stats))
        .route("/containers/{id}/changes", get(containers::changes))
        .route("/containers/{id}/export", get(archive::export))
        .route(
            "/containers/{id}/archive",
            get(archive::get).head(archive::head).put(archive::put),
        )
        .route("/containers/{id}/exec", post(exec::create))
        .route("/exec/{id}/start", post(exec::start))
        .route("/exec/{id}/resize", post(exec::resize))
        .route("/exec/{id}/json", get(exec::inspect))
        .route("/commit", post(images::commit))
        .route("/images/json", get(images::list))
        .route("/images/create", post(images::create))
        .route("/images/load", post(images::load))
        .route("/images/get", get(images::get_many))
        .route("/images/prune", post(images::prune))
        .route("/images/search", get(images::search))
        .route(
            "/images/{*rest}",
            get(images::by_name_get).post(images::by_name_post).delete(images::remove),
        )
        .route("/build", post(build::build))
        .route("/build/prune", post(build::prune))
        .route("/networks", get(networks::list))
        .route("/networks/create", post(networks::create))
        .route("/networks/prune", post(networks::prune))
        .route("/networks/{id}", get(networks::inspect).delete(networks::remove))
        .route("/networks/{id}/connect", post(networks::connect))
        .route("/networks/{id}/disconnect", post(networks::disconnect))
        .route("/volumes", get(volumes::list))
        .route("/volumes/create", post(volumes::create))
        .route("/volumes/prune", post(volumes::prune))
        .route("/volumes/{name}", get(volumes::inspect).delete(volumes::remove))
        .route("/auth", post(images::auth))
        .fallback(system::not_found)
        .with_state(d)
}

/// `/v1.47/containers/json` → `/containers/json`; a version older than we speak is
/// refused as Docker does.
fn strip_version<B>(mut req: axum::http::Request<B>) -> axum::http::Request<B> {
    tracing::debug!(method = %req.method(), uri = %req.uri(), "request");
    let path = req.uri().path();
    if let Some(rest) = path.strip_prefix("/v") {
        if let Some(slash) = rest.find('/') {
            let version = &rest[..slash];
            if version.split('.').all(|p| p.parse::<u32>().is_ok()) {
                let new_path = rest[slash..].to_owned();
                let pq = match req.uri().query() {
                    Some(q) => format!("{new_path}?{q}"),
                    None => new_path,
                };
                let mut parts = req.uri().clone().into_parts();
                parts.path_and_query = pq.parse().ok();
                if let Ok(uri) = axum::http::Uri::from_parts(parts) {
                    *req.uri_mut() = uri;
                }
            }
        }
    }
    req
}

/// Serves the API on `socket` until `shutdown` resolves.
pub async fn serve(d: Arc<Daemon>, socket: &Path, shutdown: impl std::future::Future<Output = ()>) -> std::io::Result<()> {
    if let Some(dir) = socket.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let _ = std::fs::remove_file(socket);
    let listener = UnixListener::bind(socket)?;
    // Root-owned, group may connect; nobody else (the socket is root on the host).
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o660))?;
    let app = router(d).map_request(strip_version::<hyper::body::Incoming>);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(s) => s,
                    Err(e) => { tracing::warn!("accept: {e}"); continue; }
                };
                let svc = TowerToHyperService::new(app.clone());
                tokio::spawn(async move {
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .with_upgrades();
                    if let Err(e) = conn.await {
                        tracing::debug!("connection: {e}");
                    }
                });
            }
        }
    }
    let _ = std::fs::remove_file(socket);
    Ok(())
}
