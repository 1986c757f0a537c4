//! [`Manager`]: the networks of one daemon, and the operations the engine calls on
//! them. It holds the records, the netlink connection to the daemon's namespace, the
//! port mappings and the DNS server, and keeps the kernel (bridges, veths, nftables
//! table) in line with them.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use crate::dns::Dns;
use crate::endpoint::{self, AttachRequest, Endpoint};
use crate::error::{NetworkError, Result};
use crate::firewall::{self, BridgeRules};
use crate::ipam;
use crate::link::{self, Netlink};
use crate::netns;
use crate::network::{self, now_unix_nanos, CreateOptions, Network, DEFAULT_BRIDGE, DEFAULT_NETWORK};
use crate::ports::{self, PortMapping, PortRequest, Proto};
use crate::store::Store;

/// Daemon-wide settings (daemon.json's `bip`, `mtu`).
#[derive(Debug, Clone)]
pub struct Options {
    /// The default bridge's subnet (`172.17.0.0/16`).
    pub default_subnet: Ipv4Net,
    pub mtu: u32,
    /// Upstream resolvers of the embedded DNS.
    pub resolvers: Vec<std::net::SocketAddr>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            default_subnet: "172.17.0.0/16".parse().expect("a valid subnet"),
            mtu: 1500,
            resolvers: crate::dns::host_resolvers(&std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default()),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    networks: Vec<Network>,
    /// Container id → its published ports.
    ports: HashMap<String, Vec<PortMapping>>,
    /// Where the search for a free dynamic host port starts next.
    port_cursor: u16,
}

/// What a running container holds, as the engine recorded it: handed to
/// [`Manager::recover`] after a restart.
#[derive(Debug, Clone)]
pub struct Live {
    pub container_id: String,
    /// Its pinned network namespace, if it has one.
    pub netns: Option<PathBuf>,
    pub endpoints: Vec<Endpoint>,
    pub ports: Vec<PortMapping>,
}

#[derive(Debug)]
pub struct Manager {
    store: Store,
    opts: Options,
    nl: Netlink,
    dns: Dns,
    state: Mutex<State>,
    pool: NetnsPool,
}

/// Network namespaces made ahead of need: making one (`unshare(CLONE_NEWNET)`, the
/// kernel's per-namespace setup, `lo` up) costs 2–6 ms here, which a container start
/// would otherwise wait for. Each is handed out once, to one container, and replaced in
/// the background. The runtime joins it instead of making one.
#[derive(Debug, Clone)]
struct NetnsPool {
    dir: PathBuf,
    ready: std::sync::Arc<std::sync::Mutex<Vec<PathBuf>>>,
    filling: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Set by [`Manager::drain_pool`]: no more namespaces are made.
    closed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    seq: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// How many namespaces wait ready.
const POOL: usize = 3;

impl NetnsPool {
    /// A new pinned namespace with `lo` up, under a name no container or earlier daemon
    /// used (time and a counter).
    async fn make(&self) -> Result<PathBuf> {
        let nanos = now_unix_nanos();
        let n = self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = self.dir.join(format!("n{nanos:x}-{n}"));
        netns::create(&path)?;
        let lo_up = async {
            let inner = Netlink::in_netns(&path)?;
            if let Some(lo) = inner.index("lo").await? {
                inner.up(lo, "lo").await?;
            }
            Ok::<_, NetworkError>(())
        };
        if let Err(e) = lo_up.await {
            let _ = netns::remove(&path);
            return Err(e);
        }
        Ok(path)
    }

    fn take_ready(&self) -> Option<PathBuf> {
        self.ready.lock().expect("netns pool lock").pop()
    }

