//! The embedded DNS server: on each user-defined network, berthd answers on the
//! gateway's port 53 with the addresses of the containers on that network (by container
//! name, network alias, short id, and `name.network`), and forwards every other query to
//! the daemon's own resolvers. A query arriving on one network's gateway is answered
//! from that network's names only, so names do not leak across networks.
//!
//! Docker puts its resolver at 127.0.0.11 inside each container, which needs a socket or
//! NAT rules in every container's namespace; listening on the gateway needs neither, and
//! the container's `/etc/resolv.conf` names the gateway instead.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, PTR};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

/// One container's names on one network.
#[derive(Debug, Clone)]
struct Entry {
    container: String,
    names: Vec<String>,
    ip: Ipv4Addr,
}

#[derive(Debug, Default)]
struct Zones {
    /// Network id → its entries.
    by_network: HashMap<String, (String, Vec<Entry>)>,
}

#[derive(Debug, Clone)]
pub struct Dns {
    zones: Arc<RwLock<Zones>>,
    servers: Arc<std::sync::Mutex<HashMap<String, JoinHandle<()>>>>,
    upstream: Arc<Vec<SocketAddr>>,
}

/// The daemon's resolvers, from its `/etc/resolv.conf`.
pub fn host_resolvers(resolv_conf: &str) -> Vec<SocketAddr> {
    resolv_conf
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|a| a.trim().parse::<std::net::IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

impl Dns {
    pub fn new(upstream: Vec<SocketAddr>) -> Dns {
        Dns {
            zones: Arc::default(),
            servers: Arc::default(),
            upstream: Arc::new(upstream),
        }
    }

    /// Serves network `id` (named `name`) on `gateway:53` until [`Dns::stop`]. A
    /// gateway that cannot be bound (something else holds port 53 there) is reported
    /// and the network runs without names.
    pub async fn serve(&self, id: &str, name: &str, gateway: Ipv4Addr) -> std::io::Result<()> {
        self.zones
            .write()
            .expect("dns zones lock")
            .by_network
            .entry(id.to_owned())
            .or_insert_with(|| (name.to_owned(), Vec::new()));
        let mut servers = self.servers.lock().expect("dns servers lock");
        if servers.contains_key(id) {
            return Ok(());
        }
        let sock = std::net::UdpSocket::bind((gateway, 53))?;
        sock.set_nonblocking(true)?;
        let sock = Arc::new(UdpSocket::from_std(sock)?);
        let me = self.clone();
        let id2 = id.to_owned();
        servers.insert(
            id.to_owned(),
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                loop {
                    let Ok((n, from)) = sock.recv_from(&mut buf).await else { continue };
                    let query = buf[..n].to_vec();
                    let (me, sock, id) = (me.clone(), sock.clone(), id2.clone());
                    tokio::spawn(async move {
                        if let Some(reply) = me.answer(&id, &query).await {
                            let _ = sock.send_to(&reply, from).await;
                        }
                    });
                }
            }),
        );
        Ok(())
    }

    pub fn stop(&self, id: &str) {
        if let Some(h) = self.servers.lock().expect("dns servers lock").remove(id) {
            h.abort();
        }
        self.zones.write().expect("dns zones lock").by_network.remove(id);
    }

    pub fn add(&self, network: &str, container: &str, names: Vec<String>, ip: Ipv4Addr) {
        let mut z = self.zones.write().expect("dns zones lock");
        if let Some((_, entries)) = z.by_network.get_mut(network) {
            entries.retain(|e| e.container != container);
            let names = names.into_iter().map(|n| n.to_ascii_lowercase()).collect();
            entries.push(Entry { container: container.to_owned(), names, ip });
        }
    }

    pub fn remove(&self, network: &str, container: &str) {
        let mut z = self.zones.write().expect("dns zones lock");
        if let Some((_, entries)) = z.by_network.get_mut(network) {
            entries.retain(|e| e.container != container);
        }
    }

    /// The addresses `name` has on network `id` (None: not a name of this network).
    fn lookup(&self, id: &str, name: &str) -> Option<Vec<Ipv4Addr>> {
        let z = self.zones.read().expect("dns zones lock");
        let (net_name, entries) = z.by_network.get(id)?;
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let suffix = format!(".{}", net_name.to_ascii_lowercase());
        let bare = name.strip_suffix(&suffix).unwrap_or(&name);
        let ips: Vec<Ipv4Addr> = entries.iter().filter(|e| e.names.iter().any(|n| n == bare)).map(|e| e.ip).collect();
        (!ips.is_empty()).then_some(ips)
    }

    fn reverse(&self, id: &str, ip: Ipv4Addr) -> Option<String> {
        let z = self.zones.read().expect("dns zones lock");
        let (net_name, entries) = z.by_network.get(id)?;
        let e = entries.iter().find(|e| e.ip == ip)?;
        Some(format!("{}.{}", e.names.first()?, net_name))
    }

    /// The reply to one query: from the network's names, else from upstream.
    async fn answer(&self, id: &str, query: &[u8]) -> Option<Vec<u8>> {
        let msg = Message::from_vec(query).ok()?;
        if msg.metadata.message_type != MessageType::Query {
            return None;
        }
        let q = msg.queries.first()?.clone();
        let mut reply = Message::response(msg.metadata.id, OpCode::Query);
        reply.metadata.recursion_desired = msg.metadata.recursion_desired;
        reply.metadata.recursion_available = true;
        reply.add_query(q.clone());
        let qname = q.name().to_ascii();
        if let Some(ips) = self.lookup(id, &qname) {
            reply.metadata.authoritative = true;
            if matches!(q.query_type(), RecordType::A | RecordType::ANY) {
                for ip in ips {
                    reply.add_answer(Record::from_rdata(q.name().clone(), 600, RData::A(A(ip))));
                }
            }
            // AAAA for a container name: the name exists, it has no IPv6 address.
            return reply.to_vec().ok();
        }
        if q.query_type() == RecordType::PTR {
            if let Ok(ipnet::IpNet::V4(n)) = q.name().parse_arpa_name() {
                if let Some(host) = self.reverse(id, n.addr()) {
                    let target = Name::from_ascii(format!("{host}.")).ok()?;
                    reply.metadata.authoritative = true;
                    reply.add_answer(Record::from_rdata(q.name().clone(), 600, RData::PTR(PTR(target))));
                    return reply.to_vec().ok();
                }
            }
        }
        if let Some(r) = self.forward(query).await {
            return Some(r);
        }
        reply.metadata.response_code = ResponseCode::ServFail;
        reply.to_vec().ok()
    }

    /// Asks the daemon's resolvers in turn, two seconds each.
    async fn forward(&self, query: &[u8]) -> Option<Vec<u8>> {
        for up in self.upstream.iter() {
            let bind: SocketAddr = if up.is_ipv4() { "0.0.0.0:0".parse().ok()? } else { "[::]:0".parse().ok()? };
            let Ok(sock) = UdpSocket::bind(bind).await else { continue };
            if sock.send_to(query, up).await.is_err() {
                continue;
            }
            let mut buf = vec![0u8; 4096];
            if let Ok(Ok((n, _))) = tokio::time::timeout(Duration::from_secs(2), sock.recv_from(&mut buf)).await {
                buf.truncate(n);
                return Some(buf);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Query;

    fn query(name: &str, t: RecordType) -> Vec<u8> {
        let mut m = Message::query();
        m.metadata.id = 7;
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), t));
        m.to_vec().unwrap()
    }

    #[tokio::test]
    async fn answers_names_of_its_own_network_only() {
        let dns = Dns::new(Vec::new());
        dns.zones.write().unwrap().by_network.insert("n1".into(), ("front".into(), Vec::new()));
        dns.zones.write().unwrap().by_network.insert("n2".into(), ("back".into(), Vec::new()));
        dns.add("n1", "c1", vec!["Web".into(), "alias".into()], Ipv4Addr::new(10, 0, 0, 2));
        for name in ["web", "WEB.", "alias", "web.front"] {
            let r = Message::from_vec(&dns.answer("n1", &query(name, RecordType::A)).await.unwrap()).unwrap();
            assert_eq!(r.metadata.id, 7);
            assert_eq!(r.answers.len(), 1, "{name}");
            assert_eq!(r.answers[0].data, RData::A(A(Ipv4Addr::new(10, 0, 0, 2))));
        }
        // No upstream here: a name of another network is a server failure, not an answer.
        let r = Message::from_vec(&dns.answer("n2", &query("web", RecordType::A)).await.unwrap()).unwrap();
        assert!(r.answers.is_empty());
        assert_eq!(r.metadata.response_code, ResponseCode::ServFail);
        let r = Message::from_vec(&dns.answer("n1", &query("2.0.0.10.in-addr.arpa", RecordType::PTR)).await.unwrap()).unwrap();
        assert_eq!(r.answers.len(), 1);
        dns.remove("n1", "c1");
        let r = Message::from_vec(&dns.answer("n1", &query("web", RecordType::A)).await.unwrap()).unwrap();
        assert!(r.answers.is_empty());
    }

    #[test]
    fn resolvers_from_resolv_conf() {
        let r = host_resolvers("# x\nnameserver 10.0.0.1\nnameserver ::1\nsearch a\n");
        assert_eq!(r.len(), 2);
    }
}
