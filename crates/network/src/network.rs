//! A network's definition and its address book, as stored in
//! `<data-root>/networks/<id>.json`: what `network create` asked for, the bridge it runs
//! on, and every address handed out on it.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

/// Docker's name for the default network, and its bridge's.
pub const DEFAULT_NETWORK: &str = "bridge";
pub const DEFAULT_BRIDGE: &str = "berth0";

/// The driver options Docker defines for bridge networks.
pub const OPT_BRIDGE_NAME: &str = "com.docker.network.bridge.name";
pub const OPT_MTU: &str = "com.docker.network.driver.mtu";
pub const OPT_ICC: &str = "com.docker.network.bridge.enable_icc";
pub const OPT_MASQUERADE: &str = "com.docker.network.bridge.enable_ip_masquerade";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Network {
    pub id: String,
    pub name: String,
    /// `bridge`, or `host` / `none` for Docker's two predefined pseudo-networks.
    pub driver: String,
    /// When it was made, in nanoseconds since the epoch.
    pub created: u64,
    pub subnet: Ipv4Net,
    pub gateway: Ipv4Addr,
    /// Where dynamic addresses come from (`--ip-range`); the whole subnet when unset.
    pub ip_range: Option<Ipv4Net>,
    pub internal: bool,
    /// Containers on this network may talk to each other (`enable_icc`).
    pub icc: bool,
    /// Outbound traffic is masqueraded (`enable_ip_masquerade`).
    pub masquerade: bool,
    pub bridge: String,
    pub mtu: u32,
    pub labels: HashMap<String, String>,
    pub options: HashMap<String, String>,
    /// Container names resolve on this network (user-defined networks only, as in Docker).
    pub dns: bool,
    /// Address → the container (id) that holds it.
    #[serde(default)]
    pub allocations: BTreeMap<Ipv4Addr, String>,
    /// The last address handed out dynamically: the next search starts after it, so a
    /// released address is not reused at once (a stale peer's ARP cache or DNS answer
    /// would otherwise reach the wrong container).
    #[serde(default)]
    pub last_allocated: Option<Ipv4Addr>,
}

impl Network {
    /// The predefined pseudo-networks are not bridges and hold no addresses.
    pub fn is_bridge(&self) -> bool {
        self.driver == "bridge"
    }

    pub fn is_default(&self) -> bool {
        self.name == DEFAULT_NETWORK
    }

    /// Docker's `Scope`, `EnableIPv6` and friends are constant here; what varies is shown
    /// by the engine's inspect from these fields.
    pub fn short_id(&self) -> &str {
        &self.id[..12.min(self.id.len())]
    }
}

/// Now, in nanoseconds since the epoch (record times; the engine formats them for the
/// API), also what makes generated names unique.
pub(crate) fn now_unix_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// What `network create` asks for.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub name: String,
    pub driver: Option<String>,
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub ip_range: Option<String>,
    pub internal: bool,
    pub labels: HashMap<String, String>,
    pub options: HashMap<String, String>,
}
