//! berth-network: bridge networks, IPAM, embedded DNS and published ports.
//!
//! Will own: bridges and veths through netlink, address allocation, DNS by container name,
//! port forwarding. Must not know about images or the HTTP API.
//!
//! Not built yet (issue 6).
