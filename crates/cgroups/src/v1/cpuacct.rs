//! v1 cpuacct controller: CPU usage accounting (read only).

use std::path::Path;

use crate::error::Result;
use crate::interface;
use crate::stats::CpuUsage;

/// Nanoseconds per USER_HZ tick, the unit of `cpuacct.stat`.
fn ns_per_tick() -> u64 {
    // SAFETY: sysconf only reads a configuration value; no pointers involved.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 {
        1_000_000_000 / hz as u64
    } else {
        10_000_000 // USER_HZ is 100 on every mainstream architecture
    }
}

fn per_cpu(dir: &Path, name: &str) -> Result<Vec<u64>> {
    Ok(interface::read_optional(dir, name)?
        .map(|t| {
            t.split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect()
        })
        .unwrap_or_default())
}

pub(crate) fn usage(dir: &Path) -> Result<CpuUsage> {
    let total = interface::read_u64_optional(dir, "cpuacct.usage")?.unwrap_or(0);
    // cpuacct.stat is in USER_HZ ticks; runc reports nanoseconds.
    let stat = interface::read_optional(dir, "cpuacct.stat")?
        .map(|t| interface::flat_keyed(&t))
        .unwrap_or_default();
    let tick = ns_per_tick();
    Ok(CpuUsage {
        total,
        percpu: per_cpu(dir, "cpuacct.usage_percpu")?,
        percpu_kernel: per_cpu(dir, "cpuacct.usage_percpu_sys")?,
        percpu_user: per_cpu(dir, "cpuacct.usage_percpu_user")?,
        kernel: stat.get("system").copied().unwrap_or(0) * tick,
        user: stat.get("user").copied().unwrap_or(0) * tick,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn reads_usage() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("cpuacct.usage"), "1000\n").unwrap();
        fs::write(d.path().join("cpuacct.usage_percpu"), "600 400 \n").unwrap();
        fs::write(d.path().join("cpuacct.stat"), "user 2\nsystem 1\n").unwrap();
        let u = usage(d.path()).unwrap();
        assert_eq!(u.total, 1000);
        assert_eq!(u.percpu, [600, 400]);
        assert_eq!(u.user, 2 * ns_per_tick());
        assert_eq!(u.kernel, ns_per_tick());
    }
}
