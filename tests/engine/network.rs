//! Networking end to end, each scenario with its own daemon in its own network
//! namespace (every bridge, veth and nftables rule lives there and goes with it): names
//! on user-defined networks, published TCP and UDP ports (on 127.0.0.1, on the
//! namespace's own address, from other containers), `-P`, isolation between networks
//! and of internal ones, connect/disconnect on a running container, `container:` mode,
//! addresses kept across a daemon restart, and nothing left behind after removal.

use std::process::Command;
use std::sync::OnceLock;

use berth_test_support::{Client, Daemon};

use crate::{both, eventually};

/// Runs a host-side command inside the daemon's network namespace.
fn in_ns(d: &Daemon, args: &[&str]) -> berth_test_support::Run {
    let o = Command::new("nsenter")
        .arg(format!("--net=/run/netns/{}", d.netns))
        .arg("--")
        .args(args)
        .output()
        .expect("run nsenter");
    berth_test_support::Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn curl(d: &Daemon, url: &str) -> String {
    in_ns(d, &["curl", "-s", "-m", "3", url]).stdout
}

/// A busybox httpd serving `body` at `/` (`sh -c` so the page exists before it starts).
fn httpd_cmd(body: &str) -> String {
    format!("mkdir -p /www && echo {body} > /www/index.html && exec httpd -f -p 80 -h /www")
}

fn ip_of(d: &Daemon, c: Client, name: &str, network: &str) -> String {
    let f = format!("{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}");
    d.run(c, &["inspect", "-f", &f, name]).ok().out().to_owned()
}

fn names_resolve_on_user_networks_only(c: Client) {
    let d = Daemon::start();
    d.run(c, &["network", "create", "front"]).ok();
    let cmd = httpd_cmd("hello-from-web");
    d.run(c, &["run", "-d", "--name", "web", "--network", "front", "--network-alias", "www", "busybox", "sh", "-c", &cmd]).ok();
    let probe = "nslookup web >/dev/null && wget -qO- http://web/ && wget -qO- http://www/ && ping -c1 -W2 web >/dev/null && echo pinged";
    let mut last = String::new();
    let ok = eventually(10, || {
        let r = d.run(c, &["run", "--rm", "--network", "front", "busybox", "sh", "-c", probe]);
        last = format!("{r:?}");
        r.code == 0 && r.stdout == "hello-from-web\nhello-from-web\npinged\n"
    });
    assert!(ok, "web by name and alias on the user network: {last}");
    // resolv.conf names the embedded DNS, the gateway.
    // A rename is seen by the DNS at once.
    d.run(c, &["rename", "web", "site"]).ok();
    let r = d.run(c, &["run", "--rm", "--network", "front", "busybox", "wget", "-qO-", "http://site/"]).ok();
    assert_eq!(r.stdout, "hello-from-web\n");
    let gw = d.run(c, &["network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", "front"]).ok().out().to_owned();
    let r = d.run(c, &["run", "--rm", "--network", "front", "busybox", "cat", "/etc/resolv.conf"]).ok();
    assert!(r.stdout.contains(&format!("nameserver {gw}")), "{r:?}");
    // On the default bridge, names do not resolve (as in Docker).
    d.run(c, &["run", "-d", "--name", "plain", "busybox", "sleep", "60"]).ok();
    let r = d.run(c, &["run", "--rm", "busybox", "ping", "-c1", "-W1", "plain"]);
    assert_ne!(r.code, 0, "a name resolved on the default bridge: {r:?}");
    // Unless linked: then name and alias are in /etc/hosts.
    let r = d.run(c, &["run", "--rm", "--link", "plain:pl", "busybox", "sh", "-c", "ping -c1 -W2 pl >/dev/null && ping -c1 -W2 plain >/dev/null && echo linked"]).ok();
    assert_eq!(r.stdout, "linked\n");
}

fn published_port_answers_on_loopback_own_address_and_from_containers(c: Client) {
    let d = Daemon::start();
    let cmd = httpd_cmd("published");
    d.run(c, &["run", "-d", "--name", "pub", "-p", "8080:80", "busybox", "sh", "-c", &cmd]).ok();
    assert!(eventually(10, || curl(&d, "http://127.0.0.1:8080/") == "published\n"), "127.0.0.1:8080");
    // The namespace's own (non-loopback) address.
    in_ns(&d, &["ip", "addr", "add", "10.123.0.1/24", "dev", "lo"]);
    assert_eq!(curl(&d, "http://10.123.0.1:8080/"), "published\n");
    // From another container, through the host's address (on the default bridge and on
    // a user network: published ports cross networks).
    let r = d.run(c, &["run", "--rm", "busybox", "wget", "-qO-", "http://10.123.0.1:8080/"]).ok();
    assert_eq!(r.stdout, "published\n");
    d.run(c, &["network", "create", "other"]).ok();
    let r = d.run(c, &["run", "--rm", "--network", "other", "busybox", "wget", "-qO-", "http://10.123.0.1:8080/"]).ok();
    assert_eq!(r.stdout, "published\n");
    let r = d.run(c, &["port", "pub"]).ok();
    assert!(r.stdout.lines().any(|l| l == "80/tcp -> 0.0.0.0:8080"), "{r:?}");
    let r = d.run(c, &["ps", "--format", "{{.Ports}}"]).ok();
    assert!(r.stdout.contains("0.0.0.0:8080->80/tcp"), "{r:?}");
    // The same host port twice is refused, and the first container keeps it.
    let r = d.run(c, &["run", "-d", "--name", "pub2", "-p", "8080:80", "busybox", "sleep", "60"]);
    assert_ne!(r.code, 0, "second bind of 8080 succeeded: {r:?}");
    assert!(r.stderr.contains("port is already allocated"), "{r:?}");
    assert_eq!(curl(&d, "http://127.0.0.1:8080/"), "published\n");
}

fn publish_all_picks_free_ports(c: Client) {
    let d = Daemon::start();
    let cmd = httpd_cmd("any-port");
    d.run(c, &["run", "-d", "--name", "pa", "-P", "--expose", "80", "--expose", "81", "busybox", "sh", "-c", &cmd]).ok();
    let r = d.run(c, &["port", "pa", "80"]).ok();
    let hostport = r.out().rsplit(':').next().unwrap().to_owned();
    let p: u16 = hostport.parse().unwrap_or_else(|_| panic!("port output {r:?}"));
    assert!(p >= 32768, "{p}");
    let r81 = d.run(c, &["port", "pa", "81/tcp"]).ok();
    assert_ne!(r81.out(), r.out(), "two exposed ports got one host port");
    assert!(eventually(10, || curl(&d, &format!("http://127.0.0.1:{p}/")) == "any-port\n"));
}

/// gcc-built static UDP echo server, made once per test binary, in cargo's scratch
/// directory for integration tests (under target/, so nothing is left in /tmp).
fn udpecho() -> &'static std::path::Path {
    static BIN: OnceLock<std::path::PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("udpecho");
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/engine/fixtures/udpecho.c");
        let st = Command::new("gcc").args(["-static", "-O2", "-o"]).arg(&out).arg(src).status().expect("run gcc");
        assert!(st.success(), "gcc -static udpecho.c");
        out
    })
}

