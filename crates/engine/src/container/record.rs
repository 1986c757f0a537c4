//! A container's persistent record, `<data-root>/containers/<id>/container.json`: what
//! the user asked for (config and host config, with the image's defaults merged in) and
//! the last known state. Written whole to a temp file, fsynced and renamed over the old
//! one, so a daemon killed at any point leaves either the old record or the new.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use bollard_stubs::models::{ContainerConfig, HealthcheckResult, HostConfig};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const RECORD: &str = "container.json";

/// Docker's container states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Removing => "removing",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }

    /// Running in Docker's sense: a process exists (paused containers have one too).
    pub fn is_running(self) -> bool {
        matches!(self, Status::Running | Status::Paused)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Health {
    /// starting, healthy, unhealthy.
    pub status: String,
    pub failing_streak: i64,
    pub log: Vec<HealthcheckResult>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub status: Status,
    pub pid: i64,
    pub exit_code: i64,
    pub oom_killed: bool,
    pub error: String,
    pub started_at: String,
    pub finished_at: String,
    pub restart_count: i64,
    /// Stopped by the user (stop, kill): `unless-stopped` and `always` leave it alone
    /// until it is started again; a daemon restart does not bring it back.
    pub manually_stopped: bool,
    pub health: Option<Health>,
}

impl Default for State {
    fn default() -> State {
        State {
            status: Status::Created,
            pid: 0,
            exit_code: 0,
            oom_killed: false,
            error: String::new(),
            started_at: ZERO_TIME.to_owned(),
            finished_at: ZERO_TIME.to_owned(),
            restart_count: 0,
            manually_stopped: false,
            health: None,
        }
    }
}

/// Go's zero time, which Docker prints for "never".
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    /// Without the leading `/`.
    pub name: String,
    pub created: String,
    /// The image as the user named it.
    pub image: String,
    /// `sha256:…` of the image config.
    pub image_id: String,
    /// The program and its arguments: entrypoint + cmd.
    pub path: String,
    pub args: Vec<String>,
    pub config: ContainerConfig,
    pub host_config: HostConfig,
    pub state: State,
    /// The image's layers, bottom first: what the root filesystem is mounted from (kept
    /// here, as the image itself may be removed while the container holds its layers).
    #[serde(default)]
    pub layers: Vec<berth_image::ChainId>,
    /// Anonymous things this container owns and removes with itself (`rm -v`).
    #[serde(default)]
    pub anonymous_volumes: Vec<String>,
    /// Volumes (and, from `--volumes-from`, other containers' binds) resolved at create:
    /// what start mounts beside `HostConfig`'s own host binds.
    #[serde(default)]
    pub volume_mounts: Vec<MountPoint>,
    /// Set with `removing`: whether the removal takes the anonymous volumes too, so a
    /// daemon that finishes it after a crash does what was asked.
    #[serde(default)]
    pub remove_volumes: bool,
    /// The networks the container is configured for (name → what was asked: aliases,
    /// a static address), the one of `NetworkMode` among them. What it holds while it
    /// runs is in `net`.
    #[serde(default)]
    pub networks: std::collections::BTreeMap<String, bollard_stubs::models::EndpointSettings>,
    #[serde(default)]
    pub net: NetState,
}

/// What a running container holds of its networks: kept in the record so that a
/// restarted daemon knows what is in use and what to tear down.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NetState {
    /// The pinned namespace (bridge modes only).
    pub netns: Option<PathBuf>,
    pub endpoints: Vec<berth_network::Endpoint>,
    pub ports: Vec<berth_network::PortMapping>,
}

/// One volume or inherited bind of a container, as resolved at create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MountPoint {
    /// The volume's name; `None` for a host bind inherited by `--volumes-from`.
    pub volume: Option<String>,
    /// The host directory mounted: a volume's `_data`, or a bind's source.
    pub source: PathBuf,
    pub destination: String,
    pub rw: bool,
    /// `nocopy`: do not copy the image's content into an empty volume.
    #[serde(default)]
    pub nocopy: bool,
}

impl Record {
    pub fn dir(data_root: &Path, id: &str) -> PathBuf {
        data_root.join("containers").join(id)
    }

    pub fn load(dir: &Path) -> Result<Record> {
        let path = dir.join(RECORD);
        let bytes = fs::read(&path)
            .map_err(|e| Error::internal(format!("read {}", path.display()), e))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::internal(format!("parse {}", path.display()), e))
    }

    /// Replaces the record on disk atomically (temp file, fsync, rename, fsync of the
    /// directory: the rename itself must reach the disk before we report success).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(RECORD);
        let tmp = dir.join(".container.json.tmp");
        let io = |what: &str, p: &Path| {
            let what = format!("{what} {}", p.display());
            move |e: std::io::Error| Error::internal(what, e)
        };
        let bytes = serde_json::to_vec(self).map_err(|e| Error::internal("encode record", e))?;
        let mut f = fs::File::create(&tmp).map_err(io("create", &tmp))?;
        f.write_all(&bytes).map_err(io("write", &tmp))?;
        f.sync_all().map_err(io("fsync", &tmp))?;
        fs::rename(&tmp, &path).map_err(io("rename", &path))?;
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io("fsync", dir))?;
        Ok(())
    }
}
