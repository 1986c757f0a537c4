//! Where containers' cgroups go. With v1 (and hybrid) hierarchies, beneath the daemon's
//! own cgroup in each one (a relative cgroups path). On a pure cgroup v2 host the daemon
//! cannot both hold processes in its cgroup and delegate controllers to children (the
//! "no internal processes" rule), so it moves itself into a `berthd` leaf first and
//! places containers beside it, beneath its original cgroup.

use crate::config::Config;
use crate::error::{Error, Result};

pub fn prepare(mut cfg: Config) -> Result<Config> {
    if cfg.cgroup_parent.is_some() {
        return Ok(cfg);
    }
    let Ok(berth_cgroups::Layout::Unified) = berth_cgroups::layout() else {
        return Ok(cfg);
    };
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let Some(path) = own.lines().find_map(|l| l.strip_prefix("0::")) else { return Ok(cfg) };
    let base = std::path::Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
    let leaf = base.join("berthd");
    std::fs::create_dir_all(&leaf).map_err(|e| Error::internal(format!("create {}", leaf.display()), e))?;
    std::fs::write(leaf.join("cgroup.procs"), std::process::id().to_string())
        .map_err(|e| Error::internal(format!("move berthd into {}", leaf.display()), e))?;
    let controllers = std::fs::read_to_string(base.join("cgroup.controllers")).unwrap_or_default();
    let enable: String = controllers.split_whitespace().map(|c| format!("+{c} ")).collect();
    if !enable.is_empty() {
        let _ = std::fs::write(base.join("cgroup.subtree_control"), enable.trim());
    }
    cfg.cgroup_parent = Some(if path == "/" { String::new() } else { path.to_owned() });
    Ok(cfg)
}
