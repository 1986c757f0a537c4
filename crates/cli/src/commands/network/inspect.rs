//! `berth network inspect [-f TEMPLATE] NETWORK...`: `GET /networks/{id}` as a JSON
//! array indented like docker's, whose keys come in the order of docker's structs at
//! every level (docker prints the daemon's own bytes re-indented), or one template
//! rendering per network. Missing ones are error lines (exit 1), the found ones printed
//! anyway.

use serde_json::Value;

use crate::commands::container::inspect::{render, template};
use crate::commands::{print, Context};
use crate::error::CliError;
use crate::format;

/// The order of docker's network fields.
const NETWORK: &[&str] = &[
    "Name",
    "Id",
    "Created",
    "Scope",
    "Driver",
    "EnableIPv4",
    "EnableIPv6",
    "IPAM",
    "Internal",
    "Attachable",
    "Ingress",
    "ConfigFrom",
    "ConfigOnly",
    "Containers",
    "Options",
    "Labels",
    "Peers",
    "Services",
];
const IPAM: &[&str] = &["Driver", "Options", "Config"];
const IPAM_CONFIG: &[&str] = &["Subnet", "IPRange", "Gateway", "AuxiliaryAddresses"];
const ENDPOINT: &[&str] = &[
    "Name",
    "EndpointID",
    "MacAddress",
    "IPv4Address",
    "IPv6Address",
];

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Format output using a custom template ('json' or a Go template)
    #[arg(short, long)]
    pub format: Option<String>,
    /// Verbose output for diagnostics
    #[arg(short, long)]
    pub verbose: bool,
    #[arg(value_name = "NETWORK", required = true)]
    pub networks: Vec<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "network inspect";
    let t = template(CX, args.format.as_deref())?;
    let api = ctx.api(CX)?;
    let (found, failed) = api.each_found(CX, &args.networks, |c, name| c.network_inspect(name));
    let out = match t {
        Some(t) => render(CX, &found, Some(&t), &[])?,
        None => format!("{}\n", pretty(&found)),
    };
    print(CX, &out)?;
    if failed {
        Err(CliError::reported())
    } else {
        Ok(())
    }
}

/// The networks as a JSON array, four spaces an indent, keys in docker's order.
pub fn pretty(networks: &[Value]) -> String {
    let mut out = String::new();
    write(
        &mut out,
        &Value::Array(networks.to_vec()),
        Shape::List(&Shape::Network),
        0,
    );
    out
}

/// Where in a network a value sits, which says the order of an object's keys.
#[derive(Clone, Copy)]
enum Shape {
    Network,
    Ipam,
    IpamConfig,
    Endpoint,
    /// An array of the shape.
    List(&'static Shape),
    /// An object whose every value has the shape (`Containers`, by id).
    Map(&'static Shape),
    /// Anything else: keys sorted.
    Other,
}

impl Shape {
    fn order(self) -> &'static [&'static str] {
        match self {
            Shape::Network => NETWORK,
            Shape::Ipam => IPAM,
            Shape::IpamConfig => IPAM_CONFIG,
            Shape::Endpoint => ENDPOINT,
            _ => &[],
        }
    }

    /// The shape of the value under `key` of an object of this shape.
    fn field(self, key: &str) -> Shape {
        match (self, key) {
            (Shape::Map(s), _) => *s,
            (Shape::Network, "IPAM") => Shape::Ipam,
            (Shape::Network, "Containers") => Shape::Map(&Shape::Endpoint),
            (Shape::Ipam, "Config") => Shape::List(&Shape::IpamConfig),
            _ => Shape::Other,
        }
    }

    /// The shape of an array's items.
    fn item(self) -> Shape {
        match self {
            Shape::List(s) => *s,
            _ => Shape::Other,
        }
    }
}

fn write(out: &mut String, v: &Value, shape: Shape, depth: usize) {
    let pad = |n: usize| "    ".repeat(n);
    match v {
        Value::Array(items) if !items.is_empty() => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                write(out, item, shape.item(), depth + 1);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(depth));
            out.push(']');
        }
        Value::Object(map) if !map.is_empty() => {
            let order = shape.order();
            let mut keys: Vec<&String> = order
                .iter()
                .filter_map(|k| map.get_key_value(*k).map(|(k, _)| k))
                .collect();
            keys.extend(map.keys().filter(|k| !order.contains(&k.as_str())));
            out.push_str("{\n");
            for (i, k) in keys.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                out.push_str(&format::template::json(&Value::String((*k).clone())));
                out.push_str(": ");
                write(out, &map[*k], shape.field(k), depth + 1);
                out.push_str(if i + 1 < keys.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(depth));
            out.push('}');
        }
        scalar => out.push_str(&format::pretty_json(scalar)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Template;

    fn network() -> Value {
        serde_json::json!({
            "Name": "front", "Id": "abc", "Created": "2026-12-01T23:04:05.12Z",
            "Scope": "local", "Driver": "bridge", "EnableIPv4": true, "EnableIPv6": false,
            "IPAM": {"Driver": "default", "Options": {},
                     "Config": [{"Subnet": "10.9.0.0/24", "Gateway": "10.9.0.1"}]},
            "Internal": false, "Attachable": false, "Ingress": false,
            "ConfigFrom": {"Network": ""}, "ConfigOnly": false,
            "Containers": {"c1": {"Name": "web", "EndpointID": "e1", "MacAddress": "02:42",
                                  "IPv4Address": "10.9.0.2/24", "IPv6Address": ""}},
            "Options": {"com.docker.network.bridge.name": "br-abc"},
            "Labels": {},
        })
    }

    #[test]
    fn json_like_docker() {
        assert_eq!(
            pretty(&[network()]),
            r#"[
    {
        "Name": "front",
        "Id": "abc",
        "Created": "2026-12-01T23:04:05.12Z",
        "Scope": "local",
        "Driver": "bridge",
        "EnableIPv4": true,
        "EnableIPv6": false,
        "IPAM": {
            "Driver": "default",
            "Options": {},
            "Config": [
                {
                    "Subnet": "10.9.0.0/24",
                    "Gateway": "10.9.0.1"
                }
            ]
        },
        "Internal": false,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": {
            "Network": ""
        },
        "ConfigOnly": false,
        "Containers": {
            "c1": {
                "Name": "web",
                "EndpointID": "e1",
                "MacAddress": "02:42",
                "IPv4Address": "10.9.0.2/24",
                "IPv6Address": ""
            }
        },
        "Options": {
            "com.docker.network.bridge.name": "br-abc"
        },
        "Labels": {}
    }
]"#
        );
        assert_eq!(pretty(&[]), "[]");
    }

    #[test]
    fn template_per_network() {
        let t = Template::parse("{{.Name}} {{.Driver}}").unwrap();
        let out = render("t", &[network(), network()], Some(&t), &[]).unwrap();
        assert_eq!(out, "front bridge\nfront bridge\n");
    }
}
