//! Links, addresses and routes through rtnetlink: the bridge of a network, the veth pair
//! of an endpoint, and what goes inside the container's namespace (the address, the
//! default route, `lo` up). No `ip` command is run.

use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::RawFd;
use std::path::Path;

use futures_util::TryStreamExt;
use netlink_packet_route::link::{InfoBridgePort, InfoData, InfoKind, InfoVeth, LinkAttribute, LinkInfo, LinkMessage};
use rtnetlink::{Handle, LinkBridge, LinkBridgePort, LinkMessageBuilder, LinkUnspec, LinkVeth, RouteMessageBuilder};

use crate::error::{NetworkError, Result};

/// A netlink connection bound to one network namespace.
#[derive(Clone)]
pub struct Netlink {
    handle: Handle,
}

impl std::fmt::Debug for Netlink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Netlink")
    }
}

/// The errno a netlink request failed with, if the kernel sent one.
fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => m.code.map(|c| -c.get()),
        _ => None,
    }
}

impl Netlink {
    /// A connection in the calling thread's namespace (the daemon's own).
    pub fn current() -> Result<Netlink> {
        let (conn, handle, _) = rtnetlink::new_connection()
            .map_err(NetworkError::io("open netlink socket", "NETLINK_ROUTE"))?;
        tokio::spawn(conn);
        Ok(Netlink { handle })
    }

    /// A connection inside the namespace pinned at `path`: the socket is opened by a
    /// thread that joined it, and keeps talking to it after that thread is gone.
    pub fn in_netns(path: &Path) -> Result<Netlink> {
        let rt = tokio::runtime::Handle::current();
        let (conn, handle, _) = crate::netns::run_in(path, move || {
            // The socket registers with tokio's reactor as it is made.
            let _g = rt.enter();
            rtnetlink::new_connection()
        })?
        .map_err(NetworkError::io("open netlink socket in", path))?;
        tokio::spawn(conn);
        Ok(Netlink { handle })
    }

    pub async fn index(&self, name: &str) -> Result<Option<u32>> {
        let mut s = self.handle.link().get().match_name(name.to_owned()).execute();
        match s.try_next().await {
            Ok(Some(m)) => Ok(Some(m.header.index)),
            Ok(None) => Ok(None),
            Err(e) if errno(&e) == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(NetworkError::netlink("get link", name)(e)),
        }
    }

    /// Every link, with its name and kind (`bridge`, `veth`…).
    pub async fn links(&self) -> Result<Vec<(u32, String, Option<String>)>> {
        let msgs: Vec<LinkMessage> = self
            .handle
            .link()
            .get()
            .execute()
            .try_collect()
            .await
            .map_err(NetworkError::netlink("list links", "all"))?;
        Ok(msgs
            .into_iter()
            .map(|m| {
                let mut name = String::new();
                let mut kind = None;
                for a in &m.attributes {
                    match a {
                        LinkAttribute::IfName(n) => name = n.clone(),
                        LinkAttribute::LinkInfo(infos) => {
                            for i in infos {
                                if let LinkInfo::Kind(k) = i {
                                    kind = Some(k.to_string());
                                }
                            }
                        }
                        _ => {}
                    }
                }
                (m.header.index, name, kind)
            })
            .collect())
    }

    /// The bridge `name`, made if missing, with `mtu`, up.
    pub async fn ensure_bridge(&self, name: &str, mtu: u32) -> Result<u32> {
        if self.index(name).await?.is_none() {
            let msg = LinkBridge::new(name).mtu(mtu).build();
            match self.handle.link().add(msg).execute().await {
                Err(e) if errno(&e) != Some(libc::EEXIST) => {
                    return Err(NetworkError::netlink("create bridge", name)(e))
                }
                _ => {}
            }
        }
        let idx = self
            .index(name)
            .await?
            .ok_or_else(|| NetworkError::Netlink { op: "find bridge", target: name.into(), message: "gone after create".into() })?;
        self.up(idx, name).await?;
        Ok(idx)
    }

    pub async fn up(&self, idx: u32, name: &str) -> Result<()> {
        self.handle
            .link()
            .set(LinkUnspec::new_with_index(idx).up().build())
            .execute()
            .await
            .map_err(NetworkError::netlink("set up", name))
    }

    /// Deletes a link by name; one that is already gone is fine.
    pub async fn delete(&self, name: &str) -> Result<()> {
        let Some(idx) = self.index(name).await? else { return Ok(()) };
        match self.handle.link().del(idx).execute().await {
            Err(e) if errno(&e) != Some(libc::ENODEV) => Err(NetworkError::netlink("delete link", name)(e)),
            _ => Ok(()),
        }
    }

    /// Adds `addr/prefix`; an address that is already there is fine.
    pub async fn add_address(&self, idx: u32, name: &str, addr: Ipv4Addr, prefix: u8) -> Result<()> {
        match self.handle.address().add(idx, IpAddr::V4(addr), prefix).execute().await {
            Err(e) if errno(&e) != Some(libc::EEXIST) => {
                Err(NetworkError::netlink("add address", format!("{addr}/{prefix} to {name}"))(e))
            }
            _ => Ok(()),
        }
    }

    /// A veth pair: `host` here, its peer created directly inside the namespace `netns`
    /// as `peer` with `mac`, so it never appears in the daemon's namespace under a name
    /// that could clash.
    pub async fn create_veth(&self, host: &str, peer: &str, netns: RawFd, mac: [u8; 6], mtu: u32) -> Result<()> {
        let peer_msg = LinkMessageBuilder::<LinkUnspec>::new()
            .name(peer.to_owned())
            .address(mac.to_vec())
            .mtu(mtu)
            .setns_by_fd(netns)
            .build();
        let msg = LinkVeth::new(host, peer)
            .mtu(mtu)
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer_msg)))
            .build();
        self.handle
            .link()
            .add(msg)
            .execute()
            .await
            .map_err(NetworkError::netlink("create veth", host))
    }

    /// Puts `idx` on the bridge, up; `isolated` stops it talking to other isolated ports
    /// of the same bridge (icc disabled) while the bridge itself stays reachable.
    pub async fn attach_to_bridge(&self, idx: u32, name: &str, bridge: u32, isolated: bool) -> Result<()> {
        self.handle
            .link()
            .set(LinkUnspec::new_with_index(idx).controller(bridge).up().build())
            .execute()
            .await
            .map_err(NetworkError::netlink("attach to bridge", name))?;
        if isolated {
            let msg = LinkBridgePort::new(idx).append_info_data(InfoBridgePort::Isolated(true)).build();
            self.handle
                .link()
                .set_port(msg)
                .execute()
                .await
                .map_err(NetworkError::netlink("isolate bridge port", name))?;
        }
        Ok(())
    }

    pub async fn default_route(&self, gateway: Ipv4Addr) -> Result<()> {
        let msg = RouteMessageBuilder::<Ipv4Addr>::new().gateway(gateway).build();
        match self.handle.route().add(msg).execute().await {
            Err(e) if errno(&e) != Some(libc::EEXIST) => {
                Err(NetworkError::netlink("add default route via", gateway)(e))
            }
            _ => Ok(()),
        }
    }
}

/// The kind of a link as the kernel names it.
pub fn is_bridge(kind: &Option<String>) -> bool {
    kind.as_deref() == Some(&InfoKind::Bridge.to_string())
}