fn udp_publishing_works(c: Client) {
    let d = Daemon::start();
    let bind = format!("{}:/udpecho:ro", udpecho().display());
    d.run(c, &["run", "-d", "--name", "udp", "-v", &bind, "-p", "5353:53/udp", "busybox", "/udpecho", "53"]).ok();
    let script = "import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.settimeout(1)\nfor i in range(20):\n  try:\n    s.sendto(b'udp-ok',('127.0.0.1',5353)); print(s.recv(64).decode()); sys.exit(0)\n  except OSError: pass\nsys.exit(1)";
    let r = in_ns(&d, &["python3", "-c", script]);
    assert_eq!(r.stdout, "udp-ok\n", "{r:?}");
    let r = d.run(c, &["port", "udp"]).ok();
    assert_eq!(r.out(), "53/udp -> 0.0.0.0:5353");
}

fn networks_are_isolated(c: Client) {
    let d = Daemon::start();
    d.run(c, &["network", "create", "na"]).ok();
    d.run(c, &["network", "create", "nb"]).ok();
    d.run(c, &["network", "create", "--internal", "ni"]).ok();
    d.run(c, &["run", "-d", "--name", "in-b", "--network", "nb", "busybox", "sleep", "60"]).ok();
    let b_ip = ip_of(&d, c, "in-b", "nb");
    // Same network: reachable.
    d.run(c, &["run", "--rm", "--network", "nb", "busybox", "ping", "-c1", "-W2", &b_ip]).ok();
    // Another network: not, not even by address.
    let r = d.run(c, &["run", "--rm", "--network", "na", "busybox", "ping", "-c1", "-W1", &b_ip]);
    assert_ne!(r.code, 0, "na reached nb: {r:?}");
    // Internal: no route out of its subnet.
    let r = d.run(c, &["run", "--rm", "--network", "ni", "busybox", "ip", "route"]).ok();
    assert!(!r.stdout.contains("default"), "internal network has a default route: {r:?}");
    let r = d.run(c, &["run", "--rm", "--network", "ni", "busybox", "ping", "-c1", "-W1", &b_ip]);
    assert_ne!(r.code, 0, "internal network reached out: {r:?}");
}

