//! `berth network create [-d DRIVER] [--subnet CIDR] [--gateway IP] [--ip-range CIDR]
//! [--internal] [--label k=v]... [-o k=v]... [--attachable] [--ipv6] NETWORK`:
//! `POST /networks/create`; prints the new network's id. Subnets, ranges and gateways
//! are paired as docker pairs them (each range and gateway inside exactly one subnet).

use std::collections::HashMap;
use std::net::IpAddr;

use berth_api_client::models::{Ipam, IpamConfig, NetworkCreateRequest};

use crate::commands::{print, Context};
use crate::error::CliError;
use crate::opts::key_value;

const CX: &str = "network create";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Enable manual container attachment
    #[arg(long)]
    pub attachable: bool,
    /// Driver to manage the Network
    #[arg(short, long, default_value = "bridge")]
    pub driver: String,
    /// IPv4 or IPv6 Gateway for the master subnet
    #[arg(long = "gateway", value_name = "IP", value_delimiter = ',')]
    pub gateways: Vec<String>,
    /// Restrict external access to the network
    #[arg(long)]
    pub internal: bool,
    /// Allocate container ip from a sub-range
    #[arg(long = "ip-range", value_name = "CIDR", value_delimiter = ',')]
    pub ip_ranges: Vec<String>,
    /// IP Address Management Driver
    #[arg(long = "ipam-driver", default_value = "default")]
    pub ipam_driver: String,
    /// Enable or disable IPv6 address assignment
    #[arg(long)]
    pub ipv6: bool,
    /// Set metadata on a network
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt", value_name = "KEY=VALUE")]
    pub opts: Vec<String>,
    /// Subnet in CIDR format that represents a network segment
    #[arg(long = "subnet", value_name = "CIDR", value_delimiter = ',')]
    pub subnets: Vec<String>,
    #[arg(value_name = "NETWORK")]
    pub name: String,
}

/// The request body, as docker CLI 28 sends it.
pub fn request(args: &Args) -> Result<NetworkCreateRequest, String> {
    let map = |items: &[String]| -> HashMap<String, String> {
        items.iter().map(|s| key_value(s)).collect()
    };
    Ok(NetworkCreateRequest {
        name: args.name.clone(),
        driver: Some(args.driver.clone()),
        options: Some(map(&args.opts)),
        ipam: Some(Ipam {
            driver: Some(args.ipam_driver.clone()),
            config: Some(ipam_config(&args.subnets, &args.ip_ranges, &args.gateways)?),
            options: Some(HashMap::new()),
        }),
        internal: Some(args.internal),
        enable_ipv6: args.ipv6.then_some(true),
        attachable: Some(args.attachable),
        ingress: Some(false),
        config_only: Some(false),
        labels: Some(map(&args.labels)),
        ..Default::default()
    })
}

/// A `--subnet` (`a.b.c.d/n`, or an IPv6 one): its address bits and prefix length.
fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (ip, len) = s.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some((ip, len))
}

fn bits(ip: IpAddr) -> (u128, u8) {
    match ip {
        IpAddr::V4(a) => (u32::from(a) as u128, 32),
        IpAddr::V6(a) => (u128::from(a), 128),
    }
}

/// Whether `data` (an address, or the address of a CIDR) lies in `subnet`, as docker's
/// `subnetMatches`.
fn subnet_matches(subnet: &str, data: &str) -> Result<bool, String> {
    let (net, len) = parse_cidr(subnet)
        .ok_or_else(|| format!("invalid subnet: invalid CIDR address: {subnet}"))?;
    let ip = if data.contains('/') {
        parse_cidr(data)
            .ok_or_else(|| format!("invalid CIDR address: {data}"))?
            .0
    } else {
        match data.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) => return Ok(false),
        }
    };
    let ((n, width), (a, awidth)) = (bits(net), bits(ip));
    if width != awidth {
        return Ok(false);
    }
    let shift = u32::from(width - len);
    let mask = if shift >= 128 { 0 } else { u128::MAX << shift };
    Ok(n & mask == a & mask)
}