    /// Tops the pool up in the background (one filler at a time).
    fn refill(&self) {
        use std::sync::atomic::Ordering;
        if self.closed.load(Ordering::Acquire) || self.filling.swap(true, Ordering::AcqRel) {
            return;
        }
        let pool = self.clone();
        tokio::spawn(async move {
            while !pool.closed.load(Ordering::Acquire) && pool.ready.lock().expect("netns pool lock").len() < POOL {
                match pool.make().await {
                    Ok(p) => {
                        let mut ready = pool.ready.lock().expect("netns pool lock");
                        if pool.closed.load(Ordering::Acquire) {
                            let _ = netns::remove(&p);
                        } else {
                            ready.push(p);
                        }
                    }
                    Err(e) => {
                        tracing::warn!("pre-making a network namespace: {e}");
                        break;
                    }
                }
            }
            pool.filling.store(false, Ordering::Release);
        });
    }
}

fn new_network_id(name: &str) -> String {
    hex::encode(Sha256::digest(format!("{name}/{}", now_unix_nanos())))
}

/// The sysctls a bridge network needs: forwarding in the daemon's namespace, and
/// `route_localnet` on the bridge so 127.0.0.1:port can be DNATed to a container.
fn sysctls(bridge: &str) -> Result<()> {
    for (path, v) in [
        ("/proc/sys/net/ipv4/ip_forward".to_owned(), "1"),
        (format!("/proc/sys/net/ipv4/conf/{bridge}/route_localnet"), "1"),
    ] {
        if std::fs::read_to_string(&path).map(|s| s.trim() == v).unwrap_or(false) {
            continue;
        }
        std::fs::write(&path, v).map_err(NetworkError::io("write", path.clone()))?;
    }
    Ok(())
}

impl Manager {
    /// Loads the records under `data_dir`, makes the predefined networks on first use,
    /// and brings every bridge up. Call [`Manager::recover`] next, with what the
    /// engine's containers still hold.
    pub async fn open(data_dir: &Path, netns_dir: &Path, opts: Options) -> Result<Manager> {
        let store = Store::open(data_dir)?;
        let mut networks = store.load_all()?;
        for (name, driver) in [(DEFAULT_NETWORK, "bridge"), ("host", "host"), ("none", "null")] {
            if networks.iter().any(|n| n.name == name) {
                continue;
            }
            let is_bridge = driver == "bridge";
            // The default subnet, unless the host already routes it (a docker0 beside us):
            // then the first free pool, as for any new network.
            let routes = ipam::current_host_routes();
            let subnet = if !is_bridge {
                "0.0.0.0/32".parse().expect("valid")
            } else if routes.iter().any(|r| ipam::overlaps(r, &opts.default_subnet)) {
                let mut taken = routes.clone();
                taken.extend(networks.iter().filter(|n| n.is_bridge()).map(|n| n.subnet));
                ipam::free_subnet(&taken)?
            } else {
                opts.default_subnet
            };
            let n = Network {
                id: new_network_id(name),
                name: name.to_owned(),
                driver: driver.to_owned(),
                created: now_unix_nanos(),
                gateway: if is_bridge { ipam::gateway_for(&subnet, None)? } else { Ipv4Addr::UNSPECIFIED },
                subnet,
                ip_range: None,
                internal: false,
                icc: true,
                masquerade: true,
                bridge: if is_bridge { DEFAULT_BRIDGE.to_owned() } else { String::new() },
                mtu: opts.mtu,
                labels: HashMap::new(),
                options: HashMap::new(),
                dns: false,
                allocations: Default::default(),
                last_allocated: None,
            };
            store.save(&n)?;
            networks.push(n);
        }
        let m = Manager {
            store,
            dns: Dns::new(opts.resolvers.clone()),
            opts,
            nl: Netlink::current()?,
            state: Mutex::new(State { networks, ports: HashMap::new(), port_cursor: 0 }),
            pool: NetnsPool {
                dir: netns_dir.to_owned(),
                ready: Default::default(),
                filling: Default::default(),
                closed: Default::default(),
                seq: Default::default(),
            },
        };
        Ok(m)
    }

    pub async fn list(&self) -> Vec<Network> {
        self.state.lock().await.networks.clone()
    }

