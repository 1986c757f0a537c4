//! The engine's side of networking: which networks a container is on (`NetworkMode`
//! and `EndpointsConfig` turned into a plan at create), attaching them when it starts
//! and detaching them when it stops, `network connect` / `disconnect`, and how it all
//! shows in inspect and `ps`. The networks themselves (bridges, addresses, DNS, ports)
//! are `berth_network`'s.

pub mod connect;
pub mod inspect;
pub mod links;
pub mod list;
pub mod setup;

use std::collections::BTreeMap;

use bollard_stubs::models::{ContainerCreateBody, EndpointSettings};
use berth_network::NetworkError;

use crate::container::record::Record;
use crate::daemon::Daemon;
use crate::error::Error;

/// How a container is networked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// The default bridge or user-defined networks: a namespace of its own with veths.
    Bridged,
    Host,
    /// A namespace of its own with `lo` only.
    None,
    /// Another container's namespace.
    Container(String),
}

/// `NetworkMode` as stored: Docker's `default` (and nothing) is the `bridge` network.
pub fn mode_name(m: Option<&str>) -> String {
    match m.unwrap_or("") {
        "" | "default" => "bridge".into(),
        m => m.to_owned(),
    }
}

pub fn mode(r: &Record) -> Mode {
    let m = mode_name(r.host_config.network_mode.as_deref());
    match m.as_str() {
        "host" => Mode::Host,
        "none" => Mode::None,
        _ => match m.strip_prefix("container:") {
            Some(other) => Mode::Container(other.to_owned()),
            None => Mode::Bridged,
        },
    }
}

impl From<NetworkError> for Error {
    fn from(e: NetworkError) -> Error {
        let msg = e.to_string();
        match e {
            NetworkError::NotFound(_) => Error::NotFound(msg),
            NetworkError::NameTaken(_) => Error::Conflict(msg),
            NetworkError::AddressInUse { .. } | NetworkError::PortAllocated(_) => Error::Conflict(msg),
            NetworkError::Invalid(m) if m.contains("pre-defined") || m.contains("active endpoints") => Error::Forbidden(msg),
            NetworkError::Invalid(_) | NetworkError::Pool(_) | NetworkError::Exhausted(_) => Error::Invalid(msg),
            _ => Error::Internal(msg),
        }
    }
}

/// The networks a new container is configured for, keyed by network name: the one of
/// `NetworkMode` and any others of `NetworkingConfig.EndpointsConfig` (API 1.44+ takes
/// several), each checked to exist now, as Docker refuses the create otherwise (with
/// 400, not 404: the docker CLI takes a 404 from create for a missing image and pulls).
pub async fn plan(d: &Daemon, body: &ContainerCreateBody) -> Result<BTreeMap<String, EndpointSettings>, Error> {
    let mode = mode_name(body.host_config.as_ref().and_then(|h| h.network_mode.as_deref()));
    // The docker CLI names the default network `default` here too.
    let endpoints: std::collections::HashMap<String, EndpointSettings> = body
        .networking_config
        .as_ref()
        .and_then(|n| n.endpoints_config.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (mode_name(Some(&k)), v))
        .collect();
    let mut out = BTreeMap::new();
    if matches!(mode.as_str(), "host" | "none") || mode.starts_with("container:") {
        if endpoints.keys().any(|k| *k != mode) {
            return Err(Error::Invalid(format!(
                "conflicting options: a container in network mode {mode} cannot be connected to other networks"
            )));
        }
        return Ok(out);
    }
    let primary = d.networks.get(&mode).await.map_err(|_| Error::Invalid(format!("network {mode} not found")))?;
    let mut first = endpoints.get(&mode).cloned().unwrap_or_default();
    first.network_id = Some(primary.id.clone());
    out.insert(primary.name.clone(), first);
    for (key, settings) in endpoints {
        if key == mode {
            continue;
        }
        let n = d.networks.get(&key).await.map_err(|_| Error::Invalid(format!("network {key} not found")))?;
        if !n.is_bridge() {
            return Err(Error::Invalid(format!("container cannot be connected to network {} and to {}", n.name, primary.name)));
        }
        let mut s = settings;
        s.network_id = Some(n.id.clone());
        out.insert(n.name.clone(), s);
    }
    Ok(out)
}

/// The container's networks in attach order: `NetworkMode`'s first (it gets `eth0` and
/// the default route), then the rest by name.
pub async fn ordered(d: &Daemon, r: &Record) -> Vec<(String, EndpointSettings)> {
    let mode = mode_name(r.host_config.network_mode.as_deref());
    let primary = d.networks.get(&mode).await.map(|n| n.name).unwrap_or(mode);
    let mut v: Vec<(String, EndpointSettings)> = r.networks.iter().map(|(k, s)| (k.clone(), s.clone())).collect();
    // A record written before containers had a network plan: its `NetworkMode` alone.
    if v.is_empty() {
        v.push((primary.clone(), EndpointSettings::default()));
    }
    v.sort_by_key(|(k, _)| (*k != primary, k.clone()));
    v
}
