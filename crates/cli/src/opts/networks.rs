//! `run`/`create`'s `--network` values and the flags that go with them (`--network-alias`,
//! `--ip`, `--ip6`), turned into `HostConfig.NetworkMode` and
//! `NetworkingConfig.EndpointsConfig` as docker CLI 28 sends them for API 1.44 and up:
//! the first network is the mode, every network gets an endpoint, and the plain flags
//! apply to the first one. A value may use docker's long syntax
//! (`name=n,alias=a,ip=10.0.0.5,driver-opt=k=v`).

use std::collections::HashMap;

use berth_api_client::models::{EndpointIpamConfig, EndpointSettings};

/// One `--network` value.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Attachment {
    pub target: String,
    pub aliases: Vec<String>,
    pub ipv4: String,
    pub ipv6: String,
    pub mac: String,
    pub driver_opts: HashMap<String, String>,
}

/// The flags that apply to the first network.
#[derive(Debug, Default)]
pub struct Plain<'a> {
    pub aliases: &'a [String],
    pub ipv4: Option<&'a str>,
    pub ipv6: Option<&'a str>,
}

/// Parses a `--network` value: a name, or docker's `key=value,…` form.
pub fn parse(value: &str) -> Result<Attachment, String> {
    if !long_syntax(value) {
        return Ok(Attachment {
            target: value.to_owned(),
            ..Default::default()
        });
    }
    let mut a = Attachment::default();
    for field in value.split(',') {
        let field = field.to_lowercase();
        let (key, val) = match field.split_once('=') {
            Some((k, v)) if !k.is_empty() => (k.trim().to_owned(), v.to_owned()),
            _ => return Err(format!("invalid field {field}")),
        };
        match key.as_str() {
            "name" => a.target = val,
            "alias" => a.aliases.push(val),
            "ip" => a.ipv4 = val,
            "ip6" => a.ipv6 = val,
            "mac-address" => a.mac = val,
            "driver-opt" => {
                let (k, v) = val
                    .split_once('=')
                    .ok_or_else(|| "invalid key value pair format in driver options".to_owned())?;
                a.driver_opts
                    .insert(k.trim().to_owned(), v.trim().to_owned());
            }
            other => return Err(format!("invalid field key {other}")),
        }
    }
    Ok(a)
}

/// docker's test for the long syntax: `\w+=\w+` anywhere in the value.
fn long_syntax(value: &str) -> bool {
    let b = value.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    b.iter().enumerate().any(|(i, &c)| {
        c == b'=' && i > 0 && word(b[i - 1]) && b.get(i + 1).is_some_and(|&n| word(n))
    })
}

/// Whether a network mode names a user-defined network (not `default`, `bridge`,
/// `host`, `none` or `container:…`).
pub fn is_user_defined(mode: &str) -> bool {
    !matches!(mode, "default" | "bridge" | "host" | "none") && !mode.starts_with("container:")
}

/// The network mode and the endpoints to send (`None` when none need sending).
pub fn endpoints(
    values: &[String],
    plain: &Plain,
) -> Result<(String, Option<HashMap<String, EndpointSettings>>), String> {
    let mut list = values
        .iter()
        .map(|v| parse(v))
        .collect::<Result<Vec<_>, _>>()?;
    let given = !list.is_empty();
    if !given {
        list.push(Attachment {
            target: "default".into(),
            ..Default::default()
        });
    }
    apply_plain(&mut list[0], plain)?;
    let mode = list[0].target.clone();
    let (mut user, mut builtin) = (false, false);
    let mut out = HashMap::new();
    for a in &list {
        if is_user_defined(&a.target) {
            user = true;
        } else {
            builtin = true;
        }
        let ep = endpoint(a)?;
        if out.contains_key(&a.target) {
            return Err(format!(
                "network {:?} is specified multiple times",
                a.target
            ));
        }
        // A built-in mode with nothing to say needs no endpoint; the daemon makes it.
        if !is_user_defined(&a.target) && ep == EndpointSettings::default() {
            continue;
        }
        out.insert(a.target.clone(), ep);
    }
    if user && builtin {
        return Err(
            "conflicting options: cannot attach both user-defined and non-user-defined network-modes"
                .into(),
        );
    }
    Ok((mode, (!out.is_empty()).then_some(out)))
}