    /// By name, full id, or unique id prefix (Docker's order).
    pub async fn get(&self, key: &str) -> Result<Network> {
        let st = self.state.lock().await;
        find(&st.networks, key).cloned()
    }

    async fn bring_up(&self, n: &Network) -> Result<()> {
        let idx = self.nl.ensure_bridge(&n.bridge, n.mtu).await?;
        self.nl.add_address(idx, &n.bridge, n.gateway, n.subnet.prefix_len()).await?;
        sysctls(&n.bridge)?;
        if n.dns {
            if let Err(e) = self.dns.serve(&n.id, &n.name, n.gateway).await {
                tracing::warn!(network = %n.name, "embedded dns unavailable: bind {}:53: {e}", n.gateway);
            }
        }
        Ok(())
    }

    async fn apply_firewall(&self, st: &State) -> Result<()> {
        let bridges: Vec<BridgeRules> = st
            .networks
            .iter()
            .filter(|n| n.is_bridge())
            .map(|n| BridgeRules { bridge: n.bridge.clone(), subnet: n.subnet, internal: n.internal, masquerade: n.masquerade })
            .collect();
        let ports: Vec<PortMapping> = st.ports.values().flatten().cloned().collect();
        tokio::task::spawn_blocking(move || firewall::apply(&bridges, &ports))
            .await
            .map_err(|e| NetworkError::Firewall(e.to_string()))?
    }

    /// `network create`.
    pub async fn create(&self, o: CreateOptions) -> Result<Network> {
        let driver = o.driver.clone().unwrap_or_else(|| "bridge".into());
        if driver != "bridge" {
            return Err(NetworkError::Invalid(format!(
                "plugin \"{driver}\" not found: only the bridge driver is supported"
            )));
        }
        if o.name.is_empty() {
            return Err(NetworkError::Invalid("network name must not be empty".into()));
        }
        let mut st = self.state.lock().await;
        if st.networks.iter().any(|n| n.name == o.name) {
            return Err(NetworkError::NameTaken(o.name));
        }
        let mut taken: Vec<Ipv4Net> = st.networks.iter().filter(|n| n.is_bridge()).map(|n| n.subnet).collect();
        // Routes of the host that are not ours (ours are the networks above).
        let ours: Vec<Ipv4Net> = taken.clone();
        let routes = ipam::current_host_routes();
        taken.extend(routes.into_iter().filter(|r| !ours.contains(r)));
        let subnet: Ipv4Net = match &o.subnet {
            Some(s) => {
                let s: Ipv4Net = s
                    .parse()
                    .map_err(|_| NetworkError::Invalid(format!("invalid subnet {s}: only IPv4 CIDR subnets are supported")))?;
                let s = s.trunc();
                if let Some(t) = taken.iter().find(|t| ipam::overlaps(&s, t)) {
                    return Err(NetworkError::Pool(format!("subnet {s} overlaps with other one on this address space ({t})")));
                }
                s
            }
            None => ipam::free_subnet(&taken)?,
        };
        let gateway = ipam::gateway_for(
            &subnet,
            o.gateway
                .as_deref()
                .map(|g| g.parse().map_err(|_| NetworkError::Invalid(format!("invalid gateway address {g}"))))
                .transpose()?,
        )?;
        let ip_range = match &o.ip_range {
            Some(r) => {
                let r: Ipv4Net = r.parse().map_err(|_| NetworkError::Invalid(format!("invalid ip range {r}")))?;
                if !subnet.contains(&r) {
                    return Err(NetworkError::Invalid(format!("ip range {r} is not in subnet {subnet}")));
                }
                Some(r)
            }
            None => None,
        };
        let id = new_network_id(&o.name);
        let bridge = o.options.get(network::OPT_BRIDGE_NAME).cloned().unwrap_or_else(|| format!("berth{}", &id[..10]));
        if bridge.is_empty() || bridge.len() > 15 || bridge.contains('/') || bridge.contains(char::is_whitespace) {
            return Err(NetworkError::Invalid(format!("invalid bridge name {bridge:?}: at most 15 characters, no '/' or spaces")));
        }
        if st.networks.iter().any(|n| n.bridge == bridge) {
            return Err(NetworkError::Invalid(format!("bridge name {bridge} is already used by another network")));
        }
        let flag = |k: &str, default: bool| -> Result<bool> {
            match o.options.get(k).map(String::as_str) {
                None => Ok(default),
                Some("true" | "1") => Ok(true),
                Some("false" | "0") => Ok(false),
                Some(v) => Err(NetworkError::Invalid(format!("invalid value {v:?} for option {k}: want true or false"))),
            }
        };
        let mtu = match o.options.get(network::OPT_MTU) {
            None => self.opts.mtu,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|m| (68..=65535).contains(m))
                .ok_or_else(|| NetworkError::Invalid(format!("invalid mtu {v:?}")))?,
        };
        let n = Network {
            id,
            name: o.name.clone(),
            driver,
            created: now_unix_nanos(),
            subnet,
            gateway,
            ip_range,
            internal: o.internal,
            icc: flag(network::OPT_ICC, true)?,
            masquerade: flag(network::OPT_MASQUERADE, true)?,
            bridge,
            mtu,
            labels: o.labels,
            options: o.options,
            dns: true,
            allocations: Default::default(),
            last_allocated: None,
        };
        self.bring_up(&n).await?;
        if let Err(e) = self.store.save(&n) {
            let _ = self.nl.delete(&n.bridge).await;
            self.dns.stop(&n.id);
            return Err(e);
        }
        st.networks.push(n.clone());
        if let Err(e) = self.apply_firewall(&st).await {
            st.networks.retain(|x| x.id != n.id);
            let _ = self.store.remove(&n.id);
            let _ = self.nl.delete(&n.bridge).await;
            self.dns.stop(&n.id);
            return Err(e);
        }
        Ok(n)
    }

