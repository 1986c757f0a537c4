//! `/networks`: list, inspect, create, remove, connect, disconnect, prune, in Docker's
//! JSON. The kernel work is `berth_network`'s; containers' side is [`crate::network`].

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bollard_stubs::models::EndpointSettings;
use serde::Deserialize;
use serde_json::{json, Value};

use super::containers::parse_json;
use super::{filters, Query};
use crate::daemon::Daemon;
use crate::error::{Error, Result};
use crate::network::{connect, inspect, list};

type D = State<Arc<Daemon>>;

/// The containers on a network, with their endpoints (running ones only, as Docker).
fn members(d: &Daemon, id: &str) -> Vec<(String, String, berth_network::Endpoint)> {
    d.all()
        .iter()
        .filter_map(|c| {
            let r = c.record();
            let ep = r.net.endpoints.iter().find(|e| e.network_id == id)?.clone();
            Some((r.id.clone(), r.name.clone(), ep))
        })
        .collect()
}

pub async fn list(State(d): D, q: Query) -> Result<Json<Value>> {
    let f = filters(&q)?;
    let mut out = Vec::new();
    for n in d.networks.list().await {
        if list::matches(&d, &n, &f)? {
            out.push(inspect::network(&n, None));
        }
    }
    Ok(Json(Value::Array(out)))
}

pub async fn inspect(State(d): D, Path(id): Path<String>) -> Result<Json<Value>> {
    let n = d.networks.get(&id).await?;
    Ok(Json(inspect::network(&n, Some(members(&d, &n.id)))))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct IpamConfig {
    subnet: Option<String>,
    #[serde(rename = "IPRange")]
    ip_range: Option<String>,
    gateway: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct Ipam {
    driver: Option<String>,
    config: Option<Vec<IpamConfig>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CreateBody {
    name: String,
    driver: Option<String>,
    internal: Option<bool>,
    #[serde(rename = "IPAM")]
    ipam: Option<Ipam>,
    #[serde(rename = "EnableIPv6")]
    enable_ipv6: Option<bool>,
    options: Option<HashMap<String, String>>,
    labels: Option<HashMap<String, String>>,
}

pub async fn create(State(d): D, body: Bytes) -> Result<Response> {
    let b: CreateBody = parse_json(&body)?;
    if b.enable_ipv6 == Some(true) {
        return Err(Error::Invalid("IPv6 networks are not supported by berth yet".into()));
    }
    let ipam = b.ipam.unwrap_or_default();
    if !matches!(ipam.driver.as_deref(), None | Some("") | Some("default")) {
        return Err(Error::Invalid(format!("ipam driver {:?} is not supported: only default", ipam.driver.unwrap_or_default())));
    }
    let mut configs = ipam.config.unwrap_or_default();
    if configs.len() > 1 {
        return Err(Error::Invalid("only one IPv4 subnet per network is supported".into()));
    }
    let c = configs.pop().unwrap_or_default();
    if c.subnet.is_none() && (c.gateway.is_some() || c.ip_range.is_some()) {
        return Err(Error::Invalid("a gateway or ip range needs a subnet".into()));
    }
    let n = d
        .networks
        .create(berth_network::CreateOptions {
            name: b.name,
            driver: b.driver.filter(|s| !s.is_empty()),
            subnet: c.subnet,
            gateway: c.gateway,
            ip_range: c.ip_range,
            internal: b.internal.unwrap_or(false),
            labels: b.labels.unwrap_or_default(),
            options: b.options.unwrap_or_default(),
        })
        .await?;
    d.events.network("create", &n.id, &n.name, "");
    Ok((StatusCode::CREATED, Json(json!({"Id": n.id, "Warning": ""}))).into_response())
}

pub async fn remove(State(d): D, Path(id): Path<String>) -> Result<StatusCode> {
    let n = d.networks.get(&id).await?;
    if list::BUILTIN.contains(&n.name.as_str()) {
        return Err(Error::Forbidden(format!("{} is a pre-defined network and cannot be removed", n.name)));
    }
    if !members(&d, &n.id).is_empty() {
        return Err(Error::Forbidden(format!(
            "error while removing network: network {} id {} has active endpoints",
            n.name, n.id
        )));
    }
    let n = d.networks.remove(&n.id).await?;
    // Stopped containers configured for it keep the name; their next start fails with
    // "network not found", as in Docker.
    d.events.network("destroy", &n.id, &n.name, "");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct ConnectBody {
    container: String,
    endpoint_config: Option<EndpointSettings>,
    force: Option<bool>,
}

pub async fn connect(State(d): D, Path(id): Path<String>, body: Bytes) -> Result<StatusCode> {
    let b: ConnectBody = parse_json(&body)?;
    let c = d.lookup(&b.container)?;
    connect::connect(&d, &c, &id, b.endpoint_config.unwrap_or_default()).await?;
    Ok(StatusCode::OK)
}

pub async fn disconnect(State(d): D, Path(id): Path<String>, body: Bytes) -> Result<StatusCode> {
    let b: ConnectBody = parse_json(&body)?;
    let c = d.lookup(&b.container)?;
    connect::disconnect(&d, &c, &id, b.force.unwrap_or(false)).await?;
    Ok(StatusCode::OK)
}

/// Removes every custom network no container is configured for.
pub async fn prune(State(d): D, q: Query) -> Result<Json<Value>> {
    let mut f = filters(&q)?;
    for k in f.keys() {
        if !matches!(k.as_str(), "label" | "until") {
            return Err(Error::Invalid(format!("invalid filter '{k}'")));
        }
    }
    f.insert("type".into(), vec!["custom".into()]);
    f.insert("dangling".into(), vec!["true".into()]);
    let mut deleted = Vec::new();
    for n in d.networks.list().await {
        if list::matches(&d, &n, &f)? {
            match d.networks.remove(&n.id).await {
                Ok(n) => {
                    d.events.network("destroy", &n.id, &n.name, "");
                    deleted.push(n.name);
                }
                Err(e) => tracing::warn!(network = %n.name, "prune: {e}"),
            }
        }
    }
    Ok(Json(json!({"NetworksDeleted": deleted})))
}
