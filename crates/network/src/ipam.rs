//! Address management inside one network: picks the subnets of new networks and the
//! addresses of new endpoints, never the same address twice while it is held.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::error::{NetworkError, Result};
use crate::network::Network;

/// The pools Docker carves user-defined networks from: 172.18-31.0.0/16, then
/// 192.168.0.0/20 blocks. 172.17.0.0/16 belongs to the default bridge.
fn pools() -> impl Iterator<Item = Ipv4Net> {
    let big = (18..=31u8).map(|b| Ipv4Net::new(Ipv4Addr::new(172, b, 0, 0), 16).expect("prefix 16"));
    let small = (0..16u8).map(|i| Ipv4Net::new(Ipv4Addr::new(192, 168, i * 16, 0), 20).expect("prefix 20"));
    big.chain(small)
}

/// The first pool subnet that overlaps none of `taken`.
pub fn free_subnet(taken: &[Ipv4Net]) -> Result<Ipv4Net> {
    pools()
        .find(|p| !taken.iter().any(|t| overlaps(p, t)))
        .ok_or_else(|| NetworkError::Pool("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network".into()))
}

/// The destinations of the host's IPv4 routes (main table, `/proc/net/route`: little-endian
/// hex destination and mask), the default route left out. A new network must not overlap
/// one, or the host would lose its way to that network (Docker checks the same).
pub fn host_routes(proc_net_route: &str) -> Vec<Ipv4Net> {
    proc_net_route
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let dest = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
            let (dest, mask) = (Ipv4Addr::from(dest.swap_bytes()), Ipv4Addr::from(mask.swap_bytes()));
            let net = Ipv4Net::with_netmask(dest, mask).ok()?;
            (net.prefix_len() > 0).then_some(net)
        })
        .collect()
}

/// [`host_routes`] of the calling thread's network namespace.
pub fn current_host_routes() -> Vec<Ipv4Net> {
    host_routes(&std::fs::read_to_string("/proc/net/route").unwrap_or_default())
}

pub fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// An address that no endpoint may hold: the subnet's network and broadcast addresses
/// and the gateway.
fn reserved(net: &Network, a: Ipv4Addr) -> bool {
    a == net.subnet.network() || a == net.subnet.broadcast() || a == net.gateway
}

/// Gives `owner` an address on `net`: `wanted` if it is free (`--ip`), else the next free
/// one after the last handed out, wrapping around the range.
pub fn allocate(net: &mut Network, owner: &str, wanted: Option<Ipv4Addr>) -> Result<Ipv4Addr> {
    if let Some(a) = wanted {
        if !net.subnet.contains(&a) {
            return Err(NetworkError::Invalid(format!(
                "no configured subnet contains IP address {a}"
            )));
        }
        if reserved(net, a) {
            return Err(NetworkError::Invalid(format!("address {a} is reserved on network {}", net.name)));
        }
        match net.allocations.get(&a) {
            Some(o) if o != owner => {
                return Err(NetworkError::AddressInUse { network: net.name.clone(), addr: a })
            }
            _ => {}
        }
        net.allocations.insert(a, owner.to_owned());
        return Ok(a);
    }
    let range = net.ip_range.unwrap_or(net.subnet);
    let first = u32::from(range.network());
    let last = u32::from(range.broadcast());
    let size = last - first + 1;
    let start = match net.last_allocated {
        Some(l) if range.contains(&l) => u32::from(l) - first + 1,
        _ => 0,
    };
    for i in 0..size {
        let a = Ipv4Addr::from(first + (start + i) % size);
        if reserved(net, a) || net.allocations.contains_key(&a) {
            continue;
        }
        net.allocations.insert(a, owner.to_owned());
        net.last_allocated = Some(a);
        return Ok(a);
    }
    Err(NetworkError::Exhausted(net.name.clone()))
}

/// Frees every address `owner` holds on `net`; returns whether anything changed.
pub fn release(net: &mut Network, owner: &str) -> bool {
    let before = net.allocations.len();
    net.allocations.retain(|_, o| o != owner);
    before != net.allocations.len()
}