    /// `network rm`: refused while any container holds an address on it.
    pub async fn remove(&self, key: &str) -> Result<Network> {
        let mut st = self.state.lock().await;
        let n = find(&st.networks, key)?.clone();
        if matches!(n.name.as_str(), DEFAULT_NETWORK | "host" | "none") {
            return Err(NetworkError::Invalid(format!("{} is a pre-defined network and cannot be removed", n.name)));
        }
        if !n.allocations.is_empty() {
            return Err(NetworkError::Invalid(format!(
                "error while removing network: network {} has active endpoints",
                n.name
            )));
        }
        self.dns.stop(&n.id);
        st.networks.retain(|x| x.id != n.id);
        // Keep going on errors: the record goes last, so a failure leaves it to retry.
        let mut errors = Vec::new();
        if let Err(e) = self.apply_firewall(&st).await {
            errors.push(e);
        }
        if let Err(e) = self.nl.delete(&n.bridge).await {
            errors.push(e);
        }
        if let Some(e) = errors.into_iter().next() {
            st.networks.push(n);
            return Err(e);
        }
        self.store.remove(&n.id)?;
        Ok(n)
    }

    /// A new network namespace for one container, with `lo` up: from the pool if one is
    /// ready (and the pool is topped up behind it), else made now. The caller records
    /// the path and hands it back to [`Manager::remove_netns`].
    pub async fn take_netns(&self) -> Result<PathBuf> {
        let ready = self.pool.take_ready();
        self.pool.refill();
        match ready {
            Some(p) => Ok(p),
            None => self.pool.make().await,
        }
    }

    pub fn remove_netns(&self, path: &Path) -> Result<()> {
        netns::remove(path)
    }

    /// Removes the namespaces waiting in the pool and makes no more (a daemon shutting
    /// down leaves no namespace nothing uses).
    pub fn drain_pool(&self) -> Vec<NetworkError> {
        self.pool.closed.store(true, std::sync::atomic::Ordering::Release);
        let ready: Vec<PathBuf> = std::mem::take(&mut *self.pool.ready.lock().expect("netns pool lock"));
        ready.iter().filter_map(|p| netns::remove(p).err()).collect()
    }

