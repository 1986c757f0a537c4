//! `network connect` / `disconnect`: a running container gets (or loses) the interface
//! at once; a stopped one only has its configuration changed, applied at next start.

use bollard_stubs::models::EndpointSettings;

use crate::container::Container;
use crate::daemon::Daemon;
use crate::error::{Error, Result};
use crate::network::{mode, setup, Mode};

pub async fn connect(d: &Daemon, c: &Container, network: &str, settings: EndpointSettings) -> Result<()> {
    let _op = c.op.lock().await;
    let n = d.networks.get(network).await?;
    let r = c.record();
    match mode(&r) {
        Mode::Bridged => {}
        Mode::None => {
            return Err(Error::Forbidden(
                "container cannot be connected to multiple networks with one of the networks in private (none) mode".into(),
            ))
        }
        Mode::Host => {
            return Err(Error::Forbidden(format!(
                "container cannot be disconnected from host network or connected to host network: {} is in network mode {}",
                r.name,
                r.host_config.network_mode.clone().unwrap_or_default()
            )))
        }
        Mode::Container(_) => {
            return Err(Error::Forbidden(
                "container sharing network namespace with another container or host cannot be connected to any other network".into(),
            ))
        }
    }
    if !n.is_bridge() {
        return Err(Error::Forbidden(format!("container cannot be connected to network {}", n.name)));
    }
    if r.networks.contains_key(&n.name) {
        return Err(Error::Forbidden(format!("endpoint with name {} already exists in network {}", r.name, n.name)));
    }
    let mut s = settings;
    s.network_id = Some(n.id.clone());
    if let (true, Some(ns)) = (r.state.status.is_running(), r.net.netns.clone()) {
        let ifname = format!("eth{}", next_ifindex(&r.net.endpoints));
        let req = setup::request(&r, &n.name, ifname, &s)?;
        let ep = d.networks.attach(&ns, req).await?;
        let ip = ep.ip;
        c.update(|r| {
            r.networks.insert(n.name.clone(), s.clone());
            r.net.endpoints.push(ep);
        })?;
        add_host_entry(c, ip)?;
    } else {
        c.update(|r| {
            r.networks.insert(n.name.clone(), s.clone());
        })?;
    }
    d.events.network("connect", &n.id, &n.name, &c.id);
    Ok(())
}

pub async fn disconnect(d: &Daemon, c: &Container, network: &str, force: bool) -> Result<()> {
    let _op = c.op.lock().await;
    let n = d.networks.get(network).await;
    let r = c.record();
    let name = match &n {
        Ok(n) => n.name.clone(),
        // `--force` also takes a network that no longer exists off the container.
        Err(_) if force && r.networks.contains_key(network) => network.to_owned(),
        Err(e) => return Err(Error::NotFound(e.to_string())),
    };
    if !r.networks.contains_key(&name) {
        return Err(Error::Forbidden(format!("container {} is not connected to network {name}", r.name)));
    }
    if let Some(ep) = r.net.endpoints.iter().find(|e| e.network_name == name) {
        d.networks.detach(&c.id, ep, true).await?;
    }
    c.update(|r| {
        r.networks.remove(&name);
        r.net.endpoints.retain(|e| e.network_name != name);
    })?;
    if let Ok(n) = n {
        d.events.network("disconnect", &n.id, &n.name, &c.id);
    }
    Ok(())
}

fn next_ifindex(eps: &[berth_network::Endpoint]) -> usize {
    (0..).find(|i| !eps.iter().any(|e| e.ifname == format!("eth{i}"))).unwrap_or(0)
}

/// The new address under the container's hostname in its `/etc/hosts`, as Docker adds.
fn add_host_entry(c: &Container, ip: std::net::Ipv4Addr) -> Result<()> {
    let path = c.dir.join("hosts");
    let hostname = c.record().config.hostname.unwrap_or_default();
    let mut hosts = std::fs::read_to_string(&path).unwrap_or_default();
    hosts.push_str(&format!("{ip}\t{hostname}\n"));
    std::fs::write(&path, hosts).map_err(|e| Error::internal(format!("write {}", path.display()), e))
}
