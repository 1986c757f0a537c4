//! The daemon's side of builds: what `berth-build` asks of its caller (images, pulled when
//! missing; network namespaces for RUN steps, attached to a network when asked) served from
//! the daemon's store, registries and network manager, and the build's log written as the
//! Engine API's build stream (`{"stream": …}`, `{"aux": {"ID": …}}`, `{"errorDetail": …}`).

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use berth_build::{NetworkLease, Output, Services};
use berth_image::{Image, Reference};
use berth_network::AttachRequest;
use serde_json::{json, Value};

use crate::container::start::{resolv_conf, LOCALHOST_HOSTS};
use crate::daemon::Daemon;

/// Where builds keep their steps' scratch directories and their cache.
pub fn build_root(d: &Daemon) -> PathBuf {
    d.config.data_root.join("build")
}

/// Removes what builds cut short by a crash left: step roots (unmounted lazily first) and
/// the runtime's state of their containers.
pub fn recover(d: &Daemon) {
    // A RUN container of a daemon that died mid-build: its state names it berth-build-*.
    for e in std::fs::read_dir(d.runtime_root()).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("berth-build-") {
            let out = std::process::Command::new(&d.config.runtime).arg("--root").arg(d.runtime_root()).args(["delete", "--force", &name]).output();
            if let Err(err) = out {
                tracing::warn!("delete build container {name}: {err}");
            }
        }
    }
    let steps = build_root(d).join("steps");
    for e in std::fs::read_dir(&steps).into_iter().flatten().flatten() {
        if e.file_name() == "mounts" {
            continue;
        }
        let merged = e.path().join("merged");
        let _ = nix::mount::umount2(&merged, nix::mount::MntFlags::MNT_DETACH);
        if let Err(err) = std::fs::remove_dir_all(e.path()) {
            tracing::warn!("remove build step {}: {err}", e.path().display());
        }
    }
}

pub struct EngineServices {
    pub d: Arc<Daemon>,
    pub rt: tokio::runtime::Handle,
    /// The logins the client sent (`X-Registry-Config`), for pulls of FROM images.
    pub logins: Option<berth_registry::DockerConfig>,
}

/// Lines of JSON progress (a pull's) handed to the build's output one by one.
struct ProgressLines<'a> {
    out: &'a dyn Output,
    buf: Vec<u8>,
}