    /// Attaches the container whose namespace is pinned at `ns` to a network: an address
    /// from the network's IPAM, a veth pair (host end on the bridge, the other end as
    /// `req.ifname` inside), the default route if the container has none yet, and its
    /// DNS names. On failure nothing of it is left.
    pub async fn attach(&self, ns: &Path, req: AttachRequest) -> Result<Endpoint> {
        let (n, ip) = {
            let mut st = self.state.lock().await;
            let idx = find_index(&st.networks, &req.network)?;
            let n = &mut st.networks[idx];
            if !n.is_bridge() {
                return Err(NetworkError::Invalid(format!(
                    "container cannot be disconnected from host network or connected to host network: {}",
                    n.name
                )));
            }
            if req.ip.is_some() && n.is_default() {
                return Err(NetworkError::Invalid("user specified IP address is supported on user defined networks only".into()));
            }
            if !req.aliases.is_empty() && n.is_default() {
                return Err(NetworkError::Invalid("network-scoped alias is supported only for containers in user defined networks".into()));
            }
            let ip = ipam::allocate(n, &req.container_id, req.ip)?;
            if let Err(e) = self.store.save_allocations(n) {
                ipam::release(n, &req.container_id);
                return Err(e);
            }
            (n.clone(), ip)
        };
        match self.plumb(ns, &req, &n, ip).await {
            Ok(ep) => {
                if n.dns {
                    self.dns.add(&n.id, &req.container_id, ep.dns_names.clone(), ip);
                }
                Ok(ep)
            }
            Err(e) => {
                let _ = self.nl.delete(&endpoint::host_ifname(&req.container_id, &n.id)).await;
                self.release(&n.id, &req.container_id).await;
                Err(e)
            }
        }
    }

    async fn plumb(&self, ns: &Path, req: &AttachRequest, n: &Network, ip: Ipv4Addr) -> Result<Endpoint> {
        let host = endpoint::host_ifname(&req.container_id, &n.id);
        let mac = ipam::mac_for(ip);
        let nsfile = std::fs::File::open(ns).map_err(NetworkError::io("open netns", ns))?;
        // A veth left by a daemon that died half-way would make the add fail.
        self.nl.delete(&host).await?;
        self.nl.create_veth(&host, &req.ifname, nsfile.as_raw_fd(), mac, n.mtu).await?;
        let host_idx = self
            .nl
            .index(&host)
            .await?
            .ok_or_else(|| NetworkError::Netlink { op: "find veth", target: host.clone(), message: "gone after create".into() })?;
        let br = self
            .nl
            .index(&n.bridge)
            .await?
            .ok_or_else(|| NetworkError::Netlink { op: "find bridge", target: n.bridge.clone(), message: "missing".into() })?;
        self.nl.attach_to_bridge(host_idx, &host, br, !n.icc).await?;
        let inner = Netlink::in_netns(ns)?;
        let idx = inner
            .index(&req.ifname)
            .await?
            .ok_or_else(|| NetworkError::Netlink { op: "find in container", target: req.ifname.clone(), message: "missing".into() })?;
        inner.add_address(idx, &req.ifname, ip, n.subnet.prefix_len()).await?;
        inner.up(idx, &req.ifname).await?;
        if !n.internal {
            inner.default_route(n.gateway).await?;
        }
        let mut dns_names = vec![req.container_name.clone()];
        dns_names.extend(req.aliases.iter().cloned());
        dns_names.push(req.container_id[..12.min(req.container_id.len())].to_owned());
        Ok(Endpoint {
            id: endpoint::new_id(&req.container_id, &n.id),
            network_id: n.id.clone(),
            network_name: n.name.clone(),
            ifname: req.ifname.clone(),
            host_ifname: host,
            ip,
            prefix_len: n.subnet.prefix_len(),
            gateway: n.gateway,
            mac: ipam::mac_string(&mac),
            dns_names,
            aliases: req.aliases.clone(),
        })
    }

