//! `GET /containers/json`: summaries as Docker shapes them, with its filters and its
//! human "Up 3 minutes (healthy)" status.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::clock;
use crate::container::record::{Record, Status};
use crate::daemon::Daemon;

/// Docker's (go-units) HumanDuration.
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    let m = s / 60;
    let h = m / 60;
    match () {
        _ if s < 1 => "Less than a second".into(),
        _ if s == 1 => "1 second".into(),
        _ if s < 60 => format!("{s} seconds"),
        _ if m == 1 => "About a minute".into(),
        _ if m < 60 => format!("{m} minutes"),
        _ if h == 1 => "About an hour".into(),
        _ if h < 48 => format!("{h} hours"),
        _ if h < 24 * 7 * 2 => format!("{} days", h / 24),
        _ if h < 24 * 30 * 2 => format!("{} weeks", h / 24 / 7),
        _ if h < 24 * 365 * 2 => format!("{} months", h / 24 / 30),
        _ => format!("{} years", h / 24 / 365),
    }
}

fn since(t: &str) -> i64 {
    let now = clock::unix_nanos(std::time::SystemTime::now());
    clock::parse_nanos(t).map_or(0, |n| ((now - n) / 1_000_000_000) as i64)
}

pub fn status_text(r: &Record) -> String {
    let s = &r.state;
    match s.status {
        Status::Running | Status::Paused => {
            let mut out = format!("Up {}", human_duration(since(&s.started_at)));
            if s.status == Status::Paused {
                out.push_str(" (Paused)");
            } else if let Some(h) = &s.health {
                match h.status.as_str() {
                    "starting" => out.push_str(" (health: starting)"),
                    other => out.push_str(&format!(" ({other})")),
                }
            }
            out
        }
        Status::Restarting => format!("Restarting ({}) {} ago", s.exit_code, human_duration(since(&s.finished_at))),
        Status::Exited if s.finished_at != crate::container::record::ZERO_TIME => {
            format!("Exited ({}) {} ago", s.exit_code, human_duration(since(&s.finished_at)))
        }
        Status::Exited | Status::Created => "Created".into(),
        Status::Removing => "Removal In Progress".into(),
        Status::Dead => "Dead".into(),
    }
}

pub fn command(r: &Record) -> String {
    let mut parts = vec![r.path.clone()];
    parts.extend(r.args.iter().cloned());
    parts.join(" ")
}

pub fn created_unix(r: &Record) -> i64 {
    clock::parse_nanos(&r.created).map_or(0, |n| (n / 1_000_000_000) as i64)
}

fn matches(d: &Daemon, r: &Record, filters: &HashMap<String, Vec<String>>) -> bool {
    filters.iter().all(|(k, values)| {
        values.iter().any(|v| match k.as_str() {
            "status" => r.state.status.as_str() == v,
            "name" => r.name.contains(v.trim_start_matches('/')),
            "id" => r.id.starts_with(v.as_str()),
            "exited" => r.state.status == Status::Exited && v.parse() == Ok(r.state.exit_code),
            "label" => {
                let labels = r.config.labels.clone().unwrap_or_default();
                match v.split_once('=') {
                    Some((k, val)) => labels.get(k).map(String::as_str) == Some(val),
                    None => labels.contains_key(v),
                }
            }
            "ancestor" => {
                r.image == *v
                    || r.image_id == *v
                    || r.image_id.trim_start_matches("sha256:").starts_with(v.trim_start_matches("sha256:"))
                    || d.images.resolve(v).map(|i| i.id.to_string() == r.image_id).unwrap_or(false)
            }
            "health" => r.state.health.as_ref().map_or(v == "none", |h| h.status == *v),
            // A volume's name, or any mount's destination (Docker matches both).
            "volume" => r.volume_mounts.iter().any(|m| m.volume.as_deref() == Some(v.as_str()) || m.destination == *v),
            _ => true,
        })
    })
}

pub fn summary(r: &Record, size: Option<(u64, u64)>) -> Value {
    let mut v = json!({
        "Id": r.id,
        "Names": [format!("/{}", r.name)],
        "Image": r.image,
        "ImageID": r.image_id,
        "Command": command(r),
        "Created": created_unix(r),
        "Ports": crate::network::inspect::list_ports(r),
        "Labels": r.config.labels.clone().unwrap_or_default(),
        "State": r.state.status.as_str(),
        "Status": status_text(r),
        "HostConfig": {"NetworkMode": r.host_config.network_mode.clone().unwrap_or_default()},
        "NetworkSettings": {"Networks": crate::network::inspect::networks(r)},
        "Mounts": crate::volume::mounts_json(r),
    });
    if let Some((rw, rootfs)) = size {
        v["SizeRw"] = json!(rw);
        v["SizeRootFs"] = json!(rootfs);
    }
    v
}

pub struct ListOptions {
    pub all: bool,
    pub limit: Option<usize>,
    pub size: bool,
    pub filters: HashMap<String, Vec<String>>,
}

pub fn list(d: &Daemon, o: &ListOptions) -> Vec<Value> {
    let mut records: Vec<Record> = d.all().iter().map(|c| c.record()).collect();
    records.sort_by(|a, b| b.created.cmp(&a.created));
    let mut out = Vec::new();
    for r in records {
        // Docker: without all, running (and paused) containers only; a status filter
        // implies all.
        let show_all = o.all || o.limit.is_some() || o.filters.contains_key("status") || o.filters.contains_key("exited");
        if !show_all && !r.state.status.is_running() && r.state.status != Status::Restarting {
            continue;
        }
        if !matches(d, &r, &o.filters) {
            continue;
        }
        let size = o.size.then(|| sizes(d, &r));
        out.push(summary(&r, size));
        if o.limit.is_some_and(|l| out.len() >= l) {
            break;
        }
    }
    out
}

/// (bytes in the writable layer, bytes of the whole root).
pub fn sizes(d: &Daemon, r: &Record) -> (u64, u64) {
    let dir = Record::dir(&d.config.data_root, &r.id).join("upper");
    let rw = du(&dir);
    let image: u64 = r.layers.iter().filter_map(|l| d.images.layers().info(l).ok()).map(|i| i.tar_size).sum();
    (rw, rw + image)
}

fn du(p: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(m) = std::fs::symlink_metadata(p) else { return 0 };
    if !m.is_dir() {
        return m.size();
    }
    std::fs::read_dir(p).map_or(0, |rd| rd.flatten().map(|e| du(&e.path())).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(1), "1 second");
        assert_eq!(human_duration(59), "59 seconds");
        assert_eq!(human_duration(60), "About a minute");
        assert_eq!(human_duration(3 * 60), "3 minutes");
        assert_eq!(human_duration(3600), "About an hour");
        assert_eq!(human_duration(5 * 3600), "5 hours");
        assert_eq!(human_duration(3 * 86400), "3 days");
    }
}
