//! [`Daemon`]: the one place berthd's state lives. Containers are kept in memory, indexed
//! by id and by name, and each one's record on disk is the truth a restarted daemon
//! rebuilds from.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use berth_image::Store;

use crate::config::Config;
use crate::container::exec::Exec;
use crate::container::record::{Record, RECORD};
use crate::container::{self, Container};
use crate::error::{Error, Result};
use crate::events::Events;

#[derive(Debug)]
pub struct Daemon {
    pub config: Config,
    pub images: Arc<Store>,
    containers: RwLock<HashMap<String, Arc<Container>>>,
    names: RwLock<HashMap<String, String>>,
    pub events: Events,
    pub volumes: crate::volume::VolumeStore,
    /// Bridges, addresses, DNS and published ports.
    pub networks: berth_network::Manager,
    pub execs: Mutex<HashMap<String, Arc<Exec>>>,
    pub started: Instant,
    /// Where containers' cgroups go: an absolute parent, or beneath the daemon's own.
    pub cgroup_parent: Option<String>,
}

impl Daemon {
    /// Opens the data root, loads every container record and drops directories that have
    /// none (a create or remove cut short by a crash).
    pub async fn open(config: Config) -> Result<Arc<Daemon>> {
        // <exec-root>/c/<16 hex>/console.sock must fit in sun_path (107 bytes and a NUL).
        let longest = config.exec_root.join("c").join("0123456789abcdef").join("console.sock");
        if longest.as_os_str().len() > 107 {
            return Err(Error::Invalid(format!(
                "exec root {} is too long: the shims' sockets under it would exceed the 107 bytes a unix socket path may have",
                config.exec_root.display()
            )));
        }
        for d in [config.data_root.join("containers"), config.exec_root.join("c")] {
            std::fs::create_dir_all(&d)
                .map_err(|e| Error::internal(format!("create {}", d.display()), e))?;
        }
        let image_root = config.data_root.join("image");
        let images = Store::open(&image_root)
            .map_err(|e| Error::internal(format!("open image store {}", image_root.display()), e))?;
        let cgroup_parent = config.cgroup_parent.clone();
        let volumes = crate::volume::VolumeStore::open(crate::volume::volumes_root(&config.data_root))?;
        let networks = berth_network::Manager::open(
            &config.data_root.join("network"),
            &config.exec_root.join("netns"),
            berth_network::Options::default(),
        )
        .await
        .map_err(|e| Error::internal("open networks", e))?;
        let daemon = Arc::new(Daemon {
            networks,
            images: Arc::new(images),
            containers: RwLock::new(HashMap::new()),
            names: RwLock::new(HashMap::new()),
            events: Events::default(),
            volumes,
            execs: Mutex::new(HashMap::new()),
            started: Instant::now(),
            cgroup_parent,
            config,
        });
        crate::build::recover(&daemon);
        let root = daemon.config.data_root.join("containers");
        let entries = std::fs::read_dir(&root)
            .map_err(|e| Error::internal(format!("read {}", root.display()), e))?;
        for entry in entries.flatten() {
            let dir = entry.path();
            if !dir.join(RECORD).exists() {
                tracing::warn!(dir = %dir.display(), "removing container directory without a record");
                crate::container::remove::remove_dir(&dir);
                continue;
            }
            match Record::load(&dir) {
                Ok(record) => {
                    // A container being removed gave up its name already (another may
                    // have it now); it is only kept to finish the removal.
                    let removing = record.state.status == crate::container::record::Status::Removing;
                    let c = daemon.container_handle(record);
                    if removing {
                        daemon.containers.write().expect("containers lock").insert(c.id.clone(), c);
                    } else {
                        daemon.insert(c);
                    }
                }
                Err(e) => tracing::error!(dir = %dir.display(), "skipping container: {e}"),
            }
        }
        Ok(daemon)
    }