fn icc_disabled_isolates_containers_on_one_network(c: Client) {
    let d = Daemon::start();
    d.run(c, &["network", "create", "-o", "com.docker.network.bridge.enable_icc=false", "noicc"]).ok();
    d.run(c, &["run", "-d", "--name", "t1", "--network", "noicc", "busybox", "sleep", "60"]).ok();
    let ip = ip_of(&d, c, "t1", "noicc");
    let r = d.run(c, &["run", "--rm", "--network", "noicc", "busybox", "ping", "-c1", "-W1", &ip]);
    assert_ne!(r.code, 0, "icc=false let containers talk: {r:?}");
    // The gateway (the host) stays reachable.
    let gw = d.run(c, &["network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", "noicc"]).ok().out().to_owned();
    d.run(c, &["run", "--rm", "--network", "noicc", "busybox", "ping", "-c1", "-W2", &gw]).ok();
}

fn connect_and_disconnect_a_running_container(c: Client) {
    let d = Daemon::start();
    d.run(c, &["network", "create", "n1"]).ok();
    d.run(c, &["network", "create", "n2"]).ok();
    d.run(c, &["run", "-d", "--name", "roamer", "--network", "n1", "busybox", "sleep", "60"]).ok();
    d.run(c, &["network", "connect", "--alias", "wanderer", "n2", "roamer"]).ok();
    let r = d.run(c, &["exec", "roamer", "ip", "-o", "-4", "addr"]).ok();
    assert!(r.stdout.contains("eth1"), "{r:?}");
    d.run(c, &["run", "--rm", "--network", "n2", "busybox", "ping", "-c1", "-W2", "roamer"]).ok();
    d.run(c, &["run", "--rm", "--network", "n2", "busybox", "ping", "-c1", "-W2", "wanderer"]).ok();
    let members = d.run(c, &["network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{end}}", "n2"]).ok();
    assert_eq!(members.out(), "roamer");
    d.run(c, &["network", "disconnect", "n2", "roamer"]).ok();
    let r = d.run(c, &["exec", "roamer", "ip", "-o", "-4", "addr"]).ok();
    assert!(!r.stdout.contains("eth1"), "{r:?}");
    let r = d.run(c, &["run", "--rm", "--network", "n2", "busybox", "ping", "-c1", "-W1", "roamer"]);
    assert_ne!(r.code, 0, "still reachable on n2 after disconnect: {r:?}");
}

fn container_mode_shares_localhost(c: Client) {
    let d = Daemon::start();
    let cmd = "mkdir -p /www && echo shared-lo > /www/index.html && exec httpd -f -p 127.0.0.1:80 -h /www";
    d.run(c, &["run", "-d", "--name", "owner", "busybox", "sh", "-c", cmd]).ok();
    let mut last = String::new();
    let ok = eventually(10, || {
        let r = d.run(c, &["run", "--rm", "--network", "container:owner", "busybox", "wget", "-qO-", "http://127.0.0.1/"]);
        last = format!("{r:?}");
        r.stdout == "shared-lo\n"
    });
    assert!(ok, "{last}");
}

fn daemon_restart_keeps_addresses(c: Client) {
    let mut d = Daemon::start();
    d.run(c, &["network", "create", "keep"]).ok();
    d.run(c, &["run", "-d", "--name", "kept", "--network", "keep", "busybox", "sleep", "300"]).ok();
    let ip = ip_of(&d, c, "kept", "keep");
    d.restart_after_kill();
    assert_eq!(ip_of(&d, c, "kept", "keep"), ip, "address changed over a daemon restart");
    // Still reachable by name, and a new container does not get the same address.
    d.run(c, &["run", "--rm", "--network", "keep", "busybox", "ping", "-c1", "-W2", "kept"]).ok();
    d.run(c, &["run", "-d", "--name", "fresh", "--network", "keep", "busybox", "sleep", "60"]).ok();
    assert_ne!(ip_of(&d, c, "fresh", "keep"), ip);
}

