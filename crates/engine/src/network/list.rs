//! `network ls` / `prune` filters, as Docker applies them: `name` (substring), `id`
//! (prefix), `label` (`key` or `key=value`), `driver`, `type` (`custom` / `builtin`),
//! `dangling` (no container configured for it).

use std::collections::HashMap;

use berth_network::Network;

use crate::daemon::Daemon;
use crate::error::{Error, Result};

pub const BUILTIN: [&str; 3] = ["bridge", "host", "none"];

/// Whether any container is configured for the network (running or not).
pub fn in_use(d: &Daemon, n: &Network) -> bool {
    d.all().iter().any(|c| {
        let r = c.record();
        r.networks.contains_key(&n.name) || r.net.endpoints.iter().any(|e| e.network_id == n.id)
    })
}

fn labels_match(n: &Network, want: &[String]) -> bool {
    want.iter().all(|l| match l.split_once('=') {
        Some((k, v)) => n.labels.get(k).is_some_and(|x| x == v),
        None => n.labels.contains_key(l),
    })
}

pub fn matches(d: &Daemon, n: &Network, f: &HashMap<String, Vec<String>>) -> Result<bool> {
    for (k, vals) in f {
        let ok = match k.as_str() {
            "name" => vals.iter().any(|v| n.name.contains(v.as_str())),
            "id" => vals.iter().any(|v| n.id.starts_with(v.as_str())),
            "driver" => vals.iter().any(|v| *v == n.driver),
            "label" => labels_match(n, vals),
            "type" => vals.iter().all(|v| match v.as_str() {
                "custom" => !BUILTIN.contains(&n.name.as_str()),
                "builtin" => BUILTIN.contains(&n.name.as_str()),
                _ => false,
            }),
            "dangling" => {
                let want = vals.iter().any(|v| v == "true" || v == "1");
                (!in_use(d, n)) == want
            }
            "scope" => vals.iter().any(|v| v == "local"),
            "until" => true,
            other => return Err(Error::Invalid(format!("invalid filter '{other}'"))),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}