    async fn release(&self, network_id: &str, container: &str) {
        let mut st = self.state.lock().await;
        if let Some(n) = st.networks.iter_mut().find(|n| n.id == network_id) {
            if ipam::release(n, container) {
                if let Err(e) = self.store.save_allocations(n) {
                    tracing::warn!("release address on {}: {e}", n.name);
                }
            }
        }
    }

    /// Replaces the names the embedded DNS answers for an endpoint (after a rename).
    pub fn set_dns_names(&self, container_id: &str, ep: &Endpoint) {
        self.dns.add(&ep.network_id, container_id, ep.dns_names.clone(), ep.ip);
    }

    /// Detaches an endpoint: the names leave the DNS, the address returns to the pool,
    /// the veth pair goes (deleting one end deletes both).
    ///
    /// Deleting a veth waits for an RCU grace period in the kernel (~20 ms here), so
    /// for a container that has exited (`wait == false`) the deletion runs in the
    /// background: its process is gone and nothing can use the link. The address is
    /// free at once (a network can be removed right after its last container); IPAM
    /// hands out the addresses after the last one first, so it is not reused while the
    /// old link may still exist. `network disconnect` of a running container waits.
    pub async fn detach(&self, container_id: &str, ep: &Endpoint, wait: bool) -> Result<()> {
        self.dns.remove(&ep.network_id, container_id);
        self.release(&ep.network_id, container_id).await;
        if wait {
            return self.nl.delete(&ep.host_ifname).await;
        }
        let (nl, host) = (self.nl.clone(), ep.host_ifname.clone());
        tokio::spawn(async move {
            if let Err(e) = nl.delete(&host).await {
                tracing::warn!("delete veth {host}: {e}");
            }
        });
        Ok(())
    }

