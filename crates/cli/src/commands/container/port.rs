//! `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`: the published ports from
//! `GET /containers/{id}/json` (`NetworkSettings.Ports`), `80/tcp -> 0.0.0.0:8080`.

use serde_json::Value;

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

/// Lines sorted by port as docker sorts them.
fn lines(ports: &Value, only: Option<&str>) -> Vec<String> {
    let Some(map) = ports.as_object() else {
        return Vec::new();
    };
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_by_key(|k| {
        let (n, proto) = k.split_once('/').unwrap_or((k, ""));
        (n.parse::<u32>().unwrap_or(0), proto.to_owned())
    });
    let mut out = Vec::new();
    for k in keys {
        let bindings = map[k].as_array().cloned().unwrap_or_default();
        match only {
            Some(p) => {
                if *k != with_proto(p) {
                    continue;
                }
                for b in &bindings {
                    out.push(format!("{}\n", host_addr(b)));
                }
            }
            None => {
                for b in &bindings {
                    out.push(format!("{k} -> {}\n", host_addr(b)));
                }
            }
        }
    }
    out
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
    }
}
