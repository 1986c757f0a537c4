//! What a build is asked to do, and what it needs from its caller.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use berth_image::{Image, Reference};

/// One build's options, as `docker build`'s flags and the `/build` query give them.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The Dockerfile's path inside the context (`Dockerfile` by default).
    pub dockerfile: String,
    /// A Dockerfile given with the request instead of from the context (`-f -`).
    pub dockerfile_text: Option<String>,
    pub tags: Vec<Reference>,
    /// `--build-arg NAME=value`; `None` is `--build-arg NAME` with no value (taken from
    /// the client's environment by the client, or unset).
    pub build_args: BTreeMap<String, Option<String>>,
    pub target: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub no_cache: bool,
    /// Pull FROM images even when present.
    pub pull: bool,
    /// Only the image id is printed.
    pub quiet: bool,
    /// RUN's network: `default`, `none`, `host`, or a network's name.
    pub network: String,
    pub platform: Option<String>,
    /// Set to stop the build at the next step (the client went away).
    pub cancel: Arc<AtomicBool>,
}

/// Where RUN steps run and what they may use.
#[derive(Debug, Clone)]
pub struct Runner {
    /// An OCI runtime with runc's command line (`berth-runtime`, `runc`).
    pub runtime: PathBuf,
    /// Its `--root`.
    pub runtime_root: PathBuf,
    /// Scratch space for the steps' bundles (on the store's file system).
    pub work_dir: PathBuf,
    /// An absolute cgroup to put RUN containers beneath; `None`: beneath the runtime's
    /// own cgroup (the caller's), in each hierarchy.
    pub cgroup_parent: Option<String>,
}

/// A network namespace lent to one RUN step, given back by dropping it.
pub struct NetworkLease {
    /// The namespace to join; `None` is the host's (`--network host`).
    pub netns: Option<PathBuf>,
    /// The step's `/etc/resolv.conf` and `/etc/hosts`.
    pub resolv_conf: String,
    pub hosts: String,
    pub release: Option<Box<dyn FnOnce() + Send>>,
}

impl std::fmt::Debug for NetworkLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkLease").field("netns", &self.netns).finish_non_exhaustive()
    }
}

impl Drop for NetworkLease {
    fn drop(&mut self) {
        if let Some(r) = self.release.take() {
            r();
        }
    }
}

/// What the builder asks of its caller: images it does not have (a registry is the
/// engine's business) and network namespaces for RUN.
pub trait Services: Send + Sync {
    /// The image `name` for `FROM` or `COPY --from`, pulled when missing or `pull` is set;
    /// progress lines go to `out`.
    fn image(&self, name: &Reference, platform: Option<&str>, pull: bool, out: &dyn Output) -> Result<Image, String>;
    /// A network namespace for one RUN step in `mode` (`none`, `host`, `default`, a name).
    fn network(&self, mode: &str) -> Result<NetworkLease, String>;
}

/// Where the build's log goes: Docker's classic builder stream, line by line.
pub trait Output: Send + Sync {
    /// Text for the log (`Step 1/3 : FROM busybox\n`, a RUN's output).
    fn stream(&self, text: &str);
    /// A progress line of a pull (`{"status": …, "id": …}`), passed through as is.
    fn progress(&self, line: &serde_json::Value);
    /// The built image's id (`aux` in the API's stream; `--iidfile`).
    fn image_id(&self, id: &str);
}
