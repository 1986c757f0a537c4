//! `berth update [resource flags] CONTAINER...`: `POST /containers/{id}/update` with the
//! resources given (only those: an absent field is left as it is), names printed as
//! given, the daemon's warnings on stderr.

use serde_json::{Map, Value};

use crate::commands::{print, Context};
use crate::error::{report_api, CliError};
use crate::opts::{cpus, memory, restart};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Block IO (relative weight), between 10 and 1000, or 0 to disable
    #[arg(long)]
    pub blkio_weight: Option<u16>,
    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long)]
    pub cpu_period: Option<i64>,
    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// Limit the CPU real-time period in microseconds
    #[arg(long)]
    pub cpu_rt_period: Option<i64>,
    /// Limit the CPU real-time runtime in microseconds
    #[arg(long)]
    pub cpu_rt_runtime: Option<i64>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long)]
    pub cpu_shares: Option<i64>,
    /// Number of CPUs
    #[arg(long)]
    pub cpus: Option<String>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    /// Memory limit
    #[arg(short, long)]
    pub memory: Option<String>,
    /// Memory soft limit
    #[arg(long)]
    pub memory_reservation: Option<String>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap
    #[arg(long, allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Restart policy to apply when a container exits
    #[arg(long)]
    pub restart: Option<String>,
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

/// The update body: only the flags given.
pub fn body(a: &Args) -> Result<Value, String> {
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_owned(), v);
    };
    if let Some(v) = a.blkio_weight {
        put("BlkioWeight", v.into());
    }
    if let Some(v) = a.cpu_period {
        put("CpuPeriod", v.into());
    }
    if let Some(v) = a.cpu_quota {
        put("CpuQuota", v.into());
    }
    if let Some(v) = a.cpu_rt_period {
        put("CpuRealtimePeriod", v.into());
    }
    if let Some(v) = a.cpu_rt_runtime {
        put("CpuRealtimeRuntime", v.into());
    }
    if let Some(v) = a.cpu_shares {
        put("CpuShares", v.into());
    }
    if let Some(v) = &a.cpus {
        put("NanoCpus", cpus::nano_cpus(v)?.into());
    }
    if let Some(v) = &a.cpuset_cpus {
        put("CpusetCpus", v.clone().into());
    }
    if let Some(v) = &a.cpuset_mems {
        put("CpusetMems", v.clone().into());
    }
    if let Some(v) = &a.memory {
        put("Memory", memory::ram_in_bytes(v)?.into());
    }
    if let Some(v) = &a.memory_reservation {
        put("MemoryReservation", memory::ram_in_bytes(v)?.into());
    }
    if let Some(v) = &a.memory_swap {
        put("MemorySwap", memory::memory_swap(v)?.into());
    }
    if let Some(v) = a.pids_limit {
        put("PidsLimit", v.into());
    }
    if let Some(r) = &a.restart {
        let p = restart::parse(r)?;
        put(
            "RestartPolicy",
            serde_json::to_value(p).expect("serializes"),
        );
    }
    if m.is_empty() {
        return Err("you must provide one or more flags when using this command".into());
    }
    Ok(Value::Object(m))
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "update";
    let b = body(&args).map_err(|e| CliError::usage(CX, e))?;
    let api = ctx.api(CX)?;
    let mut failed = false;
    for name in &args.containers {
        match api.block(api.client.container_update(name, &b)) {
            Ok(v) => {
                for w in v["Warnings"].as_array().into_iter().flatten() {
                    eprintln!("{}", w.as_str().unwrap_or_default());
                }
                print(CX, &format!("{name}\n"))?;
            }
            Err(e) => {
                report_api(CX, e);
                failed = true;
            }
        }
    }
    if failed {
        Err(CliError::reported())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct T {
        #[command(flatten)]
        a: Args,
    }

    #[test]
    fn only_given_fields() {
        let t = T::try_parse_from([
            "t",
            "-m",
            "256m",
            "--cpus",
            "0.5",
            "--restart",
            "always",
            "c1",
        ])
        .unwrap();
        let b = body(&t.a).unwrap();
        assert_eq!(b["Memory"], 256 << 20);
        assert_eq!(b["NanoCpus"], 500_000_000);
        assert_eq!(b["RestartPolicy"]["Name"], "always");
        assert_eq!(b.as_object().unwrap().len(), 3);
        let t = T::try_parse_from(["t", "c1"]).unwrap();
        assert!(body(&t.a).is_err());
    }
}
