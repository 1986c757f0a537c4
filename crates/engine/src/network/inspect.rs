//! How networks look through the API: a container's `NetworkSettings` (inspect) and
//! `Ports` (ps), and a network's own resource (`network inspect` / `ls`), in Docker's
//! field names.

use serde_json::{json, Map, Value};

use berth_network::{Endpoint, Network};

use crate::container::record::Record;

fn endpoint_json(net_name: &str, r: &Record, ep: Option<&Endpoint>) -> Value {
    let s = r.networks.get(net_name).cloned().unwrap_or_default();
    let ipam = s.ipam_config.as_ref().map(|c| json!({"IPv4Address": c.ipv4_address.clone().unwrap_or_default()}));
    json!({
        "IPAMConfig": ipam,
        "Links": null,
        "Aliases": s.aliases.clone(),
        "MacAddress": ep.map(|e| e.mac.clone()).unwrap_or_default(),
        "DriverOpts": null,
        "GwPriority": 0,
        "NetworkID": ep.map(|e| e.network_id.clone()).or(s.network_id.clone()).unwrap_or_default(),
        "EndpointID": ep.map(|e| e.id.clone()).unwrap_or_default(),
        "Gateway": ep.map(|e| e.gateway.to_string()).unwrap_or_default(),
        "IPAddress": ep.map(|e| e.ip.to_string()).unwrap_or_default(),
        "IPPrefixLen": ep.map(|e| e.prefix_len).unwrap_or(0),
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "DNSNames": ep.filter(|e| e.network_name != berth_network::DEFAULT_NETWORK).map(|e| e.dns_names.clone()),
    })
}

/// `NetworkSettings.Networks`: every configured network, with what the container holds
/// on it while it runs.
pub fn networks(r: &Record) -> Value {
    let mut m = Map::new();
    for name in r.networks.keys() {
        let ep = r.net.endpoints.iter().find(|e| &e.network_name == name);
        m.insert(name.clone(), endpoint_json(name, r, ep));
    }
    match super::mode(r) {
        super::Mode::Host => {
            m.insert("host".into(), endpoint_json("host", r, None));
        }
        super::Mode::None => {
            m.insert("none".into(), endpoint_json("none", r, None));
        }
        _ => {}
    }
    Value::Object(m)
}

/// `NetworkSettings.Ports`: each exposed or bound port, with its host bindings while
/// the container runs (null for an exposed port that is not published).
pub fn ports(r: &Record) -> Value {
    let mut m = Map::new();
    // A container that is not running publishes nothing, and Docker shows nothing.
    if !r.state.status.is_running() {
        return Value::Object(m);
    }
    for key in r.config.exposed_ports.iter().flatten() {
        m.insert(key.clone(), Value::Null);
    }
    for key in r.host_config.port_bindings.iter().flat_map(|b| b.keys()) {
        m.insert(key.clone(), Value::Null);
    }
    for p in &r.net.ports {
        let key = format!("{}/{}", p.container_port, p.proto.as_str());
        let b = json!({"HostIp": p.host_ip.map(|i| i.to_string()).unwrap_or_else(|| "0.0.0.0".into()), "HostPort": p.host_port.to_string()});
        match m.get_mut(&key) {
            Some(Value::Array(v)) => v.push(b),
            _ => {
                m.insert(key, json!([b]));
            }
        }
    }
    Value::Object(m)
}

/// The container's `NetworkSettings` for inspect. The top-level address fields are
/// the default bridge's, as in Docker (empty on other networks).
pub fn settings(r: &Record) -> Value {
    let bridge = r.net.endpoints.iter().find(|e| e.network_name == berth_network::DEFAULT_NETWORK);
    json!({
        "Bridge": "",
        "SandboxID": r.net.netns.as_ref().map(|_| r.id.clone()).unwrap_or_default(),
        "SandboxKey": r.net.netns.clone().unwrap_or_default(),
        "HairpinMode": false,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": ports(r),
        "SecondaryIPAddresses": null,
        "SecondaryIPv6Addresses": null,
        "EndpointID": bridge.map(|e| e.id.clone()).unwrap_or_default(),
        "Gateway": bridge.map(|e| e.gateway.to_string()).unwrap_or_default(),
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "IPAddress": bridge.map(|e| e.ip.to_string()).unwrap_or_default(),
        "IPPrefixLen": bridge.map(|e| e.prefix_len).unwrap_or(0),
        "IPv6Gateway": "",
        "MacAddress": bridge.map(|e| e.mac.clone()).unwrap_or_default(),
        "Networks": networks(r),
    })
}

/// `Ports` of a `GET /containers/json` row: published ones with their host side,
/// exposed ones without.
pub fn list_ports(r: &Record) -> Value {
    if !r.state.status.is_running() {
        return Value::Array(Vec::new());
    }
    let mut out: Vec<Value> = r
        .net
        .ports
        .iter()
        .map(|p| {
            json!({
                "IP": p.host_ip.map(|i| i.to_string()).unwrap_or_else(|| "0.0.0.0".into()),
                "PrivatePort": p.container_port,
                "PublicPort": p.host_port,
                "Type": p.proto.as_str(),
            })
        })
        .collect();
    for key in r.config.exposed_ports.iter().flatten() {
        let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
        let Ok(port) = port.parse::<u16>() else { continue };
        if !r.net.ports.iter().any(|p| p.container_port == port && p.proto.as_str() == proto) {
            out.push(json!({"PrivatePort": port, "Type": proto}));
        }
    }
    Value::Array(out)
}

/// A network as `GET /networks/{id}` shows it; `members` are the containers on it
/// (id, name, endpoint), listed for inspect only.
pub fn network(n: &Network, members: Option<Vec<(String, String, Endpoint)>>) -> Value {
    let config = if n.is_bridge() {
        let mut c = json!({"Subnet": n.subnet.to_string(), "Gateway": n.gateway.to_string()});
        if let Some(r) = n.ip_range {
            c["IPRange"] = json!(r.to_string());
        }
        json!([c])
    } else {
        json!([])
    };
    let mut options = serde_json::to_value(&n.options).unwrap_or_else(|_| json!({}));
    if n.is_bridge() {
        options[berth_network::OPT_BRIDGE_NAME] = json!(n.bridge);
    }
    let containers: Map<String, Value> = members
        .unwrap_or_default()
        .into_iter()
        .map(|(id, name, ep)| {
            (
                id,
                json!({
                    "Name": name,
                    "EndpointID": ep.id,
                    "MacAddress": ep.mac,
                    "IPv4Address": format!("{}/{}", ep.ip, ep.prefix_len),
                    "IPv6Address": "",
                }),
            )
        })
        .collect();
    json!({
        "Name": n.name,
        "Id": n.id,
        "Created": crate::clock::rfc3339_nanos(std::time::UNIX_EPOCH + std::time::Duration::from_nanos(n.created)),
        "Scope": "local",
        "Driver": n.driver,
        "EnableIPv4": true,
        "EnableIPv6": false,
        "IPAM": {"Driver": "default", "Options": null, "Config": config},
        "Internal": n.internal,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": false,
        "Containers": containers,
        "Options": options,
        "Labels": n.labels,
    })
}
