//! `-p [ip:][host-port:]container-port[/proto]` (ranges `8000-8010`, IPv6 in brackets)
//! and `--expose port[-end][/proto]`: the `ExposedPorts` keys (`80/tcp`) and the
//! `PortBindings` of the create body.

use std::collections::HashMap;

use berth_api_client::models::PortBinding;

/// One published port: the key (`80/tcp`) and its binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub key: String,
    pub host_ip: String,
    pub host_port: String,
}

fn range(s: &str) -> Result<(u16, u16), String> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let a: u16 = a.parse().map_err(|_| format!("invalid port: {s}"))?;
    let b: u16 = b.parse().map_err(|_| format!("invalid port: {s}"))?;
    if b < a {
        return Err(format!("invalid range specified for port: {s}"));
    }
    Ok((a, b))
}

fn proto(s: &str) -> Result<(&str, &str), String> {
    let (port, proto) = s.rsplit_once('/').unwrap_or((s, "tcp"));
    match proto {
        "tcp" | "udp" | "sctp" => Ok((port, proto)),
        _ => Err(format!("invalid proto: {proto}")),
    }
}

/// `-p`.
pub fn parse_publish(spec: &str) -> Result<Vec<Published>, String> {
    let (rest, proto) = proto(spec)?;
    // [ip]:host:container, with ip possibly in brackets.
    let (ip, rest) = if let Some(r) = rest.strip_prefix('[') {
        let (ip, after) = r
            .split_once(']')
            .ok_or_else(|| format!("invalid ip address: {spec}"))?;
        (
            ip.to_owned(),
            after.strip_prefix(':').unwrap_or(after).to_owned(),
        )
    } else {
        let parts: Vec<&str> = rest.split(':').collect();
        match parts.len() {
            1 | 2 => (String::new(), rest.to_owned()),
            3 => (parts[0].to_owned(), format!("{}:{}", parts[1], parts[2])),
            _ => return Err(format!("invalid port format: {spec}")),
        }
    };
    let (host, container) = match rest.split_once(':') {
        Some((h, c)) => (h, c),
        None => ("", rest.as_str()),
    };
    if container.is_empty() {
        return Err(format!("no port specified: {spec}<empty>"));
    }
    if !ip.is_empty() && ip.parse::<std::net::IpAddr>().is_err() {
        return Err(format!("invalid ip address: {ip}"));
    }
    let (c0, c1) = range(container)?;
    let host_range = if host.is_empty() {
        None
    } else {
        Some(range(host)?)
    };
    let mut out = Vec::new();
    for (i, port) in (c0..=c1).enumerate() {
        let host_port = match host_range {
            None => String::new(),
            Some((h0, h1)) if c0 == c1 => {
                if h0 == h1 {
                    h0.to_string()
                } else {
                    format!("{h0}-{h1}")
                }
            }
            Some((h0, h1)) => {
                if h1 - h0 != c1 - c0 {
                    return Err(format!(
                        "invalid ranges specified for container and host ports: {container} and {host}"
                    ));
                }
                (h0 + i as u16).to_string()
            }
        };
        out.push(Published {
            key: format!("{port}/{proto}"),
            host_ip: ip.clone(),
            host_port,
        });
    }
    Ok(out)
}

/// `--expose`: the `ExposedPorts` keys.
pub fn parse_expose(spec: &str) -> Result<Vec<String>, String> {
    let (port, proto) = proto(spec)?;
    let (a, b) = range(port)?;
    Ok((a..=b).map(|p| format!("{p}/{proto}")).collect())
}

/// Adds the published ports to a `PortBindings` map.
pub fn bindings(published: &[Published]) -> HashMap<String, Option<Vec<PortBinding>>> {
    let mut map: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for p in published {
        map.entry(p.key.clone())
            .or_default()
            .get_or_insert_with(Vec::new)
            .push(PortBinding {
                host_ip: Some(p.host_ip.clone()),
                host_port: Some(p.host_port.clone()),
            });
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> (String, String, String) {
        let v = parse_publish(s).unwrap();
        assert_eq!(v.len(), 1);
        (
            v[0].key.clone(),
            v[0].host_ip.clone(),
            v[0].host_port.clone(),
        )
    }

    #[test]
    fn publish_forms() {
        assert_eq!(one("80"), ("80/tcp".into(), "".into(), "".into()));
        assert_eq!(one("8080:80"), ("80/tcp".into(), "".into(), "8080".into()));
        assert_eq!(
            one("127.0.0.1:8080:80/udp"),
            ("80/udp".into(), "127.0.0.1".into(), "8080".into())
        );
        assert_eq!(
            one("127.0.0.1::80"),
            ("80/tcp".into(), "127.0.0.1".into(), "".into())
        );
        assert_eq!(
            one("[::1]:8080:80"),
            ("80/tcp".into(), "::1".into(), "8080".into())
        );
        assert_eq!(
            one("8000-8010:80"),
            ("80/tcp".into(), "".into(), "8000-8010".into())
        );
        let r = parse_publish("8000-8001:9000-9001").unwrap();
        assert_eq!(r[1].key, "9001/tcp");
        assert_eq!(r[1].host_port, "8001");
        assert!(parse_publish("8000-8002:9000-9001").is_err());
        assert!(parse_publish("80/xyz").is_err());
        assert!(parse_publish("x:80").is_err());
        assert!(parse_publish("300.1.1.1:80:80").is_err());
        assert!(parse_publish("99999").is_err());
    }

    #[test]
    fn expose_and_bindings() {
        assert_eq!(parse_expose("80").unwrap(), vec!["80/tcp"]);
        assert_eq!(parse_expose("53/udp").unwrap(), vec!["53/udp"]);
        assert_eq!(parse_expose("1-3").unwrap().len(), 3);
        let mut p = parse_publish("8080:80").unwrap();
        p.extend(parse_publish("127.0.0.1:8081:80").unwrap());
        let b = bindings(&p);
        assert_eq!(b["80/tcp"].as_ref().unwrap().len(), 2);
    }
}