    pub fn container_handle(&self, record: Record) -> Arc<Container> {
        let dir = Record::dir(&self.config.data_root, &record.id);
        let state = self.state_dir(&record.id);
        Arc::new(Container::new(record, dir, state))
    }

    /// A container's run-time directory: the shim's sockets live there, and a socket
    /// path must fit in 108 bytes, so it is named by the first 16 hex digits of the id
    /// (64 random bits: no collision among any number of containers one daemon holds).
    pub fn state_dir(&self, id: &str) -> PathBuf {
        self.config.exec_root.join("c").join(&id[..16.min(id.len())])
    }

    pub fn runtime_root(&self) -> PathBuf {
        self.config.exec_root.join("runtime")
    }

    pub fn insert(&self, c: Arc<Container>) {
        self.names
            .write()
            .expect("names lock")
            .insert(c.name(), c.id.clone());
        self.containers
            .write()
            .expect("containers lock")
            .insert(c.id.clone(), c);
    }

    /// Reserves `name` for `id`; refused when another container has it.
    pub fn reserve_name(&self, name: &str, id: &str) -> Result<()> {
        let mut names = self.names.write().expect("names lock");
        if let Some(other) = names.get(name) {
            if other != id {
                return Err(Error::Conflict(format!(
                    "Conflict. The container name \"/{name}\" is already in use by container \"{other}\". You have to remove (or rename) that container to be able to reuse that name."
                )));
            }
        }
        names.insert(name.to_owned(), id.to_owned());
        Ok(())
    }

    pub fn release_name(&self, name: &str, id: &str) {
        let mut names = self.names.write().expect("names lock");
        if names.get(name).map(String::as_str) == Some(id) {
            names.remove(name);
        }
    }

    pub fn name_taken(&self, name: &str) -> bool {
        self.names.read().expect("names lock").contains_key(name)
    }

    pub fn forget(&self, c: &Container) {
        self.release_name(&c.name(), &c.id);
        self.containers.write().expect("containers lock").remove(&c.id);
    }

    pub fn all(&self) -> Vec<Arc<Container>> {
        self.containers
            .read()
            .expect("containers lock")
            .values()
            .cloned()
            .collect()
    }

    /// A container by full id, name (with or without `/`) or unique id prefix.
    pub fn lookup(&self, key: &str) -> Result<Arc<Container>> {
        let containers = self.containers.read().expect("containers lock");
        if let Some(c) = containers.get(key) {
            return Ok(c.clone());
        }
        let name = key.strip_prefix('/').unwrap_or(key);
        if let Some(id) = self.names.read().expect("names lock").get(name) {
            if let Some(c) = containers.get(id) {
                return Ok(c.clone());
            }
        }
        let missing = || Error::NotFound(format!("No such container: {key}"));
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(missing());
        }
        let mut found = containers.values().filter(|c| c.id.starts_with(key));
        match (found.next(), found.next()) {
            (Some(c), None) => Ok(c.clone()),
            (Some(_), Some(_)) => Err(Error::Invalid(format!(
                "multiple containers found with provided prefix: {key}"
            ))),
            _ => Err(missing()),
        }
    }

    /// Containers that were running when the daemon last stopped: re-attached to their
    /// shims, or finished off if their shim is gone; `always` ones come back.
    pub async fn recover(self: &Arc<Daemon>) {
        for c in self.all() {
            container::exit::recover(self, &c).await;
        }
        // What still runs keeps its addresses, veths, ports and names; the rest is freed.
        let live: Vec<berth_network::Live> = self
            .all()
            .iter()
            .map(|c| c.record())
            .filter(|r| r.state.status.is_running())
            .map(|r| berth_network::Live { container_id: r.id.clone(), netns: r.net.netns.clone(), endpoints: r.net.endpoints.clone(), ports: r.net.ports.clone() })
            .collect();
        for e in self.networks.recover(&live).await {
            tracing::warn!("network recovery: {e}");
        }
    }
}
