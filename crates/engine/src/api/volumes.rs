//! `/volumes`: list (with filters), create, inspect, remove, prune, in Docker's JSON.
//! The work is in [`crate::volume`]; disk work runs off the async threads.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::containers::parse_json;
use super::{filters, flag, Query};
use crate::daemon::Daemon;
use crate::error::{Error, Result};
use crate::volume;

type D = State<Arc<Daemon>>;

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| Error::internal("volume task", e))?
}

pub async fn list(State(d): D, q: Query) -> Result<Json<Value>> {
    let f = filters(&q)?;
    let root = d.volumes.root.clone();
    let vols = blocking(move || volume::list::list(&d, &f)).await?;
    let vols: Vec<Value> = vols.iter().map(|v| v.to_json(&root)).collect();
    Ok(Json(json!({"Volumes": vols, "Warnings": []})))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct CreateBody {
    name: Option<String>,
    driver: Option<String>,
    driver_opts: Option<BTreeMap<String, String>>,
    labels: Option<BTreeMap<String, String>>,
}

pub async fn create(State(d): D, body: Bytes) -> Result<Response> {
    let b: CreateBody = parse_json(&body)?;
    let root = d.volumes.root.clone();
    let v = blocking(move || {
        volume::create::create(
            &d,
            b.name.as_deref(),
            b.driver.as_deref(),
            b.driver_opts.unwrap_or_default(),
            b.labels.unwrap_or_default(),
        )
    })
    .await?;
    Ok((StatusCode::CREATED, Json(v.to_json(&root))).into_response())
}

pub async fn inspect(State(d): D, Path(name): Path<String>) -> Result<Json<Value>> {
    let v = d.volumes.get(&name)?;
    Ok(Json(v.to_json(&d.volumes.root)))
}

pub async fn remove(State(d): D, Path(name): Path<String>, q: Query) -> Result<StatusCode> {
    let force = flag(&q, "force");
    blocking(move || volume::remove::remove(&d, &name, force)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn prune(State(d): D, q: Query) -> Result<Json<Value>> {
    let f: HashMap<String, Vec<String>> = filters(&q)?;
    for k in f.keys() {
        if !matches!(k.as_str(), "all" | "label") {
            return Err(Error::Invalid(format!("invalid filter '{k}'")));
        }
    }
    let (deleted, space) = blocking(move || volume::remove::prune(&d, &f)).await?;
    Ok(Json(json!({"VolumesDeleted": deleted, "SpaceReclaimed": space})))
}
