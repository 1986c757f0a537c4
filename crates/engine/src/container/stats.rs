//! `GET /containers/{id}/stats`: the container's cgroup counters in Docker's shape, with
//! the previous sample as `precpu_stats` so clients can compute a CPU percentage.

use serde_json::{json, Value};

use crate::clock;
use crate::container::{start, Container};
use crate::daemon::Daemon;

/// Host CPU time in nanoseconds, from /proc/stat's first line (USER_HZ ticks).
fn system_cpu_usage() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: u64 = stat
        .lines()
        .next()
        .map(|l| l.split_whitespace().skip(1).take(7).filter_map(|n| n.parse::<u64>().ok()).sum())
        .unwrap_or(0);
    // SAFETY: sysconf has no memory side effects.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    ticks * 1_000_000_000 / hz
}

fn online_cpus() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

/// One sample; `None` counters (a stopped container) come out as zeros, as Docker's.
pub fn sample(d: &Daemon, c: &Container) -> Value {
    let r = c.record();
    let stats = if r.state.status.is_running() {
        berth_cgroups::Cgroup::resolve(Some(&start::cgroups_path(d, &c.id)), &c.id, false)
            .and_then(|cg| cg.stats())
            .ok()
    } else {
        None
    };
    let s = stats.unwrap_or_default();
    let mut mem_stats = serde_json::Map::new();
    for (k, v) in &s.memory.raw {
        mem_stats.insert(k.clone(), json!(v));
    }
    let limit = if s.memory.usage.limit == 0 || s.memory.usage.limit > (1 << 62) {
        // Unlimited: Docker reports the host's memory.
        host_memory()
    } else {
        s.memory.usage.limit
    };
    let blkio: Vec<Value> = s
        .blkio
        .io_service_bytes_recursive
        .iter()
        .map(|e| json!({"major": e.major, "minor": e.minor, "op": e.op, "value": e.value}))
        .collect();
    json!({
        "read": clock::now_rfc3339(),
        "preread": crate::container::record::ZERO_TIME,
        "id": c.id,
        "name": format!("/{}", r.name),
        "num_procs": 0,
        "pids_stats": {"current": s.pids.current, "limit": if s.pids.limit == 0 { Value::Null } else { json!(s.pids.limit) }},
        "blkio_stats": {"io_service_bytes_recursive": blkio, "io_serviced_recursive": null, "io_queue_recursive": null,
                        "io_service_time_recursive": null, "io_wait_time_recursive": null, "io_merged_recursive": null,
                        "io_time_recursive": null, "sectors_recursive": null},
        "cpu_stats": {
            "cpu_usage": {"total_usage": s.cpu.usage.total, "percpu_usage": s.cpu.usage.percpu,
                          "usage_in_kernelmode": s.cpu.usage.kernel, "usage_in_usermode": s.cpu.usage.user},
            "system_cpu_usage": system_cpu_usage(),
            "online_cpus": online_cpus(),
            "throttling_data": {"periods": s.cpu.throttling.periods, "throttled_periods": s.cpu.throttling.throttled_periods,
                                "throttled_time": s.cpu.throttling.throttled_time},
        },
        "precpu_stats": {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
                         "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}},
        "memory_stats": {"usage": s.memory.usage.usage, "max_usage": s.memory.usage.max, "limit": limit,
                         "failcnt": s.memory.usage.failcnt, "stats": mem_stats},
        "networks": {},
    })
}

fn host_memory() -> u64 {
    let info = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    info.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