/// docker's `createIPAMConfig`: one config per subnet, each range and gateway given to
/// the subnet that holds it.
pub fn ipam_config(
    subnets: &[String],
    ranges: &[String],
    gateways: &[String],
) -> Result<Vec<IpamConfig>, String> {
    if subnets.len() < ranges.len() || subnets.len() < gateways.len() {
        return Err("every ip-range or gateway must have a corresponding subnet".into());
    }
    let mut out: Vec<IpamConfig> = Vec::new();
    for s in subnets {
        for k in &out {
            let k = k.subnet.as_deref().unwrap_or_default();
            if subnet_matches(s, k)? || subnet_matches(k, s)? {
                return Err("multiple overlapping subnet configuration is not supported".into());
            }
        }
        out.push(IpamConfig {
            subnet: Some(s.clone()),
            auxiliary_addresses: Some(HashMap::new()),
            ..Default::default()
        });
    }
    for r in ranges {
        let mut matched = false;
        for c in out.iter_mut() {
            let s = c.subnet.clone().unwrap_or_default();
            if !subnet_matches(&s, r)? {
                continue;
            }
            if let Some(old) = &c.ip_range {
                return Err(format!(
                    "cannot configure multiple ranges ({r}, {old}) on the same subnet ({s})"
                ));
            }
            c.ip_range = Some(r.clone());
            matched = true;
        }
        if !matched {
            return Err(format!("no matching subnet for range {r}"));
        }
    }
    for g in gateways {
        let mut matched = false;
        for c in out.iter_mut() {
            let s = c.subnet.clone().unwrap_or_default();
            if !subnet_matches(&s, g)? {
                continue;
            }
            if let Some(old) = &c.gateway {
                return Err(format!(
                    "cannot configure multiple gateways ({g}, {old}) for the same subnet ({s})"
                ));
            }
            c.gateway = Some(g.clone());
            matched = true;
        }
        if !matched {
            return Err(format!("no matching subnet for gateway {g}"));
        }
    }
    Ok(out)
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    let body = request(&args).map_err(|e| CliError::failed(CX, e))?;
    let api = ctx.api(CX)?;
    let v = api
        .block(api.client.network_create(&body))
        .map_err(|e| CliError::api(CX, e))?;
    if let Some(w) = v["Warning"].as_str().filter(|w| !w.is_empty()) {
        eprintln!("{w}");
    }
    let id = v["Id"].as_str().unwrap_or_default();
    print(CX, &format!("{id}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::test_args::{parse_args, parsed};

    #[test]
    fn flags_make_the_body() {
        let a: Args = parsed(&[
            "-d",
            "bridge",
            "--subnet",
            "10.9.0.0/24",
            "--ip-range",
            "10.9.0.128/25",
            "--gateway",
            "10.9.0.1",
            "--internal",
            "--label",
            "a=1",
            "-o",
            "com.docker.network.bridge.name=br9",
            "--attachable",
            "front",
        ]);
        let v = serde_json::to_value(request(&a).unwrap()).unwrap();
        assert_eq!(v["Name"], "front");
        assert_eq!(v["Driver"], "bridge");
        assert_eq!(v["Internal"], true);
        assert_eq!(v["Attachable"], true);
        assert_eq!(v["Labels"]["a"], "1");
        assert_eq!(v["Options"]["com.docker.network.bridge.name"], "br9");
        assert_eq!(v["IPAM"]["Driver"], "default");
        let c = &v["IPAM"]["Config"][0];
        assert_eq!(c["Subnet"], "10.9.0.0/24");
        assert_eq!(c["IPRange"], "10.9.0.128/25");
        assert_eq!(c["Gateway"], "10.9.0.1");
        assert!(v.get("EnableIPv6").is_none() || v["EnableIPv6"].is_null());
    }

    #[test]
    fn defaults() {
        let v = serde_json::to_value(request(&parsed(&["n"])).unwrap()).unwrap();
        assert_eq!(v["Driver"], "bridge");
        assert_eq!(v["Internal"], false);
        assert_eq!(v["IPAM"]["Config"], serde_json::json!([]));
        assert!(parse_args::<Args>(&[]).is_err());
        let v = serde_json::to_value(request(&parsed(&["--ipv6", "n"])).unwrap()).unwrap();
        assert_eq!(v["EnableIPv6"], true);
    }

    #[test]
    fn ranges_and_gateways_need_their_subnet() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            ipam_config(&[], &[], &s(&["10.0.0.1"])).unwrap_err(),
            "every ip-range or gateway must have a corresponding subnet"
        );
        assert_eq!(
            ipam_config(&s(&["10.0.0.0/24"]), &[], &s(&["10.0.1.1"])).unwrap_err(),
            "no matching subnet for gateway 10.0.1.1"
        );
        assert_eq!(
            ipam_config(&s(&["10.0.0.0/24"]), &s(&["10.0.1.0/25"]), &[]).unwrap_err(),
            "no matching subnet for range 10.0.1.0/25"
        );
        assert_eq!(
            ipam_config(&s(&["10.0.0.0/16", "10.0.1.0/24"]), &[], &[]).unwrap_err(),
            "multiple overlapping subnet configuration is not supported"
        );
        assert_eq!(
            ipam_config(&s(&["bogus"]), &[], &[]).unwrap(),
            vec![IpamConfig {
                subnet: Some("bogus".into()),
                auxiliary_addresses: Some(HashMap::new()),
                ..Default::default()
            }]
        );
        assert!(ipam_config(&s(&["bogus"]), &[], &s(&["10.0.0.1"])).is_err());
        let c = ipam_config(
            &s(&["10.0.0.0/24", "10.1.0.0/24"]),
            &[],
            &s(&["10.1.0.254", "10.0.0.1"]),
        )
        .unwrap();
        assert_eq!(c[0].gateway.as_deref(), Some("10.0.0.1"));
        assert_eq!(c[1].gateway.as_deref(), Some("10.1.0.254"));
    }
}
