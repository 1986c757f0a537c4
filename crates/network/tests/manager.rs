//! The manager against the real kernel: each test runs on a thread that has unshared a
//! network namespace of its own (everything it makes, bridges, veths, nftables table,
//! goes with it), with stand-in "containers" that are just pinned namespaces.

use std::net::{Ipv4Addr, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use berth_network::{netns, AttachRequest, CreateOptions, Manager, Options};

fn in_own_netns(f: impl FnOnce(&Path) + Send + 'static) {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    std::thread::spawn(move || {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare net");
        let dir = tempfile::tempdir().unwrap();
        f(dir.path());
        // A pool refill cut short when the test's runtime ended may have left a pin.
        for e in std::fs::read_dir(dir.path().join("netns")).into_iter().flatten().flatten() {
            let _ = netns::remove(&e.path());
        }
    })
    .join()
    .expect("test thread");
}

fn nft_table() -> String {
    let out = Command::new("nft").args(["list", "table", "ip", "berth"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn dns_query(ns: &Path, server: Ipv4Addr, name: &str) -> Vec<u8> {
    let name = name.to_owned();
    netns::run_in(ns, move || {
        let s = UdpSocket::bind("0.0.0.0:0").unwrap();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        // A hand-made query: id 0x1234, RD, one question, type A, class IN.
        let mut q = vec![0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in name.split('.') {
            q.push(label.len() as u8);
            q.extend(label.as_bytes());
        }
        q.extend([0, 0, 1, 0, 1]);
        s.send_to(&q, (server, 53)).unwrap();
        let mut buf = [0u8; 512];
        let (n, _) = s.recv_from(&mut buf).unwrap();
        buf[..n].to_vec()
    })
    .unwrap()
}

#[test]
fn networks_endpoints_dns_and_ports_in_the_kernel() {
    in_own_netns(|dir| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let opts = Options { resolvers: Vec::new(), ..Options::default() };
            let m = Manager::open(&dir.join("networks"), &dir.join("netns"), opts).await.unwrap();
            assert!(m.recover(&[]).await.is_empty());
            let front = m
                .create(CreateOptions { name: "front".into(), subnet: Some("10.89.0.0/24".into()), ..Default::default() })
                .await
                .unwrap();
            assert_eq!(front.gateway, Ipv4Addr::new(10, 89, 0, 1));
            assert!(m.create(CreateOptions { name: "front".into(), ..Default::default() }).await.is_err());
            let overlap = m.create(CreateOptions { name: "x".into(), subnet: Some("10.89.0.128/25".into()), ..Default::default() }).await;
            assert!(overlap.unwrap_err().to_string().contains("overlaps"));

            let (a, b) = ("a".repeat(64), "b".repeat(64));
            let nsa = m.take_netns().await.unwrap();
            let nsb = m.take_netns().await.unwrap();
            let req = |id: &str, name: &str| AttachRequest {
                container_id: id.into(),
                container_name: name.into(),
                network: "front".into(),
                ifname: "eth0".into(),
                ip: None,
                aliases: vec![format!("{name}-alias")],
            };
            let ea = m.attach(&nsa, req(&a, "web")).await.unwrap();
            let eb = m.attach(&nsb, req(&b, "client")).await.unwrap();
            assert_eq!(ea.ip, Ipv4Addr::new(10, 89, 0, 2));
            assert_eq!(eb.ip, Ipv4Addr::new(10, 89, 0, 3));
            assert_eq!(ea.mac, "02:42:0a:59:00:02");

            // From b's namespace: a's name resolves through the gateway.
            // (On a blocking thread: the server runs on this runtime's one thread.)
            let q = |name: &'static str| {
                let (ns, gw) = (nsb.clone(), front.gateway);
                tokio::task::spawn_blocking(move || dns_query(&ns, gw, name))
            };
            let reply = q("web").await.unwrap();
            assert_eq!(&reply[..2], &[0x12, 0x34]);
            assert_eq!(&reply[reply.len() - 4..], &[10, 89, 0, 2], "answer is a's address");
            let reply = q("web-alias").await.unwrap();
            assert_eq!(&reply[reply.len() - 4..], &[10, 89, 0, 2]);

            // Ports: one DNAT rule per mapping.
            let reqs = berth_network::parse_binding("80/tcp", "", "8080").unwrap();
            let maps = m.publish(&a, &reqs, ea.ip).await.unwrap();
            assert_eq!(maps[0].host_port, 8080);
            assert!(m.publish(&b, &reqs, eb.ip).await.is_err(), "8080 is taken");
            let t = nft_table();
            assert!(t.contains("tcp dport 8080 dnat to 10.89.0.2:80"), "{t}");

            // The network cannot go while endpoints are on it.
            assert!(m.remove("front").await.is_err());
            m.unpublish(&a).await.unwrap();
            assert!(!nft_table().contains("dport 8080"));
            m.detach(&a, &ea, true).await.unwrap();
            m.detach(&b, &eb, true).await.unwrap();
            m.remove_netns(&nsa).unwrap();
            m.remove_netns(&nsb).unwrap();
            m.remove("front").await.unwrap();
            let links = Command::new("ip").args(["-o", "link"]).output().unwrap();
            let links = String::from_utf8_lossy(&links.stdout);
            assert!(!links.contains(&front.bridge), "{links}");
            assert!(!links.contains("vb"), "{links}");
            assert!(m.teardown_all().await.is_empty());
        });
    });
}

#[test]
fn recover_frees_what_no_live_container_holds() {
    in_own_netns(|dir| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let opts = Options { resolvers: Vec::new(), ..Options::default() };
            let m = Manager::open(&dir.join("networks"), &dir.join("netns"), opts.clone()).await.unwrap();
            m.recover(&[]).await;
            m.create(CreateOptions { name: "n".into(), ..Default::default() }).await.unwrap();
            let (a, b) = ("a".repeat(64), "b".repeat(64));
            let nsa = m.take_netns().await.unwrap();
            let nsb = m.take_netns().await.unwrap();
            let mk = |id: &str| AttachRequest { container_id: id.into(), container_name: id[..3].into(), network: "n".into(), ifname: "eth0".into(), ..Default::default() };
            let ea = m.attach(&nsa, mk(&a)).await.unwrap();
            let eb = m.attach(&nsb, mk(&b)).await.unwrap();
            drop(m);
            // A new daemon: only a is still running.
            let m = Manager::open(&dir.join("networks"), &dir.join("netns"), opts).await.unwrap();
            let live = vec![berth_network::Live { container_id: a.clone(), netns: Some(nsa.clone()), endpoints: vec![ea.clone()], ports: vec![] }];
            let errs = m.recover(&live).await;
            assert!(errs.is_empty(), "{errs:?}");
            let n = m.get("n").await.unwrap();
            assert_eq!(n.allocations.len(), 1);
            assert!(n.allocations.contains_key(&ea.ip));
            assert!(!netns::is_pinned(&nsb), "b's namespace was released");
            let links = Command::new("ip").args(["-o", "link"]).output().unwrap();
            let links = String::from_utf8_lossy(&links.stdout).into_owned();
            assert!(links.contains(&ea.host_ifname) && !links.contains(&eb.host_ifname), "{links}");
            m.detach(&a, &ea, true).await.unwrap();
            m.remove_netns(&nsa).unwrap();
            m.teardown_all().await;
        });
    });
}