/// docker's `applyContainerOptions`: the plain flags on the first network.
fn apply_plain(a: &mut Attachment, plain: &Plain) -> Result<(), String> {
    if !a.aliases.is_empty() && !plain.aliases.is_empty() {
        return Err(
            "conflicting options: cannot specify both --network-alias and per-network alias".into(),
        );
    }
    if !a.ipv4.is_empty() && plain.ipv4.is_some() {
        return Err(
            "conflicting options: cannot specify both --ip and per-network IPv4 address".into(),
        );
    }
    if !a.ipv6.is_empty() && plain.ipv6.is_some() {
        return Err(
            "conflicting options: cannot specify both --ip6 and per-network IPv6 address".into(),
        );
    }
    if !plain.aliases.is_empty() {
        a.aliases = plain.aliases.to_vec();
    }
    if let Some(ip) = plain.ipv4 {
        a.ipv4 = ip.to_owned();
    }
    if let Some(ip) = plain.ipv6 {
        a.ipv6 = ip.to_owned();
    }
    Ok(())
}

/// docker's `parseNetworkAttachmentOpt`.
fn endpoint(a: &Attachment) -> Result<EndpointSettings, String> {
    if a.target.trim().is_empty() {
        return Err("no name set for network".into());
    }
    if !is_user_defined(&a.target) && !a.aliases.is_empty() {
        return Err("network-scoped aliases are only supported for user-defined networks".into());
    }
    let ipam = (!a.ipv4.is_empty() || !a.ipv6.is_empty()).then(|| EndpointIpamConfig {
        ipv4_address: (!a.ipv4.is_empty()).then(|| a.ipv4.clone()),
        ipv6_address: (!a.ipv6.is_empty()).then(|| a.ipv6.clone()),
        ..Default::default()
    });
    if !a.mac.is_empty() && !valid_mac(&a.mac) {
        return Err(format!("{} is not a valid mac address", a.mac));
    }
    Ok(EndpointSettings {
        ipam_config: ipam,
        aliases: (!a.aliases.is_empty()).then(|| a.aliases.clone()),
        driver_opts: (!a.driver_opts.is_empty()).then(|| a.driver_opts.clone()),
        mac_address: (!a.mac.is_empty()).then(|| a.mac.clone()),
        ..Default::default()
    })
}

fn valid_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.trim().split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn plain_and_long_values() {
        assert_eq!(parse("front").unwrap().target, "front");
        assert_eq!(parse("container:abc").unwrap().target, "container:abc");
        let a = parse("name=back,alias=db,alias=pg,ip=10.9.0.5,driver-opt=k=v").unwrap();
        assert_eq!(a.target, "back");
        assert_eq!(a.aliases, ["db", "pg"]);
        assert_eq!(a.ipv4, "10.9.0.5");
        assert_eq!(a.driver_opts["k"], "v");
        assert_eq!(
            parse("name=x,bogus=1").unwrap_err(),
            "invalid field key bogus"
        );
    }

    #[test]
    fn first_network_is_the_mode_and_gets_the_plain_flags() {
        let aliases = s(&["web"]);
        let plain = Plain {
            aliases: &aliases,
            ipv4: Some("10.9.0.9"),
            ipv6: None,
        };
        let (mode, eps) = endpoints(&s(&["front", "back"]), &plain).unwrap();
        assert_eq!(mode, "front");
        let eps = eps.unwrap();
        assert_eq!(
            eps["front"].aliases.as_deref(),
            Some(&["web".to_owned()][..])
        );
        assert_eq!(
            eps["front"]
                .ipam_config
                .as_ref()
                .unwrap()
                .ipv4_address
                .as_deref(),
            Some("10.9.0.9")
        );
        assert_eq!(eps["back"], EndpointSettings::default());
    }

    #[test]
    fn defaults_and_builtins() {
        let (mode, eps) = endpoints(&[], &Plain::default()).unwrap();
        assert_eq!((mode.as_str(), eps), ("default", None));
        let (mode, eps) = endpoints(&s(&["host"]), &Plain::default()).unwrap();
        assert_eq!((mode.as_str(), eps), ("host", None));
        let (_, eps) = endpoints(
            &s(&["bridge"]),
            &Plain {
                ipv4: Some("172.17.0.9"),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(eps.unwrap().contains_key("bridge"));
        let (_, eps) = endpoints(&s(&["front"]), &Plain::default()).unwrap();
        assert_eq!(eps.unwrap()["front"], EndpointSettings::default());
    }

    #[test]
    fn refusals_like_docker() {
        let aliases = s(&["web"]);
        let with_alias = Plain {
            aliases: &aliases,
            ..Default::default()
        };
        assert_eq!(
            endpoints(&[], &with_alias).unwrap_err(),
            "network-scoped aliases are only supported for user-defined networks"
        );
        assert_eq!(
            endpoints(&s(&["a", "a"]), &Plain::default()).unwrap_err(),
            "network \"a\" is specified multiple times"
        );
        assert!(endpoints(&s(&["a", "host"]), &Plain::default())
            .unwrap_err()
            .contains("cannot attach both user-defined and non-user-defined"));
        assert!(endpoints(&s(&["name=a,alias=x"]), &with_alias)
            .unwrap_err()
            .contains("--network-alias"));
    }
}
