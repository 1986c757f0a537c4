//! How to reach registries: which hosts may be spoken to over plain HTTP, where their CA
//! certificates are, how often to retry.
//!
//! The insecure rule is Docker's: plain HTTP (and HTTPS without certificate checks) only for
//! hosts listed in `insecure-registries` (`host`, `host:port`, or a CIDR block of IPv4
//! addresses) and for loopback (`localhost`, `127.0.0.0/8`, `::1`), which Docker also
//! treats as insecure without being told. For those, HTTPS is tried first and plain HTTP
//! after it fails, so a loopback registry with TLS is still spoken to over TLS. Every other
//! host is HTTPS only, verified against the system CA store plus the `*.crt` files of
//! `<certs-dir>/<host[:port]>/` (Docker's `/etc/docker/certs.d` layout, and berth's own
//! `/etc/berth/certs.d`).

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Options {
    /// `insecure-registries` entries: `host`, `host:port`, `a.b.c.d/n`.
    pub insecure: Vec<String>,
    /// Directories in the certs.d layout, searched in order.
    pub cert_dirs: Vec<PathBuf>,
    /// Attempts of a request that fails to connect or is cut off, with backoff between
    /// them (a blob download resumes where it stopped).
    pub attempts: u32,
    /// The first pause between attempts; doubled each time.
    pub backoff: Duration,
    /// Blobs downloaded (or uploaded) at once.
    pub parallel: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            insecure: Vec::new(),
            cert_dirs: vec![
                PathBuf::from("/etc/docker/certs.d"),
                PathBuf::from("/etc/berth/certs.d"),
            ],
            attempts: 5,
            backoff: Duration::from_millis(250),
            parallel: 3,
        }
    }
}

impl Options {
    /// Whether `registry` (a host with an optional port) may be spoken to without TLS.
    pub fn is_insecure(&self, registry: &str) -> bool {
        let host = host_of(registry);
        if is_loopback(host) {
            return true;
        }
        self.insecure.iter().any(|entry| {
            let entry = entry
                .trim()
                .trim_start_matches("http://")
                .trim_start_matches("https://")
                .trim_end_matches('/');
            if entry == registry || (!entry.contains(':') && entry == host) {
                return true;
            }
            match (entry.split_once('/'), host.parse::<Ipv4Addr>()) {
                (Some((net, bits)), Ok(ip)) => match (net.parse::<Ipv4Addr>(), bits.parse::<u32>())
                {
                    (Ok(net), Ok(bits)) if bits <= 32 => {
                        let mask = if bits == 0 {
                            0
                        } else {
                            u32::MAX << (32 - bits)
                        };
                        u32::from(ip) & mask == u32::from(net) & mask
                    }
                    _ => false,
                },
                _ => false,
            }
        })
    }

    /// The CA certificate files configured for `registry`: `*.crt` in `<dir>/<registry>/`.
    pub fn ca_files(&self, registry: &str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for dir in &self.cert_dirs {
            let Ok(entries) = std::fs::read_dir(dir.join(registry)) else {
                continue;
            };
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "crt"))
                .collect();
            found.sort();
            out.extend(found);
        }
        out
    }
}

/// `host:port` → `host`; `[::1]:5000` → `::1`.
pub fn host_of(registry: &str) -> &str {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match registry.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => registry,
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host == "::1"
        || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// The host berth talks to for a reference's domain: Docker Hub's API is not at docker.io.
pub fn api_host(domain: &str) -> &str {
    match domain {
        "docker.io" | "index.docker.io" => "registry-1.docker.io",
        d => d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insecure_rule() {
        let o = Options {
            insecure: vec![
                "reg.lan:5000".into(),
                "plain.lan".into(),
                "10.1.0.0/16".into(),
            ],
            ..Options::default()
        };
        assert!(o.is_insecure("localhost:5000"));
        assert!(o.is_insecure("127.0.0.1:40123"));
        assert!(o.is_insecure("127.3.4.5"));
        assert!(o.is_insecure("[::1]:5000"));
        assert!(o.is_insecure("reg.lan:5000"));
        assert!(!o.is_insecure("reg.lan:5001"));
        assert!(o.is_insecure("plain.lan:443"));
        assert!(o.is_insecure("10.1.200.3:5000"));
        assert!(!o.is_insecure("10.2.0.1:5000"));
        assert!(!o.is_insecure("docker.io"));
        assert!(!Options::default().is_insecure("quay.io"));
    }

    #[test]
    fn hosts() {
        assert_eq!(host_of("a.b:5000"), "a.b");
        assert_eq!(host_of("a.b"), "a.b");
        assert_eq!(host_of("[::1]:5000"), "::1");
        assert_eq!(api_host("docker.io"), "registry-1.docker.io");
        assert_eq!(api_host("localhost:5000"), "localhost:5000");
    }

    #[test]
    fn ca_files_from_certs_d() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("reg:5000")).unwrap();
        std::fs::write(d.path().join("reg:5000/ca.crt"), "x").unwrap();
        std::fs::write(d.path().join("reg:5000/client.key"), "x").unwrap();
        let o = Options {
            cert_dirs: vec![d.path().to_owned()],
            ..Options::default()
        };
        assert_eq!(
            o.ca_files("reg:5000"),
            vec![d.path().join("reg:5000/ca.crt")]
        );
        assert!(o.ca_files("other").is_empty());
    }
}
