//! `berth network connect [--alias A]... [--ip IP] NETWORK CONTAINER`: `POST
//! /networks/{id}/connect` with the endpoint's aliases and address; prints nothing.

use berth_api_client::models::{EndpointIpamConfig, EndpointSettings};

use crate::commands::Context;
use crate::error::CliError;

const CX: &str = "network connect";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Add network-scoped alias for the container
    #[arg(long = "alias", value_name = "ALIAS", value_delimiter = ',')]
    pub aliases: Vec<String>,
    /// driver options for the network
    #[arg(long = "driver-opt", value_name = "KEY=VALUE", value_delimiter = ',')]
    pub driver_opts: Vec<String>,
    /// IPv4 address (e.g., "172.30.100.104")
    #[arg(long)]
    pub ip: Option<String>,
    /// IPv6 address (e.g., "2001:db8::33")
    #[arg(long)]
    pub ip6: Option<String>,
    /// Add link to another container
    #[arg(long = "link", value_name = "LINK")]
    pub links: Vec<String>,
    #[arg(value_name = "NETWORK")]
    pub network: String,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// The endpoint settings, as docker CLI sends them.
pub fn endpoint(args: &Args) -> EndpointSettings {
    let ipam = (args.ip.is_some() || args.ip6.is_some()).then(|| EndpointIpamConfig {
        ipv4_address: args.ip.clone(),
        ipv6_address: args.ip6.clone(),
        ..Default::default()
    });
    EndpointSettings {
        ipam_config: ipam,
        links: (!args.links.is_empty()).then(|| args.links.clone()),
        aliases: (!args.aliases.is_empty()).then(|| args.aliases.clone()),
        driver_opts: (!args.driver_opts.is_empty()).then(|| {
            args.driver_opts
                .iter()
                .map(|s| crate::opts::key_value(s))
                .collect()
        }),
        ..Default::default()
    }
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    let api = ctx.api(CX)?;
    api.block(
        api.client
            .network_connect(&args.network, &args.container, Some(endpoint(&args))),
    )
    .map_err(|e| CliError::api(CX, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::test_args::parse_args;

    #[test]
    fn flags_make_the_endpoint() {
        let a = parse_args::<Args>(&[
            "--alias", "web", "--alias", "www,w3", "--ip", "10.9.0.9", "front", "c1",
        ])
        .unwrap();
        assert_eq!((a.network.as_str(), a.container.as_str()), ("front", "c1"));
        let v = serde_json::to_value(endpoint(&a)).unwrap();
        assert_eq!(v["Aliases"], serde_json::json!(["web", "www", "w3"]));
        assert_eq!(v["IPAMConfig"]["IPv4Address"], "10.9.0.9");
        let a = parse_args::<Args>(&["front", "c1"]).unwrap();
        let e = endpoint(&a);
        assert_eq!(e.aliases, None);
        assert_eq!(e.ipam_config, None);
        assert!(parse_args::<Args>(&["front"]).is_err());
    }
}
