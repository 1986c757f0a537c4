//! An endpoint: one container's attachment to one network (a veth pair, an address, its
//! DNS names), as the engine records it with the container so that a restarted daemon
//! knows what is still in use.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    pub id: String,
    pub network_id: String,
    pub network_name: String,
    /// Inside the container: `eth0`, `eth1`…
    pub ifname: String,
    /// The host end, on the network's bridge.
    pub host_ifname: String,
    pub ip: Ipv4Addr,
    pub prefix_len: u8,
    pub gateway: Ipv4Addr,
    pub mac: String,
    /// The names the embedded DNS answers with this endpoint's address.
    pub dns_names: Vec<String>,
    /// The network aliases asked for (`--network-alias`), a subset of `dns_names`.
    pub aliases: Vec<String>,
}

/// What the engine asks for when it attaches a container.
#[derive(Debug, Clone, Default)]
pub struct AttachRequest {
    pub container_id: String,
    pub container_name: String,
    pub network: String,
    pub ifname: String,
    pub ip: Option<Ipv4Addr>,
    pub aliases: Vec<String>,
}

/// The host end's name, derived from the container and the network so that a daemon
/// that lost its records can still tell its own veths (`vb` + 11 hex digits: within
/// the kernel's 15-character limit).
pub fn host_ifname(container_id: &str, network_id: &str) -> String {
    let h = Sha256::digest(format!("{container_id}/{network_id}"));
    format!("vb{}", &hex::encode(h)[..11])
}

/// A fresh endpoint id (64 hex digits, as Docker's).
pub fn new_id(container_id: &str, network_id: &str) -> String {
    let nanos = crate::network::now_unix_nanos();
    hex::encode(Sha256::digest(format!("{container_id}/{network_id}/{nanos}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_fit_the_kernel_limit_and_are_stable() {
        let a = host_ifname("c", "n");
        assert!(a.len() <= 15);
        assert_eq!(a, host_ifname("c", "n"));
        assert_ne!(a, host_ifname("c", "m"));
    }
}
