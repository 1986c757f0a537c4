//! The daemon's side of registries: `berth-registry`'s pull, push and login driven from
//! the Engine API, their progress events turned into Docker's JSON progress messages
//! (`{"status":"Downloading","progressDetail":{"current":…,"total":…},"id":"<12 hex>"}`),
//! which the docker CLI draws as one bar per layer.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use berth_registry::progress::short_id;
use berth_registry::{Event, Observer, Options, Status};
use serde_json::{json, Value};

use crate::config::Config;

/// Registry options from the daemon's configuration (`insecure-registries`).
pub fn options(cfg: &Config) -> Options {
    Options {
        insecure: cfg.insecure_registries.clone(),
        ..Options::default()
    }
}

/// Writes Docker's progress messages, one JSON object per line; stops the operation
/// when the client went away (a write fails).
pub struct JsonProgress<'a> {
    out: Mutex<&'a mut (dyn Write + Send)>,
    gone: AtomicBool,
    /// Blobs not to show (a push's config, which docker does not list).
    pub hidden: Option<berth_image::Digest>,
}

impl<'a> JsonProgress<'a> {
    pub fn new(out: &'a mut (dyn Write + Send)) -> JsonProgress<'a> {
        JsonProgress { out: Mutex::new(out), gone: AtomicBool::new(false), hidden: None }
    }

    pub fn line(&self, v: Value) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let ok = writeln!(out, "{v}").and_then(|_| out.flush());
        if ok.is_err() {
            self.gone.store(true, Ordering::Relaxed);
        }
    }

    pub fn status(&self, status: &str) {
        self.line(json!({ "status": status }));
    }

    pub fn error(&self, message: &str) {
        self.line(json!({"errorDetail": {"message": message}, "error": message}));
    }

    fn layer(&self, id: &str, status: &str) {
        self.line(json!({"status": status, "progressDetail": {}, "id": id}));
    }

    fn bar(&self, id: &str, status: &str, current: u64, total: u64) {
        self.line(json!({
            "status": status,
            "progressDetail": {"current": current, "total": total},
            "progress": bar_text(current, total),
            "id": id,
        }));
    }
}

impl Observer for JsonProgress<'_> {
    fn event(&self, e: Event) {
        if self.hidden.as_ref() == Some(&e.digest) {
            return;
        }
        let id = short_id(&e.digest);
        match e.status {
            Status::Waiting => {
                self.layer(&id, "Pulling fs layer");
                self.layer(&id, "Waiting");
            }
            Status::Downloading { current, total } => self.bar(&id, "Downloading", current, total),
            Status::Retrying { attempt, .. } => self.layer(&id, &format!("Retrying (attempt {})", attempt + 1)),
            Status::DownloadComplete => {
                self.layer(&id, "Verifying Checksum");
                self.layer(&id, "Download complete");
            }
            Status::Extracting { current, total } => self.bar(&id, "Extracting", current, total),
            Status::PullComplete => self.layer(&id, "Pull complete"),
            Status::AlreadyExists => self.layer(&id, "Already exists"),
            Status::Preparing => self.layer(&id, "Preparing"),
            Status::Pushing { current, total } => self.bar(&id, "Pushing", current, total),
            Status::Pushed => self.layer(&id, "Pushed"),
            Status::LayerExists => self.layer(&id, "Layer already exists"),
            Status::Mounted { from } => self.layer(&id, &format!("Mounted from {from}")),
        }
    }

    fn cancelled(&self) -> bool {
        self.gone.load(Ordering::Relaxed)
    }
}

/// Docker's `[=====>     ]  12.3MB/45.6MB`.
fn bar_text(current: u64, total: u64) -> String {
    const WIDTH: u64 = 50;
    let filled = (current.min(total) * WIDTH).checked_div(total).unwrap_or(0) as usize;
    let mut bar = "=".repeat(filled);
    if filled < WIDTH as usize {
        bar.push('>');
    }
    format!("[{bar:<50}] {:>7}/{}", human(current), human(total))
}

fn human(n: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < units.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n}B")
    } else {
        format!("{v:.1}{}", units[u])
    }
}

/// `serveraddress` of `POST /auth` (`https://index.docker.io/v1/`, `http://host:5000`,
/// `host:5000`) → the registry host.
pub fn server_host(address: &str) -> String {
    let a = address.trim();
    let a = a.strip_prefix("https://").or_else(|| a.strip_prefix("http://")).unwrap_or(a);
    let host = a.split('/').next().unwrap_or(a);
    match host {
        "" | "index.docker.io" | "registry-1.docker.io" => "docker.io".to_owned(),
        h => h.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_and_hosts() {
        assert!(bar_text(50, 100).starts_with("[=========================>"));
        assert!(bar_text(100, 100).contains("100B/100B"));
        assert_eq!(human(12_300_000), "12.3MB");
        assert_eq!(server_host("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(server_host("http://127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(server_host("reg.lan:5000"), "reg.lan:5000");
    }

    #[test]
    fn events_become_docker_messages() {
        let mut buf: Vec<u8> = Vec::new();
        {
            let p = JsonProgress::new(&mut buf);
            let d = berth_image::Digest::of(b"x");
            p.event(Event { digest: d.clone(), status: Status::Downloading { current: 1, total: 2 } });
            p.event(Event { digest: d, status: Status::PullComplete });
        }
        let text = String::from_utf8(buf).unwrap();
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines[0]["progressDetail"]["current"], 1);
        assert_eq!(lines[0]["id"].as_str().unwrap().len(), 12);
        assert_eq!(lines[1]["status"], "Pull complete");
    }
}
