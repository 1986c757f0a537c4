//! berth-network: bridge networks, address management, the embedded DNS server and
//! published ports, for berthd.
//!
//! Main types:
//! - [`Manager`]: one daemon's networks. The engine opens it at start-up
//!   ([`Manager::open`], then [`Manager::recover`] with what running containers hold) and
//!   calls it to create and remove networks, to make a container's network namespace,
//!   to [`attach`](Manager::attach) / [`detach`](Manager::detach) endpoints and to
//!   [`publish`](Manager::publish) ports.
//! - [`Network`]: a network's record (subnet, gateway, bridge, options, the addresses it
//!   handed out), stored atomically under `<data-root>/networks`.
//! - [`Endpoint`]: one container on one network (veth, address, MAC, DNS names); the
//!   engine keeps it in the container's record.
//! - [`PortMapping`]: one published port, DNATed by the `ip berth` nftables table.
//!
//! How: links, addresses and routes through rtnetlink (no `ip` command); namespaces made
//! with `unshare` on a short-lived thread and pinned by a bind mount; the firewall as one
//! nftables table rendered whole and swapped atomically (through the `nft` JSON
//! interface); names from a small DNS server on each user-defined network's gateway.
//!
//! Must not know about images, containers' configs or the HTTP API: the engine turns
//! those into [`AttachRequest`]s and [`PortRequest`]s.

mod dns;
mod endpoint;
mod error;
pub mod firewall;
mod ipam;
mod link;
mod manager;
pub mod netns;
mod network;
mod ports;
mod store;

pub use endpoint::{AttachRequest, Endpoint};
pub use error::{NetworkError, Result};
pub use ipnet::Ipv4Net;
pub use manager::{Live, Manager, Options};
pub use network::{CreateOptions, Network, DEFAULT_BRIDGE, DEFAULT_NETWORK, OPT_BRIDGE_NAME, OPT_ICC, OPT_MTU};
pub use ports::{parse_binding, PortMapping, PortRequest, Proto};
