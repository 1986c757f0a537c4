//! `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`: the published ports from
//! `GET /containers/{id}/json` (`NetworkSettings.Ports`), `80/tcp -> 0.0.0.0:8080`, the
//! lines in docker's natural order.

use serde_json::Value;

use crate::commands::volume::natural_cmp;
use crate::commands::{print, Context};
use crate::error::CliError;

#[derive(Debug, clap::Args)]
pub struct Args {
    pub container: String,
    #[arg(value_name = "PRIVATE_PORT[/PROTO]")]
    pub port: Option<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "port";
    let api = ctx.api(CX)?;
    let info = api
        .block(api.client.container_inspect(&args.container, false))
        .map_err(|e| CliError::api(CX, e))?;
    if let Some(p) = &args.port {
        let n = p.split_once('/').map_or(p.as_str(), |(n, _)| n);
        if n.parse::<u16>().is_err() {
            let why = if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
                "value out of range"
            } else {
                "invalid syntax"
            };
            return Err(CliError::bare(
                1,
                format!("Error: invalid port ({n}): strconv.ParseUint: parsing {n:?}: {why}"),
            ));
        }
    }
    let lines = lines(&info["NetworkSettings"]["Ports"], args.port.as_deref());
    if let Some(p) = &args.port {
        if lines.is_empty() {
            return Err(CliError::bare(
                1,
                format!(
                    "Error: No public port '{p}' published for {}",
                    args.container
                ),
            ));
        }
    }
    print(CX, &lines.concat())
}

fn with_proto(p: &str) -> String {
    if p.contains('/') {
        p.to_owned()
    } else {
        format!("{p}/tcp")
    }
}

fn host_addr(b: &Value) -> String {
    let ip = b["HostIp"].as_str().unwrap_or_default();
    let port = b["HostPort"].as_str().unwrap_or_default();
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// The lines, sorted as docker sorts them (`sortorder.NaturalLess` of each line).
fn lines(ports: &Value, only: Option<&str>) -> Vec<String> {
    let Some(map) = ports.as_object() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, bindings) in map {
        let bindings = bindings.as_array().into_iter().flatten();
        match only {
            Some(p) if *k != with_proto(p) => {}
            Some(_) => out.extend(bindings.map(host_addr)),
            None => out.extend(bindings.map(|b| format!("{k} -> {}", host_addr(b)))),
        }
    }
    out.sort_by(|a, b| natural_cmp(a, b));
    out.into_iter().map(|l| l + "\n").collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_bindings() {
        let p = serde_json::json!({
            "80/tcp": [{"HostIp":"0.0.0.0","HostPort":"8080"},{"HostIp":"::","HostPort":"8080"}],
            "53/udp": null,
            "443/tcp": [{"HostIp":"127.0.0.1","HostPort":"8443"}]
        });
        assert_eq!(
            lines(&p, None),
            vec![
                "80/tcp -> 0.0.0.0:8080\n",
                "80/tcp -> [::]:8080\n",
                "443/tcp -> 127.0.0.1:8443\n"
            ]
        );
        assert_eq!(lines(&p, Some("443")), vec!["127.0.0.1:8443\n"]);
        assert!(lines(&p, Some("53/udp")).is_empty());
        let p = serde_json::json!({
            "8080/tcp": [{"HostIp":"127.0.0.1","HostPort":"9000"},{"HostIp":"0.0.0.0","HostPort":"18080"}],
            "80/udp": [{"HostIp":"0.0.0.0","HostPort":"80"}],
            "80/tcp": [{"HostIp":"0.0.0.0","HostPort":"80"}]
        });
        assert_eq!(
            lines(&p, None),
            vec![
                "80/tcp -> 0.0.0.0:80\n",
                "80/udp -> 0.0.0.0:80\n",
                "8080/tcp -> 0.0.0.0:18080\n",
                "8080/tcp -> 127.0.0.1:9000\n"
            ]
        );
        assert_eq!(
            lines(&p, Some("8080/tcp")),
            vec!["0.0.0.0:18080\n", "127.0.0.1:9000\n"]
        );
    }
}