/// The gateway of a new network: the one asked for, or the subnet's first host.
pub fn gateway_for(subnet: &Ipv4Net, wanted: Option<Ipv4Addr>) -> Result<Ipv4Addr> {
    match wanted {
        Some(g) if subnet.contains(&g) => Ok(g),
        Some(g) => Err(NetworkError::Invalid(format!(
            "gateway {g} is not in subnet {subnet}"
        ))),
        None => Ok(Ipv4Addr::from(u32::from(subnet.network()) + 1)),
    }
}

/// Docker derives a container's MAC from its address (02:42 and the four bytes), so
/// the same address always comes with the same MAC and stale neighbour entries stay right.
pub fn mac_for(a: Ipv4Addr) -> [u8; 6] {
    let o = a.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

pub fn mac_string(m: &[u8; 6]) -> String {
    m.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn net(subnet: &str, range: Option<&str>) -> Network {
        let subnet: Ipv4Net = subnet.parse().unwrap();
        Network {
            id: "x".repeat(64),
            name: "n".into(),
            driver: "bridge".into(),
            created: 0,
            gateway: gateway_for(&subnet, None).unwrap(),
            subnet,
            ip_range: range.map(|r| r.parse().unwrap()),
            internal: false,
            icc: true,
            masquerade: true,
            bridge: "b".into(),
            mtu: 1500,
            labels: HashMap::new(),
            options: HashMap::new(),
            dns: true,
            allocations: Default::default(),
            last_allocated: None,
        }
    }

    #[test]
    fn skips_network_gateway_and_broadcast_and_never_repeats_a_held_address() {
        let mut n = net("10.0.0.0/29", None);
        let got: Vec<_> = (0..5).map(|i| allocate(&mut n, &format!("c{i}"), None).unwrap()).collect();
        assert_eq!(got[0], Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(got[4], Ipv4Addr::new(10, 0, 0, 6));
        assert!(matches!(allocate(&mut n, "c9", None), Err(NetworkError::Exhausted(_))));
        assert!(release(&mut n, "c1"));
        assert_eq!(allocate(&mut n, "c9", None).unwrap(), Ipv4Addr::new(10, 0, 0, 3));
    }

    #[test]
    fn released_addresses_are_not_reused_at_once() {
        let mut n = net("10.0.0.0/24", None);
        let a = allocate(&mut n, "a", None).unwrap();
        release(&mut n, "a");
        let b = allocate(&mut n, "b", None).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn static_addresses_are_checked() {
        let mut n = net("10.0.0.0/24", Some("10.0.0.128/25"));
        let want = Ipv4Addr::new(10, 0, 0, 9);
        assert_eq!(allocate(&mut n, "a", Some(want)).unwrap(), want);
        assert!(matches!(allocate(&mut n, "b", Some(want)), Err(NetworkError::AddressInUse { .. })));
        assert!(allocate(&mut n, "b", Some(Ipv4Addr::new(10, 0, 1, 9))).is_err());
        let gw = n.gateway;
        assert!(allocate(&mut n, "b", Some(gw)).is_err());
        // Dynamic ones come from the range.
        assert_eq!(allocate(&mut n, "c", None).unwrap(), Ipv4Addr::new(10, 0, 0, 128));
    }

    #[test]
    fn new_subnets_avoid_taken_ones() {
        let taken: Vec<Ipv4Net> = vec!["172.17.0.0/16".parse().unwrap(), "172.18.5.0/24".parse().unwrap()];
        assert_eq!(free_subnet(&taken).unwrap(), "172.19.0.0/16".parse::<Ipv4Net>().unwrap());
    }

    #[test]
    fn host_routes_from_proc() {
        let t = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                 eth0\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                 docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";
        assert_eq!(host_routes(t), vec!["172.17.0.0/16".parse::<Ipv4Net>().unwrap()]);
    }

    #[test]
    fn mac_follows_the_address() {
        assert_eq!(mac_string(&mac_for(Ipv4Addr::new(172, 17, 0, 2))), "02:42:ac:11:00:02");
    }
}