impl Write for ProgressLines<'_> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        while let Some(i) = self.buf.iter().position(|&c| c == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            if let Ok(v) = serde_json::from_slice::<Value>(&line) {
                self.out.progress(&v);
            }
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Services for EngineServices {
    fn image(&self, r: &Reference, platform: Option<&str>, pull: bool, out: &dyn Output) -> Result<Image, String> {
        if !pull {
            if let Some(img) = self.d.images.image(r).map_err(|e| e.to_string())? {
                return Ok(img);
            }
        }
        let platform = match platform.filter(|p| !p.is_empty()) {
            Some(p) => berth_image::Platform::parse(p).ok_or_else(|| format!("invalid platform {p:?}: expected os/arch[/variant]"))?,
            None => berth_image::Platform::default(),
        };
        let opts = crate::registry::options(&self.d.config);
        let mut lines = ProgressLines { out, buf: Vec::new() };
        let progress = crate::registry::JsonProgress::new(&mut lines);
        let credentials = self.logins.as_ref().and_then(|l| l.get(r.domain()));
        let pulled = berth_registry::pull(&opts, &self.d.images, r, &berth_registry::PullOptions { platform, credentials }, &progress);
        drop(progress);
        match pulled {
            Ok(_) => self.d.images.image(r).map_err(|e| e.to_string())?.ok_or_else(|| format!("pull {}: image not in the store after pulling", berth_image::familiar(r))),
            // An image pulled before is still good enough when the registry cannot be had.
            Err(e) => match self.d.images.image(r) {
                Ok(Some(img)) if pull => Ok(img),
                _ => Err(format!("pull {}: {e}", berth_image::familiar(r))),
            },
        }
    }

    fn network(&self, mode: &str) -> Result<NetworkLease, String> {
        if mode == "host" {
            return Ok(NetworkLease {
                netns: None,
                resolv_conf: std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default(),
                hosts: std::fs::read_to_string("/etc/hosts").unwrap_or_else(|_| LOCALHOST_HOSTS.to_owned()),
                release: None,
            });
        }
        let d = self.d.clone();
        let ns = self.rt.block_on(d.networks.take_netns()).map_err(|e| format!("network namespace for a build step: {e}"))?;
        if mode == "none" {
            let d2 = d.clone();
            let ns2 = ns.clone();
            return Ok(NetworkLease {
                netns: Some(ns),
                resolv_conf: resolv_conf(Vec::new(), &[]),
                hosts: LOCALHOST_HOSTS.to_owned(),
                release: Some(Box::new(move || {
                    if let Err(e) = d2.networks.remove_netns(&ns2) {
                        tracing::warn!("remove a build step's network namespace: {e}");
                    }
                })),
            });
        }
        let network = if mode == "default" { berth_network::DEFAULT_NETWORK.to_owned() } else { mode.to_owned() };
        let id = format!("build{}", berth_build::step::root::random_id());
        let req = AttachRequest { container_id: id.clone(), container_name: id.clone(), network: network.clone(), ifname: "eth0".into(), ip: None, aliases: Vec::new() };
        let ep = match self.rt.block_on(d.networks.attach(&ns, req)) {
            Ok(ep) => ep,
            Err(e) => {
                let _ = d.networks.remove_netns(&ns);
                return Err(format!("attach a build step to network {network}: {e}"));
            }
        };
        let dns = if network == berth_network::DEFAULT_NETWORK { Vec::new() } else { vec![ep.gateway.to_string()] };
        let hosts = format!("{LOCALHOST_HOSTS}{}\t{}\n", ep.ip, &id);
        let rt = self.rt.clone();
        Ok(NetworkLease {
            netns: Some(ns.clone()),
            resolv_conf: resolv_conf(dns, &[]),
            hosts,
            release: Some(Box::new(move || {
                if let Err(e) = rt.block_on(d.networks.detach(&id, &ep, true)) {
                    tracing::warn!("detach a build step from {}: {e}", ep.network_name);
                }
                if let Err(e) = d.networks.remove_netns(&ns) {
                    tracing::warn!("remove a build step's network namespace: {e}");
                }
            })),
        })
    }
}

/// The build stream: one JSON object per line into the response. A client that went away
/// is noticed by the response body's drop guard (see `api::build`), not here.
pub struct StreamOutput<W: Write + Send> {
    out: Mutex<W>,
    pub quiet: bool,
}

impl<W: Write + Send> StreamOutput<W> {
    pub fn new(out: W, quiet: bool) -> Self {
        StreamOutput { out: Mutex::new(out), quiet }
    }

    pub fn line(&self, v: &Value) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        // A failed write means the body is gone, and with it the build (its guard).
        let _ = writeln!(out, "{v}").and_then(|_| out.flush());
    }

    pub fn error(&self, e: &berth_build::Error) {
        let message = e.to_string();
        self.line(&json!({"errorDetail": {"code": e.exit_code(), "message": message}, "error": message}));
    }
}

impl<W: Write + Send> Output for StreamOutput<W> {
    fn stream(&self, text: &str) {
        if !self.quiet {
            self.line(&json!({ "stream": text }));
        }
    }

    fn progress(&self, line: &Value) {
        if !self.quiet {
            self.line(line);
        }
    }

    fn image_id(&self, id: &str) {
        self.line(&json!({"aux": {"ID": id}}));
        if self.quiet {
            self.line(&json!({ "stream": format!("{id}\n") }));
        }
    }
}
