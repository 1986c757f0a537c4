//! The one error type of berth-network: each variant names the operation that failed and
//! carries what it acted on (network, interface, path) and the underlying error.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("network {0} not found")]
    NotFound(String),
    #[error("network with name {0} already exists")]
    NameTaken(String),
    #[error("{0}")]
    Invalid(String),
    #[error("invalid pool request: {0}")]
    Pool(String),
    #[error("address {addr} is already in use on network {network}")]
    AddressInUse { network: String, addr: std::net::Ipv4Addr },
    #[error("no available addresses on network {0}")]
    Exhausted(String),
    #[error("bind for {0} failed: port is already allocated")]
    PortAllocated(String),
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("netlink {op} {target}: {message}")]
    Netlink {
        op: &'static str,
        target: String,
        message: String,
    },
    #[error("nftables: {0}")]
    Firewall(String),
    #[error("{op} {}: {source}", path.display())]
    Namespace {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("parse {}: {source}", path.display())]
    Record {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl NetworkError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> NetworkError {
        let path = path.into();
        move |source| NetworkError::Io { op, path, source }
    }

    pub(crate) fn netlink(op: &'static str, target: impl std::fmt::Display) -> impl FnOnce(rtnetlink::Error) -> NetworkError {
        let target = target.to_string();
        move |e| NetworkError::Netlink {
            op,
            target,
            message: e.to_string(),
        }
    }

    /// Whether the error means "the interface does not exist" (teardown of something
    /// already gone is not a failure).
    pub fn is_no_device(&self) -> bool {
        matches!(self, NetworkError::Netlink { message, .. } if message.contains("No such device") || message.contains("(os error 19)") || message.contains("-19"))
    }
}

pub type Result<T, E = NetworkError> = std::result::Result<T, E>;
