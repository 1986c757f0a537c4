//! A container's networks at start and stop: its namespace is made and pinned, each of
//! its networks attached (`eth0`, `eth1`… in [`super::ordered`] order), its ports
//! published; all of which is recorded in `Record::net`, and undone from there.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use berth_network::{AttachRequest, PortRequest};

use crate::container::record::{NetState, Record};
use crate::container::Container;
use crate::daemon::Daemon;
use crate::error::{Error, Result};
use crate::network::{mode, ordered, Mode};

/// The ports a container publishes: `PortBindings`, and with `-P` every exposed port
/// that has no binding, on a host port the daemon picks.
pub fn port_requests(r: &Record) -> Result<Vec<(PortRequest, Option<u16>)>> {
    let mut out = Vec::new();
    let bindings = r.host_config.port_bindings.clone().unwrap_or_default();
    for (key, list) in &bindings {
        for b in list.iter().flatten() {
            out.extend(berth_network::parse_binding(key, b.host_ip.as_deref().unwrap_or(""), b.host_port.as_deref().unwrap_or(""))?);
        }
    }
    // `-p 0.0.0.0:80:80 -p [::]:80:80` asks for one IPv4 mapping twice.
    let mut seen = Vec::new();
    out.retain(|p| {
        let dup = seen.contains(p);
        seen.push(p.clone());
        !dup
    });
    if r.host_config.publish_all_ports == Some(true) {
        for key in r.config.exposed_ports.iter().flatten() {
            if !bindings.get(key).is_some_and(|l| l.as_ref().is_some_and(|l| !l.is_empty())) {
                out.extend(berth_network::parse_binding(key, "", "")?);
            }
        }
    }
    Ok(out)
}

pub fn request(r: &Record, network: &str, ifname: String, s: &bollard_stubs::models::EndpointSettings) -> Result<AttachRequest> {
    let ip = match s.ipam_config.as_ref().and_then(|c| c.ipv4_address.as_deref()).filter(|a| !a.is_empty()) {
        Some(a) => Some(a.parse::<Ipv4Addr>().map_err(|_| Error::Invalid(format!("invalid IPv4 address: {a}")))?),
        None => None,
    };
    Ok(AttachRequest {
        container_id: r.id.clone(),
        container_name: r.name.clone(),
        network: network.to_owned(),
        ifname,
        ip,
        aliases: s.aliases.clone().unwrap_or_default(),
    })
}

/// Sets up the networks of a starting container; returns the namespace to join, or
/// `None` when the runtime joins one itself (host, container:).
pub async fn attach(d: &Daemon, c: &Container) -> Result<Option<PathBuf>> {
    let r = c.record();
    let t0 = std::time::Instant::now();
    match mode(&r) {
        Mode::Bridged => {}
        // Loopback only: a namespace from the pool, which is quicker than the runtime
        // making one.
        Mode::None => {
            let ns = d.networks.take_netns().await?;
            c.update_in_memory(|r| r.net = NetState { netns: Some(ns.clone()), ..Default::default() });
            return Ok(Some(ns));
        }
        Mode::Host | Mode::Container(_) => return Ok(None),
    }
    let ns = d.networks.take_netns().await?;
    let t_ns = t0.elapsed();
    let mut state = NetState { netns: Some(ns.clone()), ..Default::default() };
    let result = async {
        for (i, (name, s)) in ordered(d, &r).await.iter().enumerate() {
            let ep = d.networks.attach(&ns, request(&r, name, format!("eth{i}"), s)?).await?;
            state.endpoints.push(ep);
        }
        if let Some(first) = state.endpoints.first() {
            state.ports = d.networks.publish(&c.id, &port_requests(&r)?, first.ip).await?;
        }
        Ok::<_, Error>(())
    }
    .await;
    tracing::debug!(container = %c.id, netns_ms = t_ns.as_secs_f64() * 1e3, attach_ms = (t0.elapsed() - t_ns).as_secs_f64() * 1e3, "networks attached");
    // Recorded even on failure, so that the teardown below finds all of it. In memory:
    // the record reaches the disk with the `running` state a moment later; a daemon that
    // dies before that finds a container that is not running, and its recovery frees
    // the address, veth and namespace as orphans.
    c.update_in_memory(|r| r.net = state.clone());
    if let Err(e) = result {
        detach(d, c).await;
        return Err(e);
    }
    Ok(Some(ns))
}

/// Undoes [`attach`]: ports, endpoints, namespace. Keeps going past errors (each is
/// logged) so that one stale piece does not keep the rest.
pub async fn detach(d: &Daemon, c: &Container) {
    let net = c.record().net;
    if net.netns.is_none() && net.endpoints.is_empty() && net.ports.is_empty() {
        return;
    }
    if !net.ports.is_empty() {
        if let Err(e) = d.networks.unpublish(&c.id).await {
            tracing::warn!(container = %c.id, "unpublish ports: {e}");
        }
    }
    for ep in &net.endpoints {
        if let Err(e) = d.networks.detach(&c.id, ep, false).await {
            tracing::warn!(container = %c.id, network = %ep.network_name, "detach: {e}");
        }
    }
    if let Some(ns) = &net.netns {
        if let Err(e) = d.networks.remove_netns(ns) {
            tracing::warn!(container = %c.id, "remove network namespace: {e}");
        }
    }
    // In memory only: the caller saves the record with the exit status right after (an
    // fsync less on every stop); a daemon that dies in between runs this again on
    // recovery, and every step above is idempotent.
    c.update_in_memory(|r| r.net = NetState::default());
}