    /// Publishes a container's ports to `ip` (its address on its first network) and
    /// returns the mappings, with the host ports chosen where the request left them open.
    pub async fn publish(&self, container_id: &str, requests: &[(PortRequest, Option<u16>)], ip: Ipv4Addr) -> Result<Vec<PortMapping>> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let mut st = self.state.lock().await;
        let taken: HashSet<(Proto, u16)> = st
            .ports
            .iter()
            .filter(|(c, _)| c.as_str() != container_id)
            .flat_map(|(_, v)| v.iter().map(|m| (m.proto, m.host_port)))
            .collect();
        let mut cursor = st.port_cursor;
        let mappings = ports::resolve(requests, ip, &taken, &mut cursor)?;
        st.port_cursor = cursor;
        st.ports.insert(container_id.to_owned(), mappings.clone());
        if let Err(e) = self.apply_firewall(&st).await {
            st.ports.remove(container_id);
            return Err(e);
        }
        Ok(mappings)
    }

    pub async fn unpublish(&self, container_id: &str) -> Result<()> {
        let mut st = self.state.lock().await;
        if st.ports.remove(container_id).is_some() {
            self.apply_firewall(&st).await?;
        }
        Ok(())
    }

    /// After a daemon restart: keeps what `live` containers hold (addresses, veths,
    /// ports, names), frees every other address, deletes bridges and veths of ours that
    /// nothing owns, and re-renders the firewall table. Keeps going past errors and
    /// returns them all.
    pub async fn recover(&self, live: &[Live]) -> Vec<NetworkError> {
        let mut errors = Vec::new();
        let owners: HashSet<&str> = live.iter().map(|l| l.container_id.as_str()).collect();
        let mut st = self.state.lock().await;
        // The containers' records are what counts: drop every other holder, and put back
        // what a live container holds (an allocation update may not have reached the disk).
        for n in st.networks.iter_mut() {
            let before = n.allocations.clone();
            n.allocations.retain(|_, o| owners.contains(o.as_str()));
            for l in live {
                for ep in l.endpoints.iter().filter(|e| e.network_id == n.id) {
                    n.allocations.insert(ep.ip, l.container_id.clone());
                }
            }
            if n.allocations != before {
                if let Err(e) = self.store.save(n) {
                    errors.push(e);
                }
            }
        }
        let nets = st.networks.clone();
        for n in nets.iter().filter(|n| n.is_bridge()) {
            if let Err(e) = self.bring_up(n).await {
                errors.push(e);
            }
        }
        for l in live {
            for ep in &l.endpoints {
                if nets.iter().any(|n| n.id == ep.network_id && n.dns) {
                    self.dns.add(&ep.network_id, &l.container_id, ep.dns_names.clone(), ep.ip);
                }
            }
            if !l.ports.is_empty() {
                st.ports.insert(l.container_id.clone(), l.ports.clone());
            }
        }
        let bridges: HashSet<&str> = nets.iter().map(|n| n.bridge.as_str()).collect();
        let veths: HashSet<&str> = live.iter().flat_map(|l| l.endpoints.iter().map(|e| e.host_ifname.as_str())).collect();
        match self.nl.links().await {
            Ok(links) => {
                for (_, name, kind) in links {
                    let ours_bridge = link::is_bridge(&kind) && name.starts_with("berth") && !bridges.contains(name.as_str());
                    let ours_veth = kind.as_deref() == Some("veth") && name.starts_with("vb") && name.len() == 13 && !veths.contains(name.as_str());
                    if ours_bridge || ours_veth {
                        if let Err(e) = self.nl.delete(&name).await {
                            errors.push(e);
                        }
                    }
                }
            }
            Err(e) => errors.push(e),
        }
        if let Err(e) = self.apply_firewall(&st).await {
            errors.push(e);
        }
        // Namespaces pinned for containers that are gone, and an earlier daemon's pool.
        if let Ok(rd) = std::fs::read_dir(&self.pool.dir) {
            let keep: HashSet<&Path> = live.iter().filter_map(|l| l.netns.as_deref()).collect();
            for e in rd.flatten() {
                if !keep.contains(e.path().as_path()) {
                    if let Err(err) = netns::remove(&e.path()) {
                        errors.push(err);
                    }
                }
            }
        }
        self.pool.refill();
        errors
    }

    /// Everything the daemon made in the kernel for its networks, removed (for a daemon
    /// asked to leave no trace, and for tests). Keeps going and reports every error.
    pub async fn teardown_all(&self) -> Vec<NetworkError> {
        let mut errors = self.drain_pool();
        let st = self.state.lock().await;
        for n in st.networks.iter().filter(|n| n.is_bridge()) {
            self.dns.stop(&n.id);
            if let Err(e) = self.nl.delete(&n.bridge).await {
                errors.push(e);
            }
        }
        if let Err(e) = tokio::task::spawn_blocking(firewall::remove).await.map_err(|e| NetworkError::Firewall(e.to_string())).and_then(|r| r) {
            errors.push(e);
        }
        errors
    }
}

/// By name, full id, or unique id prefix (Docker's order).
fn find_index(nets: &[Network], key: &str) -> Result<usize> {
    if let Some(i) = nets.iter().position(|n| n.name == key || n.id == key) {
        return Ok(i);
    }
    let m: Vec<usize> = (0..nets.len()).filter(|&i| !key.is_empty() && nets[i].id.starts_with(key)).collect();
    match m.as_slice() {
        [one] => Ok(*one),
        [] => Err(NetworkError::NotFound(key.to_owned())),
        _ => Err(NetworkError::Invalid(format!("network {key} is ambiguous ({} matches found based on ID prefix)", m.len()))),
    }
}

fn find<'a>(nets: &'a [Network], key: &str) -> Result<&'a Network> {
    find_index(nets, key).map(|i| &nets[i])
}