fn removal_leaves_nothing_behind(c: Client) {
    let d = Daemon::start();
    let links_before = in_ns(&d, &["ip", "-o", "link"]).stdout.lines().count();
    d.run(c, &["network", "create", "tmpnet"]).ok();
    d.run(c, &["run", "-d", "--name", "tt", "--network", "tmpnet", "-p", "8081:80", "busybox", "sleep", "60"]).ok();
    d.run(c, &["run", "-d", "--name", "tt2", "-p", "8082:80", "busybox", "sleep", "60"]).ok();
    assert!(in_ns(&d, &["nft", "list", "table", "ip", "berth"]).stdout.contains("dport 8081"));
    // A network in use cannot go.
    let r = d.run(c, &["network", "rm", "tmpnet"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("active endpoints"), "{r:?}");
    let r = d.run(c, &["network", "rm", "bridge"]);
    assert!(r.stderr.contains("pre-defined network"), "{r:?}");
    let pins: Vec<String> = ["tt", "tt2"]
        .iter()
        .map(|n| d.run(c, &["inspect", "-f", "{{.NetworkSettings.SandboxKey}}", n]).ok().out().to_owned())
        .collect();
    assert!(pins.iter().all(|p| std::path::Path::new(p).exists()), "{pins:?}");
    d.run(c, &["rm", "-f", "tt", "tt2"]).ok();
    d.run(c, &["network", "rm", "tmpnet"]).ok();
    // The veths of exited containers are deleted in the background (see
    // `Manager::detach`): give that a moment.
    let mut links = String::new();
    let gone = eventually(5, || {
        links = in_ns(&d, &["ip", "-o", "link"]).stdout;
        links.lines().count() == links_before
    });
    assert!(gone, "links left: {links}");
    let rules = in_ns(&d, &["nft", "list", "table", "ip", "berth"]).stdout;
    assert!(!rules.contains("dport"), "port rules left: {rules}");
    // The containers' namespace pins are gone; what is left is the daemon's pool of
    // ready namespaces (3).
    for p in &pins {
        assert!(!std::path::Path::new(p).exists(), "namespace pin {p} left");
    }
    let left: Vec<_> = std::fs::read_dir(d.exec_root().join("netns")).map(|r| r.flatten().collect()).unwrap_or_default();
    assert!(left.len() <= 3, "namespace pins left: {left:?}");
}

fn network_commands(c: Client) {
    let d = Daemon::start();
    let id = d
        .run(c, &["network", "create", "--subnet", "10.77.0.0/24", "--gateway", "10.77.0.254", "--ip-range", "10.77.0.128/25", "--label", "tier=db", "-o", "com.docker.network.bridge.name=brdb", "dbnet"])
        .ok()
        .out()
        .to_owned();
    assert_eq!(id.len(), 64, "{id}");
    let r = d.run(c, &["network", "create", "dbnet"]);
    assert_ne!(r.code, 0, "duplicate name accepted");
    let r = d.run(c, &["network", "ls", "--filter", "label=tier=db", "--format", "{{.Name}} {{.Driver}}"]).ok();
    assert_eq!(r.out(), "dbnet bridge");
    let r = d.run(c, &["network", "ls", "-q", "--filter", "type=custom"]).ok();
    assert_eq!(r.out(), &id[..12]);
    assert!(in_ns(&d, &["ip", "link", "show", "brdb"]).code == 0, "bridge named by -o");
    // Dynamic addresses come from the range; a static one is honoured; the gateway is kept.
    d.run(c, &["run", "-d", "--name", "db1", "--network", "dbnet", "busybox", "sleep", "60"]).ok();
    assert_eq!(ip_of(&d, c, "db1", "dbnet"), "10.77.0.128");
    d.run(c, &["run", "-d", "--name", "db2", "--network", "dbnet", "--ip", "10.77.0.9", "busybox", "sleep", "60"]).ok();
    assert_eq!(ip_of(&d, c, "db2", "dbnet"), "10.77.0.9");
    let r = d.run(c, &["run", "-d", "--name", "db3", "--network", "dbnet", "--ip", "10.77.0.9", "busybox", "sleep", "60"]);
    assert_ne!(r.code, 0, "an address handed out twice");
    let r = d.run(c, &["run", "--rm", "--network", "dbnet", "busybox", "ip", "route"]).ok();
    assert!(r.stdout.contains("default via 10.77.0.254"), "{r:?}");
    let r = d.run(c, &["network", "create", "--subnet", "10.77.0.0/25", "clash"]);
    assert_ne!(r.code, 0, "overlapping subnet accepted");
    let r = d.run(c, &["run", "--rm", "--network", "nosuchnet", "busybox", "true"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("network nosuchnet not found"), "{r:?}");
    d.run(c, &["rm", "-f", "db1", "db2", "db3"]).ok();
    d.run(c, &["network", "create", "unused"]).ok();
    let r = d.run(c, &["network", "prune", "-f"]).ok();
    assert!(r.stdout.contains("unused") && r.stdout.contains("dbnet"), "{r:?}");
    let r = d.run(c, &["network", "ls", "--format", "{{.Name}}"]).ok();
    assert_eq!(r.out(), "bridge\nhost\nnone");
}

both!(
    names_resolve_on_user_networks_only,
    published_port_answers_on_loopback_own_address_and_from_containers,
    publish_all_picks_free_ports,
    udp_publishing_works,
    networks_are_isolated,
    icc_disabled_isolates_containers_on_one_network,
    connect_and_disconnect_a_running_container,
    container_mode_shares_localhost,
    daemon_restart_keeps_addresses,
    removal_leaves_nothing_behind,
    network_commands,
);
