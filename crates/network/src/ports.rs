//! Published ports: what a container asked for (`-p`, `-P`) resolved into concrete
//! mappings, with free host ports picked for the ones left to the daemon.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};

use serde::{Deserialize, Serialize};

use crate::error::{NetworkError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn parse(s: &str) -> Result<Proto> {
        match s {
            "" | "tcp" => Ok(Proto::Tcp),
            "udp" => Ok(Proto::Udp),
            other => Err(NetworkError::Invalid(format!("invalid proto: {other}"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// One port as asked: host port 0 means "any free one".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRequest {
    pub proto: Proto,
    pub container_port: u16,
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
}

/// One published port, forwarded by the firewall to the container's address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PortMapping {
    pub proto: Proto,
    /// `None`: every address of the host (Docker's `0.0.0.0`).
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    pub container_ip: Ipv4Addr,
    pub container_port: u16,
}

/// Parses the `HostIp`/`HostPort` pair of a Docker `PortBinding` (`HostPort` may be a
/// range `8000-8010`, of which the first free port is taken, as Docker does).
pub fn parse_binding(key: &str, host_ip: &str, host_port: &str) -> Result<Vec<(PortRequest, Option<u16>)>> {
    let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
    let proto = Proto::parse(proto)?;
    let container_port: u16 = port
        .parse()
        .map_err(|_| NetworkError::Invalid(format!("invalid container port: {key}")))?;
    let host_ip = match host_ip {
        "" | "0.0.0.0" => None,
        "::" => None,
        ip => Some(ip.parse::<Ipv4Addr>().map_err(|_| {
            NetworkError::Invalid(format!("invalid host ip {ip}: only IPv4 host addresses are supported"))
        })?),
    };
    let bad = || NetworkError::Invalid(format!("invalid host port: {host_port}"));
    let (lo, hi) = match host_port.split_once('-') {
        None if host_port.is_empty() => (0, None),
        None => (host_port.parse::<u16>().map_err(|_| bad())?, None),
        Some((a, b)) => {
            let a = a.parse::<u16>().map_err(|_| bad())?;
            let b = b.parse::<u16>().map_err(|_| bad())?;
            if b < a {
                return Err(bad());
            }
            (a, Some(b))
        }
    };
    Ok(vec![(PortRequest { proto, container_port, host_ip, host_port: lo }, hi)])
}

/// Whether the host has nothing bound on `port` (checked by binding it for a moment).
fn host_port_free(proto: Proto, ip: Option<Ipv4Addr>, port: u16) -> bool {
    let addr = SocketAddrV4::new(ip.unwrap_or(Ipv4Addr::UNSPECIFIED), port);
    match proto {
        Proto::Tcp => TcpListener::bind(addr).is_ok(),
        Proto::Udp => UdpSocket::bind(addr).is_ok(),
    }
}

/// Docker's range for ports it picks itself (the kernel's default ephemeral range).
const DYNAMIC: std::ops::RangeInclusive<u16> = 32768..=60999;

/// Turns requests into mappings to `container_ip`, choosing host ports where the
/// request leaves it open: not one another container holds (`taken`), nor one a host
/// process listens on.
pub fn resolve(
    requests: &[(PortRequest, Option<u16>)],
    container_ip: Ipv4Addr,
    taken: &HashSet<(Proto, u16)>,
    cursor: &mut u16,
) -> Result<Vec<PortMapping>> {
    let mut mine: HashSet<(Proto, u16)> = HashSet::new();
    let mut out = Vec::new();
    for (r, range_end) in requests {
        let busy = |p: u16, mine: &HashSet<(Proto, u16)>| taken.contains(&(r.proto, p)) || mine.contains(&(r.proto, p));
        let host_port = if r.host_port != 0 && range_end.is_none() {
            if busy(r.host_port, &mine) {
                return Err(NetworkError::PortAllocated(format!(
                    "{}:{}",
                    r.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
                    r.host_port
                )));
            }
            r.host_port
        } else {
            let (lo, hi) = match range_end {
                Some(hi) => (r.host_port, *hi),
                None => (*DYNAMIC.start(), *DYNAMIC.end()),
            };
            let span = u32::from(hi - lo) + 1;
            let start = if range_end.is_none() && (lo..=hi).contains(cursor) { u32::from(*cursor - lo) } else { 0 };
            let mut found = None;
            for i in 0..span {
                let p = lo + ((start + i) % span) as u16;
                if !busy(p, &mine) && host_port_free(r.proto, r.host_ip, p) {
                    found = Some(p);
                    break;
                }
            }
            let p = found.ok_or_else(|| {
                NetworkError::PortAllocated(format!("{}:{}-{}", r.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED), lo, hi))
            })?;
            if range_end.is_none() {
                *cursor = if p == hi { lo } else { p + 1 };
            }
            p
        };
        mine.insert((r.proto, host_port));
        out.push(PortMapping {
            proto: r.proto,
            host_ip: r.host_ip,
            host_port,
            container_ip,
            container_port: r.container_port,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_parse() {
        let v = parse_binding("80/udp", "127.0.0.1", "8080").unwrap();
        assert_eq!(v[0].0, PortRequest { proto: Proto::Udp, container_port: 80, host_ip: Some(Ipv4Addr::LOCALHOST), host_port: 8080 });
        let v = parse_binding("80", "", "9000-9005").unwrap();
        assert_eq!(v[0].1, Some(9005));
        assert!(parse_binding("80/sctp", "", "").is_err());
        assert!(parse_binding("80", "", "9-1").is_err());
    }

    #[test]
    fn explicit_ports_conflict_and_dynamic_ones_avoid_taken() {
        let ip = Ipv4Addr::new(10, 0, 0, 2);
        let mut taken = HashSet::new();
        taken.insert((Proto::Tcp, 8080));
        let req = parse_binding("80", "", "8080").unwrap();
        assert!(matches!(resolve(&req, ip, &taken, &mut 0), Err(NetworkError::PortAllocated(_))));
        // Same number, other protocol: fine.
        let req = parse_binding("80/udp", "", "8080").unwrap();
        assert_eq!(resolve(&req, ip, &taken, &mut 0).unwrap()[0].host_port, 8080);
        let mut cursor = 40000;
        taken.insert((Proto::Tcp, 40000));
        let req = parse_binding("80", "", "").unwrap();
        let m = resolve(&req, ip, &taken, &mut cursor).unwrap();
        assert!(m[0].host_port > 40000);
        assert_eq!(cursor, m[0].host_port + 1);
    }
}
