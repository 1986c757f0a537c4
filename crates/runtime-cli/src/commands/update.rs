use std::path::PathBuf;

use berth_runtime::{Container, StateRoot};
use oci_spec::runtime::LinuxResources;

use super::Outcome;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
    /// A JSON file with linux.resources ("-" for stdin)
    #[arg(short, long)]
    pub resources: Option<PathBuf>,
    #[arg(long)]
    pub memory: Option<i64>,
    #[arg(long = "memory-reservation")]
    pub memory_reservation: Option<i64>,
    #[arg(long = "memory-swap")]
    pub memory_swap: Option<i64>,
    #[arg(long = "cpu-shares")]
    pub cpu_shares: Option<u64>,
    #[arg(long = "cpu-quota")]
    pub cpu_quota: Option<i64>,
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<u64>,
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    #[arg(long = "pids-limit")]
    pub pids_limit: Option<i64>,
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u16>,
}

pub fn run(root: &StateRoot, a: &Args) -> Outcome {
    let c = Container::load(root, &a.id)?;
    c.require(&[berth_runtime::Status::Running, berth_runtime::Status::Paused, berth_runtime::Status::Created], "cannot update a stopped container")?;
    let mut v: serde_json::Value = match &a.resources {
        Some(p) if p.as_os_str() == "-" => serde_json::from_reader(std::io::stdin())?,
        Some(p) => serde_json::from_slice(&std::fs::read(p).map_err(|e| format!("read {}: {e}", p.display()))?)?,
        None => serde_json::json!({}),
    };
    let mut set = |section: &str, key: &str, val: serde_json::Value| {
        v[section][key] = val;
    };
    if let Some(x) = a.memory { set("memory", "limit", x.into()) }
    if let Some(x) = a.memory_reservation { set("memory", "reservation", x.into()) }
    if let Some(x) = a.memory_swap { set("memory", "swap", x.into()) }
    if let Some(x) = a.cpu_shares { set("cpu", "shares", x.into()) }
    if let Some(x) = a.cpu_quota { set("cpu", "quota", x.into()) }
    if let Some(x) = a.cpu_period { set("cpu", "period", x.into()) }
    if let Some(x) = &a.cpuset_cpus { set("cpu", "cpus", x.clone().into()) }
    if let Some(x) = &a.cpuset_mems { set("cpu", "mems", x.clone().into()) }
    if let Some(x) = a.pids_limit { set("pids", "limit", x.into()) }
    if let Some(x) = a.blkio_weight { set("blockIO", "weight", x.into()) }
    let r: LinuxResources = serde_json::from_value(v)?;
    let cg = c.state.cgroup.as_ref().ok_or("container has no cgroup")?;
    cg.apply(&r)?;
    Ok(0)
}
